"""Generation as an RC transient in ngspice against circuitlearn's integration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from circuitlearn.errors import ProblemError
from circuitlearn.learning.flow import FlowField, flow_network
from circuitlearn.solver.problem import make_problem
from circuitlearn.spice import batch
from circuitlearn.spice.transient import check_generation, generator_deck
from circuitlearn.training.generate import load_flow_run
from circuitlearn.training.run import train

GAUSSIAN = Path(__file__).resolve().parents[2] / "netlists" / "experiments" / \
    "flow_gaussian.toml"

pytestmark = pytest.mark.skipif(not batch.is_available(), reason="ngspice not installed")


def test_trained_2d_generator_matches_the_integration(tmp_path):
    train(GAUSSIAN, tmp_path, max_steps=300, progress=False)
    field = load_flow_run(tmp_path).field
    x0 = np.random.default_rng(0).standard_normal((4, 2))
    check = check_generation(field, x0, 1.2)
    assert len(check.times) > 1000 and check.times[-1] == pytest.approx(1.2)
    assert check.max_relative_difference < 1e-6  # acceptance: 1e-3
    # the trajectories really move: from the source toward the target mean (1.5, -1)
    assert np.abs(check.spice[-1] - check.spice[0]).max() > 1.0


def test_time_input_is_a_ramp_source():
    circuit, inputs, outputs = flow_network(2, hidden=1, rails=(-2.0, 2.0), time=True, seed=3)
    k = circuit.conductance * 20
    k[:2] = 1.0  # springs
    field = FlowField(make_problem(circuit, inputs, outputs), k, 0.2)
    assert abs(field.affine()[2]).max() > 0.1  # the time source drives the field
    x0 = np.array([[0.5, -0.5], [1.0, 2.0]])
    coarse = check_generation(field, x0, 2.0)  # maxstep 1 ms
    fine = check_generation(field, x0, 2.0, max_step=2e-4)
    # gear-2 truncation: measured 1.5e-6 and 6e-8, falling like maxstep^2
    assert coarse.max_relative_difference < 1e-5
    assert fine.max_relative_difference < coarse.max_relative_difference / 10


def test_differential_generators_are_refused():
    circuit, inputs, outputs = flow_network(2, differential=True)
    field = FlowField(make_problem(circuit, inputs, outputs), circuit.conductance, 1.0)
    with pytest.raises(ProblemError, match="single-ended"):
        generator_deck(field, np.zeros((1, 2)), 1.0)
