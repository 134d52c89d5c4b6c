'''Experiment files: the TOML that sets up a training run.

Schema (see also ``docs/experiments.md``; units: volts, siemens, seconds)::

    [network]                 # exactly one of netlist / generator
    netlist = "net.cir"       # SPICE file, relative to the TOML file
    generator = "delaunay"    # "square" | "triangular" | "random_regular" | "delaunay"
    rows = 5; cols = 5        #   square, triangular: lattice size (nodes)
    nodes = 40                #   random_regular, delaunay: node count
    degree = 3                #   random_regular
    mean_degree = 3.5         #   delaunay: 2E/N after pruning
    seed = 0                  #   generator seed (positions, conductances, node picks)
    conductance = [0.5, 1.5]  #   uniform initial conductances (S)
    inputs = 2                #   grounded sources vin1.. at random nodes
    outputs = 1               #   random output nodes (pairs when pairs = true)
    pairs = false
    input_voltage = 1.0       #   netlist value of the input sources (V)

    [task]
    inputs = ["vin1", "vin2"]          # input voltage sources (default: generated ones)
    outputs = ["n7", ["n3", "n4"]]     # nodes, or [a, b] pairs for V(a) - V(b)
    [task.data]
    kind = "teacher"                   # "teacher" | "allostery" | "csv" | "iris"
    # teacher:   n_train = 20, n_test = 50, seed = 0, input_range = [-1.0, 1.0],
    #            teacher_spread = [0.5, 2.0]
    # allostery: targets = [..] (V) or ratio = 0.5; input_values = [..] (V, optional)
    # csv:       path, input_columns, target_columns or label_column,
    #            test_fraction = 0.3, seed = 0, input_range = [0.0, 1.0],
    #            signed = false, target_low = 0.0, target_high = 0.5
    # iris:      as csv without columns; path defaults to netlists/data/iris.csv

    [rule]
    name = "cl"               # "cl" (eta, alpha) | "ep" (beta, alpha, nudging) |
    eta = 0.1                 # "gradient" (alpha); all also take path = "moments" |
                              # "states"; other keys are errors; 0 < eta <= 1,
                              # alpha > 0, beta > 0
    alpha = 1.0
    [rule.noise]              # optional modifiers, applied in file order; keys are
    sigma = 1e-3              # the parameters of circuitlearn.rules.<name> (seeds
    [rule.quantize]           # come from [train] seed)
    levels = 64
    [rule.desynchronous]
    fraction = 0.5

    [train]
    integrator = "euler"      # "euler" | "rk4" | "rk45" | "dop853"
    t_end = 100.0             # s, finite and > 0
    dt = 0.1                  # s (macro step of the adaptive methods); t_end/dt <= 1e8
    rtol = 1e-6; atol = 1e-9  # adaptive tolerances
    bounds = [1e-3, 10.0]     # optional [k_min, k_max] (S), 0 <= k_min < k_max (may be
                              # inf, resolved to None); default [1e-3 min(k0), inf]
    record_every = 10         # steps between rows of curves.csv (default: ~200 rows)
    checkpoint_every = 100    # steps between checkpoints (default: 10 x record_every)
    seed = 0                  # rule noise and the online example order
    trainable = "all"         # "all", a glob on resistor names, or a list of names/globs
    mode = "full-batch"       # or "online": example switches every tau seconds
    tau = 1.0

    [output]
    folder = "runs/NAME"      # relative to the working directory; default runs/<stem>

Unknown keys, wrong types, non-finite numbers (but for ``k_max``), empty input or
output lists and values out of range raise
:class:`~circuitlearn.errors.ExperimentError` naming the file and the key.
'''

from __future__ import annotations

import copy
import inspect
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from circuitlearn.errors import ExperimentError
from circuitlearn.learning.integrate import MAX_STEPS, METHODS, num_steps
from circuitlearn.training.schema import (
    REQUIRED,
    Section,
    at_least,
    finite_positive,
    fraction,
    kind_ok,
    non_empty,
    non_negative,
    positive,
    unit_interval,
)

GENERATORS = {"square": ("rows", "cols"), "triangular": ("rows", "cols"),
              "random_regular": ("nodes", "degree"), "delaunay": ("nodes", "mean_degree")}
RULE_PARAMS = {"cl": {"eta": "float", "alpha": "float", "path": "str"},
               "ep": {"beta": "float", "alpha": "float", "nudging": "str", "path": "str"},
               "gradient": {"alpha": "float", "path": "str"}}
NUDGINGS = ("positive", "negative", "centered")
PATHS = ("moments", "states")
RULE_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "eta": unit_interval, "alpha": finite_positive, "beta": finite_positive,
    "nudging": lambda v: _choice(v, NUDGINGS), "path": lambda v: _choice(v, PATHS)}
