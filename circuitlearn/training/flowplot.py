"""Figures of generated samples (matplotlib, Agg backend; imported on use)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if TYPE_CHECKING:
    from circuitlearn.training.generate import Generation


def _metrics_text(gen: Generation) -> str:
    return ", ".join(f"{k} = {v:.3f} V" for k, v in gen.metrics.items())


def plot_generation(gen: Generation, path: str | Path, *, title: str = "") -> Path:
    """Samples against the target: a scatter of the first two coordinates (V), or
    image grids (generated, fitted Gaussian, held-out data) when ``d`` is a square
    of at least 16 pixels (digits, grey scale ``-1..1``)."""
    d = gen.samples.shape[1]
    side = int(round(np.sqrt(d)))
    head = title or f"generated at t = {gen.t_end:g} s ({gen.target})"
    if side * side == d and d >= 16:
        fig = _image_grids(gen, side)
    else:
        fig, ax = plt.subplots(figsize=(6, 5.5))
        ax.scatter(*gen.x0[:, :2].T, s=4, c="0.75", label="source x(0)")
        ax.scatter(*gen.reference[:, :2].T, s=5, c="C1", alpha=0.6, label="target")
        ax.scatter(*gen.samples[:, :2].T, s=5, c="C0", alpha=0.6,
                   label=f"generated x({gen.t_end:g} s)")
        ax.set_xlabel("x1 (V)")
        ax.set_ylabel("x2 (V)")
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", markerscale=3, frameon=False)
    fig.suptitle(f"{head}\n{_metrics_text(gen)}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def _image_grids(gen: Generation, side: int, cols: int = 8, rows: int = 4):
    panels = [("generated", gen.samples)]
    if gen.fit is not None:
        panels.append(("Gaussian fitted to the data", gen.fit))
    panels.append(("data (held out)", gen.reference))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 2.6))
    for ax, (label, pts) in zip(np.atleast_1d(axes), panels, strict=True):
        n = min(len(pts), cols * rows)
        grid = -np.ones((rows * (side + 1) - 1, cols * (side + 1) - 1))
        for i in range(n):
            r, c = divmod(i, cols)
            grid[r * (side + 1):r * (side + 1) + side,
                 c * (side + 1):c * (side + 1) + side] = pts[i].reshape(side, side)
        ax.imshow(-grid, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    return fig
