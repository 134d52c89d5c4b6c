"""Summary metrics, targets and the text table of :mod:`circuitlearn.bench`."""

from __future__ import annotations

import math

# metric -> (comparison, target); the targets for the full-size benchmark
TARGETS: dict[str, tuple[str, float]] = {
    "floor_ratio": ("<=", 1.3),
    "batch_ratio": ("<=", 1.5),
    "peer_speedup": (">=", 100.0),
    "euler_wall_s": ("<=", 60.0),
    "peak_rss_gb": ("<=", 6.0),
}


def summarize(result: dict) -> dict[str, float]:
    """Headline numbers: the worst case of each section (all finite and positive).

    ``floor_ratio`` is the largest over the default backend's rows and
    ``floor_ratio_splu`` over SuperLU's (when it is not the default);
    ``peak_rss_gb`` the largest peak RSS during a step; ``peer_speedup`` and
    ``ngspice_ratio`` the smallest (``ngspice_ratio`` is a lower bound when a run
    hit the timeout); ``euler_wall_s`` the slowest network.
    """
    out: dict[str, float] = {}
    default = result.get("environment", {}).get("default_backend")
    floor = result.get("floor") or []
    mine = [r["floor_ratio"] for r in floor if r["backend"] == default]
    if mine:
        out["floor_ratio"] = max(mine)
    splu = [r["floor_ratio"] for r in floor if r["backend"] == "splu"]
    if splu and default != "splu":
        out["floor_ratio_splu"] = max(splu)
    if floor:
        out["peak_rss_gb"] = max(r["peak_rss_gb"] for r in floor)
    if "batch" in result:
        out["batch_ratio"] = result["batch"]["batch_ratio"]
    if result.get("peer"):
        out["peer_speedup"] = min(r["peer_speedup"] for r in result["peer"])
    rows = (result.get("ngspice") or {}).get("rows") or []
    if rows:
        out["ngspice_ratio"] = min(r["ngspice_ratio"] for r in rows)
    if result.get("euler"):
        out["euler_wall_s"] = max(r["wall_s"] for r in result["euler"])
    if "assembly" in result:
        out["assembly_speedup"] = result["assembly"]["assembly_speedup"]
    return {k: float(v) for k, v in out.items()}


def verdict(metric: str, value: float, quick: bool) -> str:
    """``ok`` / ``MISS`` against :data:`TARGETS` (``-`` without a target; in quick
    mode the sizes differ from the targets', so it says ``(quick)``)."""
    if metric not in TARGETS:
        return "-"
    op, target = TARGETS[metric]
    good = value <= target if op == "<=" else value >= target
    return ("ok" if good else "MISS") + (" (quick)" if quick else "")


def _fmt(value: float, digits: int = 3) -> str:
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def format_table(result: dict) -> str:
    """Human-readable report of :func:`circuitlearn.bench.run_benchmark`'s result."""
    env = result["environment"]
    quick = result["mode"] == "quick"
    blas = ", ".join(p.rsplit("/", 1)[-1] for p in env["blas_libraries"]) or "?"
    lines = [
        f"circuitlearn bench ({result['mode']}): {env['cpus']} CPUs ({env['processor']}), "
        f"Python {env['python']}, numpy {env['numpy']}, scipy {env['scipy']}, "
        f"scikit-sparse {env['scikit_sparse']}, SuiteSparse {env['suitesparse']}",
        f"CHOLMOD's BLAS: {env['cholmod_blas']}; BLAS libraries loaded: {blas}",
        f"thread settings {env['threads']}; default backend {env['default_backend']}; "
        f"load average at start {[round(v, 2) for v in env['load_average']]}",
    ]
    if result.get("floor"):
        lines += ["", "floor_ratio = CL step (batch 1000) / (numeric factorization + "
                      "(n_in + n_out) solves), same library, same matrix",
                  f"{'network':<13}{'edges':>9}{'unknowns':>10}{'backend':>9}{'step ms':>11}"
                  f"{'factor ms':>11}{'solve ms':>10}{'ratio':>8}{'peak RSS GiB':>14}"]
        for r in result["floor"]:
            lines.append(f"{r['kind']:<13}{r['edges']:>9}{r['unknowns']:>10}{r['backend']:>9}"
                         f"{r['step_ms']:>11.2f}{r['factor_ms']:>11.2f}{r['solve_ms']:>10.2f}"
                         f"{r['floor_ratio']:>8.3f}{r['peak_rss_gb']:>14.2f}")
    if "batch" in result:
        b = result["batch"]
        lines += ["", f"batch_ratio ({b['kind']}, {b['edges']} edges): batch 1000 "
                      f"{b['step_b1000_ms']:.2f} ms / batch 10 {b['step_b10_ms']:.2f} ms = "
                      f"{b['batch_ratio']:.3f}"]
    if result.get("peer"):
        lines += ["", "peer_speedup = per-example spsolve (free + clamped) + CL update / "
                      "circuitlearn"]
        for r in result["peer"]:
            lines.append(f"  {r['kind']:<13} {r['edges']} edges, batch {r['batch']}: "
                         f"{r['peer_s']:.3f} s / {1e3 * r['circuitlearn_s']:.2f} ms = "
                         f"{r['peer_speedup']:.0f}x (rates agree to {r['max_rel_diff']:.1e})")
    ng = result.get("ngspice")
    if ng is not None:
        lines += ["", "ngspice_ratio = ngspice -b .op / circuitlearn solve (same netlist)"]
        if "skipped" in ng:
            lines.append(f"  skipped: {ng['skipped']}")
        for r in ng.get("rows", []):
            gt = ">" if r["timed_out"] else ""
            lines.append(f"  {r['resistors']} resistors: ngspice {gt}{r['ngspice_s']:.2f} s / "
                         f"{1e3 * r['circuitlearn_solve_s']:.1f} ms = {gt}"
                         f"{r['ngspice_ratio']:.0f}x (with parsing the netlist: {gt}"
                         f"{r['ngspice_ratio_with_parse']:.0f}x)")
    if result.get("euler"):
        lines += ["", "Euler steps k += dt * rule(k, x, y)"]
        for r in result["euler"]:
            lines.append(f"  {r['kind']:<13} {r['edges']} edges, batch {r['batch']}: "
                         f"{r['steps']} steps in {r['wall_s']:.2f} s (first step with analysis "
                         f"{r['first_step_s']:.2f} s; loss {r['loss_start']:.4g} -> "
                         f"{r['loss_end']:.4g})")
    if "assembly" in result:
        a = result["assembly"]
        lines += ["", f"Laplacian assembly, {a['nodes']} nodes: value update "
                      f"{a['values_update_ms']:.3f} ms vs networkx {a['networkx_ms']:.1f} ms"]
    lines += ["", f"{'summary':<20}{'value':>10}  {'target':<10}status"]
    for key, value in result["summary"].items():
        op, target = TARGETS.get(key, ("", math.nan))
        tgt = f"{op} {_fmt(target)}" if op else ""
        lines.append(f"{key:<20}{_fmt(value):>10}  {tgt:<10}{verdict(key, value, quick)}")
    lines.append(f"total wall time {result['wall_s']:.1f} s")
    return "\n".join(lines)
