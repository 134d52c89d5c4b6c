"""circuitlearn: circuit-level simulation of self-learning linear resistor networks.

Networks come from SPICE netlists (:func:`load`, :func:`parse`, :func:`write`), DC
operating points from :func:`solve`, learning problems from :func:`make_problem`
with their free, clamped and nudged states (:class:`EquilibriumSolver`), rules
from :func:`make_rule`, runs from :func:`train` (an experiment file) or :func:`fit`
(arrays), ngspice cross-checks from
:func:`validate_netlist` and :func:`validate_experiment`.

Names load on first use (PEP 562), so ``import circuitlearn`` and the command line
start without importing SciPy's integrators, networkx or matplotlib.

>>> import circuitlearn as cl
>>> op = cl.solve(cl.parse("divider\\nV1 in 0 10\\nR1 in mid 1k\\nR2 mid 0 3k\\n"))
>>> round(op.voltage("mid"), 12)
7.5
"""

from __future__ import annotations

import importlib
from typing import Any

from circuitlearn._version import __version__

_API = {
    "Circuit": "circuitlearn.circuit",
    "CircuitLearnError": "circuitlearn.errors",
    "NetlistError": "circuitlearn.errors",
    "TopologyError": "circuitlearn.errors",
    "ParameterError": "circuitlearn.errors",
    "load": "circuitlearn.netlist",
    "parse": "circuitlearn.netlist",
    "write": "circuitlearn.netlist",
    "write_file": "circuitlearn.netlist",
    "OperatingPoint": "circuitlearn.solver.dc",
    "solve": "circuitlearn.solver.dc",
    "EquilibriumSolver": "circuitlearn.solver.equilibrium",
    "LearningProblem": "circuitlearn.solver.problem",
    "make_problem": "circuitlearn.solver.problem",
    "adjoint_network": "circuitlearn.solver.adjoint",
    "make_rule": "circuitlearn.learning.rules",
    "chain": "circuitlearn.learning.modifiers",
    "make_dataset": "circuitlearn.learning.tasks",
    "integrate": "circuitlearn.learning.integrate",
    "load_experiment": "circuitlearn.training.experiment",
    "train": "circuitlearn.training.run",
    "fit": "circuitlearn.training.fit",
    "TrainingResult": "circuitlearn.training.result",
    "validate_netlist": "circuitlearn.spice.validation",
    "validate_experiment": "circuitlearn.spice.states",
    "validate_gradient": "circuitlearn.spice.gradient",
    "rule_fidelity": "circuitlearn.analysis.fidelity",
    "FlowField": "circuitlearn.learning.flow",
    "flow_network": "circuitlearn.learning.flow",
    "generate_run": "circuitlearn.training.generate",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'circuitlearn' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
