"""Measurements for :mod:`circuitlearn.bench`: timers, the library floor, a peer-style
per-example baseline, ngspice, peak memory and the software environment.

Every timing is the minimum over repeats (robust to other load on a shared
machine); quantities compared in a ratio are measured interleaved, in the same
process, on the same matrices.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import os
import platform
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from circuitlearn.bench.networks import Network
from circuitlearn.solver import factor


# ------------------------------------------------------------------ timers
def best_times(funcs: list[Callable[[], object]], *, min_repeats: int = 3,
               max_repeats: int = 30, budget_s: float = 2.0) -> list[float]:
    """Minimum wall time (s) of each function, calling them in turn (interleaved).

    Repeats until ``budget_s`` is spent (at least ``min_repeats``, at most
    ``max_repeats`` rounds); one untimed warm-up call each comes first.
    """
    for f in funcs:
        f()
    best = [np.inf] * len(funcs)
    start = time.perf_counter()
    for rnd in range(max_repeats):
        for i, f in enumerate(funcs):
            t = time.perf_counter()
            f()
            best[i] = min(best[i], time.perf_counter() - t)
        if rnd + 1 >= min_repeats and time.perf_counter() - start > budget_s:
            break
    return best


# -------------------------------------------------------------- the floor
def library_floor(matrix: sp.csc_matrix, columns: int, backend: str,
                  seed: int = 0) -> tuple[Callable[[], object], Callable[[], object]]:
    """The floor of a step, called directly on the library: one numeric
    factorization of ``matrix`` and a solve with ``columns`` right-hand sides.

    Returns ``(factorize, solve)`` callables. The symbolic work is done here,
    once: CHOLMOD's ``analyze``; for SuperLU the minimum-degree ordering, with the
    matrix pre-permuted so that each call factorizes in natural order.
    """
    rhs = np.asfortranarray(np.random.default_rng(seed).standard_normal(
        (matrix.shape[0], columns)))
    if backend == "cholmod":  # pragma: no cover - optional extra
        from sksparse.cholmod import analyze

        chol = analyze(matrix)
        chol.cholesky_inplace(matrix)
        return (lambda: chol.cholesky_inplace(matrix)), (lambda: chol(rhs))
    opts = {"diag_pivot_thresh": 0.0, "options": {"SymmetricMode": True}}
    order = np.argsort(spla.splu(matrix, permc_spec="MMD_AT_PLUS_A", **opts).perm_c)
    permuted = matrix[order][:, order].tocsc()
    state = {"lu": spla.splu(permuted, permc_spec="NATURAL", **opts)}

    def factorize():
        state["lu"] = spla.splu(permuted, permc_spec="NATURAL", **opts)

    return factorize, (lambda: state["lu"].solve(rhs))


# ------------------------------------------------------ peer-style baseline
def peer_cl_step(net: Network, k: np.ndarray, x: np.ndarray, y: np.ndarray,
                 eta: float) -> np.ndarray:
    """Coupled-learning ``dk/dt`` (alpha = 1) the way peer codes compute it.

    Per example: ``spsolve`` of the free system (inputs and ground fixed) and of
    the clamped system (outputs also fixed at ``V_O^F + eta (y - V_O^F)``), then
    ``(1/eta) (1/2) (dV_F^2 - dV_C^2)`` accumulated over the batch. The two reduced
    matrices are assembled once per call (peers often re-assemble per example).
    """
    c = net.circuit
    n, edges = c.num_nodes, c.resistor_edges
    inputs = c.vsource_edges[:, 0]
    outputs = np.array([p for p, _ in net.problem.outputs])
    lap = sp.csr_matrix((np.r_[k, k, -k, -k], (np.r_[edges[:, 0], edges[:, 1], edges[:, 0],
                                                     edges[:, 1]],
                                               np.r_[edges[:, 0], edges[:, 1], edges[:, 1],
                                                     edges[:, 0]])), shape=(n, n))
    fixed_f = np.r_[0, inputs]
    fixed_c = np.r_[fixed_f, outputs]
    systems = []
    for fixed in (fixed_f, fixed_c):
        free = np.setdiff1d(np.arange(n), fixed)
        systems.append((free, fixed, lap[free][:, free].tocsc(), lap[free][:, fixed].tocsr()))
    rate = np.zeros(len(k))
    for xb, yb in zip(x, y, strict=True):
        v_free = np.zeros(n)
        v_free[inputs] = xb
        free, fixed, a, b = systems[0]
        v_free[free] = spla.spsolve(a, -(b @ v_free[fixed]))
        v_cl = v_free.copy()
        v_cl[outputs] = v_free[outputs] + eta * (yb - v_free[outputs])
        free, fixed, a, b = systems[1]
        v_cl[free] = spla.spsolve(a, -(b @ v_cl[fixed]))
        drop_f = v_free[edges[:, 0]] - v_free[edges[:, 1]]
        drop_c = v_cl[edges[:, 0]] - v_cl[edges[:, 1]]
        rate += 0.5 * (drop_f**2 - drop_c**2) / eta
    return rate / len(x)


# ----------------------------------------------------------------- ngspice
def ngspice_op_seconds(netlist: str, timeout_s: float) -> tuple[float, bool]:
    """Wall time (s) of ``ngspice -b`` on ``netlist`` text (``.op``), and whether it
    was stopped at ``timeout_s`` (then the time is ``timeout_s``)."""
    exe = shutil.which("ngspice")
    if exe is None:
        raise FileNotFoundError("ngspice is not installed")
    with tempfile.TemporaryDirectory(prefix="circuitlearn-bench-") as tmp:
        path = Path(tmp) / "bench.cir"
        path.write_text(netlist, encoding="utf-8")
        start = time.perf_counter()
        try:
            proc = subprocess.run([exe, "-b", str(path)], cwd=tmp, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            return float(timeout_s), True
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"ngspice failed ({proc.returncode}): {proc.stderr[-400:]!r}")
    return elapsed, False


# ------------------------------------------------------------------ memory
def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux ``clear_refs``);
    False where that is impossible (then :func:`peak_rss_bytes` is the process peak)."""
    try:
        Path(f"/proc/{os.getpid()}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """Peak resident set size (bytes) since :func:`reset_peak_rss` (Linux ``VmHWM``),
    else since the process started (``getrusage``)."""
    try:
        for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes() -> int:
    """Resident set size (bytes) now (Linux), else the peak."""
    try:
        for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return peak_rss_bytes()


# ------------------------------------------------------------- environment
def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _loaded_libraries(*needles: str) -> list[str]:
    try:
        lines = Path(f"/proc/{os.getpid()}/maps").read_text().splitlines()
    except OSError:
        return []
    paths = {ln.split()[-1] for ln in lines if ln.count("/") and ".so" in ln}
    return sorted(p for p in paths if any(n in Path(p).name for n in needles))


def _suitesparse_version() -> str:
    for path in _loaded_libraries("suitesparseconfig"):
        try:
            v = (ctypes.c_int * 3)()
            ctypes.CDLL(path).SuiteSparse_version(v)
            return ".".join(map(str, v))
        except (OSError, AttributeError):
            continue
    return "not loaded"


def environment() -> dict[str, object]:
    """Machine, library versions, BLAS libraries in use and thread settings."""
    import numpy
    import scipy

    if "cholmod" in factor.available_backends():  # load CHOLMOD and its BLAS
        import sksparse.cholmod  # noqa: F401
    blas = _loaded_libraries("libblas", "liblapack", "openblas", "mkl_rt", "libblis")
    system = [os.path.realpath(p) for p in blas if Path(p).name.startswith("libblas.so")]
    return {
        "cpus": os.cpu_count(), "machine": platform.machine(),
        "processor": _cpu_model(), "python": platform.python_version(),
        "numpy": numpy.__version__, "scipy": scipy.__version__,
        "scikit_sparse": _version("scikit-sparse"), "suitesparse": _suitesparse_version(),
        "blas_libraries": sorted({os.path.realpath(p) for p in blas}),
        "cholmod_blas": _blas_vendor(system[0]) if system else "not loaded",
        "threads": {v: os.environ.get(v, "") for v in
                    ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
        "backends": factor.available_backends(), "default_backend": factor.default_backend(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else [],
    }


def _blas_vendor(path: str) -> str:
    """``OpenBLAS``, ``reference`` (Debian's netlib BLAS), ... from a libblas path."""
    for needle, name in (("openblas", "OpenBLAS"), ("blis", "BLIS"), ("mkl", "MKL"),
                         ("atlas", "ATLAS"), ("/blas/", "reference")):
        if needle in path:
            return f"{name} ({path})"
    return path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
