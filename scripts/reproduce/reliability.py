"""Convergence reliability with the conservation law intact and broken (part 3 of
conservation.py).

Paired design: every random network is trained from the same initial conductances,
on the same inputs, toward a teacher of the same topology (realizable), in each
setting:

S0   voltage-driven, every edge trains: Q_j conserved by the gradient flow;
S1   input 1 is a current source into its node (the node is no longer held);
S2   25 % of the edges fixed (the teacher keeps their value: still realizable);
S2c  control of S2: the same edges removed (same number of trainable edges, law intact;
     the edges are chosen so that, removed, every edge still learns);
S3   an L2 term, dk/dt = rule - lambda k (lambda = 0.02/s);
S3c  control of S3: S0 with alpha raised to the effective rate S3 reaches. The loss
     is scale-invariant, so shrinking Q speeds the direction of k: CL's rate is
     homogeneous of degree 0 in k (alpha' = alpha <sqrt(Q0/Q_S3(t))>), the gradient
     (EP) of degree -1 (alpha' = alpha <Q0/Q_S3(t)>).

Rules: CL (eta = 0.1) and centered EP (beta = 0.1 S), alpha = 50, RK4 with
dt = 0.2 s to T = 20 s (converged: the same losses as dt = 0.1; explicit Euler would
itself change Q by dt^2 |dk/dt|^2 per step), default bounds [1e-3 min k0, inf)
(clipping also breaks the law: reported separately). Metrics: L(T)/L(0), the time to
L/L(0) <= 1e-2 (censored at T), Q(T)/Q(0) - 1, the edges that touched the lower bound.
"""

from __future__ import annotations

import numpy as np

from circuitlearn.analysis.laws import structural_laws
from circuitlearn.circuit import Circuit
from circuitlearn.errors import CircuitLearnError
from circuitlearn.learning.integrate import iterate
from circuitlearn.learning.metrics import predict
from circuitlearn.learning.modifiers import Decay
from circuitlearn.learning.rules import make_rule
from circuitlearn.learning.tasks import teacher_conductances
from circuitlearn.solver.examples import SourceSpec, random_circuit, source_free_nodes
from circuitlearn.solver.problem import make_problem
from circuitlearn.training.setup import default_bounds

SETTINGS = ("S0", "S1", "S2", "S2c", "S3", "S3c")
RULES = {"cl": ("cl", {"eta": 0.1}), "ep": ("ep", {"beta": 0.1, "nudging": "centered"})}
HOMOGENEITY = {"cl": 0.5, "ep": 1.0}  # alpha' = alpha <(Q0/Q)^h>
ALPHA, DECAY, THRESHOLD = 50.0, 0.02, 1e-2
COMPARISONS = (("S1", "S0"), ("S2", "S0"), ("S2", "S2c"), ("S2c", "S0"), ("S3", "S0"),
               ("S3", "S3c"), ("S3c", "S0"))


def network(seed: int) -> dict | None:
    """The base circuit, outputs, the edges of S2 / S2c, and the inputs of one seed."""
    circuit = random_circuit(seed, num_nodes=14, extra_edges=16, sources=SourceSpec(v_inputs=3))
    rng = np.random.default_rng(seed + 7)
    outputs = [circuit.nodes[i] for i in rng.choice(source_free_nodes(circuit), 2,
                                                    replace=False)]
    removed = _removable(circuit, outputs, rng, round(0.25 * circuit.num_resistors))
    if removed is None:
        return None
    return {"circuit": circuit, "outputs": outputs, "removed": removed,
            "x": rng.uniform(-1, 1, (40, 3)), "seed": seed}


def _removable(circuit: Circuit, outputs: list[str], rng, count: int) -> np.ndarray | None:
    """``count`` edges whose removal leaves a well-posed problem whose every edge still
    learns: every component reaches an output, no edge is frozen (greedy, random
    order). Without this check a quarter of the edges of these sparse networks often
    splits them, strands outputs in source-free blocks or freezes most edges."""
    chosen: list[int] = []
    for e in rng.permutation(circuit.num_resistors).tolist():
        keep = np.setdiff1d(np.arange(circuit.num_resistors), chosen + [e])
        try:
            problem = make_problem(_subnetwork(circuit, keep), list(circuit.vsource_names),
                                   outputs)
        except CircuitLearnError:
            continue
        laws = structural_laws(problem)
        if set(laws.frozen) - set(laws.components.held_edges) or laws.frozen_gradient:
            continue
        chosen.append(e)
        if len(chosen) == count:
            return np.array(sorted(chosen))
    return None


