"""Gaussian-to-Gaussian flow matching with GradEP: the analytic benchmark of the README.

    python scripts/reproduce/flow_gaussian.py [--out docs/figures]

1. Trains ``netlists/experiments/flow_gaussian.toml`` (GradEP, centered, beta =
   0.01 S), the same 5x longer, and the same experiment with the exact gradient
   flow (adjoint method) run 5x longer: the best field this network can represent
   on these pairs.
   Compares their flow-matching losses with the unconstrained least-squares affine
   field, and the 2-Wasserstein distance of the generated distribution to the
   target (closed form for the exactly pushed-forward Gaussian; empirical with
   2000 samples) at t_end = 1 s and at the best t_end.
2. Sign structure: a negatively correlated target with a single-ended and a
   differential network (two nodes per coordinate).
3. A wider target (variance 4 > 1): a passive network only contracts.

Writes ``flow_gaussian.png`` and ``flow_gaussian.json`` into ``--out``; prints a
Markdown table. Takes a few minutes.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

from circuitlearn.analysis.flow import affine_flow_map, gaussian_w2, least_squares_field
from circuitlearn.learning.flow import FlowField, flow_layout, flow_network
from circuitlearn.learning.flowdata import flow_velocities, make_target
from circuitlearn.learning.integrate import integrate
from circuitlearn.learning.modifiers import Bounds
from circuitlearn.learning.rules import make_rule
from circuitlearn.learning.tasks import make_dataset
from circuitlearn.solver.moments import BatchMoments
from circuitlearn.solver.problem import make_problem
from circuitlearn.training.experiment import parse_experiment
from circuitlearn.training.generate import generate_run, load_flow_run
from circuitlearn.training.io import read_curves
from circuitlearn.training.run import train

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = REPO / "netlists" / "experiments" / "flow_gaussian.toml"
T_GRID = np.linspace(0.5, 2.0, 151)
T_ONE = 50  # T_GRID[50] = 1 s


def w2_curve(field: FlowField, target, source_std: float = 1.0) -> np.ndarray:
    """Closed-form W2 (V) of the generated Gaussian to the target for every T in T_GRID."""
    out = []
    for t_end in T_GRID:
        phi, shift = affine_flow_map(*field.affine(), t_end)
        out.append(gaussian_w2(shift, source_std ** 2 * phi @ phi.T, target.mean,
                               target.covariance))
    return np.array(out)


def affine_w2_curve(a, c0, target) -> np.ndarray:
    return np.array([gaussian_w2(s, p @ p.T, target.mean, target.covariance)
                     for p, s in (affine_flow_map(a, c0, 0 * c0, t) for t in T_GRID)])


def run_experiment(table: dict, folder: Path) -> tuple[dict, float]:
    start = time.perf_counter()
    summary = train(parse_experiment(table, EXPERIMENT), folder, progress=False).summary
    return summary, time.perf_counter() - start


def part_one(work: Path) -> dict:
    base = tomllib.loads(EXPERIMENT.read_text())
    exact = tomllib.loads(EXPERIMENT.read_text())
    exact["rule"] = {"name": "gradient", "alpha": base["rule"]["alpha"]}
    exact["train"]["t_end"] = 5 * base["train"]["t_end"]
    exact["train"]["record_every"] = 100
    longer = tomllib.loads(EXPERIMENT.read_text())
    longer["train"].update(t_end=exact["train"]["t_end"], record_every=100)
    rows = {}
    for name, table in (("gradep", base), ("gradep_long", longer), ("gradient", exact)):
        summary, wall = run_experiment(table, work / name)
        run = load_flow_run(work / name)
        gen = generate_run(run, 2000, t_end=1.0, seed=1)
        curve = w2_curve(run.field, run.target)
        rows[name] = {"train_loss": summary["final"]["train_loss"],
                      "test_loss": summary["final"]["test_loss"], "wall_s": wall,
                      "steps": summary["steps"], "w2_t1": gen.metrics["w2_gaussian"],
                      "w2_samples_t1": gen.metrics["w2_samples"],
                      "best_t": float(T_GRID[np.argmin(curve)]), "w2_best": float(curve.min()),
                      "A": run.field.affine()[0].tolist(), "c": run.field.affine()[1].tolist(),
                      "curve": curve, "run": run, "gen": gen,
                      "curves": read_curves(work / name / "curves.csv")}
    curves = rows["gradient"]["curves"]
    at = np.flatnonzero(np.isclose(curves["t"], base["train"]["t_end"]))[0]
    rows["gradient"]["train_loss_same_t"] = float(curves["train_loss"][at])
    run = rows["gradep"]["run"]
    data = make_dataset(run.field.problem, "flow", **{k: v for k, v in run.data.items()
                                                      if k != "kind"})
    xt, u, _ = flow_velocities(run.field.layout, data.info, data.x_train, data.y_train)
    a, c0, _, loss = least_squares_field(xt, u)
    curve = affine_w2_curve(a, c0, run.target)
    rows["least_squares"] = {"train_loss": loss, "curve": curve, "A": a.tolist(),
                             "c": c0.tolist(), "w2_t1": float(curve[T_ONE])}
    return rows


def train_api(problem, data, *, t_end: float = 6.0, dt: float = 0.002) -> np.ndarray:
    """GradEP (beta = 0.01 S, alpha = 1) on the full batch, springs fixed, Euler."""
    rule = make_rule(problem, "gradep", beta=0.01, alpha=1.0)
    moments = BatchMoments.from_batch(data.x_train, data.y_train)
    k0 = problem.circuit.conductance
    traj = integrate(lambda t, k: rule(k, moments), k0, t_end=t_end, dt=dt, method="euler",
                     bounds=Bounds(1e-3 * k0.min(), np.inf), record_every=10 ** 9)
    return traj.k[-1]


def variant(target_mean, target_cov, differential: bool) -> dict:
    circuit, inputs, outputs = flow_network(2, hidden=1, rails=(-20.0, 20.0),
                                            differential=differential, seed=1)
    problem = make_problem(circuit, inputs, outputs,
                           trainable=~np.isin(np.arange(circuit.num_resistors),
                                              flow_layout(make_problem(circuit, inputs,
                                                                       outputs)).springs))
    data = make_dataset(problem, "flow", capacitance=0.1, mean=target_mean,
                        covariance=target_cov, n_train=1024, n_test=1024)
    # the differential network is stiffer: Euler needs a 4x smaller step
    k = train_api(problem, data, dt=0.0005 if differential else 0.002)
    field = FlowField(problem, k, 0.1)
    xt, u, _ = flow_velocities(field.layout, data.info, data.x_test, data.y_test)
    target = make_target("gaussian", 2, mean=target_mean, covariance=target_cov)
    xtr, utr, _ = flow_velocities(field.layout, data.info, data.x_train, data.y_train)
    a, c0, _, _ = least_squares_field(xtr, utr)
    curve = w2_curve(field, target)
    return {"edges": int(problem.trainable.sum()), "test_loss": field.loss(xt, u),
            "least_squares_test_loss": 0.5 * float(np.mean(np.sum((xt @ a.T + c0 - u) ** 2,
                                                                   axis=1))),
            "w2_t1": float(curve[T_ONE]), "w2_best": float(curve.min()),
            "best_t": float(T_GRID[np.argmin(curve)]),
            "least_squares_w2_t1": float(affine_w2_curve(a, c0, target)[T_ONE])}


def figure(rows: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gen, run = rows["gradep"]["gen"], rows["gradep"]["run"]
    fig, (lx, ax, bx) = plt.subplots(1, 3, figsize=(16, 4.6))
    floor = rows["least_squares"]["train_loss"]
    for key, style, label in (("gradep_long", "-", "GradEP (centered, beta = 0.01 S)"),
                              ("gradient", "--", "exact gradient (adjoint)")):
        c = rows[key]["curves"]
        lx.plot(c["t"], c["train_loss"] - floor, style, label=label)
    lx.set_yscale("log")
    lx.set_xlabel("training time t (s)")
    lx.set_ylabel("L - L(best affine field)  (V^2/s^2)")
    lx.grid(True, which="both", alpha=0.3)
    lx.legend(frameon=False, fontsize=8)
    lx.set_title("flow-matching loss above the unconstrained optimum", fontsize=10)
    ax.scatter(*gen.x0.T, s=3, c="0.8", label="source N(0, I)")
    ax.scatter(*gen.reference.T, s=3, c="C1", alpha=0.5, label="target")
    ax.scatter(*gen.samples.T, s=3, c="C0", alpha=0.5, label="GradEP network, t = 1 s")
    angle = np.linspace(0, 2 * np.pi, 200)
    phi, shift = affine_flow_map(*run.field.affine(), 1.0)
    for mean, cov, color in ((run.target.mean, run.target.covariance, "C1"),
                             (shift, phi @ phi.T, "C0")):
        w, q = np.linalg.eigh(cov)
        ring = mean[:, None] + 2 * (q * np.sqrt(w)) @ np.vstack([np.cos(angle),
                                                                np.sin(angle)])
        ax.plot(*ring, color=color, lw=1.5)
    ax.set_xlabel("x1 (V)")
    ax.set_ylabel("x2 (V)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(markerscale=4, frameon=False, loc="upper left", fontsize=8)
    ax.set_title("2000 samples, 2-sigma ellipses (closed form)", fontsize=10)
    labels = {"gradep": "GradEP-trained network", "gradient": "exact-gradient network",
              "least_squares": "best affine field (unconstrained)"}
    for key, style in (("gradep", "-"), ("gradient", "--"), ("least_squares", ":")):
        bx.plot(T_GRID, rows[key]["curve"], style, label=labels[key])
    bx.axvline(1.0, color="k", lw=0.5)
    bx.set_xlabel("generation time t_end (s)")
    bx.set_ylabel("W2 to the target (V)")
    bx.set_ylim(0, None)
    bx.grid(True, alpha=0.3)
    bx.legend(frameon=False, fontsize=8)
    bx.set_title("2-Wasserstein distance of the generated Gaussian", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        rows = part_one(Path(work))
    figure(rows, args.out / "flow_gaussian.png")
    sign = {"single": variant([1.5, -1.0], [0.3, -0.1, -0.1, 0.2], False),
            "differential": variant([1.5, -1.0], [0.3, -0.1, -0.1, 0.2], True)}
    wide = variant([0.0, 0.0], [4.0, 0.0, 0.0, 0.25], False)
    keep = ("train_loss", "train_loss_same_t", "test_loss", "wall_s", "steps", "w2_t1",
            "w2_samples_t1", "best_t", "w2_best", "A", "c")
    result = {"benchmark": {k: {kk: v[kk] for kk in keep if kk in v} for k, v in rows.items()},
              "negative_correlation": sign, "wider_target": wide}
    (args.out / "flow_gaussian.json").write_text(json.dumps(result, indent=2) + "\n")
    g, e, ls = rows["gradep"], rows["gradient"], rows["least_squares"]
    print("| field | train FM loss | W2 at t = 1 s (closed form / 2000 samples) | best t | "
          "W2 at best t |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in (("GradEP", g), ("GradEP, 5x longer", rows["gradep_long"]),
                    ("exact gradient, 5x longer", e)):
        print(f"| {name} | {r['train_loss']:.6f} | {r['w2_t1']:.4f} / {r['w2_samples_t1']:.4f}"
              f" | {r['best_t']:.2f} | {r['w2_best']:.4f} |")
    print(f"| least squares | {ls['train_loss']:.6f} | {ls['w2_t1']:.4f} | | |")
    print(f"exact gradient at the same t: {e['train_loss_same_t']:.9f}, GradEP / that - 1 = "
          f"{g['train_loss'] / e['train_loss_same_t'] - 1:.2e}")
    print(f"GradEP / exact - 1 = {rows['gradep_long']['train_loss'] / e['train_loss'] - 1:.2e}"
          f" (same training time); walls {g['wall_s']:.1f} s / "
          f"{rows['gradep_long']['wall_s']:.1f} s / {e['wall_s']:.1f} s")
    print(json.dumps({"negative_correlation": sign, "wider_target": wide}, indent=1))


if __name__ == "__main__":
    main()
