r"""ngspice's own DC sensitivity analysis (``.sens``) against circuitlearn's adjoint one.

circuitlearn computes ``dV_out/dR_e`` exactly from two solves, the circuit and its
adjoint network driven by a 1 A probe at the output
(:func:`~circuitlearn.solver.adjoint.resistance_sensitivity`). ngspice's ``sens
v(a,b)`` (``cktsens.c``) solves the operating point, then for every device parameter
``p`` re-loads the device at ``p + delta`` with ``delta = 1e-6 p``
(:data:`SENS_STEP`) and solves ``Y dE = dI - dY E`` with the factored matrix. The
solve is exact, the device derivative a forward difference: for a resistor
``(1/(R + delta) - 1/R)/delta = -1/(R^2 (1 + 1e-6))``, so every vector ``rX`` is
the exact derivative divided by ``1 + 1e-6``, whatever the circuit.

Measured on the bundled netlists and random networks (tests/spice/test_sens.py):
``spice/exact - 1 = -1.0000e-6`` on every resistor; after the correction
``spice * (1 + 1e-6)`` the difference is at most a few 1e-10 of ``max_e |dV/dR_e|``
(roundoff of a difference quotient with step 1e-6: ``eps / 1e-6 ~ 2e-10``). The
check therefore compares the corrected values with :data:`SENS_RTOL` = 1e-8,
relative to ``max_e |dV/dR_e|``; the raw values miss any tolerance below 1e-6.

The deck ngspice reads is :func:`circuitlearn.netlist.write` of the parsed circuit
(``.options sparse`` added: ``.sens`` refuses KLU), never the user's file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuitlearn.circuit import Circuit
from circuitlearn.errors import SpiceFailed
from circuitlearn.netlist import write
from circuitlearn.solver.adjoint import resistance_sensitivity
from circuitlearn.spice import batch, shared
from circuitlearn.spice.deck import Deck, read_netlist

SENS_STEP = 1e-6
"""ngspice's relative parameter step in ``.sens`` (``Sens_Delta`` in cktsens.c)."""
SENS_RTOL = 1e-8
"""Agreement required of ``spice * (1 + SENS_STEP)``, relative to ``max_e |dV/dR_e|``."""


def _deck(circuit: Circuit) -> Deck:
    deck = read_netlist(write(circuit))
    return Deck([*deck.lines, ".options sparse"], deck.base_dir, "<sensitivity deck>")


def _output_spec(output: tuple[str, str]) -> str:
    a, b = (n.lower() for n in output)
    return f"v({a})" if b == "0" else f"v({a},{b})"


def spice_sensitivity(circuit: Circuit, output: tuple[str, str], *, backend: str = "auto",
                      timeout: float = 600.0) -> dict[str, float]:
    """ngspice's ``.sens`` of ``V(a) - V(b)``: ``{resistor name: dV/dR}`` (V/ohm), the
    principal vector ``rX`` exactly as ngspice reports it (see the module docstring).

    ``backend``: ``"pyspice"`` (shared library), ``"batch"`` (``ngspice -b``) or
    ``"auto"`` (PySpice if usable).
    """
    deck = _deck(circuit)
    command = f"sens {_output_spec(output)}"
    if resolve_backend(backend) == "pyspice":
        vectors = _run_shared(deck, command)
    else:
        vectors = _run_batch(deck, command, timeout)
    missing = [n for n in circuit.resistor_names if n not in vectors]
    if missing:
        raise SpiceFailed(f"ngspice's .sens gave no value for {', '.join(missing[:5])}")
    return {n: vectors[n] for n in circuit.resistor_names}


def resolve_backend(backend: str) -> str:
    """``"pyspice"`` or ``"batch"``: ``"auto"`` picks PySpice when it can be found."""
    if backend not in ("auto", "pyspice", "batch"):
        raise ValueError(f"unknown ngspice backend {backend!r}; choose auto, pyspice or batch")
    if backend == "auto":
        return "pyspice" if shared.is_available() else "batch"
    return backend


def _run_shared(deck: Deck, command: str) -> dict[str, float]:
    with shared._LOCK:
        runner = shared._Runner(shared._session())
        with shared._quiet_pyspice():
            runner.clear()
            try:
                for triage in (runner.load(deck), runner.command(command)):
                    if triage.errors:
                        raise SpiceFailed(f"ngspice failed ({command}): {triage.errors[0]}")
                plot = runner.current_plot()
                if not plot.startswith("sens"):
                    raise SpiceFailed(f"ngspice produced no sensitivity plot ({command})")
                return {name.lower(): value for name, _, value in runner.vectors(plot)}
            finally:
                runner.clear()


