"""circuitlearn: circuit-level simulation of self-learning linear resistor networks."""

__version__ = "0.1.0"