MODIFIERS = ("noise", "quantize", "desynchronous")
MODIFIER_CHECKS: dict[str, dict[str, Callable[[Any], str | None]]] = {
    "noise": {"sigma": non_negative,
              "kind": lambda v: _choice(v, ("multiplicative", "additive"))},
    "quantize": {"levels": lambda v: None if kind_ok(v, "int") and v >= 2
                 else f"must be an integer of at least 2, got {v!r}",
                 "step": positive, "range": positive},
    "desynchronous": {"fraction": unit_interval,
                      "rescale": lambda v: None if isinstance(v, bool)
                      else f"expected true or false, got {v!r}"}}
SEEDED = ("seed",)
DATA_KINDS = ("teacher", "allostery", "csv", "iris")


@dataclass(frozen=True)
class Experiment:
    """A validated experiment.

    Attributes
    ----------
    path : Path
        The TOML file.
    config : dict
        Resolved configuration: every section with its defaults filled in
        (JSON-able; stored in ``summary.json`` and checkpoints).
    """

    path: Path
    config: dict[str, Any]

    @property
    def base(self) -> Path:
        """Folder of the TOML file: relative netlist and CSV paths start here."""
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """A path from the file, relative to :attr:`base`."""
        return (self.base / relative).resolve()

    @property
    def output(self) -> Path:
        """The output folder (relative to the working directory)."""
        return Path(self.config["output"]["folder"])


# ------------------------------------------------------------------ sections
def _network(s: Section) -> dict[str, Any]:
    if s.has("netlist") == s.has("generator"):
        raise s.error("netlist", "give exactly one of netlist and generator")
    if s.has("netlist"):
        out = {"netlist": s.get("netlist", "str")}
        s.finish()
        return out
    gen = s.get("generator", "str", choices=tuple(GENERATORS))
    out: dict[str, Any] = {"generator": gen}
    for key in GENERATORS[gen]:
        kind = "float" if key == "mean_degree" else "int"
        out[key] = s.get(key, kind, check=positive if kind == "float" else at_least(1))
    out["seed"] = s.get("seed", "int", 0)
    out["conductance"] = s.get("conductance", "range", [0.5, 1.5],
                               check=lambda v: None if v[0] > 0 else "must be positive")
    out["inputs"] = s.get("inputs", "int", 2, check=at_least(1))
    out["outputs"] = s.get("outputs", "int", 1, check=at_least(1))
    out["pairs"] = s.get("pairs", "bool", False)
    out["input_voltage"] = s.get("input_voltage", "float", 1.0)
    s.finish()
    return out


def _data(s: Section) -> dict[str, Any]:
    kind = s.get("kind", "str", choices=DATA_KINDS)
    out: dict[str, Any] = {"kind": kind}
    if kind == "teacher":
        out["n_train"] = s.get("n_train", "int", 20, check=at_least(1))
        out["n_test"] = s.get("n_test", "int", 50, check=at_least(1))
        out["seed"] = s.get("seed", "int", 0)
        out["input_range"] = s.get("input_range", "range", [-1.0, 1.0])
        out["teacher_spread"] = s.get("teacher_spread", "range", [0.5, 2.0],
                                      check=lambda v: None if v[0] > 0 else "must be positive")
    elif kind == "allostery":
        if s.has("targets") == s.has("ratio"):
            raise s.error("targets", "give exactly one of targets and ratio")
        out["targets"] = s.get("targets", "list[float]", None)
        out["ratio"] = s.get("ratio", "float", None)
        out["input_values"] = s.get("input_values", "list[float]", None)
    else:
        out.update(_table_data(s, kind))
    s.finish()
    return out


