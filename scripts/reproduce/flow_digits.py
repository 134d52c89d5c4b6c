"""Flow matching on the 8x8 digits with GradEP: the numbers and figure of the README.

    python scripts/reproduce/flow_digits.py [--out docs/figures]

Needs scikit-learn (``pip install 'circuitlearn[digits]'``). Trains
``netlists/experiments/flow_digits.toml`` (64 visible nodes, 2016 + 128 trainable
resistors), generates 359 samples at t_end = 1 s and 1.2 s and compares them with
the held-out digits and with draws of the Gaussian fitted to the training digits
(the best a linear field can generate), by the empirical 2-Wasserstein distance
(exact assignment, V). Reference values: the unconstrained least-squares affine
field on the same pairs and two sets of real digits. Writes ``flow_digits.png``
and ``flow_digits.json`` into ``--out``. Takes several minutes.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from circuitlearn.analysis.flow import empirical_w2, least_squares_field
from circuitlearn.learning.flowdata import flow_velocities
from circuitlearn.learning.tasks import make_dataset
from circuitlearn.training.flowplot import plot_generation
from circuitlearn.training.generate import generate_run, load_flow_run
from circuitlearn.training.run import train

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = REPO / "netlists" / "experiments" / "flow_digits.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        summary = train(EXPERIMENT, Path(work), progress=False).summary
        wall = time.perf_counter() - start
        run = load_flow_run(work)
    field = run.field
    data = make_dataset(field.problem, "flow", **run.data)
    fits = {}
    for split in ("train", "test"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        fits[split] = flow_velocities(field.layout, data.info, x, y)
    a, c0, _, ls_train = least_squares_field(*fits["train"][:2])
    xt, u, _ = fits["test"]
    ls_test = 0.5 * float(np.mean(np.sum((xt @ a.T + c0 - u) ** 2, axis=1)))
    gens = {t: generate_run(run, 359, t_end=t, seed=1) for t in (1.0, 1.2)}
    train_digits, test_digits = run.target.samples
    rng = np.random.default_rng(2)
    real = empirical_w2(train_digits[rng.permutation(len(train_digits))[:359]], test_digits)
    a_net = field.affine()[0]
    result = {
        "train_loss": summary["final"]["train_loss"], "test_loss": summary["final"]["test_loss"],
        "initial_test_loss": summary["initial"]["test_loss"], "wall_s": wall,
        "steps": summary["steps"], "least_squares_train_loss": ls_train,
        "least_squares_test_loss": ls_test, "zero_field_test_loss":
            0.5 * float(np.mean(np.sum(u ** 2, axis=1))),
        "w2_generated": {str(t): g.metrics["w2_samples"] for t, g in gens.items()},
        "w2_gaussian_fit": gens[1.0].metrics["w2_gaussian_fit"],
        "w2_real_digits": real,
        "jacobian_eigenvalues": [float(np.linalg.eigvalsh(a_net).min()),
                                 float(np.linalg.eigvalsh(a_net).max())],
        "jacobian_min_off_diagonal": float(a_net[~np.eye(len(a_net), dtype=bool)].min()),
    }
    plot_generation(gens[1.0], args.out / "flow_digits.png",
                    title="linear resistor network (GradEP) at t = 1 s vs fitted Gaussian "
                          "vs held-out digits")
    (args.out / "flow_digits.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
