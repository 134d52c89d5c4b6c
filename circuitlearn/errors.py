"""Exceptions raised by circuitlearn.

Every error that comes from bad user input derives from :class:`CircuitLearnError`;
the CLI turns these into a one-line message and exit status 2, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLocation:
    """Where an element or line came from: file path and 1-based line number."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class CircuitLearnError(Exception):
    """Base class of errors caused by bad input (netlists, experiments, options)."""


class NetlistError(CircuitLearnError):
    """A netlist that cannot be read: names the file, the line and, when known, the element.

    Parameters
    ----------
    path : str
        File the offending line is in.
    line : int
        1-based line number (of the first physical line of a continued line).
    message : str
        What is wrong, in words.
    element : str, optional
        Name of the element (or subcircuit instance) the line defines.
    """

    def __init__(self, path: str, line: int, message: str, element: str | None = None):
        self.path = path
        self.line = line
        self.message = message
        self.element = element
        where = f"{path}:{line}"
        what = f"{element}: " if element else ""
        super().__init__(f"{where}: {what}{message}")


class TopologyError(CircuitLearnError):
    """A circuit whose DC operating point is not uniquely defined.

    Raised for floating nodes, nodes fed only by current sources, loops of voltage
    sources, shorted voltage sources and singular systems. The message names the
    elements, the nodes and, where known, the file and line.
    """

    def __init__(self, message: str, nodes: tuple[str, ...] = (), elements: tuple[str, ...] = ()):
        self.nodes = nodes
        self.elements = elements
        super().__init__(message)


class ExperimentError(CircuitLearnError):
    """An experiment file (TOML) that cannot be used: names the file and the key."""
