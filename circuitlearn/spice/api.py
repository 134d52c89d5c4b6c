"""Public entry points: solve a netlist's DC operating point with ngspice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from circuitlearn.errors import SpiceUnavailable
from circuitlearn.spice import batch, shared
from circuitlearn.spice.common import INSTALL_HINT, SpiceResult
from circuitlearn.spice.deck import Deck, read_netlist
from circuitlearn.spice.superpose import run_superposition

BACKENDS = ("pyspice", "batch")


def available_backends() -> list[str]:
    """List the ngspice backends that can be used here, preferred first.

    Returns
    -------
    list of str
        A subset of ``["pyspice", "batch"]``: ``"pyspice"`` when PySpice imports
        and libngspice is found, ``"batch"`` when the ``ngspice`` program is found.
        Finding is not loading: a library that fails to load shows up as
        :class:`SpiceUnavailable` when used.
    """
    found = []
    if shared.is_available():
        found.append("pyspice")
    if batch.is_available():
        found.append("batch")
    return found


def run_op_batch(
    netlist: str | Path,
    alterations: Sequence[Mapping[str, float]],
    *,
    backend: str = "auto",
    cwd: Path | None = None,
    timeout: float | None = None,
    method: str = "op",
) -> list[SpiceResult]:
    """Solve many DC operating points of one netlist in one ngspice session.

    Parameters
    ----------
    netlist : str or Path
        Path of a netlist file (relative ``.include`` files resolve against its
        folder) or netlist text (first line is the title). A string without a
        newline is taken as a path.
    alterations : sequence of mapping of str to float
        One mapping per operating point from independent voltage/current source
        name (any case, ngspice naming such as ``"v1"`` or ``"v.x1.v2"``) to its DC
        value in volts or amperes (``alter <name> dc = <value>``). Sources a
        mapping does not name keep the netlist's value; ``{}`` solves the netlist
        as written.
    backend : {"auto", "pyspice", "batch"}
        ``"pyspice"``: ngspice's shared library in this process; ``"batch"``: one
        ``ngspice -b`` process; ``"auto"``: PySpice if usable, else batch.
    cwd : Path, optional
        Folder for relative ``.include`` paths; defaults to the netlist's folder
        for a path and the current directory for text.
    timeout : float, optional
        Seconds the batch backend lets ngspice run (default: 600 s plus 60 s per
        operating point, a hang guard). The PySpice backend runs in-process and cannot be
        interrupted.
    method : {"op", "superposition"}
        ``"op"``: ngspice solves every point (``alter`` + ``op`` per point).
        ``"superposition"``: for linear circuits whose alterations all name the
        same k sources, ngspice solves k + 2 points and the rest are combined
        linearly (see :mod:`circuitlearn.spice.superpose`); much faster for large
        netlists, where each ``op`` costs seconds.

    Returns
    -------
    list of SpiceResult
        One result per alteration, in order.

    Raises
    ------
    SpiceUnavailable
        If the requested backend (for ``"auto"``: any backend) is missing; the
        message contains :data:`INSTALL_HINT`.
    SpiceFailed
        If ngspice reports an error or finds no operating point.
    ValueError
        For an unknown backend, a malformed source name or a non-finite value.

    Notes
    -----
    ngspice 39 (Sparse 1.3, no KLU in Debian's build) re-orders the matrix at every
    ``op``; measured per point: 2.8 s for a 100x100 resistor grid (2x10^4
    resistors), 0.46 s for 71x71 (10^4), 60 ms for 142 nodes with 10^4 resistors,
    under 1 ms for small netlists. Process or library start-up is negligible next
    to that, so ``method="superposition"`` is the way to many points of a large
    network. After a point that needed convergence aids (singular matrix, gmin or
    source stepping) the circuit is reset before the next point, because ngspice
    would otherwise answer later points differently and silently.
    """
    if backend not in ("auto", *BACKENDS):
        raise ValueError(f"unknown ngspice backend {backend!r}; choose auto, pyspice or batch")
    if method not in ("op", "superposition"):
        raise ValueError(f"unknown method {method!r}; choose op or superposition")
    deck = read_netlist(netlist, cwd)
    if method == "superposition":
        return run_superposition(lambda points: _solve(deck, points, backend, timeout), alterations)
    return _solve(deck, list(alterations), backend, timeout)


def _solve(
    deck: Deck, alterations: list[Mapping[str, float]], backend: str, timeout: float | None
) -> list[SpiceResult]:
    if not alterations:
        return []
    problems: list[str] = []
    if backend in ("auto", "pyspice"):
        if not shared.pyspice_importable():
            problems.append("pyspice: PySpice cannot be imported")
        elif shared.find_library() is None:
            problems.append("pyspice: libngspice was not found")
        else:
            try:
                return shared.run_shared(deck, alterations)
            except SpiceUnavailable as exc:
                problems.append(f"pyspice: {str(exc).replace('; ' + INSTALL_HINT, '')}")
    if backend in ("auto", "batch"):
        if batch.find_executable() is not None:
            return batch.run_batch(deck, alterations, timeout=timeout)
        problems.append("batch: the ngspice program was not found")
    if backend != "auto":
        raise SpiceUnavailable(f"ngspice backend {backend!r} is not available ("
                               + "; ".join(problems) + f"); {INSTALL_HINT}")
    raise SpiceUnavailable(
        "no ngspice backend is available (" + "; ".join(problems) + f"); {INSTALL_HINT}"
    )


def run_op(
    netlist: str | Path,
    *,
    backend: str = "auto",
    cwd: Path | None = None,
    timeout: float | None = None,
) -> SpiceResult:
    """Solve a netlist's DC operating point with ngspice.

    Parameters
    ----------
    netlist : str or Path
        Path of a netlist file or netlist text (see :func:`run_op_batch`).
    backend : {"auto", "pyspice", "batch"}
        Which ngspice to use (see :func:`run_op_batch`).
    cwd : Path, optional
        Folder for relative ``.include`` paths (see :func:`run_op_batch`).
    timeout : float, optional
        Seconds the batch backend lets ngspice run (default 660 s).

    Returns
    -------
    SpiceResult
        Node voltages (V), voltage-source currents (A, SPICE sign) and warnings.

    Raises
    ------
    SpiceUnavailable
        If no requested backend is available (message contains INSTALL_HINT).
    SpiceFailed
        If ngspice reports an error or finds no operating point.
    """
    return run_op_batch(netlist, [{}], backend=backend, cwd=cwd, timeout=timeout)[0]
