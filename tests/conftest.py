"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI explores the same examples on every run (no flaky property tests); locally
# hypothesis keeps drawing new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CONFORMANCE = SHARED / "conformance"


@pytest.fixture
def conformance_dir() -> Path:
    if not CONFORMANCE.is_dir():
        pytest.skip(f"conformance netlists not found at {CONFORMANCE}")
    return CONFORMANCE


# The conservation-law test bed (netlists/components.cir), for tests/analysis.
COMPONENTS = REPO / "netlists" / "components.cir"
COMPONENT_OUTPUTS = ["a2", "a4", "b4", ("b1", "b3")]


def components_problem(edit=None, inputs=("vin1", "vin2"), trainable=None,
                       outputs=COMPONENT_OUTPUTS):
    """``(problem, k, x, y)`` of the test bed; ``edit(text)`` changes the netlist first."""
    from circuitlearn import netlist
    from circuitlearn.learning.tasks import make_dataset
    from circuitlearn.solver.problem import make_problem

    text = COMPONENTS.read_text()
    circuit = netlist.parse(edit(text) if edit else text)
    problem = make_problem(circuit, list(inputs), list(outputs), trainable=trainable)
    data = make_dataset(problem, "teacher", n_train=12, n_test=2, seed=3)
    return problem, circuit.conductance.copy(), data.x_train, data.y_train


@pytest.fixture
def bed():
    """:func:`components_problem`."""
    return components_problem


def _has_scikit_learn() -> bool:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests of the digits experiment need the optional extra ``digits``."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    digits = any("digits" in str(v) for v in params.values()) or "digits" in item.name
    if digits and not _has_scikit_learn():
        pytest.skip("needs scikit-learn for the digits data: pip install "
                    "'circuitlearn[digits]'")
