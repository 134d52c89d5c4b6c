r"""Build a training run from a validated experiment: network, problem, data, rule.

The learning flow integrated by :mod:`circuitlearn.training` is

.. math:: \frac{dk}{dt} = m \odot r(k, X, Y),

with ``r`` the rule chain (``rules.make_rule`` plus the modifiers of ``[rule]``),
``m`` the 0/1 trainable mask and ``(X, Y)`` the whole training set (full batch) or
the one example presented at time ``t`` (online mode, switching every ``tau``
seconds; :class:`~circuitlearn.integrate.ExampleSchedule`).

Random modifiers (``noise``, ``desynchronous``) receive a
:class:`numpy.random.Generator` as their ``seed``; training saves and restores
the generators' states, which makes resumed runs bit-for-bit identical.
"""

from __future__ import annotations

import fnmatch
import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from circuitlearn import generators
from circuitlearn.circuit import Circuit
from circuitlearn.errors import CircuitLearnError, ExperimentError
from circuitlearn.learning import tasks
from circuitlearn.learning.integrate import Bounds, ExampleSchedule, Rate, StepHook
from circuitlearn.training.experiment import Experiment


@dataclass(eq=False)
class Setup:
    """Everything a run needs.

    Attributes
    ----------
    experiment : Experiment
    circuit : Circuit
        The untrained network (initial conductances ``circuit.conductance``, S).
    problem : equilibrium.LearningProblem
    dataset : tasks.Dataset
    rule : callable
        ``rule(k, x, y) -> dk/dt`` (S/s) with modifiers, before masking.
    mask : ndarray of bool, shape (E,)
        Trainable edges.
    bounds : Bounds
        ``[train] bounds``, or :func:`default_bounds`.
    rngs : dict of str to numpy.random.Generator
        Generators handed to random modifiers (state saved in checkpoints).
    """

    experiment: Experiment
    circuit: Circuit
    problem: Any
    dataset: tasks.Dataset
    rule: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    mask: np.ndarray
    bounds: Bounds
    rngs: dict[str, np.random.Generator] = field(default_factory=dict)

    def rng_states(self) -> dict[str, dict]:
        """Current states of :attr:`rngs` (JSON-able)."""
        return {name: g.bit_generator.state for name, g in self.rngs.items()}

    def set_rng_states(self, states: dict[str, dict]) -> None:
        """Restore states saved by :meth:`rng_states`."""
        for name, state in states.items():
            self.rngs[name].bit_generator.state = state

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
    cfg = exp.config["network"]
    if "netlist" in cfg:
        from circuitlearn import netlist

        path = exp.resolve(cfg["netlist"])
        if not path.is_file():
            raise _fail(exp, "network", "netlist", f"no such file: {path}")
        return netlist.load(path), [], []
    rng = np.random.default_rng(cfg["seed"])
    kwargs = {"conductance": tuple(cfg["conductance"]), "seed": rng}
    try:
        net = _generate(cfg, kwargs)
        return generators.learning_network(
            net, n_inputs=cfg["inputs"], n_outputs=cfg["outputs"], pairs=cfg["pairs"],
            input_voltage=cfg["input_voltage"], seed=rng)
    except ValueError as exc:
        raise _fail(exp, "network", "generator", str(exc)) from None


def _generate(cfg: dict[str, Any], kwargs: dict[str, Any]) -> Circuit:
    gen = cfg["generator"]
    if gen == "square":
        return generators.square_lattice(cfg["rows"], cfg["cols"], **kwargs)
    if gen == "triangular":
        return generators.triangular_lattice(cfg["rows"], cfg["cols"], **kwargs)
    if gen == "random_regular":
        return generators.random_regular(cfg["nodes"], cfg["degree"], **kwargs)
    return generators.delaunay_network(cfg["nodes"], cfg["mean_degree"], **kwargs)


def trainable_mask(circuit: Circuit, spec: str | list[str]) -> np.ndarray:
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


def _outputs(exp: Experiment, circuit: Circuit, outputs: list) -> list:
    out = []
    for o in outputs:
        names = [o] if isinstance(o, str) else list(o)
        for name in names:
            try:
                circuit.node_index(name)
            except KeyError:
                raise _fail(exp, "task", "outputs", f"no node named {name!r}") from None
        out.append(o if isinstance(o, str) else tuple(o))
    return out


def _inputs(exp: Experiment, circuit: Circuit, inputs: list[str]) -> list[str]:
    sources = set(circuit.vsource_names) | set(circuit.isource_names)
    for name in inputs:
        if name.lower() not in sources:
            raise _fail(exp, "task", "inputs", f"no source named {name!r} "
                        f"(sources: {', '.join(sorted(sources)) or 'none'})")
    lower = [n.lower() for n in inputs]
    for i, name in enumerate(lower):
        if name in lower[:i]:
            raise _fail(exp, "task", "inputs", f"lists the source {name!r} twice "
                        "(each data column drives its own source)")
    return lower


