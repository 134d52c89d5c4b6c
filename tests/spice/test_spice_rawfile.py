"""Rawfile reader: hand-written files, and binary/ASCII files written by ngspice itself."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from circuitlearn.errors import RawFileError
from circuitlearn.spice import INSTALL_HINT
from circuitlearn.spice.rawfile import parse_rawfile, read_rawfile

HAND_ASCII = """\
Title: hand written
Date: Thu Jan  1 00:00:00  2026
Plotname: Operating Point
Flags: real
No. Variables: 3
No. Points: 1
Variables:
\t0\tv(1)\tvoltage
\t1\tv(x1.mid:)\tvoltage
\t2\ti(v1)\tcurrent
Values:
 0\t1.500000000000000e+00
\t7.500000000000000e-01
\t-1.500000000000000e-03

Title: hand written
Date: Thu Jan  1 00:00:00  2026
Plotname: AC Analysis
Flags: complex
No. Variables: 2
No. Points: 2
Variables:
\t0\tfrequency\tfrequency grid=3
\t1\tv(out)\tvoltage
Values:
 0\t1.0e+00,0.0e+00
\t5.0e-01,-2.5e-01
 1\t1.0e+01,0.0e+00
\t1.0e-01,-3.0e-01
"""


def test_hand_written_ascii_rawfile_with_two_plots():
    op, ac = parse_rawfile(HAND_ASCII.encode())
    assert op.plotname == "Operating Point" and not op.is_complex
    assert op.title == "hand written"
    assert [v.name for v in op.variables] == ["v(1)", "v(x1.mid:)", "i(v1)"]
    assert op.kinds() == {"v(1)": "voltage", "v(x1.mid:)": "voltage", "i(v1)": "current"}
    assert op.vectors["v(x1.mid:)"][0] == 0.75
    assert op.vectors["i(v1)"][0] == -1.5e-3
    assert ac.is_complex and ac.data.shape == (2, 2)
    np.testing.assert_array_equal(ac.vectors["v(out)"], [0.5 - 0.25j, 0.1 - 0.3j])
    np.testing.assert_array_equal(ac.vectors["frequency"].real, [1.0, 10.0])


def _binary(names: list[tuple[str, str]], rows: list[list[float]], flags: str = "real") -> bytes:
    header = [
        "Title: packed",
        "Date: today",
        "Plotname: Operating Point",
        f"Flags: {flags}",
        f"No. Variables: {len(names)}",
        f"No. Points: {len(rows)}",
        "Variables:",
        *(f"\t{i}\t{n}\t{k}" for i, (n, k) in enumerate(names)),
        "Binary:",
    ]
    data = b"".join(struct.pack(f"<{len(r)}d", *r) for r in rows)
    return ("\n".join(header) + "\n").encode() + data


def test_hand_packed_binary_rawfile_is_exact():
    values = [1 / 3, -2e-300, 7.25]
    blob = _binary([("v(1)", "voltage"), ("v(2)", "voltage"), ("i(v1)", "current")], [values])
    (plot,) = parse_rawfile(blob)
    assert plot.data.tolist() == [values]
    two = parse_rawfile(blob + blob)
    assert len(two) == 2 and two[1].vectors["i(v1)"][0] == 7.25


def test_hand_packed_complex_binary_rawfile():
    names = [("frequency", "frequency"), ("v(o)", "voltage")]
    blob = _binary(names, [[1, 0, 0.5, -0.5]], "complex")
    (plot,) = parse_rawfile(blob)
    assert plot.is_complex
    assert plot.vectors["v(o)"][0] == 0.5 - 0.5j


def test_broken_rawfiles_are_reported():
    blob = _binary([("v(1)", "voltage")], [[1.0]])
    with pytest.raises(RawFileError, match="truncated"):
        parse_rawfile(blob[:-3])
    with pytest.raises(RawFileError, match="variables"):
        parse_rawfile(HAND_ASCII.replace("No. Variables: 3", "No. Variables: 4").encode())
    with pytest.raises(RawFileError):
        parse_rawfile(b"Title: x\nNo. Variables: 1\nNo. Points: 1\nVariables:\n\t0\tv(1)\tv\n")
    assert parse_rawfile(b"") == []


# --- files written by ngspice --------------------------------------------------------

NETLIST = """rawfile test
V1 1 0 dc 1 ac 1
R1 1 2 1k
X1 2 0 half
I1 0 2 1m
C1 2 0 1u
.subckt half a b
R1 a mid 1k
V2 mid m2 0.25
R2 m2 b 1k
.ends
"""
# Hand solution: v(2) = 4.25/3, v(x1.m2) = (v(2) - 0.25)/2, v(x1.mid) = v(x1.m2) + 0.25.
V2 = 4.25 / 3
EXPECTED = {
    "v(1)": 1.0,
    "v(2)": V2,
    "v(x1.m2)": (V2 - 0.25) / 2,
    "v(x1.mid)": (V2 - 0.25) / 2 + 0.25,
    "i(v1)": (V2 - 1.0) / 1e3,  # current flows from node 2 into n+ of V1
    "i(v.x1.v2)": (V2 - 0.25) / 2 / 1e3,
}


@pytest.fixture
def ngspice() -> str:
    exe = shutil.which("ngspice")
    if exe is None:
        pytest.skip(f"ngspice program not installed; {INSTALL_HINT}")
    return exe


def _run(ngspice: str, folder: Path, control: str) -> None:
    deck = folder / "deck.cir"
    deck.write_text(NETLIST + ".control\n" + control + "\nquit 0\n.endc\n.end\n")
    subprocess.run([ngspice, "-b", str(deck)], cwd=folder, check=True, capture_output=True)


def test_ngspice_binary_and_ascii_rawfiles_agree(ngspice, tmp_path):
    _run(
        ngspice,
        tmp_path,
        "op\nset filetype=binary\nwrite bin.raw\nset filetype=ascii\nwrite asc.raw\n"
        "set filetype=binary\nalter v1 dc = 2\nop\nset appendwrite\nwrite bin.raw",
    )
    binary = read_rawfile(tmp_path / "bin.raw")
    (ascii_plot,) = read_rawfile(tmp_path / "asc.raw")
    assert len(binary) == 2  # one plot per op, appended
    assert b"Binary:" in (tmp_path / "bin.raw").read_bytes()
    assert b"Values:" in (tmp_path / "asc.raw").read_bytes()
    # ngspice 39's rawfile names: v(node), i(source), subcircuit paths with dots.
    assert set(binary[0].vectors) == set(EXPECTED)
    assert binary[0].kinds()["i(v.x1.v2)"] == "current"
    for name, value in EXPECTED.items():
        assert binary[0].vectors[name][0] == pytest.approx(value, rel=1e-12)
        assert ascii_plot.vectors[name][0] == pytest.approx(binary[0].vectors[name][0], rel=1e-14)
    assert binary[1].vectors["v(1)"][0] == 2.0


def test_ngspice_batch_rawfile_option(ngspice, tmp_path):
    deck = tmp_path / "deck.cir"
    deck.write_text(NETLIST + ".op\n.end\n")
    subprocess.run(
        [ngspice, "-b", "-r", "out.raw", str(deck)], cwd=tmp_path, check=True, capture_output=True
    )
    (plot,) = read_rawfile(tmp_path / "out.raw")
    assert plot.plotname == "Operating Point"
    assert plot.vectors["v(x1.mid)"][0] == pytest.approx(EXPECTED["v(x1.mid)"], rel=1e-12)


@pytest.mark.parametrize("filetype", ["binary", "ascii"])
def test_ngspice_complex_rawfiles(ngspice, tmp_path, filetype):
    _run(ngspice, tmp_path, f"set filetype={filetype}\nac lin 3 1 100\nwrite ac.raw")
    (plot,) = read_rawfile(tmp_path / "ac.raw")
    assert plot.is_complex and plot.data.shape[0] == 3
    np.testing.assert_allclose(plot.vectors["frequency"].real, [1, 50.5, 100])
    v1 = plot.vectors["v(1)"]
    np.testing.assert_allclose(v1, np.ones(3), rtol=1e-12)  # AC magnitude 1, phase 0
    # The capacitor makes node 2 lag: a nonzero negative imaginary part.
    assert np.all(plot.vectors["v(2)"].imag < 0)