def _run_batch(deck: Deck, command: str, timeout: float) -> dict[str, float]:
    plot = batch.run_analysis(deck, command, timeout)
    return {name.lower().removeprefix("v(").removesuffix(")"): float(v[0].real)
            for name, v in plot.vectors.items()}


@dataclass(frozen=True)
class SensitivityReport:
    """``dV_out/dR`` (V/ohm) of every resistor by circuitlearn and by ngspice.

    Attributes
    ----------
    output : str
        ``"v(a)"`` or ``"v(a,b)"``.
    names : tuple of str
    resistance : ndarray (E,), ohm
    ours : ndarray (E,)
        circuitlearn's exact derivatives (adjoint network).
    spice : ndarray (E,) or None
        ngspice's ``.sens`` vectors as reported (None when not run).
    backend : str
    """

    output: str
    names: tuple[str, ...]
    resistance: np.ndarray
    ours: np.ndarray
    spice: np.ndarray | None = None
    backend: str = ""

    def _error(self, values: np.ndarray) -> float:
        scale = float(np.max(np.abs(self.ours)))
        return float(np.max(np.abs(values - self.ours))) / scale if scale > 0 else 0.0

    @property
    def raw_error(self) -> float:
        """``max_e |spice - ours| / max_e |ours|`` (about ``SENS_STEP``)."""
        return self._error(self.spice) if self.spice is not None else 0.0

    @property
    def corrected_error(self) -> float:
        """The same for ``spice * (1 + SENS_STEP)``: roundoff only."""
        return self._error(self.spice * (1 + SENS_STEP)) if self.spice is not None else 0.0

    @property
    def passed(self) -> bool:
        return self.corrected_error <= SENS_RTOL

    def to_dict(self) -> dict:
        rows = [{"resistor": n, "resistance": float(r), "dv_dr": float(d)}
                for n, r, d in zip(self.names, self.resistance, self.ours, strict=True)]
        out: dict = {"output": self.output, "unit": "V/ohm", "rows": rows}
        if self.spice is not None:
            for row, s in zip(rows, self.spice, strict=True):
                row["ngspice"] = float(s)
            out.update(backend=self.backend, raw_error=self.raw_error,
                       corrected_error=self.corrected_error, rtol=SENS_RTOL,
                       passed=self.passed)
        return out

    def format(self) -> str:
        head = f"{'resistor':<20} {'R (ohm)':>14} {'dV/dR (V/ohm)':>23}"
        if self.spice is not None:
            head += f" {'ngspice .sens':>23} {'ngspice/ours - 1':>17}"
        out = [f"sensitivity of {self.output} to every resistance", head]
        for i, name in enumerate(self.names):
            line = f"{name:<20} {self.resistance[i]:>14.6g} {self.ours[i]:>23.15e}"
            if self.spice is not None:
                ratio = self.spice[i] / self.ours[i] - 1 if self.ours[i] else np.nan
                line += f" {self.spice[i]:>23.15e} {ratio:>17.4e}"
            out.append(line)
        if self.spice is not None:
            verdict = "PASS" if self.passed else "FAIL"
            out.append(f"ngspice ({self.backend}) differs by {self.raw_error:.3g} of "
                       f"max |dV/dR| (its forward-difference step is {SENS_STEP:g}); "
                       f"x (1 + {SENS_STEP:g}): {self.corrected_error:.3g}")
            out.append(f"{verdict}: corrected difference {self.corrected_error:.3g} "
                       f"(tolerance {SENS_RTOL:g})")
        return "\n".join(out)


def sensitivity_report(circuit: Circuit, output: tuple[str, str], *,
                       backend: str | None = None) -> SensitivityReport:
    """circuitlearn's ``dV_out/dR``, and ngspice's ``.sens`` when ``backend`` is given."""
    ours = resistance_sensitivity(circuit, output)
    spice, used = None, ""
    if backend is not None:
        used = resolve_backend(backend)
        values = spice_sensitivity(circuit, output, backend=used)
        spice = np.array([values[n] for n in circuit.resistor_names])
    return SensitivityReport(_output_spec(output), circuit.resistor_names,
                             circuit.resistance, ours, spice, used)
