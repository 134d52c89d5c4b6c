r"""Build a training run from a validated experiment: network, problem, data, rule.

The learning flow integrated by :mod:`circuitlearn.training.run` is

.. math:: \frac{dk}{dt} = r(k, X, Y),

with ``r`` the rule chain (:data:`~circuitlearn.learning.rules.RULES` plus the
modifiers of ``[rule]``; zero on edges that do not train) and ``(X, Y)`` the whole
training set, one example or a mini-batch (:mod:`circuitlearn.training.flow`).

Random modifiers keep their state in the chain (:attr:`ChainedRule.state`, two
integers each), which checkpoints store: a resumed run is bit-for-bit identical.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from circuitlearn import generators
from circuitlearn.circuit import Circuit
from circuitlearn.errors import CircuitLearnError, ExperimentError, ParameterError
from circuitlearn.learning.data import Dataset
from circuitlearn.learning.modifiers import MODIFIERS, Bounds, ChainedRule, chain
from circuitlearn.learning.rules import RULES
from circuitlearn.learning.tasks import DATA_KINDS
from circuitlearn.solver.moments import drive_moment
from circuitlearn.solver.problem import LearningProblem, make_problem
from circuitlearn.training.experiment import Experiment, TrainSpec
from circuitlearn.training.flow import auto_step, initial_rate
from circuitlearn.training.layout import experiment_positions

DERIVED_TARGETS = ("teacher", "allostery")
"""Data kinds whose targets are computed from the network (fingerprinted through it)."""


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
    train : TrainSpec
        ``[train]`` with the step and its dependent defaults resolved.
    positions : dict
        Node coordinates from the generator or the netlist, when known.
    """

    experiment: Experiment
    circuit: Circuit
    problem: LearningProblem
    dataset: Dataset
    rule: ChainedRule
    bounds: Bounds
    train: TrainSpec
    positions: dict[str, tuple[float, ...]] = dataclasses.field(default_factory=dict)

    @property
    def mask(self) -> np.ndarray:
        """Trainable edges (E,), bool."""
        return self.problem.trainable

    @cached_property
    def drive_moment(self) -> np.ndarray:
        """``mean u u^T`` of the training drives ``u = [x, 1]`` (for the mean power)."""
        return drive_moment(self.dataset.x_train)

    def fingerprint(self) -> dict[str, str]:
        """SHA-256 digests of the network and the data set (stored in checkpoints).

        Returns
        -------
        dict
            ``"network"``: the flat netlist :func:`circuitlearn.netlist.write` makes
            of :attr:`circuit` (title line left out) and its exact conductances, so
            edits of the netlist, of included files or of a generator show;
            ``"data"``: shapes and bytes of the inputs ``x_train, x_test`` and, for
            data read from files or arrays, the targets ``y_train, y_test``. Targets
            computed from the network (teacher, allostery) are covered by the
            network's digest and the experiment, not by their bits, which depend on
            the factorization backend's rounding.
        """
        from circuitlearn import netlist

        text = netlist.write(self.circuit).split("\n", 1)[1]
        net = hashlib.sha256(text.encode())
        net.update(np.ascontiguousarray(self.circuit.conductance, "<f8").tobytes())
        return {"network": net.hexdigest(),
                "data": data_digest(self.dataset, self.experiment.task.data_kind)}

    def config(self) -> dict[str, Any]:
        """The configuration actually used: :meth:`Experiment.to_dict` with the generated
        inputs and outputs, the resolved ``[train]`` (step, record and checkpoint
        intervals, bounds) and the data defaults the data set resolved."""
        config = self.experiment.to_dict()
        nodes = self.circuit.nodes
        config["task"]["inputs"] = list(self.problem.inputs)
        config["task"]["outputs"] = [nodes[a] if b == 0 else [nodes[a], nodes[b]]
                                     for a, b in self.problem.outputs]
        train = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self.train).items()}
        k_max = float(np.max(self.bounds.k_max))
        train["bounds"] = [float(np.min(self.bounds.k_min)), k_max if np.isfinite(k_max) else None]
        config["train"] = train
        info = self.dataset.info
        data = config["task"]["data"]
        for key, value in list(data.items()):
            if value is None and key in info:
                data[key] = info[key]
        return config


