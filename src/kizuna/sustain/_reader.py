"""A typed walk over parsed YAML: every error names the field path it came from."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from kizuna.errors import ConfigError

__all__ = ["Node", "ensure_unique"]

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Node:
    """A mapping read from data, remembered with its path (``lines[3]``) for error messages."""

    value: Mapping[str, object]
    path: str = ""

    @classmethod
    def root(cls, doc: object, what: str) -> Node:
        if not isinstance(doc, Mapping):
            raise ConfigError(f"{what} must be a mapping, got {type(doc).__name__}", field="<root>")
        return cls(doc, "")

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, default: object = _MISSING) -> object:
        if key in self.value:
            return self.value[key]
        if default is _MISSING:
            raise ConfigError("is required", field=self.field(key))
        return default

    def has(self, key: str) -> bool:
        return key in self.value and self.value[key] is not None

    def text(self, key: str, default: str | None = None) -> str:
        raw = self._get(key, _MISSING if default is None else default)
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(f"must be a non-empty string, got {raw!r}", field=self.field(key))
        return raw.strip()

    def num(
        self,
        key: str,
        default: float | None = None,
        *,
        ge: float | None = 0.0,
        le: float | None = None,
        gt: float | None = None,
    ) -> float:
        raw = self._get(key, _MISSING if default is None else default)
        return number(raw, self.field(key), ge=ge, le=le, gt=gt)

    def opt_num(self, key: str, *, ge: float | None = 0.0) -> float | None:
        if not self.has(key):
            return None
        return self.num(key, ge=ge)

    def integer(self, key: str, default: int | None = None, *, ge: int | None = 0) -> int:
        raw = self._get(key, _MISSING if default is None else default)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ConfigError(f"must be an integer, got {raw!r}", field=self.field(key))
        if ge is not None and raw < ge:
            raise ConfigError(f"must be >= {ge}, got {raw}", field=self.field(key))
        return raw

    def flag(self, key: str, default: bool) -> bool:
        raw = self._get(key, default)
        if not isinstance(raw, bool):
            raise ConfigError(f"must be true or false, got {raw!r}", field=self.field(key))
        return raw

    def names(self, key: str) -> tuple[str, ...]:
        raw = self._get(key, [])
        if not isinstance(raw, list) or not all(isinstance(s, str) and s for s in raw):
            raise ConfigError("must be a list of names", field=self.field(key))
        return tuple(raw)

    def items(self, key: str, *, required: bool = False) -> Iterator[Node]:
        raw = self._get(key, _MISSING if required else [])
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise ConfigError("must be a list", field=self.field(key))
        for i, item in enumerate(raw):
            path = f"{self.field(key)}[{i}]"
            if not isinstance(item, Mapping):
                raise ConfigError("must be a mapping", field=path)
            yield Node(item, path)

    def child(self, key: str) -> Node:
        raw = self._get(key, {})
        if not isinstance(raw, Mapping):
            raise ConfigError("must be a mapping", field=self.field(key))
        return Node(raw, self.field(key))


def number(
    raw: object,
    field: str,
    *,
    ge: float | None = 0.0,
    le: float | None = None,
    gt: float | None = None,
) -> float:
    """A finite number with bounds; YAML's ``211e9`` arrives as a string and is accepted."""
    if isinstance(raw, str):
        try:
            raw = float(raw)
        except ValueError:
            raise ConfigError(f"must be a number, got {raw!r}", field=field) from None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ConfigError(f"must be a finite number, got {raw!r}", field=field)
    value = float(raw)
    if ge is not None and value < ge:
        raise ConfigError(f"must be >= {ge:g}, got {value:g}", field=field)
    if gt is not None and value <= gt:
        raise ConfigError(f"must be > {gt:g}, got {value:g}", field=field)
    if le is not None and value > le:
        raise ConfigError(f"must be <= {le:g}, got {value:g}", field=field)
    return value


def ensure_unique(names: list[str], field: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(f"duplicate id {name!r}", field=f"{field}[{i}].id")
        seen.add(name)
