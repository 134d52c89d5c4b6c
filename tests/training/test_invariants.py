"""Per-component invariants in a run: ``invariants.csv`` and ``summary.json``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from circuitlearn.training.run import train

NETLIST = Path(__file__).resolve().parents[2] / "netlists" / "components.cir"

EXPERIMENT = f"""
[network]
netlist = "{NETLIST}"
[task]
inputs = ["vin1", "vin2"]
outputs = ["a2", "a4", "b4", ["b1", "b3"]]
[task.data]
kind = "teacher"
n_train = 8
n_test = 4
seed = 1
[rule]
name = "gradient"
alpha = 100.0
[train]
integrator = "rk4"
t_end = 1.0
dt = 0.01
record_every = 10
checkpoint_every = 30
"""


def _read(path: Path) -> tuple[list[str], np.ndarray]:
    lines = path.read_text().splitlines()
    return lines[0].split(","), np.array([[float(v) for v in line.split(",")]
                                          for line in lines[1:]])


def test_every_component_is_monitored_and_conserved(tmp_path):
    exp = tmp_path / "components.toml"
    exp.write_text(EXPERIMENT)
    summary = train(exp, tmp_path / "run", progress=False).summary
    head, rows = _read(tmp_path / "run" / "invariants.csv")
    assert head == ["step", "t", "q_1", "q_2", "q_3"]
    assert rows[:, 0].tolist() == list(range(0, 101, 10))
    q = rows[:, 2:]
    np.testing.assert_array_less(np.abs(q / q[0] - 1), 1e-10)  # gradient flow: exact
    assert summary["final"]["train_loss"] < 0.5 * summary["initial"]["train_loss"]
    comps = {c["name"]: c for c in summary["components"]}
    assert comps["q_1"]["outputs"] == ["a2", "a4"] and comps["q_2"]["outputs"] == ["b4", "b1,b3"]
    assert comps["q_3"]["outputs"] == [] and comps["q_3"]["relative_drift"] == 0.0
    assert all(c["conserved_by_gradient_flow"] for c in comps.values())
    assert abs(comps["q_2"]["q_final"] - q[-1, 1]) == 0.0
    # Q of the run is the sum of the components' (the held edge rdd stays out of them)
    assert np.isclose(q[0].sum() + 1.0, summary["initial"]["invariant_q"], rtol=1e-14)


def test_resumed_run_keeps_the_rows_before_its_checkpoint(tmp_path):
    exp = tmp_path / "components.toml"
    exp.write_text(EXPERIMENT)
    train(exp, tmp_path / "whole", progress=False)
    train(exp, tmp_path / "part", progress=False, max_steps=45)  # checkpoint at step 45
    _, partial = _read(tmp_path / "part" / "invariants.csv")
    assert partial[-1, 0] <= 45
    train(exp, tmp_path / "part", progress=False, resume=True)
    whole = (tmp_path / "whole" / "invariants.csv").read_text()
    assert (tmp_path / "part" / "invariants.csv").read_text() == whole