def data_digest(data: Dataset, kind: str) -> str:
    """SHA-256 of a data set's inputs and, unless ``kind`` derives them from the network
    (:data:`DERIVED_TARGETS`), its targets (see :meth:`Setup.fingerprint`)."""
    digest = hashlib.sha256()
    arrays = [data.x_train, data.x_test]
    if kind not in DERIVED_TARGETS:
        arrays += [data.y_train, data.y_test]
    for arr in arrays:
        arr = np.ascontiguousarray(arr, "<f8")
        digest.update(repr(arr.shape).encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


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
    key = "path" if exp.task.data.get("path") else "kind"
    try:
        data = DATA_KINDS.entry(kind).build(problem, **exp.task.data)
    except MemoryError as exc:
        size = "n_train" if "n_train" in exp.task.data else key
        raise _fail(exp, "task.data", size, f"not enough memory for the data set: "
                    f"{exc}") from None
    except (ValueError, OSError) as exc:
        raise _fail(exp, "task.data", key, f"{kind}: {exc}") from None
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


def _checked_data(exp: Experiment, data: Dataset) -> Dataset:
    """Refuse non-finite inputs or targets (an absurd ``input_range`` or teacher)."""
    for name in ("x_train", "y_train", "x_test", "y_test"):
        arr = getattr(data, name)
        if not np.all(np.isfinite(arr)):
            what = "inputs" if name[0] == "x" else "targets"
            raise _fail(exp, "task.data", "kind", f"the {exp.task.data_kind} data set has "
                        f"non-finite {what} ({name}): check its ranges and values")
    return data


def assemble(exp: Experiment, circuit: Circuit, problem: LearningProblem, dataset: Dataset,
             *, dt: float | None = None) -> Setup:
    """The setup of ``exp`` on a built network, problem and data set: rule chain,
    bounds and the resolved ``[train]`` (``dt``: the step of a resumed ``"auto"`` run)."""
    if not problem.trainable.any():
        raise _fail(exp, "train", "trainable", "matches no resistor: nothing would train")
    b = exp.train.bounds
    bounds = (default_bounds(circuit.conductance, problem.trainable) if b is None
              else Bounds(b[0], np.inf if b[1] is None else b[1]))
    setup = Setup(exp, circuit, problem, _checked_data(exp, dataset), build_rule(exp, problem),
                  bounds, exp.train)
    _check_scale(exp, setup)
    step = _step(exp, setup, dt)
    try:
        setup.train = exp.train.with_step(step)
    except ParameterError as exc:
        auto = f'"auto" chose dt = {step:.3g} s: ' if exp.train.dt == "auto" else ""
        raise _fail(exp, "train", exc.key or "dt", auto + exc.message +
                    (" (or lower alpha)" if auto else "")) from None
    return setup


def _step(exp: Experiment, setup: Setup, dt: float | None) -> float:
    """The step: ``[train] dt``, or ``dt`` (resumed), or the automatic one; refuses
    initial rates that are not finite."""
    k0 = setup.circuit.conductance
    try:
        rate = initial_rate(setup, k0)
    except CircuitLearnError as exc:
        raise _fail(exp, "network", _network_key(exp), f"cannot evaluate the learning rule "
                    f"at the initial conductances: {exc}") from None
    if not np.all(np.isfinite(rate)):
        raise _fail(exp, "network", _network_key(exp), "the learning rate dk/dt at the "
                    f"initial conductances ({np.min(k0):.3g} to {np.max(k0):.3g} S) is not "
                    "finite: conductances, inputs or targets beyond what double precision "
                    "can hold")
    if exp.train.dt != "auto":
        return float(exp.train.dt)
    return dt if dt is not None else auto_step(setup, k0, exp.train.t_end, rate)


def _check_scale(exp: Experiment, setup: Setup) -> None:
    """Refuse data whose loss at the initial conductances overflows."""
    from circuitlearn.learning.metrics import mse_loss, predict

    data = setup.dataset
    with np.errstate(all="ignore"):
        loss = mse_loss(predict(setup.problem, setup.circuit.conductance, data.x_train),
                        data.y_train)
    if not np.isfinite(loss):
        key = "path" if exp.task.data.get("path") else "kind"
        raise _fail(exp, "task.data", key, f"the loss at the initial conductances is {loss}: "
                    f"inputs (up to {np.max(np.abs(data.x_train)):.3g}) or targets (up to "
                    f"{np.max(np.abs(data.y_train)):.3g} V) are too large to square in double "
                    "precision")


def _network_key(exp: Experiment) -> str:
    net = exp.network
    return "netlist" if net.netlist is not None else "conductance" if net.generator else "circuit"


def build(exp: Experiment, *, dt: float | None = None) -> Setup:
    """Build every part of the run described by ``exp`` (``dt``: see :func:`assemble`)."""
    circuit, inputs, outputs = build_network(exp)
    problem = build_problem(exp, circuit, inputs, outputs)
    setup = assemble(exp, circuit, problem, build_dataset(exp, problem), dt=dt)
    setup.positions = experiment_positions(exp, circuit)
    return setup
