"""Run folders: refused, locked, resumed only when everything matches; damaged checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from circuitlearn import netlist
from circuitlearn._version import __version__
from circuitlearn.cli import main
from circuitlearn.solver.factor import ENV_BACKEND, available_backends
from circuitlearn.training.checkpoint import load_checkpoint
from circuitlearn.training.experiment import load_experiment
from circuitlearn.training.folder import RUN_FILES
from circuitlearn.training.setup import build

REPO = Path(__file__).resolve().parents[2]
SMALL = """
[network]
generator = "delaunay"
nodes = 18
mean_degree = 3.5
seed = 3
inputs = 2
outputs = 2
[task.data]
kind = "teacher"
n_train = 8
n_test = 8
[rule]
name = "{rule}"
{rule_params}
[train]
t_end = 1.0
dt = 0.1
record_every = 2
checkpoint_every = 3
"""


def _exp(tmp_path: Path, rule: str = "cl", rule_params: str = "eta = 0.1\nalpha = 5.0") -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(SMALL.format(rule=rule, rule_params=rule_params))
    return path


def _run(*argv: object) -> int:
    return main(["train", *map(str, argv), "--no-progress"])


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_an_existing_run_is_refused_without_force(tmp_path, capsys):
    exp, out = _exp(tmp_path), tmp_path / "run"
    out.mkdir()  # an empty folder is fine
    assert _run(exp, "--out", out) == 0
    first = (out / "summary.json").read_bytes()
    capsys.readouterr()
    assert _run(exp, "--out", out) == 2
    err = _error(capsys)
    assert str(out) in err and "already holds a run" in err and "--force" in err
    assert (out / "summary.json").read_bytes() == first
    (out / "notes.txt").write_text("mine")
    assert _run(exp, "--out", out, "--force") == 0
    assert (out / "notes.txt").read_text() == "mine"  # only run files are replaced


@pytest.mark.parametrize("where", ["file", "under_file", "forbidden"])
def test_an_out_folder_that_cannot_be_created_exits_2(tmp_path, capsys, where):
    exp = _exp(tmp_path)
    (tmp_path / "afile").write_text("x")
    out = {"file": tmp_path / "afile", "under_file": tmp_path / "afile" / "run",
           "forbidden": Path("/proc/circuitlearn-run")}[where]
    assert _run(exp, "--out", out) == 2
    err = _error(capsys)
    assert err.startswith(f"error: {out}: cannot create the run folder")


def test_a_folder_in_use_is_refused_naming_the_process(tmp_path, capsys):
    exp, out = _exp(tmp_path), tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from circuitlearn.training.folder import RunFolder\n"
         f"f = RunFolder({str(out)!r})\nprint('locked', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert _run(exp, "--out", out) == 2
        err = _error(capsys)
        assert f"{out}: the run folder is in use by process {holder.pid}" in err
        assert _run(exp, "--resume", out) == 2
        assert f"in use by process {holder.pid}" in _error(capsys)
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.05)
    assert _run(exp, "--out", out) == 0  # the lock died with its process


def test_a_run_killed_with_sigkill_resumes_bit_identically(tmp_path):
    exp = _exp(tmp_path)
    exp.write_text(exp.read_text().replace("t_end = 1.0", "t_end = 25.0").replace(
        "checkpoint_every = 3", "checkpoint_every = 7"))
    assert _run(exp, "--out", tmp_path / "full") == 0
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "circuitlearn.cli", "train", str(exp),
                             "--out", str(out), "--no-progress"],
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 60
    while not (out / "checkpoint.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()
    assert proc.wait() == -9
    assert _run(exp, "--resume", out) == 0  # the lock died with the process
    for name in ("curves.csv", "trained.cir", "best.cir"):
        assert (out / name).read_bytes() == (tmp_path / "full" / name).read_bytes()
    assert not list(out.glob(".*.tmp"))


def test_stale_temporary_files_are_removed(tmp_path):
    exp, out = _exp(tmp_path), tmp_path / "run"
    assert _run(exp, "--out", out, "--max-steps", "4") == 0
    stale = out / ".checkpoint.npz.k3j2_x.tmp"
    stale.write_bytes(b"partial")
    assert _run(exp, "--resume", out) == 0
    assert not stale.exists()


def test_resume_works_across_factorization_backends(tmp_path, monkeypatch, capsys):
    if len(available_backends()) < 2:
        pytest.skip("needs both factorization backends (the fast extra: scikit-sparse)")
    exp = _exp(tmp_path)
    monkeypatch.setenv(ENV_BACKEND, "cholmod")
    assert _run(exp, "--out", tmp_path / "run", "--max-steps", "4") == 0
    monkeypatch.setenv(ENV_BACKEND, "splu")
    assert _run(exp, "--resume", tmp_path / "run") == 0
    err = capsys.readouterr().err
    assert "splu" in err and "cholmod" in err and "rounding" in err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["factorization_backend"] == "splu"


def test_refused_resume_names_the_changed_keys(tmp_path, capsys):
    exp = _exp(tmp_path)
    assert _run(exp, "--out", tmp_path / "run", "--max-steps", "4") == 0
    exp.write_text(exp.read_text().replace("eta = 0.1", "eta = 0.2").replace(
        "record_every = 2", "record_every = 5"))
    capsys.readouterr()
    assert _run(exp, "--resume", tmp_path / "run") == 2
    err = _error(capsys)
    assert "[rule] eta: 0.1 -> 0.2" in err and "[train] record_every: 2 -> 5" in err


def test_unknown_backend_names_the_environment_variable(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ENV_BACKEND, "pardiso")
    assert _run(_exp(tmp_path), "--out", tmp_path / "run") == 2
    err = _error(capsys)
    assert ENV_BACKEND in err and "pardiso" in err and "[task]" not in err


def test_a_missing_rule_parameter_names_the_table_and_key(tmp_path, capsys):
    exp = _exp(tmp_path, rule_params="alpha = 1.0")
    assert _run(exp, "--out", tmp_path / "run") == 2
    assert _error(capsys).startswith(f"error: {exp}: [rule] eta: missing (required)")


def test_run_files_share_one_mode_and_trained_netlist_carries_provenance(tmp_path):
    exp, out = _exp(tmp_path), tmp_path / "run"
    assert _run(exp, "--out", out) == 0
    umask = os.umask(0)
    os.umask(umask)
    modes = {name: (out / name).stat().st_mode & 0o777 for name in RUN_FILES}
    assert set(modes.values()) == {0o666 & ~umask}, modes
    text = (out / "trained.cir").read_text()
    head = text.splitlines()[:5]
    assert head[1] == f"* trained by circuitlearn {__version__} from {exp}"
    assert head[2].startswith("* cl eta=0.1, alpha=5 S/(V^2 s); euler dt=0.1 s")
    assert head[3] == "* step 10 of 10, t = 1 s, status completed"
    setup = build(load_experiment(exp))
    ckpt = load_checkpoint(out)
    assert netlist.load(out / "trained.cir") == setup.circuit.with_conductance(ckpt.k)
    assert "* pos n1 " in text  # generator coordinates, for drawing


def test_resolved_config_holds_every_default(tmp_path):
    exp = _exp(tmp_path, rule="ep", rule_params="beta = 0.01")
    out = tmp_path / "run"
    assert _run(exp, "--out", out) == 0
    config = json.loads((out / "summary.json").read_text())["config"]
    setup = build(load_experiment(exp))
    assert config["task"]["inputs"] == list(setup.problem.inputs) == ["vin1", "vin2"]
    assert config["task"]["outputs"] == [setup.circuit.nodes[a] for a, _ in setup.problem.outputs]
    assert config["rule"] == {"name": "ep", "beta": 0.01, "alpha": 1.0, "nudging": "positive",
                              "nudge": "conductance",
                              "path": "moments", "modifiers": {}}
    train = config["train"]
    assert train["bounds"] == [pytest.approx(1e-3 * setup.circuit.conductance.min()), None]
    assert train["record_every"] == 2 and train["checkpoint_every"] == 3 and train["dt"] == 0.1
    assert config["task"]["data"] == {"kind": "teacher", "n_train": 8, "n_test": 8, "seed": 0,
                                      "input_range": [-1.0, 1.0],
                                      "teacher_spread": [0.5, 2.0],
                                      "augment": None, "orbit": None, "orbit_outputs": None}
    assert config["network"]["input_voltage"] == 1.0 and config["network"]["pairs"] is False


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(4000))
    elif how == "foreign":
        np.savez(path, weights=np.ones(3), bias=np.zeros(1))
    else:
        with np.load(path) as z:
            fields = {k: z[k] for k in z.files}
        fields.update({"step": np.int64(10**6)} if how == "step_too_large" else
                      {"step": np.int64(-5)} if how == "step_negative" else
                      {"k": np.full_like(fields["k"], np.nan)} if how == "nan_k" else
                      {"t": np.float64(0.55)})
        np.savez(path, **fields)


@pytest.mark.parametrize("how,words", [
    ("truncated", "damaged checkpoint"), ("empty", "damaged checkpoint"),
    ("garbage", "damaged checkpoint"), ("foreign", "not a checkpoint of this circuitlearn"),
    ("step_too_large", "step 1000000 is beyond the run's last step 10"),
    ("step_negative", "field 'step' is -5"), ("nan_k", "field 'k' holds non-finite"),
    ("wrong_time", "does not belong to step 4")])
def test_damaged_checkpoints_exit_2_naming_file_and_problem(tmp_path, capsys, how, words):
    exp, out = _exp(tmp_path), tmp_path / "run"
    assert _run(exp, "--out", out, "--max-steps", "4") == 0
    _damage(out / "checkpoint.npz", how)
    capsys.readouterr()
    assert _run(exp, "--resume", out) == 2
    err = _error(capsys)
    assert err.startswith(f"error: {out / 'checkpoint.npz'}: ") and words in err, err
