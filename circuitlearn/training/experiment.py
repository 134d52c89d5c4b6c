'''Experiment files: the TOML that sets up a training run, read once into typed specs.

Schema (``docs/experiments.md`` has every key; units: volts, siemens, seconds)::

    [network]                 # exactly one of netlist / generator
    netlist = "net.cir"       # SPICE file, relative to the TOML file
    generator = "delaunay"    # a name of generators.GENERATORS, with its parameters,
    nodes = 40                #   plus inputs, outputs, pairs, input_voltage
    [task]
    inputs = ["vin1"]         # input sources (default: the generated ones)
    outputs = ["n7", ["n3", "n4"]]
    [task.data]
    kind = "teacher"          # a name of learning.tasks.DATA_KINDS, with its parameters
    [rule]
    name = "cl"               # a name of learning.rules.RULES, with its parameters
    eta = 0.1
    [rule.noise]              # optional modifiers of learning.modifiers.MODIFIERS,
    sigma = 1e-3              # applied in file order
    [train]                   # TRAIN: integrator, t_end, dt, bounds, mode, ...
    [output]
    folder = "runs/NAME"

Rules, modifiers, generators and data kinds are checked by their registries, the
other keys by the :class:`~circuitlearn.registry.Param` declarations below: a TOML
file and a Python call accept the same values. Every error is an
:class:`~circuitlearn.errors.ExperimentError` naming the file, the table and the key.

>>> exp = load_experiment("netlists/experiments/regression.toml")
>>> exp.rule.name, exp.rule.params["eta"], exp.train.integrator
('cl', 0.1, 'euler')
'''

from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from circuitlearn.errors import ExperimentError, ParameterError
from circuitlearn.generators import GENERATORS
from circuitlearn.learning.integrate import MAX_STEPS, METHODS, num_steps
from circuitlearn.learning.modifiers import MODIFIERS, bounds_problem
from circuitlearn.learning.rules import RULES
from circuitlearn.learning.tasks import DATA_KINDS
from circuitlearn.registry import (
    REQUIRED,
    Param,
    at_least,
    finite_positive,
    non_empty,
    positive,
)
from circuitlearn.training.schema import Section

LEARNING_NETWORK = (
    Param("inputs", "int", 2, check=at_least(1), doc="grounded input sources vin1.."),
    Param("outputs", "int", 1, check=at_least(1), doc="random output nodes"),
    Param("pairs", "bool", False, doc="outputs are node pairs V(a) - V(b)"),
    Param("input_voltage", default=1.0, doc="netlist value of the inputs (V)"))


def _bounds(v: list[float]) -> str | None:
    return bounds_problem(*v)


def _some(v: str | list[str]) -> str | None:
    return None if len(v) else "lists no resistor: nothing would train"


def _step(v: float | str) -> str | None:
    return None if v == "auto" else finite_positive(v)


MODES = ("full-batch", "online", "minibatch")
TRAIN = (
    Param("integrator", "str", "euler", choices=METHODS, doc="time stepper"),
    Param("t_end", check=finite_positive, doc="end time (s)"),
    Param("dt", "float|auto", check=_step,
          doc='step (s), or "auto"; macro step of the adaptive ones'),
    Param("rtol", default=1e-6, check=positive, doc="adaptive relative tolerance"),
    Param("atol", default=1e-9, check=positive, doc="adaptive absolute tolerance (S)"),
    Param("bounds", "range", None, check=_bounds, finite=False,
          doc="[k_min, k_max] (S); default [1e-3 min(k0), inf)"),
    Param("record_every", "int", None, check=at_least(1), doc="steps between curve rows"),
    Param("checkpoint_every", "int", None, check=at_least(1), doc="steps between checkpoints"),
    Param("seed", "int", 0, check=at_least(0), doc="modifier noise, example order"),
    Param("trainable", "str|list[str]", "all", check=_some,
          doc="all, or names/globs of resistors"),
    Param("mode", "str", "full-batch", choices=MODES, doc="batching"),
    Param("batch_size", "int", None, check=at_least(1), doc="minibatch: examples per batch"),
    Param("tau", default=None, check=finite_positive,
          doc="online/minibatch: time per example or batch (s)"),
    Param("stop_loss", default=None, check=positive,
          doc="stop (converged) once the train loss is at most this (V^2)"),
    Param("stop_tolerance", default=None, check=positive,
          doc="stop (converged) when the train loss improved by less than this "
              "fraction over stop_window steps"),
    Param("stop_window", "int", None, check=at_least(1),
          doc="steps over which stop_tolerance is measured (default 10 x record_every)"))


