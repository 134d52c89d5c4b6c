"""Do symmetries of the training data create conserved quantities? ("Conservation Laws
from Data Symmetry in Neural Networks", Galley, Shahverdi, Flinth, 2026, made
testable with ``circuitlearn conservation``'s discovery.)

For a handful of networks and data sets the first integrals of the gradient flow with
MSE loss are discovered (separable basis, powers 1..3) and counted against the laws
the structure and the data predict (:func:`circuitlearn.analysis.laws.structural_laws`:
one ``Q_j`` per component, series and parallel laws, frozen edges, and the Norton laws
and silenced components that data confined to a subspace add), in three cases:

(a) raw data, x ~ U(-1, 1) per input, targets from a random teacher network;
(b) the raw data augmented by a finite group (learning.augment): every permutation of
    the inputs, x -> -x (targets kept), x -> -x with y -> -y;
(c) data confined to a subspace: x1 = x2, x_last = 0, x1 = the bias voltage, and
    rank-1 data x = t v.

On the mirror network (an automorphism exchanges in1 and in2) a full polynomial
search with cross terms up to degree 3 repeats the comparison for raw, permuted and
flipped data. Numbers: ``OUT/data_symmetry.json``; the markdown table is printed.

Usage: ``python scripts/reproduce/data_symmetry.py [--quick] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from circuitlearn import netlist
from circuitlearn.analysis.discovery import discover, powers_for
from circuitlearn.analysis.laws import structural_laws
from circuitlearn.learning.augment import augment_dataset
from circuitlearn.learning.data import Dataset
from circuitlearn.learning.metrics import predict
from circuitlearn.learning.rules import make_rule
from circuitlearn.learning.tasks import teacher_conductances
from circuitlearn.solver.examples import SourceSpec, random_circuit, source_free_nodes
from circuitlearn.solver.problem import make_problem

REPO = Path(__file__).resolve().parents[2]

MIRROR = """mirror: an automorphism exchanges in1 and in2 (and a_i with b_i)
V1 in1 0 0
V2 in2 0 0
RA1 in1 a1 1.1
RA2 a1 a2 0.9
RA3 a2 0 1.3
RA4 a1 m 0.8
RA5 a2 m 1.2
RB1 in2 b1 1.0
RB2 b1 b2 1.4
RB3 b2 0 0.7
RB4 b1 m 1.15
RB5 b2 m 0.95
RM m 0 1.05
"""

DEMO = """demo: n1 sees in1, in2 and ground; a block with an output hangs between in1 and in2
V1 in1 0 0
V2 in2 0 0
VB bias 0 1
R1 in1 n1 1.0
R2 in2 n1 1.2
R3 n1 0 0.9
R4 n1 n2 1.1
R5 n2 n3 0.8
R6 n3 0 1.3
R7 bias n2 1.0
R8 n3 n4 0.7
R9 n4 n1 1.25
R10 n4 in2 0.95
RH1 in1 h1 1.0
RH2 h1 in2 1.1
RH3 h1 h2 0.9
RH4 h2 in2 1.2
RH5 in1 h2 0.8
"""


def networks(quick: bool) -> dict:
    """``{name: (problem, bias voltage or None)}``."""
    out = {
        "bed": (make_problem(netlist.load(REPO / "netlists" / "components.cir"),
                             ["vin1", "vin2"], ["a2", "a4", "b4", ("b1", "b3")]), 1.0),
        "mirror": (make_problem(netlist.parse(MIRROR), ["v1", "v2"], ["m"]), None),
        "demo": (make_problem(netlist.parse(DEMO), ["v1", "v2"],
                              ["n3", "h2"]), 1.0)}
    for seed in (1, 2) if quick else (1, 2, 3):
        c = random_circuit(seed, num_nodes=12, extra_edges=12,
                           sources=SourceSpec(v_inputs=3, v_bias=1))
        rng = np.random.default_rng(seed)
        outs = [c.nodes[i] for i in rng.choice(source_free_nodes(c), 2, replace=False)]
        bias = float(c.vsource_values[c.vsource_names.index("vb1")])
        out[f"generic{seed}"] = (make_problem(c, [n for n in c.vsource_names
                                                  if n.startswith("vin")], outs), bias)
    return out


def datasets(problem, bias: float | None, seed: int) -> dict:
    """``{name: (x, y)}``: raw, augmented and subspace-confined training sets."""
    rng = np.random.default_rng(seed)
    n_in = problem.num_inputs
    x = rng.uniform(-1, 1, (20, n_in))
    teacher = teacher_conductances(problem, seed=rng)

    def labelled(xs):
        return xs, predict(problem, teacher, xs)

    raw = Dataset(*labelled(x), *labelled(x[:2]), "regression")
    out = {"raw": labelled(x)}
    for group in ("permute", "flip", "negate"):
        aug = augment_dataset(raw, group)
        out[f"aug:{group}"] = (aug.x_train, aug.y_train)
    same = x.copy()
    same[:, 1] = same[:, 0]
    out["x1=x2"] = labelled(same)
    zero = x.copy()
    zero[:, -1] = 0.0
    out[f"x{n_in}=0"] = labelled(zero)
    if bias is not None:
        held = x.copy()
        held[:, 0] = bias
        out["x1=bias"] = labelled(held)
    out["rank 1"] = labelled(np.outer(rng.uniform(-1, 1, 20), rng.uniform(0.5, 1.5, n_in)))
    return out


def study(quick: bool) -> list[dict]:
    rows = []
    for name, (problem, bias) in networks(quick).items():
        names = problem.circuit.resistor_names
        base = None
        for i, (data, (x, y)) in enumerate(datasets(problem, bias, seed=len(rows)).items()):
            rule = make_rule(problem, "gradient")
            found = discover(lambda k, r=rule, x=x, y=y: r(k, x, y), problem.circuit.conductance,
                             movable=problem.trainable, samples=None if not quick else 200,
                             seed=i)
            predicted = structural_laws(problem, x=x)
            expected = predicted.expected_dimension(powers_for(3))
            still = sorted(set(predicted.frozen) | set(predicted.frozen_gradient))
            formulas = [law.formula(names) for law in found.laws]
            base = formulas if data == "raw" else base
            rows.append({
                "network": name, "edges": problem.num_edges, "data": data,
                "laws": len(found.laws), "predicted": expected, "frozen": len(found.frozen),
                "frozen_predicted": len(still), "gap": found.gap, "ambiguous": found.ambiguous,
                "match": len(found.laws) == expected and found.frozen == still,
                "new": [f for f in formulas if f not in base],
                "lost": [f for f in base if f not in formulas]})
    return rows


def polynomial_check(quick: bool) -> list[dict]:
    """Generators with cross terms (degree <= 3) on the mirror network."""
    problem = make_problem(netlist.parse(MIRROR), ["v1", "v2"], ["m"])
    out = []
    sets = datasets(problem, None, seed=99)
    rule = make_rule(problem, "gradient")
    for data in ("raw", "aug:permute", "aug:flip", "x1=x2"):
        x, y = sets[data]
        found = discover(lambda k, x=x, y=y: rule(k, x, y), problem.circuit.conductance,
                         basis="polynomial", degree=2 if quick else 3, seed=5)
        degrees = [max(sum(p for _, p in m) for m, _ in law.terms) for law in found.laws]
        out.append({"data": data, "generators_by_degree": [degrees.count(d) for d in
                                                            range(1, 4 if not quick else 3)],
                    "columns": len(found.columns), "gap": found.gap})
    return out


def markdown(rows: list[dict]) -> str:
    lines = ["| network (E) | data | laws found | predicted | frozen (pred.) | "
             "new laws vs raw data | match |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        new = "; ".join(r["new"]) or ("lost: " + "; ".join(r["lost"]) if r["lost"] else "-")
        new = new if len(new) < 70 else new[:67] + "..."
        lines.append(f"| {r['network']} ({r['edges']}) | {r['data']} | {r['laws']} | "
                     f"{r['predicted']} | {r['frozen']} ({r['frozen_predicted']}) | {new} | "
                     f"{'yes' if r['match'] else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced mode (CI)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "figures")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows = study(args.quick)
    print(markdown(rows))
    poly = polynomial_check(args.quick)
    for p in poly:
        print(f"mirror, polynomial basis ({p['columns']} monomials), {p['data']}: new "
              f"generators by degree {p['generators_by_degree']}")
    augmented = [r for r in rows if r["data"].startswith("aug:")]
    print(f"matches: {sum(r['match'] for r in rows)}/{len(rows)}; augmented data sets with "
          f"new laws: {sum(bool(r['new']) for r in augmented)}/{len(augmented)}")
    (args.out / "data_symmetry.json").write_text(json.dumps(
        {"rows": rows, "polynomial": poly, "wall_s": time.perf_counter() - start},
        default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
