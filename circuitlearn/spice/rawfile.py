"""Reader for SPICE rawfiles as written by ngspice (binary and ASCII).

A rawfile holds one or more plots. Each plot is a text header::

    Title: my circuit
    Date: ...
    Plotname: Operating Point
    Flags: real                  (or complex)
    No. Variables: 3
    No. Points: 1
    Variables:
            0       v(1)    voltage
            1       v(2)    voltage
            2       i(v1)   current
    Binary:                      (or Values:)

followed by the data, point by point and variable by variable: in binary files
little-endian float64 (two per value, real then imaginary, for complex plots), in
ASCII files ``index<TAB>value`` then one ``<TAB>value`` per line (``re,im`` for
complex plots). ngspice 39 names node voltages ``v(node)`` and voltage-source
currents ``i(vname)`` in rawfiles (``v(x1.mid)``, ``i(v.x1.v2)`` inside
subcircuits). Standard library and NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from circuitlearn.errors import RawFileError


@dataclass(frozen=True)
class RawVariable:
    """One column of a plot: ngspice's name and type (``voltage``, ``current``, ...)."""

    name: str
    kind: str


@dataclass
class RawPlot:
    """One plot (one analysis) of a rawfile.

    Attributes
    ----------
    title, date, plotname : str
        Header fields (``plotname`` is e.g. ``"Operating Point"``).
    flags : str
        Header flags, lower case (``"real"``, ``"complex"``, ...).
    variables : list of RawVariable
        Columns in file order.
    data : ndarray, shape (points, variables)
        float64 for real plots, complex128 for complex ones. Units are SI (volts,
        amperes, seconds, hertz) as ngspice writes them.
    header : dict of str to str
        Every header field by lower-case key, including ones not listed above.
    """

    title: str
    date: str
    plotname: str
    flags: str
    variables: list[RawVariable]
    data: np.ndarray
    header: dict[str, str] = field(default_factory=dict)

    @property
    def is_complex(self) -> bool:
        """Whether the plot holds complex values."""
        return "complex" in self.flags.split()

    @property
    def vectors(self) -> dict[str, np.ndarray]:
        """Columns by lower-case variable name (each of shape ``(points,)``)."""
        return {v.name.lower(): self.data[:, i] for i, v in enumerate(self.variables)}

    def kinds(self) -> dict[str, str]:
        """Variable type (``voltage``, ``current``, ...) by lower-case name."""
        return {v.name.lower(): v.kind.lower() for v in self.variables}


def _read_line(data: bytes, pos: int) -> tuple[str, int]:
    end = data.find(b"\n", pos)
    if end < 0:
        end = len(data)
    return data[pos:end].decode("latin-1").rstrip("\r"), end + 1


def _header_int(header: dict[str, str], key: str) -> int:
    try:
        return int(header[key].split()[0])
    except (KeyError, IndexError, ValueError):
        raise RawFileError(f"rawfile header lacks a valid {key!r} field") from None


def _parse_ascii_value(token: str, is_complex: bool) -> complex | float:
    if is_complex:
        re_part, _, im_part = token.partition(",")
        return complex(float(re_part), float(im_part or 0.0))
    return float(token)


def _parse_ascii_values(
    data: bytes, pos: int, points: int, nvars: int, is_complex: bool
) -> tuple[np.ndarray, int]:
    out = np.zeros((points, nvars), dtype=complex if is_complex else float)
    for p in range(points):
        tokens: list[str] = []
        while len(tokens) < nvars + 1:
            if pos >= len(data):
                raise RawFileError(f"ASCII rawfile ends inside point {p}")
            line, pos = _read_line(data, pos)
            tokens.extend(line.split())
        if len(tokens) != nvars + 1:
            raise RawFileError(f"ASCII rawfile: point {p} has {len(tokens) - 1} values")
        try:
            if int(tokens[0]) != p:
                raise RawFileError(f"ASCII rawfile: point {tokens[0]} found where {p} expected")
            out[p] = [_parse_ascii_value(t, is_complex) for t in tokens[1:]]
        except ValueError as exc:
            raise RawFileError(f"ASCII rawfile: bad value in point {p}: {exc}") from None
    # Skip blank lines between plots.
    while pos < len(data):
        line, nxt = _read_line(data, pos)
        if line.strip():
            break
        pos = nxt
    return out, pos


def parse_rawfile(data: bytes) -> list[RawPlot]:
    """Parse the contents of a rawfile.

    Parameters
    ----------
    data : bytes
        Whole file contents, binary or ASCII, one or more plots.

    Returns
    -------
    list of RawPlot
        Plots in file order.

    Raises
    ------
    RawFileError
        If the contents are not a well-formed rawfile.
    """
    plots: list[RawPlot] = []
    pos = 0
    while pos < len(data):
        header: dict[str, str] = {}
        variables: list[RawVariable] = []
        mode = ""
        in_variables = False
        while pos < len(data):
            line, pos = _read_line(data, pos)
            if not line.strip():
                continue
            parts = line.split()
            if in_variables and parts[0].isdigit():
                if len(parts) < 3:
                    raise RawFileError(f"bad variable line in rawfile: {line!r}")
                variables.append(RawVariable(name=parts[1], kind=parts[2]))
                continue
            key, sep, value = line.partition(":")
            lowered = key.strip().lower()
            if lowered in ("binary", "values"):
                mode = lowered
                break
            if not sep:
                raise RawFileError(f"unexpected line in rawfile header: {line!r}")
            header[lowered] = value.strip()
            in_variables = lowered == "variables"
        if not mode:
            if header:
                raise RawFileError("rawfile header without 'Binary:' or 'Values:'")
            break
        nvars = _header_int(header, "no. variables")
        points = _header_int(header, "no. points")
        if len(variables) != nvars:
            raise RawFileError(f"rawfile lists {len(variables)} variables, header says {nvars}")
        flags = header.get("flags", "real").lower()
        is_complex = "complex" in flags.split()
        if mode == "binary":
            width = 2 if is_complex else 1
            nbytes = 8 * width * nvars * points
            if pos + nbytes > len(data):
                raise RawFileError(
                    f"binary rawfile truncated: {len(data) - pos} bytes for {nbytes} expected"
                )
            values = np.frombuffer(data, dtype="<f8", count=width * nvars * points, offset=pos)
            pos += nbytes
            array = values.view("<c16") if is_complex else values
            array = np.array(array.reshape(points, nvars))
        else:
            array, pos = _parse_ascii_values(data, pos, points, nvars, is_complex)
        plots.append(
            RawPlot(
                title=header.get("title", ""),
                date=header.get("date", ""),
                plotname=header.get("plotname", ""),
                flags=flags,
                variables=variables,
                data=array,
                header=header,
            )
        )
    return plots


def read_rawfile(path: str | Path) -> list[RawPlot]:
    """Read a rawfile from disk.

    Parameters
    ----------
    path : str or Path
        The rawfile.

    Returns
    -------
    list of RawPlot
        Plots in file order (one per ``op`` / ``write`` appended to the file).
    """
    return parse_rawfile(Path(path).read_bytes())
