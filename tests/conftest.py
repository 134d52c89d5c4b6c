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
