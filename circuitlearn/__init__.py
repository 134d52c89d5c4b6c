"""circuitlearn: circuit-level simulation of self-learning linear resistor networks."""

__version__ = "0.1.0"

from circuitlearn.circuit import Circuit  # noqa: E402
from circuitlearn.errors import CircuitLearnError, NetlistError, TopologyError  # noqa: E402
from circuitlearn.learning.rules import chain, make_rule  # noqa: E402
from circuitlearn.netlist import load, parse, write, write_file  # noqa: E402
from circuitlearn.solver.dc import OperatingPoint, solve  # noqa: E402
from circuitlearn.solver.equilibrium import EquilibriumSolver, LearningProblem, make_problem  # noqa: E402
from circuitlearn.spice.states import validate_experiment  # noqa: E402
from circuitlearn.spice.validation import validate_netlist  # noqa: E402
from circuitlearn.training.experiment import load_experiment  # noqa: E402
from circuitlearn.training.run import train  # noqa: E402

__all__ = [
    "Circuit",
    "CircuitLearnError",
    "EquilibriumSolver",
    "LearningProblem",
    "NetlistError",
    "OperatingPoint",
    "TopologyError",
    "chain",
    "load",
    "load_experiment",
    "make_problem",
    "make_rule",
    "parse",
    "solve",
    "train",
    "validate_experiment",
    "validate_netlist",
    "write",
    "write_file",
]
