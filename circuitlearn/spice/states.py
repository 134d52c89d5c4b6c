"""The free, clamped and nudged states of training examples as ordinary circuits,
cross-checked against ngspice.

For a learning problem with outputs ``(a, b)`` (``b`` is ground for a single node):

* free state: the network with its input sources set to the example ``x``;
* clamped state (coupled learning): plus a voltage source ``vclamp<j> a b`` holding
  ``V_a - V_b = V_F + eta (y - V_F)`` at each output;
* nudged state (equilibrium propagation): plus, at each output, a resistor
  ``rnudge<j> a nudge<j>`` of conductance ``beta`` and a source
  ``vnudge<j> nudge<j> b`` of value ``y``, which injects the current
  ``beta (y - (V_a - V_b))`` into ``a`` (and draws it from ``b``).

Each kind of state is one netlist (written by :func:`circuitlearn.netlist.write`)
solved by ngspice for every sampled example in one session (``alter`` + ``op``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from circuitlearn.circuit import Circuit
from circuitlearn.errors import CircuitLearnError
from circuitlearn.netlist import write
from circuitlearn.solver.adjoint import unique_name
from circuitlearn.solver.equilibrium import EquilibriumSolver, LearningProblem
from circuitlearn.spice import run_op_batch
from circuitlearn.spice.validation import Check, ValidationReport, compare, node_dict


def augmented_circuit(problem: LearningProblem, k: np.ndarray, kind: str,
                      beta: float = 0.0) -> tuple[Circuit, list[str]]:
    """The network at conductances ``k`` with clamp (``kind="clamped"``) or nudge
    (``kind="nudged"``, conductance ``beta`` in S) elements at the outputs.

    Returns the circuit and the names of the added sources, one per output, whose
    values an example sets (all 0 V here).
    """
    c = problem.circuit.with_conductance(k)
    if kind == "free":
        return c, []
    taken = set(c.resistor_names) | set(c.vsource_names) | set(c.isource_names)
    nodes, r_names, r_edges, r_k = list(c.nodes), list(c.resistor_names), \
        c.resistor_edges.tolist(), c.conductance.tolist()
    v_names, v_edges, v_vals = list(c.vsource_names), c.vsource_edges.tolist(), \
        c.vsource_values.tolist()
    added = []
    for j, (a, b) in enumerate(problem.outputs, start=1):
        if kind == "clamped":
            added.append(unique_name(f"vclamp{j}", taken))
            v_edges.append((a, b))
        else:
            node = unique_name(f"nudge{j}", set(nodes))
            nodes.append(node)
            r_names.append(unique_name(f"rnudge{j}", taken))
            r_edges.append((a, len(nodes) - 1))
            r_k.append(beta)
            added.append(unique_name(f"vnudge{j}", taken))
            v_edges.append((len(nodes) - 1, b))
        v_names.append(added[-1])
        v_vals.append(0.0)
    circuit = Circuit(nodes=tuple(nodes), resistor_names=tuple(r_names), resistor_edges=r_edges,
                      conductance=r_k, vsource_names=tuple(v_names), vsource_edges=v_edges,
                      vsource_values=v_vals, isource_names=c.isource_names,
                      isource_edges=c.isource_edges, isource_values=c.isource_values,
                      title=f"{c.title} ({kind} state)")
    return circuit, added


def state_checks(problem: LearningProblem, k: np.ndarray, x: np.ndarray, y: np.ndarray, *,
                 label: str, eta: float, betas: list[float], backend: str = "auto",
                 method: str = "op") -> list[Check]:
    """Free, clamped (``eta``) and nudged (each of ``betas``, S) states of the examples
    ``x`` (B, n_in), ``y`` (B, n_out): circuitlearn's equilibrium solver vs ngspice."""
    solver = EquilibriumSolver(problem, k)
    v_free = solver.free(x)
    out_free = solver.outputs(v_free)
    cases = [("free", 0.0, v_free, np.zeros((len(x), 0))),
             (f"clamped eta={eta:g}", 0.0, solver.clamped(x, y, eta),
              out_free + eta * (y - out_free))]
    cases += [(f"nudged beta={b:+g}", b, solver.nudged(x, y, b), y) for b in betas]
    checks = []
    for kind, beta, ours, added_values in cases:
        circuit, added = augmented_circuit(problem, k, kind.split()[0], beta)
        alterations = [{**dict(zip(problem.inputs, xi.tolist(), strict=True)),
                        **dict(zip(added, ai.tolist(), strict=True))}
                       for xi, ai in zip(x, added_values, strict=True)]
        results = run_op_batch(write(circuit), alterations, backend=backend, method=method)
        for i, (v, spice) in enumerate(zip(ours, results, strict=True)):
            mine = node_dict(problem.circuit.nodes, v)
            extra = set(circuit.nodes) - set(problem.circuit.nodes)  # nudge nodes
            spice.node_voltages = {n: x for n, x in spice.node_voltages.items()
                                   if n not in extra}
            checks.append(compare(f"{label}, example {i}: {kind}", mine, spice))
    return checks


