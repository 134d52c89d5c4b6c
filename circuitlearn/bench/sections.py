"""Benchmark of a full-batch training step against its floor, peers and ngspice.

``circuitlearn bench [--quick] [--json FILE]`` (or ``python scripts/bench.py``) runs
every section in one process on one machine, so that each ratio compares numbers
measured side by side:

``floor``
    ``floor_ratio`` = step time / (one numeric factorization + ``n_in + n_out``
    solves, called directly on the same library with the same matrix). A *step* is
    ``rule(k, x, y)`` for the coupled-learning rule on a full batch of 1000
    examples, including the numeric factorization for the new ``k``. 2D square
    lattices and 3D disordered (pruned Delaunay) networks of 10^4, 10^5 and 10^6
    edges; each available backend (SuperLU up to 10^5 edges). Peak RSS during the
    step is recorded too (Linux ``VmHWM``, reset before the step).
``batch``
    ``batch_ratio`` = step time at batch 1000 / at batch 10 (10^5 edges).
``peer``
    ``peer_speedup`` = per-example baseline (``spsolve`` of the free and of the
    clamped system for each example, then the CL update) / circuitlearn, at 10^4
    edges and batch 100; the two rates are also compared.
``ngspice``
    ``ngspice_ratio`` = ``ngspice -b`` ``.op`` time / :func:`circuitlearn.solver.solve`
    time on the same 10^4- and 10^5-resistor netlists (skipped without ngspice;
    a run stopped at the timeout gives a lower bound, shown as ``>``).
``euler``
    Wall time of 100 Euler steps ``k += dt * rule(k, x, y)``, batch 1000, 10^5 edges.
``assembly``
    Laplacian value update on the fixed pattern vs networkx, 10^5 nodes.

``--quick`` shrinks every size (CI smoke test, well under a minute). Timings are
minima over interleaved repeats; the machine's load is recorded with them.
"""

from __future__ import annotations

import functools
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from circuitlearn.bench import SECTIONS
from circuitlearn.bench.measure import (
    best_times,
    current_rss_bytes,
    environment,
    library_floor,
    ngspice_op_seconds,
    peak_rss_bytes,
    peer_cl_step,
    reset_peak_rss,
)
from circuitlearn.bench.networks import KINDS, Network, lattice_network_edges, make_network
from circuitlearn.bench.report import format_table, summarize
from circuitlearn.learning.metrics import mse_loss, predict
from circuitlearn.learning.rules import make_rule
from circuitlearn.netlist import parse, write
from circuitlearn.solver import factor
from circuitlearn.solver.dc import solve
from circuitlearn.solver.laplacian import BlockLaplacian

ETA = 0.5
GIB = 2.0**30

FULL = {"floor_sizes": (10**4, 10**5, 10**6), "splu_max": 10**5, "batch": 1000,
        "batch_edges": 10**5, "peer_edges": 10**4, "peer_batch": 100,
        "ngspice_sizes": (10**4, 10**5), "euler_edges": 10**5, "euler_steps": 100,
        "assembly_nodes": 10**5, "budget_s": 2.0}
QUICK = {"floor_sizes": (10**3, 10**4), "splu_max": 10**4, "batch": 1000,
         "batch_edges": 10**4, "peer_edges": 10**3, "peer_batch": 20,
         "ngspice_sizes": (10**3,), "euler_edges": 10**4, "euler_steps": 10,
         "assembly_nodes": 10**4, "budget_s": 0.3}


def run_benchmark(*, quick: bool = False, sections: Sequence[str] = SECTIONS,
                  ngspice_timeout: float | None = None,
                  log: Callable[[str], None] | None = None) -> dict:
    """Run the benchmark and return its results (JSON-ready dict).

    Parameters
    ----------
    quick : bool
        Small sizes (smoke test) instead of the full sizes.
    sections : sequence of str
        Subset of :data:`SECTIONS` to run.
    ngspice_timeout : float, optional
        Seconds after which an ngspice run is stopped (default 200 s, quick 30 s).
    log : callable, optional
        Receives one progress line per measurement (default: stderr).
    """
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown benchmark sections {sorted(unknown)} (known: {SECTIONS})")
    cfg = dict(QUICK if quick else FULL)
    cfg["ngspice_timeout"] = float(ngspice_timeout or (30.0 if quick else 200.0))
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    result: dict = {"mode": "quick" if quick else "full", "config": cfg,
                    "environment": environment(), "eta": ETA}
    start = time.perf_counter()
    steps = {"floor": _floor, "batch": _batch, "peer": _peer, "ngspice": _ngspice,
             "euler": _euler, "assembly": _assembly}
    for name in SECTIONS:
        if name in sections:
            result[name] = steps[name](cfg, log)
    result["wall_s"] = time.perf_counter() - start
    result["summary"] = summarize(result)
    return result


