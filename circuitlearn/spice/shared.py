"""PySpice backend: ngspice as a shared library (``libngspice``) in this process.

The netlist text goes straight to ngspice (``NgSpiceShared.load_circuit``, i.e.
``ngSpice_Circ``) so ngspice itself expands ``.param``, ``.subckt`` and
``.include``; PySpice's own netlist classes are not used. Commands (``alter``,
``op``, ``destroy all``, ``remcirc``) go through ``exec_command`` and the
operating point is read from ngspice's vectors (``ngSpice_AllVecs`` /
``ngGet_Vec_Info``).

Library discovery (:func:`find_library`): ``$NGSPICE_LIBRARY_PATH``, then
``ctypes.util.find_library("ngspice")`` (which finds Debian's ``libngspice.so.0``
through the linker cache; Debian ships no unversioned ``libngspice.so``, which is
what PySpice looks for by default), then known install locations. The path is
handed to PySpice by setting ``NgSpiceShared.LIBRARY_PATH`` before the first
instance is made.

ngspice's shared library is a process-wide singleton, so one instance is kept per
process (PySpice's ``NgSpiceShared.new_instance()``, shared with any other PySpice
user in the process), calls are serialised by a lock, and every run removes its
plots (``destroy all``) and its circuit (``remcirc``) so nothing leaks into the
next one. While the netlist is loaded the process's current directory is the
netlist's folder, so relative ``.include`` paths resolve there.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import glob
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from circuitlearn.errors import SpiceFailed, SpiceUnavailable
from circuitlearn.spice.common import (
    INSTALL_HINT,
    SpiceResult,
    Triage,
    result_from_vectors,
    triage_messages,
)
from circuitlearn.spice.deck import AlterationPlan, Deck, plan_alterations

BACKEND = "pyspice"

_KNOWN_LOCATIONS = (
    "/usr/lib/x86_64-linux-gnu/libngspice.so.0",
    "/usr/lib/aarch64-linux-gnu/libngspice.so.0",
    "/usr/lib/*-linux-gnu/libngspice.so*",
    "/usr/lib64/libngspice.so*",
    "/usr/lib/libngspice.so*",
    "/usr/local/lib/libngspice.so*",
    "/usr/local/lib/libngspice*.dylib",
    "/opt/homebrew/lib/libngspice*.dylib",
)
# ngspice's vector types (enum simulation_types in ngspice's sim.h).
_VECTOR_KINDS = {3: "voltage", 4: "current"}

_LOCK = threading.RLock()
_state: dict[str, Any] = {"session": None, "error": None}


def find_library() -> str | None:
    """Locate libngspice.

    Returns
    -------
    str or None
        ``$NGSPICE_LIBRARY_PATH`` when set (None if it names no file); else what
        ``ctypes.util.find_library("ngspice")`` returns (a soname such as
        ``libngspice.so.0``, loadable through the linker cache, or a full path);
        else the first existing known location; else None.
    """
    configured = os.environ.get("NGSPICE_LIBRARY_PATH")
    if configured:
        # PySpice allows a "{}" placeholder for the instance number; ours is 0.
        return configured if Path(configured.replace("{}", "")).is_file() else None
    found = ctypes.util.find_library("ngspice")
    if found:
        return found
    for pattern in _KNOWN_LOCATIONS:
        for candidate in sorted(glob.glob(pattern)):
            if Path(candidate).is_file():
                return candidate
    return None


def pyspice_importable() -> bool:
    """Whether PySpice (and its cffi dependency) can be imported."""
    try:
        import PySpice.Spice.NgSpice.Shared  # noqa: F401
    except Exception:  # ImportError, or PySpice failing on import
        return False
    return True


def is_available() -> bool:
    """Whether PySpice is importable and libngspice can be found."""
    return find_library() is not None and pyspice_importable()


@contextlib.contextmanager
def _quiet_pyspice() -> Iterator[None]:
    """Silence PySpice's logger, which logs every ngspice stderr note as an error."""
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared

    logger = NgSpiceShared._logger
    previous = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = previous


def _session() -> Any:
    """Return the process's NgSpiceShared instance, creating it on first use."""
    if _state["session"] is not None:
        return _state["session"]
    if _state["error"] is not None:
        raise SpiceUnavailable(_state["error"])
    try:
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared
    except Exception as exc:
        raise SpiceUnavailable(f"PySpice cannot be imported ({exc}); {INSTALL_HINT}") from None
    existing = NgSpiceShared._instances.get(0)
    if existing is None:
        library = find_library()
        if library is None:
            raise SpiceUnavailable(f"libngspice was not found; {INSTALL_HINT}")
        # PySpice formats LIBRARY_PATH with the instance number: escape braces.
        NgSpiceShared.LIBRARY_PATH = library.replace("{}", "").replace("{", "{{").replace("}", "}}")
        try:
            with _quiet_pyspice():
                existing = NgSpiceShared.new_instance()
        except Exception as exc:  # OSError from dlopen, NameError from ngSpice_Init
            # cffi declarations are not repeatable: do not try again in this process.
            _state["error"] = f"cannot load libngspice from {library!r} ({exc}); {INSTALL_HINT}"
            raise SpiceUnavailable(_state["error"]) from None
    _state["session"] = existing
    return existing


