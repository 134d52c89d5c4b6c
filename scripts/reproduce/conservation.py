"""Reproduce "A Conservation Law for Equilibrium Propagation and Coupled Learning"
(arXiv 2606.15444) with circuitlearn, and test whether the law matters for training.

Parts (numbers in ``OUT/conservation.json``, figures in ``OUT``, default docs/figures):

1. drift: ``Q(t)/Q(0) - 1`` and every ``Q_j`` on the bundled test bed
   (netlists/experiments/components.toml: two components that both reach the
   outputs) for the gradient flow, CL at several eta and EP (positive, negative,
   centered; conductance nudging) at several beta, integrated with RK4
   (``conservation_drift.png``);
2. orders: drift rate ``|Q(T)/Q(0) - 1| / T`` against eta and beta on log-log axes
   with fitted slopes; expected 1 (CL, one-sided EP), 2 (centered EP), rounding
   (gradient flow) (``conservation_orders.png``), and the measured per-rule table of
   every structural law (component, series, parallel) from drift cosines;
3. reliability: over N random networks and initial conductances, the final loss and
   the time to a loss threshold for CL and centered EP, with the law intact (S0)
   and broken: a current-source input (S1), 25 % fixed edges (S2), an L2 term
   (S3); with the controls S2c (the same edges removed: same number of trainable
   edges, law intact) and S3c (S0 at the effective learning rate S3 reaches)
   (``conservation_reliability.png``).

Usage: ``python scripts/reproduce/conservation.py [--quick] [--out DIR] [--networks N]
[--jobs J]``. ``--quick`` (CI) shortens every part; the slopes it prints are
asserted by tests/scripts/test_reproduce.py.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reliability import reliability_figure, reliability_study  # noqa: E402

from circuitlearn.analysis.components import component_invariants  # noqa: E402
from circuitlearn.analysis.discovery import sample_conductances  # noqa: E402
from circuitlearn.analysis.fidelity import fit_order  # noqa: E402
from circuitlearn.analysis.first_integrals import survival  # noqa: E402
from circuitlearn.analysis.laws import structural_laws  # noqa: E402
from circuitlearn.learning.integrate import integrate  # noqa: E402
from circuitlearn.learning.rules import make_rule  # noqa: E402
from circuitlearn.training.experiment import load_experiment  # noqa: E402
from circuitlearn.training.setup import build  # noqa: E402

BED = REPO / "netlists" / "experiments" / "components.toml"
FAMILIES = {"cl": ("cl", {}), "ep_positive": ("ep", {"nudging": "positive"}),
            "ep_negative": ("ep", {"nudging": "negative"}),
            "ep_centered": ("ep", {"nudging": "centered"})}
EXPECTED = {"cl": 1, "ep_positive": 1, "ep_negative": 1, "ep_centered": 2}


def bed():
    setup = build(load_experiment(BED))
    return (setup.problem, setup.circuit.conductance.copy(), setup.dataset.x_train,
            setup.dataset.y_train)


def trajectory(problem, k0, x, y, name, params, *, t_end, dt):
    """RK4 trajectory of one rule at alpha = 20: times, Q and every Q_j."""
    rule = make_rule(problem, name, alpha=20.0, **params)
    traj = integrate(lambda t, k: rule(k, x, y), k0, t_end=t_end, dt=dt, method="rk4",
                     record_every=max(1, int(round(t_end / dt / 50))))
    comps = component_invariants(problem)
    q = np.array([comps.q(k) for k in traj.k])
    return traj.t, q.sum(axis=1), q


def drift_part(quick: bool) -> dict:
    """Parts 1 and 2: drift of Q and Q_j along trajectories, and the fitted orders."""
    problem, k0, x, y = bed()
    grid = (1e-3, 1e-2, 1e-1) if quick else (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
    t_end, dt = (1.0, 0.05) if quick else (4.0, 0.04)
    runs = {}
    t, q, qj = trajectory(problem, k0, x, y, "gradient", {}, t_end=t_end, dt=dt)
    runs["gradient"] = [{"t": t, "q": q, "q_j": qj}]
    for family, (name, extra) in FAMILIES.items():
        key = "eta" if name == "cl" else "beta"
        runs[family] = []
        for v in grid:
            t, q, qj = trajectory(problem, k0, x, y, name, {key: v, **extra}, t_end=t_end,
                                  dt=dt)
            runs[family].append({key: v, "t": t, "q": q, "q_j": qj})
    orders, rates = {}, {}
    for family, items in runs.items():
        rates[family] = [abs(r["q"][-1] / r["q"][0] - 1) / r["t"][-1] for r in items]
        if family != "gradient":
            orders[family] = fit_order(np.array(grid), np.array(rates[family]))
    gf = runs["gradient"][0]
    gradient_drift = float(np.max(np.abs(gf["q_j"] / gf["q_j"][0] - 1)))
    return {"grid": list(grid), "t_end": t_end, "dt": dt, "runs": runs, "rates": rates,
            "orders": orders, "gradient_max_relative_drift": gradient_drift,
            "components": component_invariants(problem).describe(problem)}


def law_table(quick: bool) -> dict:
    """Status and measured order of every structural law under every rule."""
    problem, k0, x, y = bed()
    laws = structural_laws(problem).laws
    names = problem.circuit.resistor_names
    samples = sample_conductances(k0, problem.trainable, 3 if quick else 8, 1.0,
                                  np.random.default_rng(0))
    grid = (1e-4, 1e-3, 1e-2)
    families = {"gradient": ("gradient", {}), **FAMILIES,
                "ep_positive_current": ("ep", {"nudging": "positive", "nudge": "current"}),
                "ep_centered_current": ("ep", {"nudging": "centered", "nudge": "current"})}
    table = {}
    for family, (name, extra) in families.items():
        key = "eta" if name == "cl" else "beta"
        values = (1.0,) if name == "gradient" else grid
        flows = [(v, _flow(problem, x, y, name, {} if name == "gradient" else {key: v},
                           extra)) for v in values]
        rows = survival(laws, flows, samples, parameter=key)
        table[family] = [{"law": law.kind, "formula": law.formula(names)[:40],
                          "status": r.status, "order": r.order, "worst": r.worst}
                         for law, r in zip(laws, rows, strict=True)]
    return table


def _flow(problem, x, y, name, params, extra):
    rule = make_rule(problem, name, **params, **extra)
    return lambda k: rule(k, x, y)


def drift_figures(drift: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("gradient flow and CL", ["gradient", "cl"]),
              ("EP, one-sided", ["ep_positive", "ep_negative"]),
              ("EP, centered", ["ep_centered"])]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), sharey=True)
    for ax, (title, families) in zip(axes, panels, strict=True):
        for family in families:
            for i, r in enumerate(drift["runs"][family]):
                label = _label(family, r)
                color = "k" if family == "gradient" else plt.cm.viridis(
                    i / max(1, len(drift["grid"]) - 1))
                style = "--" if family == "ep_negative" else "-"
                d = r["q_j"] / r["q_j"][0] - 1
                ax.plot(r["t"], d[:, 0], style, color=color, label=label)
                ax.plot(r["t"], d[:, 1], style, color=color, alpha=0.45, lw=2.5)
        ax.set_yscale("symlog", linthresh=1e-12)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(f"{title}: $Q_A$ (thin), $Q_B$ (thick, pale)")
        ax.set_xlabel("time t (s)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    axes[0].set_ylabel(r"$Q_j(t)/Q_j(0) - 1$  (symlog, linear below $10^{-12}$)")
    fig.suptitle("per-component invariants on netlists/components.cir (RK4, alpha = 20)")
    fig.tight_layout()
    paths = [out / "conservation_drift.png"]
    fig.savefig(paths[0], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    grid = np.array(drift["grid"])
    for i, family in enumerate(FAMILIES):
        rates = np.array(drift["rates"][family])
        ax.loglog(grid, rates, "o-", color=f"C{i}",
                  label=f"{family}: slope {drift['orders'][family]:.2f} "
                        f"(expected {EXPECTED[family]})")
    floor = drift["rates"]["gradient"][0]
    ax.axhline(max(floor, 1e-17), color="k", ls=":",
               label=f"gradient flow: {floor:.1e} (RK4 error; the law is exact)")
    ax.set_xlabel(r"$\eta$ (CL) or $\beta$ (EP, S)")
    ax.set_ylabel(r"drift rate $|Q(T)/Q(0) - 1|\,/\,T$ (1/s)")
    ax.set_title("order of the conservation law's breaking")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out / "conservation_orders.png")
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)
    return paths


def _label(family: str, run: dict) -> str:
    if family == "gradient":
        return "gradient flow"
    key = "eta" if family == "cl" else "beta"
    return f"{family.replace('ep_', 'EP ')} {key}={run[key]:g}"


def _jsonable(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(type(obj).__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced mode (CI)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "figures")
    parser.add_argument("--networks", type=int, default=None,
                        help="random networks of the reliability study (default 50; 4 quick)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    drift = drift_part(args.quick)
    print(f"gradient flow: max |Q_j(t)/Q_j(0) - 1| = {drift['gradient_max_relative_drift']:.1e}")
    for family, order in drift["orders"].items():
        print(f"slope {family}: {order:.3f} (expected {EXPECTED[family]})")
    table = law_table(args.quick)
    for family, rows in table.items():
        cells = ", ".join(f"{r['law']} {r['status']}"
                          + (f" O({r['order']:.2f})" if r["status"] == "approximate" else "")
                          for r in rows)
        print(f"laws under {family}: {cells}")
    n = args.networks or (4 if args.quick else 50)
    with multiprocessing.Pool(args.jobs) as pool:
        study = reliability_study(n, quick=args.quick, pool=pool)
    for line in study["lines"]:
        print(line)
    figures = drift_figures(drift, args.out)
    figures.append(reliability_figure(study, args.out / "conservation_reliability.png"))
    data = {"drift": drift, "law_table": table, "reliability": study,
            "wall_s": time.perf_counter() - start, "quick": args.quick}
    (args.out / "conservation.json").write_text(json.dumps(data, default=_jsonable) + "\n")
    print("wrote", ", ".join(str(p) for p in figures), "and",
          args.out / "conservation.json", f"in {data['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
