"""Registries as data: named constructors with declared, checked parameters.

A :class:`Registry` maps names (and aliases) to an :class:`Entry`: a constructor and
the :class:`Param` declarations of its parameters (schema kind, default, range,
unit). The experiment-file reader (:mod:`circuitlearn.training.schema`) and the
Python constructors both go through :meth:`Registry.resolve`, so a TOML file and a
Python call accept exactly the same values. Rules, modifiers, network generators
and data kinds are each declared once this way.

>>> reg = Registry("shape")
>>> _ = reg.add("box", dict, Param("side", check=positive, doc="edge length (m)"))
>>> reg.build("box", side=2)
{'side': 2.0}
>>> reg.build("box", side=-1)
Traceback (most recent call last):
...
circuitlearn.errors.ParameterError: shape 'box': side: must be positive, got -1.0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from circuitlearn.errors import ParameterError


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""Default marking a parameter (or TOML key) as required."""

Check = Callable[[Any], "str | None"]
"""A value check: returns what is wrong (a message), or None when the value is fine."""

ErrorFactory = Callable[[str | None, str], Exception]
"""``error(key, message)``: the exception to raise for a bad ``key``."""


def _real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _list_of(v: Any, item: Callable[[Any], bool]) -> bool:
    return isinstance(v, list | tuple) and all(item(x) for x in v)


_KINDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "int": (lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool), "an integer"),
    "float": (_real, "a number"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "float|auto": (lambda v: _real(v) or v == "auto", 'a number or "auto"'),
    "path": (lambda v: isinstance(v, str), "a file path (string)"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "table": (lambda v: isinstance(v, dict), "a table"),
    "list[str]": (lambda v: _list_of(v, lambda x: isinstance(x, str)), "a list of strings"),
    "list[float]": (lambda v: _list_of(v, _real), "a list of numbers"),
    "range": (lambda v: _list_of(v, _real) and len(v) == 2 and v[0] <= v[1],
              "a pair [low, high] with low <= high"),
    "str|list[str]": (lambda v: isinstance(v, str) or _list_of(v, lambda x: isinstance(x, str)),
                      "a string or a list of strings"),
    "outputs": (lambda v: _list_of(v, lambda x: isinstance(x, str) or (
        _list_of(x, lambda y: isinstance(y, str)) and len(x) == 2)),
        "a list of node names or [node, node] pairs"),
}
_NUMERIC = ("float", "range", "list[float]", "float|auto")


def kind_ok(value: Any, kind: str) -> bool:
    """True if ``value`` is of schema ``kind`` (``"int"``, ``"float"``, ``"range"``...)."""
    return _KINDS[kind][0](value)


# --------------------------------------------------------------------- checks
def positive(v: float) -> str | None:
    """Check that ``v > 0``."""
    return None if v > 0 else f"must be positive, got {v}"


def finite_positive(v: float) -> str | None:
    """Check that ``0 < v < inf``."""
    return positive(v) if math.isfinite(v) else f"must be finite, got {v}"


def non_negative(v: float) -> str | None:
    """Check that ``v >= 0``."""
    return None if v >= 0 else f"must not be negative, got {v}"


def unit_interval(v: float) -> str | None:
    """Check that ``0 < v <= 1``."""
    return None if 0 < v <= 1 else f"must lie in (0, 1], got {v}"


def unit_fraction(v: float) -> str | None:
    """Check that ``0 <= v < 1``."""
    return None if 0 <= v < 1 else f"must lie in [0, 1), got {v}"


def non_empty(v: list) -> str | None:
    """Check that a list has at least one entry."""
    return None if len(v) > 0 else "must list at least one entry, got []"


def at_least(n: int) -> Check:
    """Check that a value is at least ``n``."""
    return lambda v: None if v >= n else f"must be at least {n}, got {v}"


def positive_range(v: list[float]) -> str | None:
    """Check that a range ``[low, high]`` has ``low > 0``."""
    return None if v[0] > 0 else "must be positive"


CrossCheck = Callable[[Mapping[str, Any]], "tuple[str, str] | None"]
"""A check across parameters: ``(key, message)`` of what is wrong, or None."""


def exactly_one(*keys: str) -> CrossCheck:
    """Exactly one of ``keys`` must be given."""
    def check(values: Mapping[str, Any]) -> tuple[str, str] | None:
        given = [k for k in keys if values.get(k) is not None]
        return None if len(given) == 1 else (keys[-1], f"give exactly one of {' and '.join(keys)}")
    return check


def at_most_one(*keys: str) -> CrossCheck:
    """At most one of ``keys`` may be given."""
    def check(values: Mapping[str, Any]) -> tuple[str, str] | None:
        given = [k for k in keys if values.get(k) is not None]
        return None if len(given) <= 1 else (given[-1], f"give {' or '.join(keys)}, not both")
    return check


# ------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class Param:
    """Declaration of one parameter.

    Attributes
    ----------
    name : str
    kind : str
        Schema kind (see :func:`kind_ok`); ``"path"`` is a file path that the
        experiment reader resolves relative to the TOML file.
    default : object
        Value when absent; :data:`REQUIRED` when it must be given.
    check : callable, optional
        Range check on the converted value (returns a message or None).
    choices : tuple of str, optional
        Allowed string values.
    doc : str
        Meaning and unit, for documentation and error messages.
    finite : bool
        Numbers must be finite (``inf`` and ``nan`` rejected before ``check``).
    """

    name: str
    kind: str = "float"
    default: Any = REQUIRED
    check: Check | None = None
    choices: tuple[str, ...] | None = None
    doc: str = ""
    finite: bool = True

    def convert(self, value: Any) -> Any:
        """``value`` converted to its kind (floats, lists of floats) and checked.

        Raises
        ------
        ValueError
            With the message of what is wrong (the caller adds where).
        """
        if not kind_ok(value, self.kind):
            raise ValueError(f"expected {_KINDS[self.kind][1]}, got {value!r}")
        if self.kind == "float" or (self.kind == "float|auto" and value != "auto"):
            value = float(value)
        elif self.kind == "int":
            value = int(value)
        elif self.kind in ("range", "list[float]"):
            value = [float(v) for v in value]
        if self.finite and self.kind in _NUMERIC:
            numbers_ = value if isinstance(value, list) else [value]
            if not all(math.isfinite(v) for v in numbers_ if not isinstance(v, str)):
                raise ValueError(f"must be finite, got {value}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}; got {value!r}")
        problem = self.check(value) if self.check else None
        if problem:
            raise ValueError(problem)
        return value


@dataclass(frozen=True)
class Entry:
    """One registered constructor: ``build(*args, **params)``.

    ``checks`` are checks across parameters (:func:`exactly_one`, :func:`at_most_one`).
    """

    name: str
    build: Callable[..., Any]
    params: tuple[Param, ...]
    doc: str = ""
    aliases: tuple[str, ...] = ()
    checks: tuple[CrossCheck, ...] = ()

    def param(self, key: str) -> Param:
        """The declaration of parameter ``key`` (KeyError if there is none)."""
        for p in self.params:
            if p.name == key:
                return p
        raise KeyError(key)


class Registry:
    """Named constructors of one kind (``what``: "learning rule", "modifier", ...)."""

    def __init__(self, what: str):
        self.what = what
        self._entries: dict[str, Entry] = {}
        self._lookup: dict[str, str] = {}

    def add(self, name: str, build: Callable[..., Any], *params: Param, doc: str = "",
            aliases: tuple[str, ...] = (), checks: tuple[CrossCheck, ...] = ()) -> Entry:
        """Declare ``name`` (and its ``aliases``) with constructor ``build``."""
        entry = Entry(name, build, tuple(params), doc, tuple(aliases), tuple(checks))
        self._entries[name] = entry
        for key in (name, *aliases):
            self._lookup[_normal(key)] = name
        return entry

    def names(self) -> tuple[str, ...]:
        """Primary names, in declaration order."""
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _normal(name) in self._lookup

    def entry(self, name: str) -> Entry:
        """The entry called ``name`` or one of its aliases (case-insensitive)."""
        key = self._lookup.get(_normal(str(name)))
        if key is None:
            raise ParameterError(self.what, None, f"unknown name {name!r} (known: "
                                 f"{', '.join(self._lookup)})")
        return self._entries[key]

    def resolve(self, name: str, values: Mapping[str, Any],
                error: ErrorFactory | None = None) -> dict[str, Any]:
        """Every parameter of ``name``: given values converted and checked, defaults
        filled in. ``error(key, message)`` makes the exception (default
        :class:`~circuitlearn.errors.ParameterError`).
        """
        entry = self.entry(name)
        fail = error or (lambda key, msg: ParameterError(f"{self.what} {entry.name!r}",
                                                         key, msg))
        known = {p.name for p in entry.params}
        for key in values:
            if key not in known:
                raise fail(key, f"unknown parameter (allowed: {', '.join(sorted(known))})")
        for check in entry.checks:
            problem = check(values)
            if problem:
                raise fail(*problem)
        out = {}
        for p in entry.params:
            value = values.get(p.name)
            if value is None:
                if p.default is REQUIRED:
                    raise fail(p.name, "missing (required)")
                out[p.name] = p.default
                continue
            try:
                out[p.name] = p.convert(value)
            except ValueError as exc:
                raise fail(p.name, str(exc)) from None
        return out

    def build(self, name: str, *args: Any, **values: Any) -> Any:
        """``entry.build(*args, **resolved)`` with :meth:`resolve`'s values."""
        return self.entry(name).build(*args, **self.resolve(name, values))


def _normal(name: str) -> str:
    return name.strip().lower().replace("-", "_")