def _subnetwork(c: Circuit, keep: np.ndarray) -> Circuit:
    return Circuit(nodes=c.nodes, resistor_names=tuple(c.resistor_names[i] for i in keep),
                   resistor_edges=c.resistor_edges[keep], conductance=c.conductance[keep],
                   vsource_names=c.vsource_names, vsource_edges=c.vsource_edges,
                   vsource_values=c.vsource_values, title=c.title)


def _current_input(c: Circuit) -> Circuit:
    """Input 1 as a current source (A) driven from ground into its node."""
    node = int(c.vsource_edges[0, 0])
    return Circuit(nodes=c.nodes, resistor_names=c.resistor_names,
                   resistor_edges=c.resistor_edges, conductance=c.conductance,
                   vsource_names=c.vsource_names[1:], vsource_edges=c.vsource_edges[1:],
                   vsource_values=c.vsource_values[1:], isource_names=("iin1",),
                   isource_edges=np.array([[0, node]]), isource_values=np.zeros(1),
                   title=c.title)


def problem_of(net: dict, setting: str):
    c, outs = net["circuit"], net["outputs"]
    if setting == "S1":
        circuit = _current_input(c)
        return make_problem(circuit, ["iin1", *circuit.vsource_names], outs)
    if setting == "S2c":
        keep = np.setdiff1d(np.arange(c.num_resistors), net["removed"])
        return make_problem(_subnetwork(c, keep), list(c.vsource_names), outs)
    mask = np.ones(c.num_resistors, bool)
    if setting == "S2":
        mask[net["removed"]] = False
    return make_problem(c, list(c.vsource_names), outs, trainable=mask)


def train(problem, rule_name: str, *, alpha: float, decay: float, t_end: float, dt: float,
          seed: int, x: np.ndarray) -> dict:
    """RK4 training toward a teacher of ``problem``'s topology (bounds as in a run)."""
    k0 = problem.circuit.conductance.copy()
    teacher = teacher_conductances(problem, seed=seed)
    y = predict(problem, teacher, x)  # the batch itself: exact losses down to rounding
    name, params = RULES[rule_name]
    rule = make_rule(problem, name, alpha=alpha, **params)
    bounds, mask = default_bounds(k0, problem.trainable), problem.trainable
    losses: list[float] = []

    def rate(t: float, k: np.ndarray) -> np.ndarray:
        r, loss = rule.rate_and_loss(k, x, y, masked=False)
        losses.append(loss)  # RK4 calls this 4 times per step, first at k_n
        r = Decay(decay).update(r, k, None)[0] if decay else r
        return np.where(mask, r, 0.0)

    qs, touched = [float(k0[mask] @ k0[mask])], np.zeros(len(k0), bool)
    for _, _, k in iterate(rate, k0, t_end=t_end, dt=dt, method="rk4", bounds=bounds):
        qs.append(float(k[mask] @ k[mask]))
        touched |= k <= bounds.k_min
    rate(t_end, k)
    ratio = np.array(losses[::4]) / losses[0]
    hit = np.flatnonzero(ratio <= THRESHOLD)
    qs = np.array(qs)
    return {"loss_ratio": float(ratio[-1]), "t_hit": float(hit[0] * dt) if hit.size else None,
            "dq": float(qs[-1] / qs[0] - 1), "clipped": int(touched.sum()),
            "q_ratio": qs[0] / qs, "trainable": int(mask.sum())}


def run_network(task: tuple[int, str, bool]) -> list[dict]:
    """Every setting of one network and rule (S3c needs S3's Q(t))."""
    seed, rule, quick = task
    net = network(seed)
    if net is None:
        return []
    t_end, dt = (8.0, 0.2) if quick else (20.0, 0.2)
    out, q_ratio = [], None
    for setting in ("S0", "S1", "S2", "S2c", "S3", "S3c"):
        alpha = ALPHA
        if setting == "S3c":
            alpha = ALPHA * float(np.mean(q_ratio ** HOMOGENEITY[rule]))
        result = train(problem_of(net, setting), rule, alpha=alpha,
                       decay=DECAY if setting == "S3" else 0.0, t_end=t_end, dt=dt,
                       seed=seed, x=net["x"])
        if setting == "S3":
            q_ratio = result["q_ratio"]
        result.pop("q_ratio")
        out.append({"seed": seed, "rule": rule, "setting": setting, "alpha": alpha,
                    "t_end": t_end, **result})
    return out


def reliability_study(n: int, *, quick: bool, pool) -> dict:
    """The first ``n`` seeds with a valid S2 draw, every rule and setting."""
    seeds: list[int] = []
    seed = 0
    while len(seeds) < n:
        if network(seed) is not None:
            seeds.append(seed)
        seed += 1
    runs = [row for rows in pool.map(run_network, [(s, rule, quick) for s in seeds
                                                   for rule in RULES]) for row in rows]
    return {"networks": len(seeds), "runs": runs, **summarize(runs)}


