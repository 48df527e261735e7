"""Loading Kubernetes objects from manifest files (for ``ingest`` and offline ``reach``).

Flows in: paths to YAML/JSON files or directories (multi-document YAML, ``kind: List``).
Flows out: ``Manifest`` values in file order, each naming where it came from.

All-or-nothing: every file is parsed and checked before anything is returned, so a
caller that publishes the result never publishes half a directory. Errors name the
file and the (1-based) document.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_SUFFIXES = (".yaml", ".yml", ".json")


class ManifestError(ValueError):
    """A file or document that is not a valid Kubernetes object."""


@dataclass(frozen=True, slots=True)
class Manifest:
    path: Path
    document: int  # 1-based index of the YAML document within the file
    object: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.path} (document {self.document})"


def load(paths: Iterable[str | Path]) -> list[Manifest]:
    """Every object in ``paths`` (files, or directories searched recursively)."""
    out: list[Manifest] = []
    for file in _files(paths):
        out.extend(load_file(file))
    return out


def load_file(path: Path) -> list[Manifest]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read: {exc}") from exc
    out: list[Manifest] = []
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        doc = text[: _error_index(exc, text)].count("\n---") + 1
        raise ManifestError(f"{path} (document {doc}): invalid YAML: {exc}") from exc
    for index, doc in enumerate(documents, start=1):
        if doc is None:
            continue
        for obj in _expand(doc, path, index):
            out.append(Manifest(path=path, document=index, object=obj))
    return out


def _error_index(exc: yaml.YAMLError, text: str) -> int:
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return len(text)
    return int(mark.index)


def _expand(doc: Any, path: Path, index: int) -> Iterator[dict[str, Any]]:
    where = f"{path} (document {index})"
    if not isinstance(doc, dict):
        raise ManifestError(f"{where}: expected a mapping, got {type(doc).__name__}")
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in doc:
        items = doc.get("items") or []
        if not isinstance(items, list):
            raise ManifestError(f"{where}: 'items' of a List must be a list")
        for item in items:
            yield from _expand(item, path, index)
        return
    _check(doc, where)
    yield doc


def _check(obj: dict[str, Any], where: str) -> None:
    for field_name in ("apiVersion", "kind"):
        if not isinstance(obj.get(field_name), str) or not obj[field_name]:
            raise ManifestError(f"{where}: missing '{field_name}'")
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise ManifestError(f"{where}: {obj['kind']} has no metadata.name")


def _files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file())
        elif path.is_file():
            yield path
        else:
            raise ManifestError(f"{path}: no such file or directory")
