"""Validation helpers for experiment files: typed access to TOML tables.

:class:`Section` wraps one table; :meth:`Section.get` checks a key's type, choices
and value, and :meth:`Section.finish` rejects keys that were never read. Every
error is an :class:`~circuitlearn.errors.ExperimentError` whose message names the
file, the table and the key: ``exp.toml: [train] dt: must be positive, got -1.0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from circuitlearn.errors import ExperimentError

REQUIRED = object()
"""Default marking a key as required."""


def kind_ok(value: Any, kind: str) -> bool:
    """True if ``value`` (as read by tomllib) is of schema ``kind``."""
    num = isinstance(value, int | float) and not isinstance(value, bool)
    checks: dict[str, Callable[[Any], bool]] = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: num,
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "table": lambda v: isinstance(v, dict),
        "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "list[float]": lambda v: isinstance(v, list) and all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in v),
        "range": lambda v: kind_ok(v, "list[float]") and len(v) == 2 and v[0] <= v[1],
        "str|list[str]": lambda v: isinstance(v, str) or kind_ok(v, "list[str]"),
        "outputs": lambda v: isinstance(v, list) and all(
            isinstance(x, str) or (kind_ok(x, "list[str]") and len(x) == 2) for x in v),
    }
    return checks[kind](value)


_KIND_WORDS = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
               "table": "a table", "list[str]": "a list of strings",
               "list[float]": "a list of numbers", "range": "a pair [low, high] with low <= high",
               "str|list[str]": "a string or a list of strings",
               "outputs": "a list of node names or [node, node] pairs"}


class Section:
    """One TOML table being validated; every error names the file and the key."""

    def __init__(self, path: Path, name: str, table: Any):
        self.path = path
        self.name = name
        if not isinstance(table, dict):
            raise ExperimentError(f"{path}: [{name}] must be a table")
        self.table = table
        self.used: set[str] = set()

    def error(self, key: str, message: str) -> ExperimentError:
        return ExperimentError(f"{self.path}: [{self.name}] {key}: {message}")

    def has(self, key: str) -> bool:
        return key in self.table

    def get(self, key: str, kind: str, default: Any = REQUIRED,
            choices: tuple[str, ...] | None = None,
            check: Callable[[Any], str | None] | None = None, finite: bool = True) -> Any:
        """Value of ``key`` (or ``default``), checked for type, choices and ``check``.

        Numbers (kinds ``float``, ``range``, ``list[float]``) must be finite unless
        ``finite`` is false (then ``check`` sees ``inf`` and ``nan`` as given).
        """
        self.used.add(key)
        if key not in self.table:
            if default is REQUIRED:
                raise self.error(key, "missing (required)")
            return default
        value = self.table[key]
        if not kind_ok(value, kind):
            raise self.error(key, f"expected {_KIND_WORDS[kind]}, got {value!r}")
        if kind == "float":
            value = float(value)
        elif kind in ("range", "list[float]"):
            value = [float(v) for v in value]
        if finite and kind in ("float", "range", "list[float]"):
            numbers = value if isinstance(value, list) else [value]
            if not all(math.isfinite(v) for v in numbers):
                raise self.error(key, f"must be finite, got {value}")
        if choices is not None and value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}; got {value!r}")
        problem = check(value) if check else None
        if problem:
            raise self.error(key, problem)
        return value

    def sub(self, key: str, required: bool = False) -> Section | None:
        """Nested table ``[name.key]``."""
        if key not in self.table:
            if required:
                raise self.error(key, "missing (required table)")
            return None
        self.used.add(key)
        return Section(self.path, f"{self.name}.{key}", self.table[key])

    def finish(self) -> None:
        """Raise for keys that were never read (unknown keys)."""
        unknown = [k for k in self.table if k not in self.used]
        if unknown:
            raise self.error(unknown[0], f"unknown key (allowed here: "
                             f"{', '.join(sorted(self.used)) or 'none'})")


def positive(v: float) -> str | None:
    """Check that ``v > 0``."""
    return None if v > 0 else f"must be positive, got {v}"


def finite_positive(v: float) -> str | None:
    """Check that ``0 < v < inf``."""
    if not math.isfinite(v):
        return f"must be finite, got {v}"
    return positive(v)


def non_negative(v: float) -> str | None:
    """Check that ``v >= 0``."""
    return None if v >= 0 else f"must not be negative, got {v}"


def unit_interval(v: float) -> str | None:
    """Check that ``0 < v <= 1``."""
    return None if 0 < v <= 1 else f"must lie in (0, 1], got {v}"


def non_empty(v: list) -> str | None:
    """Check that a list has at least one entry."""
    return None if len(v) > 0 else "must list at least one entry, got []"


def at_least(n: int) -> Callable[[int], str | None]:
    """Check that a value is at least ``n``."""
    return lambda v: None if v >= n else f"must be at least {n}, got {v}"


def fraction(v: float) -> str | None:
    """Check that ``0 < v < 1``."""
    return None if 0 < v < 1 else f"must lie strictly between 0 and 1, got {v}"
