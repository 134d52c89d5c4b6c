"""Factorization backends: accuracy, symbolic reuse, errors, backend choice."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from circuitlearn.errors import SingularMatrixError
from circuitlearn.solver import factor
from circuitlearn.solver.equilibrium import EquilibriumSolver
from circuitlearn.solver.examples import SourceSpec, random_problem
from circuitlearn.solver.factor import (
    Factorization,
    SymbolicFactor,
    available_backends,
    default_backend,
    set_default_backend,
)
from circuitlearn.solver.laplacian import BlockLaplacian

BACKENDS = available_backends()


def _network(seed: int, n: int = 400, extra: int = 1200):
    """A connected random graph with nodes 0 and 7 fixed: (blocks, edges)."""
    rng = np.random.default_rng(seed)
    chain = np.c_[np.arange(1, n), rng.integers(0, np.arange(1, n))]
    pairs = rng.integers(0, n, (extra, 2))
    edges = np.vstack([chain, pairs[pairs[:, 0] != pairs[:, 1]]])
    return BlockLaplacian(edges, n, [0, 7]), edges


def _residual(a: sp.spmatrix, x: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a @ x - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_spd_solves_to_1e10(backend):
    blocks, edges = _network(0)
    rng = np.random.default_rng(1)
    a = blocks.ff(rng.uniform(0.1, 10.0, len(edges)))
    f = Factorization(a, backend=backend)
    assert f.backend == backend
    b = rng.standard_normal((a.shape[0], 5))
    assert _residual(a, f.solve(b), b) < 1e-10
    assert _residual(a, f.solve(b[:, 0]), b[:, 0]) < 1e-10
    assert f.solve(np.zeros((a.shape[0], 0))).shape == (a.shape[0], 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_symbolic_reuse_after_value_change(backend):
    blocks, edges = _network(2)
    rng = np.random.default_rng(3)
    k1, k2 = rng.uniform(0.5, 2.0, (2, len(edges)))
    a1, a2 = blocks.ff(k1), blocks.ff(k2)
    sym = SymbolicFactor(blocks.ff(np.ones(len(edges))), backend=backend)
    b = rng.standard_normal((a1.shape[0], 3))
    f1 = sym.numeric(a1)
    x1 = f1.solve(b)
    f2 = sym.numeric(a2)  # overwrites cholmod's in-place workspace
    assert _residual(a2, f2.solve(b), b) < 1e-10
    # the older factorization still solves its own matrix
    np.testing.assert_allclose(f1.solve(b), x1, rtol=1e-10, atol=1e-12)
    assert _residual(a1, f1.solve(b), b) < 1e-10
    # stored values in the pattern's order work too, and match a one-off factorization
    f3 = sym.numeric(a2.data)
    np.testing.assert_allclose(f3.solve(b), Factorization(a2, backend=backend).solve(b),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_singular_and_indefinite_raise(backend):
    blocks, edges = _network(4)
    sym = SymbolicFactor(blocks.ff(np.ones(len(edges))), backend=backend)
    with pytest.raises(SingularMatrixError):
        sym.numeric(blocks.ff(np.zeros(len(edges))))  # every conductance zero
    k = np.ones(len(edges))
    k[: len(k) // 2] = -3.0  # negative conductances: indefinite
    with pytest.raises(SingularMatrixError):
        sym.numeric(blocks.ff(k))
    with pytest.raises(SingularMatrixError):
        Factorization(blocks.ff(k), backend=backend)
    # a floating node (singular Laplacian) without a symbolic factor
    lap = sp.csc_matrix(np.array([[1.0, -1.0], [-1.0, 1.0]]))
    with pytest.raises(SingularMatrixError):
        Factorization(lap, backend=backend)
    # after a failure the symbolic factor still works
    good = blocks.ff(np.ones(len(edges)))
    b = np.ones(good.shape[0])
    assert _residual(good, sym.numeric(good).solve(b), b) < 1e-10


@pytest.mark.parametrize("backend", BACKENDS)
def test_pattern_mismatch_is_refused(backend):
    blocks, edges = _network(5)
    sym = SymbolicFactor(blocks.ff(np.ones(len(edges))), backend=backend)
    other, edges2 = _network(6)
    with pytest.raises(ValueError, match="pattern"):
        sym.numeric(other.ff(np.ones(len(edges2))))
    with pytest.raises(ValueError):
        sym.numeric(np.ones(sym.nnz + 1))


def test_general_matrix_uses_pivoting_lu():
    a = sp.csc_matrix(np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 2.0], [0.0, 2.0, -1.0]]))
    f = Factorization(a, spd=False)
    assert f.backend == "splu"
    b = np.array([1.0, 2.0, 3.0])
    assert _residual(a, f.solve(b), b) < 1e-12
    with pytest.raises(SingularMatrixError):
        Factorization(sp.csc_matrix(np.array([[1.0, 2.0], [2.0, 4.0]])), spd=False)
    if "cholmod" in BACKENDS:
        with pytest.raises(ValueError, match="positive definite"):
            Factorization(a, spd=False, backend="cholmod")


def test_empty_matrix():
    f = Factorization(sp.csc_matrix((0, 0)))
    assert f.solve(np.zeros(0)).shape == (0,)


def test_backend_choice_and_override(monkeypatch):
    monkeypatch.delenv(factor.ENV_BACKEND, raising=False)
    assert default_backend() == BACKENDS[0]
    assert "splu" in BACKENDS
    with pytest.raises(ValueError, match="not available"):
        Factorization(sp.identity(3, format="csc"), backend="pardiso")
    previous = set_default_backend("splu")
    try:
        assert default_backend() == "splu"
        assert Factorization(sp.identity(3, format="csc")).backend == "splu"
    finally:
        set_default_backend(previous)
    monkeypatch.setenv(factor.ENV_BACKEND, "splu")
    assert default_backend() == "splu"
    monkeypatch.setenv(factor.ENV_BACKEND, "nonsense")
    with pytest.raises(ValueError, match="nonsense"):
        default_backend()


@pytest.mark.parametrize("backend", BACKENDS)
def test_solver_analyzes_once_per_problem(backend, monkeypatch):
    """The pattern, its scatter map and the ordering are built once per problem;
    each new conductance state costs a numeric factorization only."""
    problem, k, x, y = random_problem(7, num_nodes=30, extra_edges=40,
                                      sources=SourceSpec(v_inputs=2, v_bias=1))
    calls = {"analyze": 0}
    original = SymbolicFactor.__init__

    def counting(self, *args, **kwargs):
        calls["analyze"] += 1
        original(self, *args, **kwargs)

    monkeypatch.setattr(SymbolicFactor, "__init__", counting)
    blocks = problem.structure.blocks
    first = EquilibriumSolver(problem, k, backend=backend)
    assert first.backend == backend
    out_first = first.outputs(first.free(x))
    rng = np.random.default_rng(0)
    for _ in range(3):
        solver = EquilibriumSolver(problem, k * rng.uniform(0.5, 2.0, len(k)), backend=backend)
        solver.output_conductance  # noqa: B018 (forces the solves)
    assert calls["analyze"] == 1
    assert problem.structure.blocks is blocks
    # the first solver's factorization was overwritten in place, yet stays right
    np.testing.assert_allclose(first.outputs(first.free(x)), out_first, rtol=1e-10)


def test_problem_with_cached_analysis_pickles():
    import copy
    import pickle

    problem, k, x, _ = random_problem(8, sources=SourceSpec(v_inputs=2))
    expected = EquilibriumSolver(problem, k).free(x)
    assert problem.structure._symbolic  # analysed and cached
    for clone in (pickle.loads(pickle.dumps(problem)), copy.deepcopy(problem)):
        np.testing.assert_allclose(EquilibriumSolver(clone, k).free(x), expected, rtol=1e-12)