@dataclass(frozen=True)
class ExperimentSample:
    """Sampled training examples of an experiment and the conductances to check.

    Attributes
    ----------
    setup : Setup
        The built experiment (:func:`circuitlearn.training.setup.build`).
    x, y : ndarray
        The sampled training examples (B, n_in) and targets (B, n_out).
    states : list of (str, ndarray)
        ``(label, k)``: the initial conductances and, if there is one, the run's
        checkpoint (S).
    """

    setup: Any
    x: np.ndarray
    y: np.ndarray
    states: list[tuple[str, np.ndarray]]


def sample_experiment(path: str | Path, *, run: str | Path | None = None,
                      samples: int | None = 4, seed: int = 0) -> ExperimentSample:
    """``samples`` training examples of the experiment at ``path`` (drawn with ``seed``;
    None: the whole training set, in order), with its initial conductances and, when
    the run folder (``run``, default the experiment's output folder) holds a
    checkpoint, the checkpoint's conductances."""
    from circuitlearn.training.checkpoint import CHECKPOINT, load_checkpoint
    from circuitlearn.training.experiment import load_experiment
    from circuitlearn.training.setup import build

    if samples is not None and samples < 1:
        raise CircuitLearnError(f"--samples must be at least 1, got {samples}")
    setup = build(load_experiment(path))
    data = setup.dataset
    size = len(data.x_train)
    pick = np.arange(size) if samples is None else np.sort(np.random.default_rng(seed).choice(
        size, size=min(samples, size), replace=False))
    states = [("initial conductances", setup.circuit.conductance)]
    folder = Path(run) if run is not None else setup.experiment.output
    if run is not None and not (folder / CHECKPOINT).is_file():
        raise CircuitLearnError(f"no checkpoint in the run folder: {folder / CHECKPOINT} does not "
                                "exist (train with --out to create it)")
    if (folder / CHECKPOINT).is_file():
        ckpt = load_checkpoint(folder)
        states.append((f"checkpoint step {ckpt.step} (t = {ckpt.t:g} s)", ckpt.k))
    return ExperimentSample(setup, data.x_train[pick], data.y_train[pick], states)


def validate_experiment(path: str | Path, *, backend: str = "auto", rtol: float = 1e-9,
                        run: str | Path | None = None, samples: int = 4, seed: int = 0,
                        method: str = "op") -> ValidationReport:
    """Check the free, clamped and nudged states of ``samples`` training examples of
    the experiment at ``path``, at the initial conductances and, when the run folder
    (``run``, default the experiment's output folder) holds a checkpoint, at the
    checkpoint's conductances. Clamping uses the rule's ``eta`` (default 0.5); nudging
    the rule's ``beta`` and sign (EP), else ``beta = 0.1 * mean(k)``, both signs."""
    sample = sample_experiment(path, run=run, samples=samples, seed=seed)
    setup, x, y, states = sample.setup, sample.x, sample.y, sample.states
    rule = setup.experiment.rule.params
    report = ValidationReport(str(path), rtol)
    for label, k in states:
        betas = _betas(rule, k)
        report.checks += state_checks(setup.problem, k, x, y, label=label,
                                      eta=float(rule.get("eta", 0.5)), betas=betas,
                                      backend=backend, method=method)
    return report


def _betas(rule: Mapping[str, Any], k: np.ndarray) -> list[float]:
    beta = rule.get("beta")
    if beta is None:
        scale = 0.1 * float(np.mean(np.abs(k)))
        return [scale, -scale]
    nudging = str(rule.get("nudging", "positive"))
    return {"positive": [beta], "negative": [-beta]}.get(nudging, [beta, -beta])