class _Runner:
    """Thin wrapper over an NgSpiceShared instance that collects messages."""

    def __init__(self, ngspice: Any):
        from PySpice.Spice.NgSpice.Shared import ffi

        self.ng = ngspice
        self.ffi = ffi
        self.lib = ngspice._ngspice_shared  # the cffi handle of libngspice

    def _messages(self) -> list[tuple[str, str]]:
        out = [("stdout", s) for s in self.ng.stdout.splitlines()]
        return out + [("stderr", s) for s in self.ng.stderr.splitlines()]

    def command(self, command: str) -> Triage:
        """Run one control command; return its messages sorted."""
        from PySpice.Spice.NgSpice.Shared import NgSpiceCommandError

        try:
            self.ng.exec_command(command)
        except NgSpiceCommandError:  # raised for any stderr line, notes included
            pass
        except NameError as exc:  # ngSpice_Command returned an error code
            raise SpiceFailed(f"ngspice rejected {command!r}: {exc}") from None
        return triage_messages(self._messages())

    def load(self, deck: Deck) -> Triage:
        """Load the netlist, with the netlist's folder as current directory."""
        from PySpice.Spice.NgSpice.Shared import NgSpiceCircuitError

        # load_circuit drops empty lines; keep line 1 the title whatever it holds.
        lines = [line if line.strip() else "*" for line in deck.lines]
        lines = [ln.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for ln in lines]
        lines.append(".end")
        previous = os.getcwd()
        os.chdir(deck.base_dir)
        try:
            self.ng.load_circuit("\n".join(lines))
        except NgSpiceCircuitError:  # raised when a stdout line says "error", even the title
            pass
        except NameError as exc:  # ngSpice_Circ returned an error code
            raise SpiceFailed(f"ngspice could not load {deck.origin}: {exc}") from None
        finally:
            os.chdir(previous)
        return triage_messages(self._messages())

    def current_plot(self) -> str:
        return self.ffi.string(self.lib.ngSpice_CurPlot()).decode("utf-8", "replace")

    def vectors(self, plot: str) -> list[tuple[str, str, float]]:
        """Return ``(name, kind, value)`` for every vector of *plot*."""
        names_c = self.lib.ngSpice_AllVecs(plot.encode("utf-8"))
        out: list[tuple[str, str, float]] = []
        if names_c == self.ffi.NULL:
            return out
        i = 0
        while names_c[i] != self.ffi.NULL:
            name = self.ffi.string(names_c[i]).decode("utf-8", "replace")
            i += 1
            info = self.lib.ngGet_Vec_Info(f"{plot}.{name}".encode())
            if info == self.ffi.NULL or info.v_length < 1:
                raise SpiceFailed(f"ngspice vector {name!r} of plot {plot!r} is empty")
            kind = _VECTOR_KINDS.get(info.v_type, "other")
            if info.v_realdata != self.ffi.NULL:
                value = float(info.v_realdata[0])
            else:
                value = float(info.v_compdata[0].cx_real)
            out.append((name, kind, value))
        return out

    def clear(self) -> None:
        """Remove all plots and all loaded circuits."""
        self.command("destroy all")
        for _ in range(1000):
            self.command("remcirc")
            if "no circuit" in self.ng.stderr.lower():
                break


def run_shared(deck: Deck, alterations: Sequence[Mapping[str, float]]) -> list[SpiceResult]:
    """Solve the DC operating point once per alteration in the shared library.

    Parameters
    ----------
    deck : Deck
        The prepared netlist.
    alterations : sequence of mapping of str to float
        Source name to DC value (volts or amperes) for each operating point.

    Returns
    -------
    list of SpiceResult
        One result per alteration, in order.

    Raises
    ------
    SpiceUnavailable
        If PySpice or libngspice is missing or cannot be loaded.
    SpiceFailed
        If ngspice reports an error or produces no operating point.
    """
    plan = plan_alterations(alterations)
    with _LOCK:
        runner = _Runner(_session())
        with _quiet_pyspice():
            runner.clear()
            try:
                return _run(runner, deck, plan)
            finally:
                runner.clear()


def _fail(deck: Deck, triage: Triage, where: str) -> None:
    if triage.errors:
        details = "; ".join(triage.errors[:6])
        raise SpiceFailed(f"ngspice failed on {deck.origin} ({where}): {details}")


def _run(runner: _Runner, deck: Deck, plan: AlterationPlan) -> list[SpiceResult]:
    loaded = runner.load(deck)
    _fail(deck, loaded, "loading the netlist")
    common = Triage(warnings=list(deck.notes))
    common.extend(loaded)
    for command in plan.setup:
        _fail(deck, runner.command(command), command)
    results = []
    dirty = False
    for index in range(len(plan.steps)):
        step = plan.steps[index]
        if dirty:  # see circuitlearn.spice.deck: do not trust this session's state
            _fail(deck, runner.command("reset"), f"operating point {index}: reset")
            step = plan.fresh_steps[index]
        point = Triage()
        for command in step:
            triage = runner.command(command)
            _fail(deck, triage, f"operating point {index}: {command}")
            point.extend(triage)
        triage = runner.command("op")
        _fail(deck, triage, f"operating point {index}")
        point.extend(triage)
        dirty = point.needed_convergence_aid
        plot = runner.current_plot()
        if not plot.startswith("op"):
            raise SpiceFailed(f"ngspice produced no operating point {index} for {deck.origin}")
        vectors = runner.vectors(plot)
        warnings = Triage(warnings=list(common.warnings))
        warnings.extend(point)
        results.append(result_from_vectors(vectors, warnings.warnings, BACKEND))
        runner.command("destroy all")
    return results
