"""The files a run leaves: trained networks with their provenance, curves, summary, figure.

``trained.cir`` and ``best.cir`` are :func:`circuitlearn.netlist.write`'s netlist
of the network at the last and at the best recorded state, with comment lines
after the title that say where they come from (experiment, rule and step size,
step, time, status, circuitlearn version) and the node coordinates
(``* pos``, :mod:`circuitlearn.training.layout`). Comments do not change what
the netlist means: it reads back equal to the trained network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from circuitlearn._version import __version__
from circuitlearn.learning.rules import alpha_unit
from circuitlearn.training.checkpoint import Best
from circuitlearn.training.io import atomic_write, curves_dict, write_curves, write_json
from circuitlearn.training.layout import position_lines
from circuitlearn.training.setup import Setup


def describe(setup: Setup) -> str:
    """One line with the rule, its hyperparameters and the integration:
    ``cl eta=0.1, alpha=100 S/(V^2 s); euler dt=0.05 s; full-batch``."""
    rule, train = setup.experiment.rule, setup.train
    units = {"alpha": f" {alpha_unit(rule.name)}", "beta": " S"}
    params = ", ".join((f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}") + units.get(k, "")
                       for k, v in rule.params.items() if k != "path")
    mods = "".join(f" + {name}(" + ", ".join(f"{k}={v}" for k, v in p.items()
                                             if v is not None) + ")"
                   for name, p in rule.modifiers)
    mode = train.mode + (f" {train.batch_size}" if train.mode == "minibatch" else "")
    return (f"{rule.name} {params}{mods}; {train.integrator} "
            f"dt={train.dt:.3g} s; {mode}")


def netlist_text(setup: Setup, k: np.ndarray, notes: list[str]) -> str:
    """The netlist of the network at conductances ``k`` with ``notes`` and the node
    coordinates as comments after the title."""
    from circuitlearn import netlist

    k = np.asarray(k, float)
    bad = ~(np.isfinite(k) & (k > 0))
    title, rest = netlist.write(setup.circuit.with_conductance(np.where(bad, 1.0, k))
                                ).split("\n", 1)
    if bad.any():  # an open (k = 0) or overflowed resistor is no SPICE resistor
        names = {setup.circuit.resistor_names[i]: k[i] for i in np.flatnonzero(bad)}
        rest = "\n".join(f"* {line.split()[0]} {line.split()[1]} {line.split()[2]}: "
                         f"conductance {names[line.split()[0]]} S, left out" if
                         line.split(" ", 1)[0] in names else line for line in rest.split("\n"))
    origin = ("fit()" if setup.experiment.network.circuit is not None
              else str(setup.experiment.path))
    head = [f"* trained by circuitlearn {__version__} from {origin}",
            f"* {describe(setup)}", *(f"* {n}" for n in notes),
            "* conductances in S = 1/R", *position_lines(setup.positions)]
    return "\n".join([title, *head, rest])


def write_outputs(folder: Path, setup: Setup, *, rows: list, k: np.ndarray, best: Best | None,
                  summary: dict[str, Any]) -> None:
    """Write ``curves.csv``, ``trained.cir``, ``best.cir``, ``summary.json`` and
    ``curves.png`` of a finished (or interrupted) run into ``folder``."""
    from circuitlearn.training.plotting import plot_curves

    write_curves(folder / "curves.csv", rows)
    state = (f"step {summary['steps']} of {summary['total_steps']}, t = {summary['t']:.6g} s, "
             f"status {summary['status']}")
    atomic_write(folder / "trained.cir", netlist_text(setup, k, [state]).encode())
    if best is not None:
        on = "test" if setup.dataset.has_test else "train"
        unit = setup.dataset.info.get("loss_unit", "V^2")
        note = (f"best state: lowest {on} loss {best.loss:.6g} {unit} at step {best.step}, "
                f"t = {best.t:.6g} s")
        atomic_write(folder / "best.cir", netlist_text(setup, best.k, [note]).encode())
    write_json(folder / "summary.json", summary)
    title = f"{setup.experiment.path.stem}: {describe(setup)}"
    if summary["status"] != "completed":
        title += f" [{summary['status']} at step {summary['steps']}]"
    plot_curves(curves_dict(rows), folder / "curves.png", title=title,
                baselines=summary.get("baselines"),
                loss_unit=setup.dataset.info.get("loss_unit", "V^2"))