def _table_data(s: Section, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if kind == "csv":
        out["path"] = s.get("path", "str")
        out["input_columns"] = s.get("input_columns", "list[str]")
        if s.has("target_columns") == s.has("label_column"):
            raise s.error("label_column", "give exactly one of target_columns and label_column")
        out["target_columns"] = s.get("target_columns", "list[str]", None)
        out["label_column"] = s.get("label_column", "str", None)
    else:
        out["path"] = s.get("path", "str", None)
    out["test_fraction"] = s.get("test_fraction", "float", 0.3, check=fraction)
    out["seed"] = s.get("seed", "int", 0)
    out["input_range"] = s.get("input_range", "range", [0.0, 1.0])
    out["signed"] = s.get("signed", "bool", False)
    out["target_low"] = s.get("target_low", "float", 0.0)
    out["target_high"] = s.get("target_high", "float", 0.5)
    return out


def _task(s: Section, generated: bool) -> dict[str, Any]:
    default = None if generated else REQUIRED
    out = {"inputs": s.get("inputs", "list[str]", default, check=non_empty),
           "outputs": s.get("outputs", "outputs", default, check=non_empty)}
    data = s.sub("data", required=True)
    assert data is not None
    out["data"] = _data(data)
    s.finish()
    return out


def _modifier_params(name: str) -> dict[str, inspect.Parameter] | None:
    """Parameters of the modifier ``circuitlearn.rules.<name>`` (None if no such one)."""
    from circuitlearn.learning import rules

    func = getattr(rules, name, None)
    if func is None:
        return None
    return {k: p for k, p in inspect.signature(func).parameters.items() if k not in SEEDED}


def _value_kind(value: Any) -> str | None:
    """Schema kind of a modifier parameter value (None if not allowed)."""
    for kind in ("bool", "int", "float", "str", "list[float]"):
        if kind_ok(value, kind):
            return kind
    return None


def _modifier(s: Section, name: str) -> dict[str, Any]:
    params = _modifier_params(name)
    out = {}
    for key, value in s.table.items():
        if params is not None and key not in params:
            raise s.error(key, f"unknown parameter of {name} (allowed: {', '.join(params)})")
        kind = _value_kind(value)
        if kind is None:
            raise s.error(key, f"expected a number, string, boolean or list, got {value!r}")
        out[key] = s.get(key, kind, check=MODIFIER_CHECKS.get(name, {}).get(key))
    missing = [k for k, p in (params or {}).items()
               if p.default is inspect.Parameter.empty and k not in out
               and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    if missing:
        raise s.error(missing[0], f"missing (required by {name})")
    s.finish()
    return out


def _rule(s: Section) -> dict[str, Any]:
    name = s.get("name", "str", choices=tuple(RULE_PARAMS))
    out: dict[str, Any] = {"name": name}
    for key, kind in RULE_PARAMS[name].items():
        if s.has(key):
            out[key] = s.get(key, kind, check=RULE_CHECKS[key])
    mods = {}
    for key in [k for k in s.table if k in MODIFIERS]:
        sub = s.sub(key)
        assert sub is not None
        mods[key] = _modifier(sub, key)
    out["modifiers"] = mods
    s.finish()
    return out


def _train(s: Section) -> dict[str, Any]:
    out: dict[str, Any] = {"integrator": s.get("integrator", "str", "euler", choices=METHODS)}
    out["t_end"] = s.get("t_end", "float", check=finite_positive)
    out["dt"] = s.get("dt", "float", check=finite_positive)
    if out["t_end"] / out["dt"] > MAX_STEPS:
        raise s.error("dt", f"t_end / dt = {out['t_end'] / out['dt']:.3g} steps is more than "
                      f"the limit of {MAX_STEPS:.0e}: increase dt or reduce t_end")
    out["rtol"] = s.get("rtol", "float", 1e-6, check=positive)
    out["atol"] = s.get("atol", "float", 1e-9, check=positive)
    bounds = s.get("bounds", "range", None, check=_bounds_problem, finite=False)
    out["bounds"] = None if bounds is None else [
        bounds[0], bounds[1] if math.isfinite(bounds[1]) else None]
    steps = num_steps(out["t_end"], out["dt"])
    out["record_every"] = s.get("record_every", "int", max(1, steps // 200), check=at_least(1))
    out["checkpoint_every"] = s.get("checkpoint_every", "int", 10 * out["record_every"],
                                    check=at_least(1))
    out["seed"] = s.get("seed", "int", 0)
    out["trainable"] = s.get("trainable", "str|list[str]", "all")
    out["mode"] = s.get("mode", "str", "full-batch", choices=("full-batch", "online"))
    out["tau"] = s.get("tau", "float", None if out["mode"] == "full-batch" else REQUIRED,
                       check=finite_positive)
    if out["mode"] == "online" and out["tau"] < out["dt"] * (1 - 1e-9):
        raise s.error("tau", f"must be at least dt = {out['dt']}, got {out['tau']}")
    s.finish()
    return out


def _bounds_problem(v: list[float]) -> str | None:
    """What is wrong with ``[train] bounds = [k_min, k_max]`` (None if nothing)."""
    k_min, k_max = v
    if not math.isfinite(k_min):
        return f"k_min must be finite, got {k_min}"
    if k_min < 0:
        return (f"k_min must not be negative (conductances of a passive network are "
                f"positive), got {k_min}")
    if not k_min < k_max:
        return f"need k_min < k_max, got [{k_min}, {k_max}]"
    return None


def _choice(value: str, choices: tuple[str, ...]) -> str | None:
    return None if value in choices else f"must be one of {', '.join(choices)}; got {value!r}"


def _output(s: Section, stem: str) -> dict[str, Any]:
    out = {"folder": s.get("folder", "str", f"runs/{stem}")}
    s.finish()
    return out


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
    config = {"network": network, "task": _task(sec["task"], "generator" in network),
              "rule": _rule(sec["rule"]), "train": _train(sec["train"]),
              "output": _output(sec["output"], path.stem)}
    return Experiment(path=path, config=config)


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
    return parse_experiment(table, path)


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    """The parts of a resolved config that must match to resume a run (all but output)."""
    out = copy.deepcopy(config)
    out.pop("output", None)
    return out
