r"""Build a training run from a validated experiment: network, problem, data, rule.

The learning flow integrated by :mod:`circuitlearn.training.run` is

.. math:: \frac{dk}{dt} = r(k, X, Y),

with ``r`` the rule chain (:data:`~circuitlearn.learning.rules.RULES` plus the
modifiers of ``[rule]``; zero on edges that do not train) and ``(X, Y)`` the whole
training set (full batch) or the one example presented at time ``t`` (online mode,
switching every ``tau`` seconds; :class:`~circuitlearn.learning.integrate.ExampleSchedule`).

Random modifiers keep their state in the chain (:attr:`ChainedRule.state`, two
integers each), which checkpoints store: a resumed run is bit-for-bit identical.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass

import numpy as np

from circuitlearn import generators
from circuitlearn.circuit import Circuit
from circuitlearn.errors import CircuitLearnError, ExperimentError
from circuitlearn.learning.data import Dataset
from circuitlearn.learning.integrate import ExampleSchedule, Rate, StepHook
from circuitlearn.learning.modifiers import MODIFIERS, Bounds, ChainedRule, chain
from circuitlearn.learning.rules import RULES
from circuitlearn.learning.tasks import DATA_KINDS
from circuitlearn.solver.problem import LearningProblem, make_problem
from circuitlearn.training.experiment import Experiment


@dataclass(eq=False)
class Setup:
    """Everything a run needs.

    Attributes
    ----------
    experiment : Experiment
    circuit : Circuit
        The untrained network (initial conductances ``circuit.conductance``, S).
    problem : LearningProblem
        Inputs, outputs and trainable edges (``problem.trainable``).
    dataset : Dataset
    rule : ChainedRule
        ``rule(k, x, y) -> dk/dt`` (S/s) with the modifiers and their state.
    bounds : Bounds
        ``[train] bounds``, or :func:`default_bounds`.
    """

    experiment: Experiment
    circuit: Circuit
    problem: LearningProblem
    dataset: Dataset
    rule: ChainedRule
    bounds: Bounds

    @property
    def mask(self) -> np.ndarray:
        """Trainable edges (E,), bool."""
        return self.problem.trainable

    def fingerprint(self) -> dict[str, str]:
        """SHA-256 digests of the network and the data set (stored in checkpoints).

        Returns
        -------
        dict
            ``"network"``: the flat netlist :func:`circuitlearn.netlist.write` makes
            of :attr:`circuit` (title line left out) and its exact conductances, so
            edits of the netlist, of included files or of a generator show;
            ``"data"``: shapes and bytes of ``x_train, y_train, x_test, y_test``.
        """
        from circuitlearn import netlist

        text = netlist.write(self.circuit).split("\n", 1)[1]
        net = hashlib.sha256(text.encode())
        net.update(np.ascontiguousarray(self.circuit.conductance, "<f8").tobytes())
        data = hashlib.sha256()
        d = self.dataset
        for arr in (d.x_train, d.y_train, d.x_test, d.y_test):
            arr = np.ascontiguousarray(arr, "<f8")
            data.update(repr(arr.shape).encode())
            data.update(arr.tobytes())
        return {"network": net.hexdigest(), "data": data.hexdigest()}


def _fail(exp: Experiment, section: str, key: str, message: str) -> ExperimentError:
    return ExperimentError(f"{exp.path}: [{section}] {key}: {message}")


# ------------------------------------------------------------------- network
def build_network(exp: Experiment) -> tuple[Circuit, list[str], list]:
    """The circuit and its (default) inputs and outputs from ``[network]``."""
    spec = exp.network
    if spec.netlist is not None:
        from circuitlearn import netlist

        if not spec.netlist.is_file():
            raise _fail(exp, "network", "netlist", f"no such file: {spec.netlist}")
        return netlist.load(spec.netlist), [], []
    params = dict(spec.params)
    learning = {k: params.pop(k) for k in ("inputs", "outputs", "pairs", "input_voltage")}
    rng = np.random.default_rng(params["seed"])
    try:
        net = generators.GENERATORS.entry(spec.generator).build(**{**params, "seed": rng})
        return generators.learning_network(
            net, n_inputs=learning["inputs"], n_outputs=learning["outputs"],
            pairs=learning["pairs"], input_voltage=learning["input_voltage"], seed=rng)
    except ValueError as exc:
        raise _fail(exp, "network", "generator", str(exc)) from None


def select_trainable(circuit: Circuit, spec: str | tuple[str, ...]) -> np.ndarray:
    """Mask of resistors matched by ``spec``: ``"all"``, a glob or names/globs.

    Matching is case-insensitive (:func:`fnmatch.fnmatchcase` on lower-case
    names). Raises ``ValueError`` for a pattern that matches no resistor.
    """
    names = circuit.resistor_names
    if spec == "all":
        return np.ones(len(names), bool)
    patterns = [spec] if isinstance(spec, str) else list(spec)
    mask = np.zeros(len(names), bool)
    for pat in patterns:
        hit = np.array([fnmatch.fnmatchcase(n, pat.lower()) for n in names], bool)
        if not hit.any():
            raise ValueError(f"{pat!r} matches no resistor")
        mask |= hit
    return mask


def _checked_inputs(exp: Experiment, circuit: Circuit, inputs: list[str]) -> list[str]:
    sources = set(circuit.vsource_names) | set(circuit.isource_names)
    lower = [n.lower() for n in inputs]
    for i, name in enumerate(lower):
        if name not in sources:
            raise _fail(exp, "task", "inputs", f"no source named {inputs[i]!r} "
                        f"(sources: {', '.join(sorted(sources)) or 'none'})")
        if name in lower[:i]:
            raise _fail(exp, "task", "inputs", f"lists the source {name!r} twice "
                        "(each data column drives its own source)")
    return lower


def _checked_outputs(exp: Experiment, circuit: Circuit, outputs: list) -> list:
    for out in outputs:
        for name in [out] if isinstance(out, str) else out:
            try:
                circuit.node_index(name)
            except KeyError:
                raise _fail(exp, "task", "outputs", f"no node named {name!r}") from None
    return [o if isinstance(o, str) else tuple(o) for o in outputs]


def build_problem(exp: Experiment, circuit: Circuit, inputs: list[str],
                  outputs: list) -> LearningProblem:
    """:func:`~circuitlearn.solver.problem.make_problem` with the task's inputs,
    outputs and trainable edges."""
    task = exp.task
    ins = _checked_inputs(exp, circuit, list(task.inputs if task.inputs is not None else inputs))
    outs = _checked_outputs(exp, circuit, list(task.outputs if task.outputs is not None
                                               else outputs))
    try:
        mask = select_trainable(circuit, exp.train.trainable)
    except ValueError as exc:
        raise _fail(exp, "train", "trainable", str(exc)) from None
    try:
        return make_problem(circuit, ins, outs, trainable=mask)
    except (CircuitLearnError, ValueError, KeyError) as exc:
        raise _fail(exp, "task", "outputs", f"cannot set up the learning problem: {exc}") from None


# ---------------------------------------------------------------------- data
def build_dataset(exp: Experiment, problem: LearningProblem) -> Dataset:
    """The data set of ``[task.data]``."""
    kind = exp.task.data_kind
    try:
        data = DATA_KINDS.entry(kind).build(problem, **exp.task.data)
    except (ValueError, OSError) as exc:
        raise _fail(exp, "task.data", "kind", f"{kind}: {exc}") from None
    n_in, n_out = len(problem.inputs), len(problem.outputs)
    if data.x_train.shape[1] != n_in:
        raise _fail(exp, "task", "inputs", f"the {kind} data has {data.x_train.shape[1]} "
                    f"input columns but {n_in} input sources are listed")
    if data.y_train.shape[1] != n_out:
        raise _fail(exp, "task", "outputs", f"the {kind} data has {data.y_train.shape[1]} "
                    f"targets but {n_out} outputs are listed")
    return data


# ---------------------------------------------------------------------- rule
def build_rule(exp: Experiment, problem: LearningProblem) -> ChainedRule:
    """The rule chain of ``[rule]``; random modifiers keyed by ``[train] seed``."""
    rule = RULES.entry(exp.rule.name).build(problem, **exp.rule.params)
    mods = [MODIFIERS.entry(name).build(**params) for name, params in exp.rule.modifiers]
    return chain(rule, *mods, seed=exp.train.seed)


DEFAULT_FLOOR = 1e-3


def default_bounds(k0: np.ndarray, mask: np.ndarray) -> Bounds:
    """Passive default ``[1e-3 * min(k0), inf)`` (S) over trainable edges: keeps every
    conductance positive, so the network stays a passive, solvable resistor network."""
    trained = np.abs(k0[mask]) if mask.any() else np.abs(k0)
    return Bounds(DEFAULT_FLOOR * float(np.min(trained)), np.inf)


def build(exp: Experiment) -> Setup:
    """Build every part of the run described by ``exp``."""
    circuit, inputs, outputs = build_network(exp)
    problem = build_problem(exp, circuit, inputs, outputs)
    dataset = build_dataset(exp, problem)
    b = exp.train.bounds
    bounds = (default_bounds(circuit.conductance, problem.trainable) if b is None
              else Bounds(b[0], np.inf if b[1] is None else b[1]))
    return Setup(exp, circuit, problem, dataset, build_rule(exp, problem), bounds)


# ---------------------------------------------------------------------- rate
class Counter:
    """Counts calls of the wrapped rate (``count``: rate evaluations)."""

    def __init__(self, rate: Rate, count: int = 0):
        self.rate = rate
        self.count = count

    def __call__(self, t: float, k: np.ndarray) -> np.ndarray:
        self.count += 1
        return self.rate(t, k)


def make_rate(setup: Setup) -> tuple[Rate, StepHook | None]:
    """The flow ``rate(t, k)`` and, in online mode, its ``before_step`` hook (the
    example presented during step ``[t, t + h]`` is the one at ``t + h/2``)."""
    data, rule, train = setup.dataset, setup.rule, setup.experiment.train
    if train.mode == "full-batch":
        x, y = data.x_train, data.y_train
        return (lambda t, k: rule(k, x, y)), None
    schedule = ExampleSchedule(len(data.x_train), train.tau, train.seed)
    current = [0]

    def before_step(n: int, t: float, h: float) -> None:
        current[0] = schedule.example(t + h / 2)

    def online(t: float, k: np.ndarray) -> np.ndarray:
        i = current[0]
        return rule(k, data.x_train[i:i + 1], data.y_train[i:i + 1])

    return online, before_step