def build_problem(exp: Experiment, circuit: Circuit, inputs: list[str], outputs: list) -> Any:
    """``equilibrium.make_problem`` with the task's inputs, outputs and mask."""
    from circuitlearn.solver.equilibrium import make_problem

    task = exp.config["task"]
    ins = _inputs(exp, circuit, task["inputs"] if task["inputs"] is not None else inputs)
    outs = _outputs(exp, circuit, task["outputs"] if task["outputs"] is not None else outputs)
    try:
        mask = trainable_mask(circuit, exp.config["train"]["trainable"])
    except ValueError as exc:
        raise _fail(exp, "train", "trainable", str(exc)) from None
    try:
        return make_problem(circuit, ins, outs, trainable=mask)
    except (CircuitLearnError, ValueError, KeyError) as exc:
        raise _fail(exp, "task", "outputs", f"cannot set up the learning problem: {exc}") from None


# ---------------------------------------------------------------------- data
def build_dataset(exp: Experiment, problem: Any) -> tasks.Dataset:
    """The data set of ``[task.data]``."""
    cfg = dict(exp.config["task"]["data"])
    kind = cfg.pop("kind")
    try:
        data = _dataset(exp, problem, kind, cfg)
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


def _dataset(exp: Experiment, problem: Any, kind: str, cfg: dict[str, Any]) -> tasks.Dataset:
    if kind == "teacher":
        return tasks.teacher_regression(
            problem, n_train=cfg["n_train"], n_test=cfg["n_test"], seed=cfg["seed"],
            input_range=tuple(cfg["input_range"]), spread=tuple(cfg["teacher_spread"]))
    if kind == "allostery":
        return tasks.allostery(problem, targets=cfg["targets"], ratio=cfg["ratio"],
                               input_values=cfg["input_values"])
    common = {k: cfg[k] for k in ("test_fraction", "seed", "signed", "target_low",
                                  "target_high")}
    common["input_range"] = tuple(cfg["input_range"])
    if kind == "iris":
        path = exp.resolve(cfg["path"]) if cfg["path"] else None
        return tasks.iris(path=path, **common)
    return tasks.csv_dataset(exp.resolve(cfg["path"]), input_columns=cfg["input_columns"],
                             target_columns=cfg["target_columns"],
                             label_column=cfg["label_column"], **common)


# ---------------------------------------------------------------------- rule
def build_rule(exp: Experiment, problem: Any) -> tuple[Callable, dict[str, np.random.Generator]]:
    """Rule chain of ``[rule]`` and the generators given to its random modifiers."""
    from circuitlearn.learning import rules

    cfg = exp.config["rule"]
    params = {k: v for k, v in cfg.items() if k not in ("name", "modifiers")}
    try:
        rule = rules.make_rule(problem, cfg["name"], **params)
    except (TypeError, ValueError, CircuitLearnError) as exc:
        raise _fail(exp, "rule", "name", f"{cfg['name']}: {exc}") from None
    seed = exp.config["train"]["seed"]
    mods, rngs = [], {}
    for i, (name, kwargs) in enumerate(cfg["modifiers"].items()):
        func = getattr(rules, name)
        kwargs = dict(kwargs)
        if "seed" in inspect.signature(func).parameters:
            rngs[name] = np.random.default_rng([seed, i])
            kwargs["seed"] = rngs[name]
        try:
            mods.append(func(**kwargs))
        except (TypeError, ValueError, CircuitLearnError) as exc:
            raise _fail(exp, f"rule.{name}", next(iter(kwargs), name), str(exc)) from None
    return (rules.chain(rule, *mods) if mods else rule), rngs


def build(exp: Experiment) -> Setup:
    """Build every part of the run described by ``exp``."""
    circuit, inputs, outputs = build_network(exp)
    problem = build_problem(exp, circuit, inputs, outputs)
    dataset = build_dataset(exp, problem)
    rule, rngs = build_rule(exp, problem)
    mask = np.asarray(problem.trainable, bool)
    b = exp.config["train"]["bounds"]
    bounds = (default_bounds(circuit.conductance, mask) if b is None
              else Bounds(b[0], np.inf if b[1] is None else b[1]))
    return Setup(exp, circuit, problem, dataset, rule, mask, bounds, rngs)


DEFAULT_FLOOR = 1e-3


def default_bounds(k0: np.ndarray, mask: np.ndarray) -> Bounds:
    """Passive default ``[1e-3 * min(k0), inf)`` (S) over trainable edges: keeps every
    conductance positive, so the network stays a passive, solvable resistor network."""
    trained = np.abs(k0[mask]) if mask.any() else np.abs(k0)
    return Bounds(DEFAULT_FLOOR * float(np.min(trained)), np.inf)


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
    """The masked flow ``rate(t, k)`` and, in online mode, its ``before_step`` hook
    (the example presented during step ``[t, t + h]`` is the one at ``t + h/2``)."""
    data, mask, rule = setup.dataset, setup.mask, setup.rule
    train = setup.experiment.config["train"]

    def masked(dk: np.ndarray) -> np.ndarray:
        return np.where(mask, dk, 0.0)

    if train["mode"] == "full-batch":
        x, y = data.x_train, data.y_train
        return (lambda t, k: masked(rule(k, x, y))), None
    schedule = ExampleSchedule(len(data.x_train), train["tau"], train["seed"])
    current = [0]

    def before_step(n: int, t: float, h: float) -> None:
        current[0] = schedule.example(t + h / 2)

    def online(t: float, k: np.ndarray) -> np.ndarray:
        i = current[0]
        return masked(rule(k, data.x_train[i:i + 1], data.y_train[i:i + 1]))

    return online, before_step
