"""Every exception circuitlearn raises; all derive from :class:`CircuitLearnError`
except :class:`TrainingInterrupted`, a :class:`KeyboardInterrupt`.

The CLI turns a :class:`CircuitLearnError` into a one-line message on stderr and exit
status 2, never a traceback. Each message names where the problem is: the file and
line of a netlist, the table and key of an experiment file, the parameter of a rule,
or the elements and nodes of a circuit.

>>> from circuitlearn.errors import CircuitLearnError, NetlistError
>>> err = NetlistError("net.cir", 3, "needs two node names", "r1")
>>> str(err), isinstance(err, CircuitLearnError)
('net.cir:3: r1: needs two node names', True)
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


# ------------------------------------------------------------------ netlists
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


class ExpressionError(CircuitLearnError, ValueError):
    """A bad expression; ``str(err)`` is a short message such as "undefined parameter 'foo'".

    The netlist reader adds file, line and element (see :class:`NetlistError`).
    """


# ------------------------------------------------------------------- solving
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


class SingularMatrixError(CircuitLearnError, ArithmeticError):
    """The matrix could not be factorized (singular, or not positive definite)."""


class ProblemError(CircuitLearnError):
    """A learning problem that cannot be set up or solved (unknown source or node,
    an output held by voltage sources, dependent outputs, a singular network)."""


# ------------------------------------------------------------------ learning
class ParameterError(CircuitLearnError, ValueError):
    """A bad parameter of a registered rule, modifier, generator or data kind.

    Attributes
    ----------
    key : str or None
        The parameter (``None`` when the name of the rule or kind itself is wrong).
    message : str
        What is wrong with it.
    """

    def __init__(self, what: str, key: str | None, message: str):
        self.key = key
        self.message = message
        super().__init__(f"{what}: {key}: {message}" if key else f"{what}: {message}")


class IntegrationError(CircuitLearnError):
    """The integration of a learning flow failed (step-size underflow, non-finite rates)."""


class ExperimentError(CircuitLearnError):
    """An experiment file (TOML) that cannot be used: names the file and the key."""


class DataError(CircuitLearnError, ValueError):
    """A data file (CSV) that cannot be used: names the file, the line and the column."""


class RunFolderError(CircuitLearnError):
    """A run folder that cannot be used: it exists (no ``--resume``/``--force``), is in
    use by another process, cannot be created, or holds a damaged checkpoint."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during a training run, after the run wrote its partial outputs.

    A :class:`KeyboardInterrupt` (so it stops a script like any Ctrl-C), not a
    :class:`CircuitLearnError`; ``str(exc)`` says where the run stopped and
    :attr:`result` holds the partial
    :class:`~circuitlearn.training.result.TrainingResult`.
    """

    def __init__(self, message: str, result: object = None):
        super().__init__(message)
        self.result = result


# -------------------------------------------------------------------- ngspice
class SpiceUnavailable(CircuitLearnError):  # noqa: N818 (public name)
    """No usable ngspice backend (program, shared library or PySpice missing)."""


class SpiceFailed(CircuitLearnError):  # noqa: N818 (public name)
    """ngspice ran but reported an error or produced no operating point."""


class RawFileError(CircuitLearnError, ValueError):
    """A rawfile that cannot be parsed."""
