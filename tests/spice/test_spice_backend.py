"""ngspice backends: conformance, alterations, warnings, errors and discovery."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from circuitlearn.errors import CircuitLearnError, SpiceFailed, SpiceUnavailable
from circuitlearn.spice import (
    INSTALL_HINT,
    SpiceResult,
    available_backends,
    run_op,
    run_op_batch,
)
from circuitlearn.spice import batch as batch_backend
from circuitlearn.spice import shared as shared_backend

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance"
CASES = sorted(p.name for p in CONFORMANCE.glob("*/expected.json") for p in [p.parent])
BACKEND_NAMES = ["pyspice", "batch"]


def _require(backend: str) -> str:
    if backend == "batch" and not batch_backend.is_available():
        pytest.skip(f"ngspice program not installed; {INSTALL_HINT}")
    if backend == "pyspice" and not shared_backend.is_available():
        pytest.skip(f"PySpice or libngspice not installed; {INSTALL_HINT}")
    return backend


@pytest.fixture(params=BACKEND_NAMES)
def backend(request) -> str:
    return _require(request.param)


def _assert_close(got: dict[str, float], want: dict[str, float], rel: float = 1e-9) -> None:
    assert set(got) == set(want)
    for name, value in want.items():
        assert got[name] == pytest.approx(value, rel=rel, abs=1e-300), name


def _assert_same(a: SpiceResult, b: SpiceResult, rel: float = 1e-9, floor: float = 0.0) -> None:
    for key in ("node_voltages", "source_currents"):
        x, y = getattr(a, key), getattr(b, key)
        assert set(x) == set(y)
        for name in y:
            assert x[name] == pytest.approx(y[name], rel=rel, abs=floor), (key, name)


# --- conformance ---------------------------------------------------------------------


@pytest.mark.skipif(not CASES, reason=f"conformance netlists not found at {CONFORMANCE}")
@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
@pytest.mark.parametrize("case", CASES)
def test_conformance_case(case, backend_name):
    _require(backend_name)
    folder = CONFORMANCE / case
    expected = json.loads((folder / "expected.json").read_text())
    result = run_op(folder / "circuit.cir", backend=backend_name)
    assert result.backend == backend_name
    _assert_close(result.node_voltages, expected["node_voltages"])
    _assert_close(result.source_currents, expected["source_currents"])


# --- naming, signs, inputs -----------------------------------------------------------

DIVIDER = """sign and naming test
V1 1 0 dc 1
R1 1 2 1k
X1 2 0 half
I1 0 2 1m
.subckt half a b
R1 a mid 1k
V2 mid m2 0.25
R2 m2 b 1k
.ends
.op
.end
"""
V2 = 4.25 / 3  # hand solution, see test_spice_rawfile


def test_names_and_sign_convention(backend):
    result = run_op(DIVIDER, backend=backend)
    _assert_close(
        result.node_voltages,
        {"1": 1.0, "2": V2, "x1.m2": (V2 - 0.25) / 2, "x1.mid": (V2 - 0.25) / 2 + 0.25},
    )
    _assert_close(
        result.source_currents, {"v1": (V2 - 1.0) / 1e3, "v.x1.v2": (V2 - 0.25) / 2 / 1e3}
    )
    simple = run_op("t\nV1 1 0 1\nR1 1 0 1k\n", backend=backend)
    assert simple.source_currents == {"v1": pytest.approx(-1e-3, rel=1e-12)}
    assert simple.warnings == []


def test_includes_resolve_against_the_netlist_folder(backend, tmp_path, monkeypatch):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "parts.inc").write_text("R2 2 0 3k\n.include deeper.inc\n")
    (tmp_path / "lib" / "deeper.inc").write_text("R3 2 0 6k\n")
    body = "V1 1 0 3\nR1 1 2 1k\n.include lib/parts.inc\n"
    (tmp_path / "top.cir").write_text("include test\n" + body)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    by_path = run_op(tmp_path / "top.cir", backend=backend)
    assert by_path.node_voltages["2"] == pytest.approx(2.0, rel=1e-12)  # 1k over 3k || 6k
    assert Path.cwd() == elsewhere
    as_text = run_op("include test\n" + body, backend=backend, cwd=tmp_path)
    _assert_same(as_text, by_path, rel=0)
    with pytest.raises(SpiceFailed, match="include"):
        run_op("include test\n" + body, backend=backend)  # relative to elsewhere: missing


def test_control_blocks_and_end_are_handled(backend):
    text = "t\nV1 1 0 1\nR1 1 0 1k\n.control\nalter v1 dc = 5\nop\n.endc\n.end\nR2 1 0 1\n"
    result = run_op(text, backend=backend)
    assert result.node_voltages == {"1": 1.0}
    assert any(".control block" in w for w in result.warnings)


def test_title_is_not_a_message(backend):
    result = run_op("Error: Warning: a hostile title\nV1 1 0 1\nR1 1 0 1k\n", backend=backend)
    assert result.warnings == [] and result.node_voltages == {"1": 1.0}


def test_missing_netlist_file():
    with pytest.raises(CircuitLearnError, match="not found"):
        run_op("/no/such/netlist.cir")


def test_results_do_not_leak_between_runs(backend):
    first = run_op_batch(DIVIDER, [{"v1": 7.0}], backend=backend)[0]
    assert first.node_voltages["1"] == 7.0
    again = run_op(DIVIDER, backend=backend)
    assert again.node_voltages["1"] == 1.0  # the alter did not survive
    other = run_op("other\nV9 a 0 2\nR9 a 0 1\n", backend=backend)
    assert other.node_voltages == {"a": 2.0} and set(other.source_currents) == {"v9"}


def test_backends_agree():
    for name in BACKEND_NAMES:
        _require(name)
    a = run_op(DIVIDER, backend="pyspice")
    b = run_op(DIVIDER, backend="batch")
    _assert_same(a, b, rel=0)


# --- batches of operating points -------------------------------------------------------

TEMPLATE = """alteration test
V1 1 0 {v1}
R1 1 2 1k
V2 2 5 dc {v2}
R5 5 0 2k
I1 0 2 {i1}
R3 3 1 1k
X1 3 sub
.subckt sub a
Vs a 0 {vs}
.ends
"""
BASE = {"v1": 1.0, "v2": 2.0, "i1": 1e-3, "vs": 0.5}
ALTERATIONS = [
    {},
    {"V1": 0.7},
    {"i1": -2e-3, "v.x1.vs": -0.25},  # a current source and a subcircuit source
    {"v2": 3.5, "V1": -1.25},
    {},  # everything back to the netlist's values
    {"I1": 5e-4},
]


def _edited(alteration: dict[str, float]) -> str:
    values = dict(BASE)
    for name, value in alteration.items():
        values[{"v.x1.vs": "vs"}.get(name.lower(), name.lower())] = value
    return TEMPLATE.format(**values)


def test_batch_equals_separate_runs(backend):
    results = run_op_batch(TEMPLATE.format(**BASE), ALTERATIONS, backend=backend)
    assert len(results) == len(ALTERATIONS)
    for alteration, result in zip(ALTERATIONS, results, strict=True):
        _assert_same(result, run_op(_edited(alteration), backend=backend), rel=1e-12, floor=1e-18)
        assert result.backend == backend
    assert results[2].node_voltages["3"] == -0.25
    assert results[0].node_voltages == results[4].node_voltages


def test_superposition_equals_per_point_solves(backend):
    points = [{"v1": 0.1 * k, "I1": 1e-4 * (k - 3), "v.x1.vs": 1 - 0.2 * k} for k in range(8)]
    text = TEMPLATE.format(**BASE)
    direct = run_op_batch(text, points, backend=backend)
    combined = run_op_batch(text, points, backend=backend, method="superposition")
    for a, b in zip(combined, direct, strict=True):
        _assert_same(a, b, rel=1e-9, floor=1e-15)
    assert any("superposition" in w for w in combined[0].warnings)
    with pytest.raises(ValueError, match="same sources"):
        run_op_batch(text, [{"v1": 1}, {"v2": 1}] * 3, backend=backend, method="superposition")


def test_superposition_refuses_a_nonlinear_circuit(backend):
    text = "diode\nV1 1 0 1\nR1 1 2 1k\nD1 2 0 dmod\n.model dmod d\n"
    points = [{"v1": 0.5 + 0.1 * k} for k in range(6)]
    with pytest.raises(SpiceFailed, match="not linear"):
        run_op_batch(text, points, backend=backend, method="superposition")


def test_bad_alterations(backend):
    text = TEMPLATE.format(**BASE)
    with pytest.raises(SpiceFailed, match="vnone"):
        run_op_batch(text, [{"vnone": 1.0}], backend=backend)
    with pytest.raises(ValueError, match="source"):
        run_op_batch(text, [{"r1": 1.0}], backend=backend)
    with pytest.raises(ValueError, match="nan"):
        run_op_batch(text, [{"v1": float("nan")}], backend=backend)
    assert run_op_batch(text, [], backend=backend) == []
    with pytest.raises(ValueError, match="backend"):
        run_op(text, backend="xyce")


# --- warnings and failures -------------------------------------------------------------


def test_floating_node_warnings(backend):
    # ngspice 39: "singular matrix", gmin and source stepping fail, then the transient
    # op "succeeds" and the floating island reads 0 V.
    text = "floating\nV1 1 0 1\nR1 1 0 1k\nR2 2 3 1k\n"
    result = run_op(text, backend=backend)
    joined = "\n".join(result.warnings)
    assert "singular matrix" in joined
    assert "gmin stepping" in joined
    assert result.node_voltages["1"] == pytest.approx(1.0, rel=1e-9)
    assert len(result.warnings) == len(set(result.warnings))


def test_source_without_value_is_reported(backend):
    result = run_op("novalue\nV1 1 0\nR1 1 0 1k\nV2 2 0 1\nR2 2 0 1k\n", backend=backend)
    assert any("has no value, DC 0 assumed" in w for w in result.warnings)
    assert result.node_voltages["1"] == 0.0


def test_every_operating_point_gets_its_warnings(backend):
    # Node 2 is fed only by I1 and a capacitor: singular at every point. In one ngspice
    # session, an op after such an op quietly returns another answer (2e9 V here instead
    # of 0.02 V) unless the circuit is reset: batches must match separate runs anyway.
    text = "t\nV1 1 0 {v1}\nR1 1 0 1k\nI1 0 2 {i1}\nC2 2 0 1u\n"
    points = [{}, {"i1": 2e-3}, {"v1": 3}]
    results = run_op_batch(text.format(v1=1, i1=1e-3), points, backend=backend)
    for point, result in zip(points, results, strict=True):
        assert any("singular matrix" in w for w in result.warnings)
        values = {"v1": 1, "i1": 1e-3, **point}
        alone = run_op(text.format(**values), backend=backend)
        _assert_same(result, alone, rel=1e-12)
    assert results[1].node_voltages["2"] == pytest.approx(0.02, rel=1e-6)
    assert results[2].node_voltages["1"] == pytest.approx(3.0, rel=1e-9)
    clean = run_op_batch(DIVIDER, [{}, {"v1": 2}], backend=backend)
    assert [r.warnings for r in clean] == [[], []]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("loop\nV1 1 0 1\nV2 1 0 2\nR1 1 0 1k\n", "aborted|failed"),
        ("syntax\nV1 1 0 1\nR1 1 0 1k\nQ1 1 2\n", "line 4"),
        ("include\nV1 1 0 1\n.include no_such_file.lib\nR1 1 0 1k\n", "no_such_file"),
    ],
    ids=["voltage-loop", "syntax-error", "missing-include"],
)
def test_failures_raise(backend, text, match, tmp_path):
    with pytest.raises(SpiceFailed, match=match):
        run_op(text, backend=backend, cwd=tmp_path)


def test_batch_timeout():
    _require("batch")
    with pytest.raises(SpiceFailed, match="within"):
        run_op(DIVIDER, backend="batch", timeout=0.001)


# --- discovery -------------------------------------------------------------------------


@pytest.fixture
def no_ngspice(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("NGSPICE_LIBRARY_PATH", str(tmp_path / "missing" / "libngspice.so.0"))
    monkeypatch.delenv("NGSPICE_EXECUTABLE", raising=False)
    monkeypatch.setattr(shared_backend, "find_library", lambda: None)
    monkeypatch.setattr(batch_backend, "find_executable", lambda: None)


@pytest.mark.parametrize("which", ["auto", "pyspice", "batch"])
def test_missing_ngspice_gives_install_hint(no_ngspice, which):
    assert available_backends() == []
    with pytest.raises(SpiceUnavailable) as info:
        run_op(DIVIDER, backend=which)
    message = str(info.value)
    assert "apt-get install ngspice libngspice0" in message
    assert "pip install circuitlearn[spice]" in message


def test_library_and_program_discovery(monkeypatch, tmp_path):
    fake = tmp_path / "libngspice.so.0"
    fake.write_bytes(b"")
    monkeypatch.setenv("NGSPICE_LIBRARY_PATH", str(fake))
    assert shared_backend.find_library() == str(fake)
    monkeypatch.setenv("NGSPICE_LIBRARY_PATH", str(tmp_path / "nothing.so"))
    assert shared_backend.find_library() is None
    monkeypatch.delenv("NGSPICE_LIBRARY_PATH")
    if os.path.exists("/usr/lib/x86_64-linux-gnu/libngspice.so.0"):
        assert shared_backend.find_library() is not None
    monkeypatch.setenv("NGSPICE_EXECUTABLE", str(tmp_path / "no-ngspice"))
    assert batch_backend.find_executable() is None
    if shutil.which("ngspice"):
        monkeypatch.setenv("NGSPICE_EXECUTABLE", "ngspice")
        assert batch_backend.find_executable() == shutil.which("ngspice")


def test_pyspice_missing_falls_back_to_batch(monkeypatch):
    _require("batch")
    monkeypatch.setattr(shared_backend, "pyspice_importable", lambda: False)
    assert "pyspice" not in available_backends()
    assert run_op(DIVIDER).backend == "batch"
    with pytest.raises(SpiceUnavailable, match="PySpice"):
        run_op(DIVIDER, backend="pyspice")