def summarize(runs: list[dict]) -> dict:
    """Per rule and setting: median and quartiles of L(T)/L(0), share reaching the
    threshold, median Q drift, clipping; paired comparisons with a Wilcoxon test."""
    from scipy.stats import wilcoxon

    table, lines, paired = {}, [], {}
    for rule in RULES:
        for setting in SETTINGS:
            rows = [r for r in runs if r["rule"] == rule and r["setting"] == setting]
            ratio = np.array([r["loss_ratio"] for r in rows])
            hits = [r["t_hit"] for r in rows if r["t_hit"] is not None]
            q1, med, q3 = np.percentile(np.log10(ratio), [25, 50, 75])
            table[f"{rule}/{setting}"] = cell = {
                "median_log10_loss_ratio": med, "quartiles": [q1, q3],
                "reached": len(hits) / len(rows),
                "median_t_hit": float(np.median(hits)) if len(hits) > len(rows) / 2 else None,
                "median_dq": float(np.median([r["dq"] for r in rows])),
                "clipped_runs": sum(r["clipped"] > 0 for r in rows), "n": len(rows)}
            t_hit = "> T" if cell["median_t_hit"] is None else f"{cell['median_t_hit']:.1f} s"
            lines.append(f"{rule} {setting:3s}: median log10 L(T)/L(0) {med:+.2f} "
                         f"[{q1:+.2f}, {q3:+.2f}], reached 1e-2: {100 * cell['reached']:.0f} %,"
                         f" median t_hit {t_hit}, median dQ/Q {cell['median_dq']:+.1e}, "
                         f"clipped in {cell['clipped_runs']}/{len(rows)}")
        for a, b in COMPARISONS:
            la = _paired(runs, rule, a)
            lb = _paired(runs, rule, b)
            diff = np.log10(la) - np.log10(lb)
            p = float(wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
            paired[f"{rule}/{a}-{b}"] = item = {
                "median_log10_difference": float(np.median(diff)),
                "lower_fraction": float(np.mean(diff < 0)), "wilcoxon_p": p}
            lines.append(f"{rule} {a} vs {b}: {a} ends lower in "
                         f"{100 * item['lower_fraction']:.0f} % of networks, median "
                         f"difference {item['median_log10_difference']:+.2f} decades, "
                         f"Wilcoxon p = {p:.2g}")
    return {"table": table, "paired": paired, "lines": lines}


def _paired(runs: list[dict], rule: str, setting: str) -> np.ndarray:
    rows = sorted((r for r in runs if r["rule"] == rule and r["setting"] == setting),
                  key=lambda r: r["seed"])
    return np.array([r["loss_ratio"] for r in rows])


def reliability_figure(study: dict, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = study["runs"]
    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    for row, rule in zip(axes, RULES, strict=True):
        data = [np.log10([r["loss_ratio"] for r in runs if r["rule"] == rule
                          and r["setting"] == s]) for s in SETTINGS]
        row[0].boxplot(data, showfliers=False)
        row[0].set_xticks(range(1, len(SETTINGS) + 1), SETTINGS)
        for i, d in enumerate(data, start=1):
            jitter = np.random.default_rng(i).uniform(-0.15, 0.15, len(d))
            row[0].plot(i + jitter, d, ".", color="C0", alpha=0.5, ms=4)
        row[0].axhline(np.log10(THRESHOLD), color="grey", ls=":")
        row[0].set_ylabel(r"$\log_{10} L(T)/L(0)$")
        row[0].set_title(f"{rule.upper()}: final loss ({study['networks']} networks)")
        t_end = runs[0]["t_end"]
        times = np.linspace(0, t_end, 200)
        for i, s in enumerate(SETTINGS):
            hits = [r["t_hit"] for r in runs if r["rule"] == rule and r["setting"] == s]
            frac = [np.mean([h is not None and h <= t for h in hits]) for t in times]
            row[1].step(times, frac, where="post", color=f"C{i}",
                        ls="--" if s.endswith("c") else "-", label=s)
        row[1].set_xlabel("time t (s)")
        row[1].set_ylabel(r"share with $L/L(0) \leq 10^{-2}$")
        row[1].set_title(f"{rule.upper()}: time to the threshold")
        row[1].legend(fontsize=8, ncol=2)
        for ax in row:
            ax.grid(True, alpha=0.3)
    fig.suptitle("convergence with the conservation law intact (S0, S2c, S3c) and "
                 "broken (S1 current input, S2 fixed edges, S3 L2 term)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
