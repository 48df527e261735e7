"""JSON responses rendered with orjson, and the error shape of the API.

Flows in: any JSON-shaped value. Flows out: ``JSON`` responses; ``error()`` gives the
400 body ``{"error": <message>, "position": <1-based column or null>}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def error(message: str, *, status: int = 400, position: int | None = None) -> JSON:
    return JSON({"error": message, "position": position}, status_code=status)