def _with_backend(backend: str, fn: Callable[[], object]) -> object:
    previous = factor.set_default_backend(backend)
    try:
        return fn()
    finally:
        factor.set_default_backend(previous)


# ---------------------------------------------------------------- sections
def _floor(cfg: dict, log) -> list[dict]:
    rows = []
    for kind in KINDS:
        for size in cfg["floor_sizes"]:
            t0 = time.perf_counter()
            net = make_network(kind, size)
            gen_s = time.perf_counter() - t0
            for backend in factor.available_backends():
                if backend == "splu" and size > cfg["splu_max"]:
                    continue
                row = _with_backend(backend, functools.partial(_floor_row, net, backend, cfg))
                row["generate_s"] = gen_s
                rows.append(row)
                log(f"floor {kind:>12} E={net.num_edges:>8} {backend:>7}: step "
                    f"{row['step_ms']:9.2f} ms  floor {row['floor_ms']:9.2f} ms  "
                    f"ratio {row['floor_ratio']:.3f}  peak RSS {row['peak_rss_gb']:.2f} GiB")
    return rows


def _floor_row(net: Network, backend: str, cfg: dict) -> dict:
    p = net.problem
    x, y = net.batch(cfg["batch"])
    rule = make_rule(p, "cl", eta=ETA)
    rss_before = current_rss_bytes()
    reset_peak_rss()
    t0 = time.perf_counter()
    rule(net.k, x, y)  # first step of a run: includes the symbolic analysis
    first_s = time.perf_counter() - t0
    peak = peak_rss_bytes()
    matrix = p.structure.blocks.ff(net.k)
    factorize, solve_rhs = library_floor(matrix, p.num_inputs + p.num_outputs, backend)
    t_step, t_fact, t_solve = best_times([lambda: rule(net.k, x, y), factorize, solve_rhs],
                                         budget_s=cfg["budget_s"])
    return {"kind": net.kind, "edges": net.num_edges, "nodes": net.num_nodes,
            "unknowns": matrix.shape[0], "inputs": p.num_inputs, "outputs": p.num_outputs,
            "batch": cfg["batch"], "backend": backend, "first_step_s": first_s,
            "step_ms": 1e3 * t_step, "factor_ms": 1e3 * t_fact, "solve_ms": 1e3 * t_solve,
            "floor_ms": 1e3 * (t_fact + t_solve), "floor_ratio": t_step / (t_fact + t_solve),
            "rss_before_gb": rss_before / GIB, "peak_rss_gb": peak / GIB}


def _batch(cfg: dict, log) -> dict:
    net = make_network("lattice2d", cfg["batch_edges"])
    rule = make_rule(net.problem, "cl", eta=ETA)
    x10, y10 = net.batch(10)
    x1k, y1k = net.batch(1000)
    t10, t1k = best_times([lambda: rule(net.k, x10, y10), lambda: rule(net.k, x1k, y1k)],
                          budget_s=cfg["budget_s"])
    row = {"kind": net.kind, "edges": net.num_edges, "backend": factor.default_backend(),
           "step_b10_ms": 1e3 * t10, "step_b1000_ms": 1e3 * t1k, "batch_ratio": t1k / t10}
    log(f"batch  E={net.num_edges}: batch 10 {row['step_b10_ms']:.2f} ms, batch 1000 "
        f"{row['step_b1000_ms']:.2f} ms, ratio {row['batch_ratio']:.3f}")
    return row


def _peer(cfg: dict, log) -> list[dict]:
    rows = []
    for kind in KINDS:
        net = make_network(kind, cfg["peer_edges"])
        x, y = net.batch(cfg["peer_batch"])
        rule = make_rule(net.problem, "cl", eta=ETA)
        t0 = time.perf_counter()
        reference = peer_cl_step(net, net.k, x, y, ETA)
        t_peer = time.perf_counter() - t0
        (t_cl,) = best_times([functools.partial(rule, net.k, x, y)], budget_s=cfg["budget_s"])
        ours = rule(net.k, x, y)
        diff = float(np.max(np.abs(ours - reference)) / np.max(np.abs(reference)))
        rows.append({"kind": kind, "edges": net.num_edges, "batch": cfg["peer_batch"],
                     "peer_s": t_peer, "circuitlearn_s": t_cl, "peer_speedup": t_peer / t_cl,
                     "max_rel_diff": diff})
        log(f"peer   {kind:>12} E={net.num_edges}: per-example spsolve {t_peer:.3f} s, "
            f"circuitlearn {1e3 * t_cl:.2f} ms, speedup {t_peer / t_cl:.0f}x "
            f"(rates agree to {diff:.1e})")
    return rows


