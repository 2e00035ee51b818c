"""Reading a YAML document while collecting every problem with its path, not just the first."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import TypeVar

from kizuna.errors import ConfigError

__all__ = ["Problems", "ScenarioError", "View"]

T = TypeVar("T")


class ScenarioError(ConfigError):
    """A scenario failed validation; ``problems`` lists every (path, message)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        lines = "\n".join(f"  {path}: {msg}" for path, msg in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")
        self.problems = problems


class Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append((path or "<root>", message))

    def raise_if_any(self, source: str) -> None:
        if self.items:
            raise ScenarioError(source, self.items)


class View:
    """A mapping at a path. Each getter records a problem and returns a fallback instead of
    raising, so one pass finds everything; ``done()`` reports keys nobody asked for."""

    def __init__(self, raw: object, path: str, problems: Problems) -> None:
        self.path = path
        self.problems = problems
        if not isinstance(raw, Mapping):
            problems.add(path, f"must be a mapping, got {type(raw).__name__}")
            raw = {}
        self.raw: Mapping[str, object] = raw
        self._used: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, default: object = None) -> object:
        self._used.add(key)
        return self.raw.get(key, default)

    def has(self, key: str) -> bool:
        return key in self.raw

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        ge: float | None = None,
        le: float | None = None,
        gt: float | None = None,
    ) -> float:
        raw = self.get(key, default)
        if raw is None:
            self.problems.add(self.at(key), "is required")
            return math.nan
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            self.problems.add(self.at(key), f"must be a finite number, got {raw!r}")
            return math.nan
        value = float(raw)
        if ge is not None and value < ge:
            self.problems.add(self.at(key), f"must be >= {ge:g}, got {value:g}")
        if gt is not None and value <= gt:
            self.problems.add(self.at(key), f"must be > {gt:g}, got {value:g}")
        if le is not None and value > le:
            self.problems.add(self.at(key), f"must be <= {le:g}, got {value:g}")
        return value

    def integer(self, key: str, default: int | None = None, *, ge: int | None = None) -> int:
        raw = self.get(key, default)
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.problems.add(self.at(key), f"must be a whole number, got {raw!r}")
            return 0
        if ge is not None and raw < ge:
            self.problems.add(self.at(key), f"must be >= {ge}, got {raw}")
        return raw

    def text(self, key: str, default: str | None = None) -> str:
        raw = self.get(key, default)
        if not isinstance(raw, str) or not raw:
            self.problems.add(self.at(key), f"must be a non-empty string, got {raw!r}")
            return ""
        return raw

    def flag(self, key: str, default: bool) -> bool:
        raw = self.get(key, default)
        if not isinstance(raw, bool):
            self.problems.add(self.at(key), f"must be true or false, got {raw!r}")
            return default
        return raw

    def pair(
        self, key: str, default: tuple[float, float] | None = None, *, ge: float | None = None
    ) -> tuple[float, float]:
        raw = self.get(key, default)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = (raw, raw)
        if (
            not isinstance(raw, list | tuple)
            or len(raw) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw)
        ):
            self.problems.add(self.at(key), f"must be a number or [low, high], got {raw!r}")
            return (math.nan, math.nan)
        lo, hi = float(raw[0]), float(raw[1])
        if lo > hi:
            self.problems.add(self.at(key), f"low {lo:g} is above high {hi:g}")
        if ge is not None and lo < ge:
            self.problems.add(self.at(key), f"must be >= {ge:g}, got {lo:g}")
        return (lo, hi)

    def names(self, key: str, default: list[str] | None = None) -> list[str]:
        raw = self.get(key, default)
        if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
            self.problems.add(self.at(key), f"must be a list of names, got {raw!r}")
            return []
        return list(raw)

    def child(self, key: str) -> View:
        return View(self.get(key, {}), self.at(key), self.problems)

    def items(self, key: str) -> Iterator[View]:
        raw = self.get(key, [])
        if not isinstance(raw, list):
            self.problems.add(self.at(key), f"must be a list, got {type(raw).__name__}")
            return
        for i, item in enumerate(raw):
            yield View(item, f"{self.at(key)}[{i}]", self.problems)

    def entries(self, key: str) -> Iterator[tuple[str, View]]:
        raw = self.get(key, {})
        if not isinstance(raw, Mapping):
            self.problems.add(self.at(key), f"must be a mapping, got {type(raw).__name__}")
            return
        for name, item in raw.items():
            yield str(name), View(item, f"{self.at(key)}.{name}", self.problems)

    def done(self) -> None:
        for key in self.raw:
            if key not in self._used:
                self.problems.add(self.at(str(key)), "unknown key")
