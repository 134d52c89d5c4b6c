"""Shared pieces of the ngspice backends: result type, errors and message triage.

ngspice reports through two text streams (stdout and stderr, or the shared
library's ``SendChar`` callback, which prefixes each line with ``stdout`` or
``stderr``). Both backends feed those lines to :func:`triage_messages`, which sorts
them into errors (the run failed), warnings worth showing (singular matrix, gmin
stepping, "has no value, DC 0 assumed", ...) and noise (banners, progress,
statistics).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

INSTALL_HINT = (
    "install ngspice with `apt-get install ngspice libngspice0` (Debian/Ubuntu: the "
    "`ngspice` program for the batch backend, the shared library for the PySpice "
    "backend) and PySpice with `pip install circuitlearn[spice]`; if they live "
    "elsewhere, set NGSPICE_EXECUTABLE to the ngspice program or NGSPICE_LIBRARY_PATH "
    "to libngspice"
)

#: Name of the vector printed between alterations of a batch; ngspice names it in a
#: stderr line ("vector circuitlearn_marker_3 is not available"), which tells which
#: messages belong to which operating point.
MARKER_PREFIX = "circuitlearn_marker_"
MARKER_RE = re.compile(MARKER_PREFIX + r"(\d+)")


@dataclass
class SpiceResult:
    """A DC operating point computed by ngspice.

    Attributes
    ----------
    node_voltages : dict of str to float
        Node voltage in volts with respect to ground, by lower-case node name in
        ngspice's naming (``"x1.mid"`` for node ``mid`` of subcircuit instance
        ``x1``). Ground is not included.
    source_currents : dict of str to float
        Branch current in amperes of every voltage source, by lower-case name in
        ngspice's naming (``"v1"``, ``"v.x1.v2"`` for ``v2`` inside ``x1``). SPICE
        sign convention: positive current flows from ``n+`` through the source to
        ``n-``, so ``V1 1 0 1`` loaded by 1 kOhm gives ``-1e-3``. Other elements
        with a branch current in ngspice (inductors, E and H sources) appear too;
        device-parameter vectors (``@r1[i]``) do not.
    warnings : list of str
        ngspice warnings and notes worth showing, in order, without repeats.
    backend : str
        ``"pyspice"`` or ``"batch"``.
    """

    node_voltages: dict[str, float]
    source_currents: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    backend: str = ""


# Lines that are progress reports, banners or statistics.
_NOISE = re.compile(
    r"""^(?:
        Trying\ gmin | Supplies\ reduced | Reference\ value | Doing\ analysis |
        No\.\ of\ Data | Circuit: | (?:binary|ASCII)\ raw\ file | Total\ |
        DRAM | Maximum\ ngspice | Current\ ngspice | Shared\ ngspice | Text\ \(code\) |
        Stack\ = | Library\ pages | ngspice-\d+\ done | \*\* | Reset\ re-loads |
        Using\  | Warning\ from\ checkvalid |
        Note:\ (?:No\ compatibility\ mode | One\ successful | No\ "\.plot" |
                  can't\ find\ init\ file | no\ resource\ usage | Compatibility\ modes?) |
        or\ no\ active\ circuit
    )""",
    re.VERBOSE,
)
_ERROR = re.compile(
    r"""^(?:Error | ERROR | Fatal | fatal | DC\ solution\ failed | doAnalyses: |
          Simulation\ interrupted | [\w ]*simulation\(s\)\ aborted )""",
    re.VERBOSE,
)
_WARNING = re.compile(r"^(?:Warning|WARNING|Note|NOTE)\b")
_TITLE_ECHO = re.compile(r"^\s*(?:Circuit:|Reset re-loads circuit)")
# Split lines where ngspice glued two messages together without a newline, e.g.
# "Trying gmin =   1.0000E-03 Warning: singular matrix:  check node 2".
_GLUED = re.compile(r"(?<=\S)\s+(?=(?:Warning|Note|Error)\b)")


# Messages telling that ngspice needed convergence aids; after such an op, later
# ops of the same session are not trustworthy until the circuit is reset.
_CONVERGENCE_AID = re.compile(
    r"singular matrix|gmin|source step|transient op|timestep too small", re.IGNORECASE
)


@dataclass
class Triage:
    """Messages of one ngspice run (or of one operating point of a batch).

    Attributes
    ----------
    errors : list of str
        Lines telling that ngspice failed, each with up to a few context lines.
    warnings : list of str
        Warnings and notes worth showing, without repeats.
    """

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def needed_convergence_aid(self) -> bool:
        """Whether ngspice reported a singular matrix or gmin/source stepping."""
        return any(_CONVERGENCE_AID.search(m) for m in [*self.warnings, *self.errors])

    def extend(self, other: Triage) -> None:
        """Append another triage's messages, keeping warnings free of repeats."""
        self.errors.extend(other.errors)
        for w in other.warnings:
            if w not in self.warnings:
                self.warnings.append(w)


def triage_messages(lines: Iterable[tuple[str, str]]) -> Triage:
    """Sort ngspice output lines into errors, warnings and noise.

    Parameters
    ----------
    lines : iterable of (str, str)
        ``(stream, text)`` pairs, stream ``"stdout"`` or ``"stderr"``.

    Returns
    -------
    Triage
        Errors and warnings; lines that are neither are dropped, except that
        unrecognised lines right after an error are attached to it as context
        (ngspice prints e.g. the offending netlist line below "Error on line 4").
    """
    out = Triage()
    context = 0  # how many more context lines the last error may take
    for stream, raw in lines:
        if _TITLE_ECHO.match(raw):  # the title may contain anything, even "Error"
            context = 0
            continue
        for piece in _GLUED.split(raw.replace("\r", " ")):
            text = " ".join(piece.split())
            if not text or set(text) <= set("-=* "):
                continue
            if MARKER_RE.search(text) or _NOISE.match(text):
                context = 0
            elif _ERROR.match(text):
                out.errors.append(text)
                context = 4
            elif _WARNING.match(text):
                context = 0
                if text not in out.warnings:
                    out.warnings.append(text)
            elif context and out.errors:
                out.errors[-1] += " | " + text
                context -= 1
            elif stream == "stderr" and text not in out.warnings:
                out.warnings.append(text)
    return out


def _strip_call(name: str, func: str) -> str:
    if name.startswith(func + "(") and name.endswith(")"):
        return name[len(func) + 1 : -1]
    return name


def result_from_vectors(
    vectors: Iterable[tuple[str, str, float]], warnings: list[str], backend: str
) -> SpiceResult:
    """Build a :class:`SpiceResult` from ngspice's operating-point vectors.

    Parameters
    ----------
    vectors : iterable of (str, str, float)
        ``(name, kind, value)`` with kind ``"voltage"`` or ``"current"`` (others are
        ignored). Names as ngspice writes them: ``v(1)`` / ``i(v1)`` in rawfiles,
        ``V(1)`` (names starting with a digit), ``x1.mid`` and ``v1#branch`` in the
        shared library's plots. Device-parameter vectors (``@r1[i]``) are ignored.
    warnings : list of str
        Warnings to attach.
    backend : str
        Backend name to record.

    Returns
    -------
    SpiceResult
        Voltages in volts and source currents in amperes by lower-case name.
    """
    nodes: dict[str, float] = {}
    currents: dict[str, float] = {}
    for raw_name, kind, value in vectors:
        name = raw_name.strip().lower()
        if kind == "voltage":
            name = _strip_call(name, "v")
            if not name.startswith("@"):
                nodes[name] = float(value)
        elif kind == "current":
            name = _strip_call(name, "i")
            name = name.removesuffix("#branch")
            if not name.startswith("@"):
                currents[name] = float(value)
    return SpiceResult(
        node_voltages=nodes, source_currents=currents, warnings=list(warnings), backend=backend
    )
