"""Netlist preparation and alteration commands shared by the ngspice backends.

A netlist is given either as a path or as text. Before ngspice sees it, the text
loses any ``.control`` ... ``.endc`` block (the backends issue their own ``op``)
and everything from the top-level ``.end`` on. Relative ``.include`` / ``.lib``
paths are left alone: the backends run ngspice with the netlist's folder as the
current directory, where ngspice looks for them.

Alterations (``{source_name: value}``) become ngspice control commands::

    let circuitlearn_orig_0 = @v1[dc]      (once: remember the netlist's value)
    alter v1 dc = 0.5                      (per operating point)
    alter v1 dc = circuitlearn_orig_0      (restore when a later point omits v1)

so every operating point sees the netlist's values except those it names, as if
the netlist had been edited and solved on its own.

One ngspice state leak matters: after an ``op`` that needed convergence aids
(singular matrix, gmin or source stepping, the transient op), later ``op`` runs
in the same session quietly return different (1/gmin-sized) answers without any
warning. The backends therefore ``reset`` the circuit (ngspice re-parses it,
dropping all alterations) before the next point and use :attr:`fresh_steps`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from circuitlearn.errors import CircuitLearnError

_SOURCE_NAME = re.compile(r"[vi][^\s;=,(){}\[\]'\"]*")
ORIG_PREFIX = "circuitlearn_orig_"


@dataclass(frozen=True)
class Deck:
    """A netlist ready for ngspice.

    Attributes
    ----------
    lines : list of str
        Title line first, without ``.control`` blocks and without ``.end``.
    base_dir : Path
        Folder that relative ``.include`` paths are resolved against (ngspice's
        current directory while it reads the netlist).
    origin : str
        The netlist's path, or ``"<netlist text>"``, for messages.
    notes : list of str
        What was removed, to report as warnings.
    """

    lines: list[str]
    base_dir: Path
    origin: str
    notes: list[str] = field(default_factory=list)

    def with_control(self, commands: Sequence[str]) -> str:
        """Return the netlist text with a ``.control`` block and ``.end`` appended.

        Parameters
        ----------
        commands : sequence of str
            ngspice control-language commands, one per line.

        Returns
        -------
        str
            Netlist text for a batch (``ngspice -b``) run.
        """
        return "\n".join([*self.lines, ".control", *commands, ".endc", ".end", ""])


def _keyword(line: str) -> str:
    parts = line.strip().split(None, 1)
    return parts[0].lower() if parts else ""


def read_netlist(netlist: str | Path, cwd: Path | None = None) -> Deck:
    """Read a netlist given as a path or as text.

    Parameters
    ----------
    netlist : str or Path
        A :class:`~pathlib.Path`, a string naming an existing file (a string
        without a newline is taken as a path), or netlist text (first line is the
        title).
    cwd : Path, optional
        Folder for relative ``.include`` paths. Defaults to the netlist's folder for
        a path and to the current directory for text.

    Returns
    -------
    Deck
        The prepared netlist.

    Raises
    ------
    CircuitLearnError
        If the file does not exist or the netlist is empty.
    """
    if isinstance(netlist, Path) or "\n" not in netlist:
        path = Path(netlist).expanduser()
        if not path.is_file():
            raise CircuitLearnError(f"netlist file not found: {path}")
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        origin = str(path)
        base = Path(cwd) if cwd is not None else path.resolve().parent
    else:
        text = netlist
        origin = "<netlist text>"
        base = Path(cwd) if cwd is not None else Path.cwd()
    raw = text.splitlines()
    if not raw or not any(line.strip() for line in raw):
        raise CircuitLearnError(f"{origin}: empty netlist")
    lines = [raw[0]]
    notes: list[str] = []
    in_control = 0
    for number, line in enumerate(raw[1:], start=2):
        word = _keyword(line)
        if in_control:
            if word == ".endc":
                notes.append(
                    f"circuitlearn: {origin}: .control block at lines {in_control}-{number} "
                    "ignored"
                )
                in_control = 0
            continue
        if word == ".control":
            in_control = number
            continue
        if word == ".end":
            break
        lines.append(line)
    if in_control:
        notes.append(f"circuitlearn: {origin}: unterminated .control block at line {in_control}")
    return Deck(lines=lines, base_dir=base.resolve(), origin=origin, notes=notes)


def _format_value(value: float) -> str:
    return repr(float(value))


@dataclass(frozen=True)
class AlterationPlan:
    """ngspice commands for a batch of operating points.

    Attributes
    ----------
    setup : list of str
        Commands to run once after the circuit is loaded (remember original values).
    steps : list of list of str
        For each operating point, the ``alter`` commands to run before its ``op``,
        given the state the previous point left.
    fresh_steps : list of list of str
        For each operating point, the ``alter`` commands to run on a freshly loaded
        (or ``reset``) circuit: only the values the point names.
    """

    setup: list[str]
    steps: list[list[str]]
    fresh_steps: list[list[str]]


def plan_alterations(alterations: Sequence[Mapping[str, float]]) -> AlterationPlan:
    """Turn alterations into ``let`` / ``alter`` commands.

    Parameters
    ----------
    alterations : sequence of mapping of str to float
        One mapping per operating point: independent V or I source name (any case,
        ngspice naming, e.g. ``"V1"``, ``"v.x1.v2"``) to its new DC value in volts
        or amperes. An empty mapping means the netlist as written.

    Returns
    -------
    AlterationPlan
        Setup commands and per-point commands. Sources named by one point and not
        by a later one are restored to the netlist's value.

    Raises
    ------
    ValueError
        If a name is not a plausible V/I source name or a value is not finite.
    """
    normalized: list[dict[str, float]] = []
    order: dict[str, int] = {}
    for index, alteration in enumerate(alterations):
        point: dict[str, float] = {}
        for name, value in alteration.items():
            key = str(name).strip().lower()
            if not _SOURCE_NAME.fullmatch(key):
                raise ValueError(
                    f"alteration {index}: {name!r} is not an independent voltage or current "
                    "source name (V... or I..., ngspice naming such as v.x1.v2)"
                )
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(f"alteration {index}: value of {name!r} is {value!r}")
            point[key] = number
            order.setdefault(key, len(order))
        normalized.append(point)
    setup = [f"let {ORIG_PREFIX}{j} = @{name}[dc]" for name, j in order.items()]
    steps: list[list[str]] = []
    fresh = [[f"alter {k} dc = {_format_value(v)}" for k, v in p.items()] for p in normalized]
    current: dict[str, float | None] = dict.fromkeys(order)  # None: netlist's value
    for point in normalized:
        commands: list[str] = []
        for name, j in order.items():
            wanted = point.get(name)
            if wanted is None and current[name] is not None:
                commands.append(f"alter {name} dc = {ORIG_PREFIX}{j}")
            elif wanted is not None:
                # Re-issue even when unchanged: cheap, and robust against ngspice state.
                commands.append(f"alter {name} dc = {_format_value(wanted)}")
            current[name] = wanted
        steps.append(commands)
    return AlterationPlan(setup=setup, steps=steps, fresh_steps=fresh)