@dataclass(frozen=True)
class NetworkSpec:
    """``[network]``: a netlist (absolute path) or a generator with its parameters; or
    ``circuit``, the title of a :class:`~circuitlearn.circuit.Circuit` given to
    :func:`~circuitlearn.training.fit.fit`."""

    netlist: Path | None
    generator: str | None
    params: Mapping[str, Any]
    circuit: str | None = None


@dataclass(frozen=True)
class TaskSpec:
    """``[task]``: input source names, outputs (None: the generated ones), data kind."""

    inputs: tuple[str, ...] | None
    outputs: tuple[str | tuple[str, str], ...] | None
    data_kind: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class RuleSpec:
    """``[rule]``: the rule's name and resolved parameters, and its modifiers in order."""

    name: str
    params: Mapping[str, Any]
    modifiers: tuple[tuple[str, Mapping[str, Any]], ...]


@dataclass(frozen=True)
class TrainSpec:
    """``[train]`` (see :data:`TRAIN`). Defaults that depend on the step (``record_every``,
    ``checkpoint_every``, ``tau`` of mini-batches, ``stop_window``) are None until
    :meth:`with_step` fills them, which ``dt = "auto"`` defers to the run's setup."""

    integrator: str
    t_end: float
    dt: float | str
    rtol: float
    atol: float
    bounds: tuple[float, float] | None
    record_every: int | None
    checkpoint_every: int | None
    seed: int
    trainable: str | tuple[str, ...]
    mode: str
    batch_size: int | None
    tau: float | None
    stop_loss: float | None
    stop_tolerance: float | None
    stop_window: int | None

    @property
    def total_steps(self) -> int:
        """Steps from 0 to ``t_end`` (``dt`` resolved)."""
        return num_steps(self.t_end, float(self.dt))

    def with_step(self, dt: float) -> TrainSpec:
        """This spec with step ``dt`` (s) and every default that depends on it resolved.

        Raises
        ------
        ParameterError
            Too many steps, or ``tau < dt``; ``key`` names the ``[train]`` key.
        """
        if self.t_end / dt > MAX_STEPS:
            raise ParameterError("[train]", "dt", f"t_end / dt = {self.t_end / dt:.3g} steps "
                                 f"(dt = {dt:.3g} s) is more than the limit of "
                                 f"{MAX_STEPS:.0e}: increase dt or reduce t_end")
        record = self.record_every or max(1, num_steps(self.t_end, dt) // 200)
        tau = self.tau if self.tau is not None or self.mode != "minibatch" else dt
        if tau is not None and tau < dt * (1 - 1e-9):
            raise ParameterError("[train]", "tau", f"must be at least dt = {dt}, got {tau}")
        window = self.stop_window or (10 * record if self.stop_tolerance else None)
        return dataclasses.replace(self, dt=dt, record_every=record, tau=tau,
                                   checkpoint_every=self.checkpoint_every or 10 * record,
                                   stop_window=window)


@dataclass(frozen=True)
class Experiment:
    """A validated experiment file."""

    path: Path
    network: NetworkSpec
    task: TaskSpec
    rule: RuleSpec
    train: TrainSpec
    output: Path

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration as JSON-able data (``summary.json``, checkpoints)."""
        net = self.network
        network = ({"netlist": str(net.netlist)} if net.netlist is not None
                   else {"circuit": net.circuit} if net.circuit is not None
                   else {"generator": net.generator, **net.params})
        task = {"inputs": _listed(self.task.inputs), "outputs": _listed(self.task.outputs),
                "data": {"kind": self.task.data_kind, **self.task.data}}
        rule = {"name": self.rule.name, **self.rule.params,
                "modifiers": {name: dict(p) for name, p in self.rule.modifiers}}
        train = {k: _listed(v) for k, v in vars(self.train).items()}
        return copy.deepcopy({"network": network, "task": task, "rule": rule, "train": train,
                              "output": {"folder": str(self.output)}})


def _listed(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_listed(v) for v in value]
    return value


# ------------------------------------------------------------------ sections
def _network(s: Section) -> NetworkSpec:
    if s.has("netlist") == s.has("generator"):
        raise s.error("netlist", "give exactly one of netlist and generator")
    if s.has("netlist"):
        path = (s.path.parent / s.read(Param("netlist", "path"))).resolve()
        s.finish()
        return NetworkSpec(path, None, {})
    name = s.read(Param("generator", "str", choices=GENERATORS.names()))
    learning = s.read_all(LEARNING_NETWORK)
    params = s.entry(GENERATORS, name, skip=("generator", *learning))
    s.finish()
    return NetworkSpec(None, name, {**params, **learning})


def _task(s: Section, generated: bool) -> TaskSpec:
    default = None if generated else REQUIRED
    inputs = s.read(Param("inputs", "list[str]", default, check=non_empty))
    outputs = s.read(Param("outputs", "outputs", default, check=non_empty))
    data = s.sub("data", required=True)
    kind = data.read(Param("kind", "str", choices=DATA_KINDS.names()))
    params = data.entry(DATA_KINDS, kind, skip=("kind",))
    data.finish()
    s.finish()
    return TaskSpec(_tupled(inputs), _tupled(outputs), kind, params)


def _tupled(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tupled(v) for v in value)
    return value


def rule_spec(s: Section) -> RuleSpec:
    """``[rule]`` (and its modifier tables) read from section ``s``."""
    name = s.read(Param("name", "str", choices=RULES.names()))
    mods = tuple(k for k in s.table if k in MODIFIERS)
    params = s.entry(RULES, name, skip=("name", *mods))
    modifiers = []
    for key in mods:
        sub = s.sub(key)
        modifiers.append((key, sub.entry(MODIFIERS, key)))
        sub.finish()
    s.finish()
    return RuleSpec(RULES.entry(name).name, params, tuple(modifiers))


def train_spec(s: Section) -> TrainSpec:
    """``[train]`` read from section ``s`` (step-dependent defaults resolved unless
    ``dt = "auto"``)."""
    values = s.read_all(TRAIN)
    mode = values["mode"]
    if mode == "online" and values["tau"] is None:
        raise s.error("tau", "missing (required in online mode)")
    if (mode == "minibatch") != (values["batch_size"] is not None):
        raise s.error("batch_size", 'required in mode = "minibatch", and only there')
    if mode == "full-batch" and values["tau"] is not None:
        raise s.error("tau", 'applies to mode = "online" or "minibatch" only')
    if values["stop_window"] is not None and values["stop_tolerance"] is None:
        raise s.error("stop_window", "needs stop_tolerance")
    b = values["bounds"]
    values["bounds"] = None if b is None else (b[0], b[1] if math.isfinite(b[1]) else None)
    values["trainable"] = _tupled(values["trainable"])
    s.finish()
    spec = TrainSpec(**values)
    if spec.dt == "auto":
        return spec
    try:
        return spec.with_step(spec.dt)
    except ParameterError as exc:
        raise s.error(exc.key, exc.message) from None


SECTIONS = ("network", "task", "rule", "train", "output")


def parse_experiment(table: dict[str, Any], path: Path) -> Experiment:
    """Validate a parsed TOML ``table`` (from file ``path``)."""
    for key in table:
        if key not in SECTIONS:
            raise ExperimentError(f"{path}: [{key}]: unknown section "
                                  f"(allowed: {', '.join(SECTIONS)})")
    for key in SECTIONS[:4]:
        if key not in table:
            raise ExperimentError(f"{path}: [{key}]: missing section")
    sec = {k: Section(path, k, table.get(k, {})) for k in SECTIONS}
    network = _network(sec["network"])
    output = sec["output"].read(Param("folder", "str", f"runs/{path.stem}"))
    sec["output"].finish()
    return Experiment(path, network, _task(sec["task"], network.generator is not None),
                      rule_spec(sec["rule"]), train_spec(sec["train"]), Path(output))


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate the experiment file at ``path``.

    Raises
    ------
    ExperimentError
        Unreadable file, TOML syntax error, unknown key, wrong type or bad value;
        the message names the file and the key.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh)
    except OSError as exc:
        raise ExperimentError(f"{path}: cannot read experiment file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ExperimentError(f"{path}: not a UTF-8 text file (byte "
                              f"{exc.object[exc.start]:#04x} at offset {exc.start}): "
                              "an experiment file is TOML text") from None
    except RecursionError:
        raise ExperimentError(f"{path}: invalid TOML: arrays or tables nested too "
                              "deeply") from None
    return parse_experiment(table, path)


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    """The parts of a resolved config that must match to resume a run (all but output)."""
    out = copy.deepcopy(config)
    out.pop("output", None)
    return out
