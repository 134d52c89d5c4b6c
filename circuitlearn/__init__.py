"""circuitlearn: circuit-level simulation of self-learning linear resistor networks."""

__version__ = "0.1.0"

from .circuit import Circuit  # noqa: E402
from .equilibrium import EquilibriumSolver, LearningProblem, make_problem  # noqa: E402
from .errors import CircuitLearnError, NetlistError, TopologyError  # noqa: E402
from .experiment import load_experiment  # noqa: E402
from .netlist import load, parse, write, write_file  # noqa: E402
from .rules import chain, make_rule  # noqa: E402
from .solver import OperatingPoint, solve  # noqa: E402
from .training import train  # noqa: E402
from .validate import validate_netlist  # noqa: E402
from .validate_states import validate_experiment  # noqa: E402

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
