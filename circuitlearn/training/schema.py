"""Validation of experiment files: typed access to TOML tables.

:class:`Section` wraps one table. :meth:`Section.read` checks one key against its
:class:`~circuitlearn.registry.Param` declaration (the same declarations the Python
constructors use), :meth:`Section.entry` checks a table against a registry entry
(a rule, a modifier, a generator, a data kind), and :meth:`Section.finish` rejects
keys that were never read. Every error is an
:class:`~circuitlearn.errors.ExperimentError` whose message names the file, the
table and the key: ``exp.toml: [train] dt: must be positive, got -1.0``.

>>> from pathlib import Path
>>> s = Section(Path("exp.toml"), "train", {"dt": -1.0})
>>> s.read(Param("dt", check=positive))
Traceback (most recent call last):
...
circuitlearn.errors.ExperimentError: exp.toml: [train] dt: must be positive, got -1.0
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from circuitlearn.errors import ExperimentError, ParameterError
from circuitlearn.registry import REQUIRED, Param, Registry, positive

__all__ = ["REQUIRED", "Param", "Section", "positive"]


class Section:
    """One TOML table being validated; every error names the file and the key."""

    def __init__(self, path: Path, name: str, table: Any):
        self.path = path
        self.name = name
        if not isinstance(table, dict):
            raise ExperimentError(f"{path}: [{name}] must be a table")
        self.table = table
        self.used: set[str] = set()

    def error(self, key: str | None, message: str) -> ExperimentError:
        """The error for ``key`` of this table (``None``: the table itself)."""
        return ExperimentError(f"{self.path}: [{self.name}] {key + ': ' if key else ''}{message}")

    def has(self, key: str) -> bool:
        return key in self.table

    def read(self, param: Param, default: Any = None) -> Any:
        """Value of ``param.name`` converted and checked (``param.default`` when absent,
        or ``default`` when given: a default computed from other keys)."""
        self.used.add(param.name)
        if param.name not in self.table:
            fallback = param.default if default is None else default
            if fallback is REQUIRED:
                raise self.error(param.name, "missing (required)")
            return fallback
        try:
            return param.convert(self.table[param.name])
        except ValueError as exc:
            raise self.error(param.name, str(exc)) from None

    def read_all(self, params: tuple[Param, ...]) -> dict[str, Any]:
        """``{name: value}`` of every declared parameter."""
        return {p.name: self.read(p) for p in params}

    def entry(self, registry: Registry, name: str, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """The table's keys (but ``skip``) as the parameters of ``registry``'s ``name``,
        resolved and checked by the registry; paths resolved relative to the file."""
        values = {k: v for k, v in self.table.items() if k not in skip}
        self.used.update(values)
        try:
            entry = registry.entry(name)
        except ParameterError as exc:  # unknown name
            raise self.error(skip[0] if skip else None, exc.message) from None
        params = registry.resolve(name, values, error=self.error)
        for p in entry.params:
            if p.kind == "path" and params[p.name] is not None:
                params[p.name] = str((self.path.parent / params[p.name]).resolve())
        return params

    def sub(self, key: str, required: bool = False) -> Section | None:
        """Nested table ``[name.key]``."""
        if key not in self.table:
            if required:
                raise self.error(key, "missing (required table)")
            return None
        self.used.add(key)
        return type(self)(self.path, f"{self.name}.{key}", self.table[key])

    def finish(self) -> None:
        """Raise for keys that were never read (unknown keys)."""
        unknown = [k for k in self.table if k not in self.used]
        if unknown:
            raise self.error(unknown[0], f"unknown key (allowed here: "
                                         f"{', '.join(sorted(self.used)) or 'none'})")
