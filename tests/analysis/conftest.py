"""The bundled conservation-law test bed (netlists/components.cir) as a fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from circuitlearn import netlist
from circuitlearn.learning.tasks import make_dataset
from circuitlearn.solver.problem import make_problem

NETLIST = Path(__file__).resolve().parents[2] / "netlists" / "components.cir"
OUTPUTS = ["a2", "a4", "b4", ("b1", "b3")]


def components_problem(edit=None, inputs=("vin1", "vin2"), trainable=None, outputs=OUTPUTS):
    """``(problem, k, x, y)`` of the test bed; ``edit(text)`` changes the netlist first."""
    text = NETLIST.read_text()
    circuit = netlist.parse(edit(text) if edit else text)
    problem = make_problem(circuit, list(inputs), list(outputs), trainable=trainable)
    data = make_dataset(problem, "teacher", n_train=12, n_test=2, seed=3)
    return problem, circuit.conductance.copy(), data.x_train, data.y_train


@pytest.fixture
def bed():
    """:func:`components_problem`."""
    return components_problem
