"""circuitlearn: circuit-level simulation of self-learning linear resistor networks."""

from .circuit import Circuit
from .errors import CircuitLearnError, NetlistError, TopologyError
from .netlist import load, parse, write, write_file
from .solver import OperatingPoint, solve

__version__ = "0.1.0"

__all__ = [
    "Circuit",
    "CircuitLearnError",
    "NetlistError",
    "OperatingPoint",
    "TopologyError",
    "load",
    "parse",
    "solve",
    "write",
    "write_file",
]
