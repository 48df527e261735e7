"""Pure helpers of the harness: percentiles, rates, ratios and how figures are printed.

Flows in: samples (seconds), counts, a result dict. Flows out: numbers rounded for
reading and the text table ``topolog bench`` prints (``--json`` prints the dict itself).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

Result = dict[str, Any]


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100) by linear interpolation between closest ranks.

    Same definition as numpy's default; an empty sample has no percentile (NaN).
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside [0, 100]")
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_ms(samples: Sequence[float], prefix: str) -> Result:
    """``{prefix}_p50_ms``, ``{prefix}_p99_ms``, ``{prefix}_max_ms`` and ``{prefix}_n`` of
    samples given in seconds."""
    return {
        f"{prefix}_p50_ms": ms(percentile(samples, 50)),
        f"{prefix}_p99_ms": ms(percentile(samples, 99)),
        f"{prefix}_max_ms": ms(max(samples)) if samples else math.nan,
        f"{prefix}_n": len(samples),
    }


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2) if not math.isnan(seconds) else math.nan


def rate(count: float, seconds: float) -> float:
    """Per second, rounded; 0 when nothing was timed."""
    return round(count / seconds, 1) if seconds > 0 else 0.0


def ratio(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole > 0 else math.nan


def combined_rate(*rates_per_event: tuple[float, float]) -> float:
    """Events/s of stages run one after the other: each ``(ops/s, ops per event)``.

    A serial bound: time per event is the sum of each stage's time per event.
    """
    per_event = sum(n / r for r, n in rates_per_event if r > 0)
    return round(1 / per_event, 1) if per_event > 0 else 0.0


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if value.is_integer() and abs(value) >= 100:
            return f"{int(value):,}"
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(result: Mapping[str, Any]) -> str:
    """A two-column text table: one row per figure; nested results become sections."""
    rows: list[tuple[str, str]] = []
    sections: list[Mapping[str, Any]] = []
    for key, value in result.items():
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            sections.extend(value)
        elif isinstance(value, Mapping):
            rows.extend((f"{key}.{k}", _cell(v)) for k, v in value.items())
        else:
            rows.append((key, _cell(value)))
    width = max((len(k) for k, _ in rows), default=0)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    for section in sections:
        lines.append("")
        lines.append(table(section))
    return "\n".join(lines)