def _ngspice(cfg: dict, log) -> dict:
    import shutil

    if shutil.which("ngspice") is None:
        log("ngspice: not installed, section skipped")
        return {"skipped": "ngspice is not installed (apt-get install ngspice)"}
    rows = []
    for size in cfg["ngspice_sizes"]:
        net = make_network("lattice2d", size)
        rng = np.random.default_rng(5)
        circuit = net.circuit.with_sources(rng.uniform(-1, 1, len(net.circuit.vsource_names)),
                                           net.circuit.isource_values)
        text = write(circuit)
        t0 = time.perf_counter()
        parsed = parse(text)
        parse_s = time.perf_counter() - t0
        (t_solve,) = best_times([lambda c=parsed: solve(c)], budget_s=cfg["budget_s"])
        t_ng, timed_out = ngspice_op_seconds(text, cfg["ngspice_timeout"])
        rows.append({"resistors": circuit.num_resistors, "nodes": circuit.num_nodes,
                     "ngspice_s": t_ng, "timed_out": timed_out, "circuitlearn_solve_s": t_solve,
                     "circuitlearn_parse_s": parse_s, "ngspice_ratio": t_ng / t_solve,
                     "ngspice_ratio_with_parse": t_ng / (t_solve + parse_s)})
        log(f"ngspice R={circuit.num_resistors}: ngspice {'>' if timed_out else ''}{t_ng:.2f} s"
            f", circuitlearn solve {1e3 * t_solve:.1f} ms (+ parse {parse_s:.2f} s), ratio "
            f"{'>' if timed_out else ''}{t_ng / t_solve:.0f}")
    return {"rows": rows, "timeout_s": cfg["ngspice_timeout"]}


def _euler(cfg: dict, log) -> list[dict]:
    rows = []
    for kind in KINDS:
        net = make_network(kind, cfg["euler_edges"])
        x, y = net.batch(cfg["batch"])
        rule = make_rule(net.problem, "cl", eta=ETA, alpha=1.0)
        t0 = time.perf_counter()
        rate = rule(net.k, x, y)  # sets the step size; includes the symbolic analysis
        first_s = time.perf_counter() - t0
        dt = 0.02 * float(np.min(net.k)) / float(np.max(np.abs(rate)))
        k = net.k.copy()
        loss0 = mse_loss(predict(net.problem, k, x), y)
        t0 = time.perf_counter()
        for _ in range(cfg["euler_steps"]):
            k += dt * rule(k, x, y)
            np.maximum(k, 1e-6, out=k)
        wall = time.perf_counter() - t0
        loss1 = mse_loss(predict(net.problem, k, x), y)
        rows.append({"kind": kind, "edges": net.num_edges, "batch": cfg["batch"],
                     "steps": cfg["euler_steps"], "wall_s": wall, "first_step_s": first_s,
                     "dt": dt, "loss_start": loss0, "loss_end": loss1})
        log(f"euler  {kind:>12} E={net.num_edges}: {cfg['euler_steps']} steps in {wall:.2f} s"
            f" (loss {loss0:.4g} -> {loss1:.4g})")
    return rows


def _assembly(cfg: dict, log) -> dict:
    import networkx as nx

    n, edges = lattice_network_edges(2 * cfg["assembly_nodes"])
    k = np.random.default_rng(0).uniform(0.5, 2.0, len(edges))
    blocks = BlockLaplacian(edges, n, np.array([0]))
    (t_ours,) = best_times([lambda: blocks.ff(k)], budget_s=cfg["budget_s"])
    graph = nx.Graph()
    graph.add_weighted_edges_from(zip(edges[:, 0].tolist(), edges[:, 1].tolist(), k.tolist(),
                                      strict=True))

    def networkx_step():
        nx.set_edge_attributes(graph, dict(zip(map(tuple, edges.tolist()), k.tolist(),
                                               strict=True)), "weight")
        return nx.laplacian_matrix(graph, weight="weight")

    (t_nx,) = best_times([networkx_step], min_repeats=1, max_repeats=3, budget_s=0.0)
    row = {"nodes": n, "edges": len(edges), "values_update_ms": 1e3 * t_ours,
           "networkx_ms": 1e3 * t_nx, "assembly_speedup": t_nx / t_ours}
    log(f"assembly N={n}: values update {1e3 * t_ours:.3f} ms, networkx {1e3 * t_nx:.1f} ms")
    return row


def write_json(result: dict, path: str | Path) -> None:
    """Write ``result`` as indented JSON (non-finite numbers as null)."""
    def clean(obj):
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [clean(v) for v in obj]
        if isinstance(obj, float | np.floating):
            return float(obj) if math.isfinite(obj) else None
        if isinstance(obj, np.integer | np.bool_):
            return obj.item()
        return obj

    Path(path).write_text(json.dumps(clean(result), indent=2) + "\n", encoding="utf-8")


__all__ = ["FULL", "QUICK", "SECTIONS", "format_table", "run_benchmark", "write_json"]
