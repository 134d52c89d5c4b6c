"""Figures of training runs (the only module that imports matplotlib; Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _positive(y: np.ndarray) -> np.ndarray:
    """Values for a log axis: non-positive entries become NaN (not drawn)."""
    return np.where(y > 0, y, np.nan)


def plot_curves(curves: dict[str, np.ndarray], path: str | Path, *, title: str = "") -> Path:
    r"""Two-panel figure of a run: losses (log axis) and invariant drift.

    Top: train and test loss :math:`L` (V^2) against time (s) on a log axis, with
    the test accuracy on a right-hand axis for classification. Bottom: relative
    drift :math:`Q(t)/Q(0) - 1` of :math:`Q = \sum_e k_e^2` (dimensionless).

    Parameters
    ----------
    curves : dict
        Columns of ``curves.csv`` (``t``, ``train_loss``, ``test_loss``,
        ``accuracy``, ``invariant_q``).
    path : path-like
        PNG file to write.
    title : str
    """
    t = curves["t"]
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(7, 6), sharex=True,
                                 gridspec_kw={"height_ratios": [2, 1]})
    ax.plot(t, _positive(curves["train_loss"]), label="train loss", color="C0")
    ax.plot(t, _positive(curves["test_loss"]), label="test loss", color="C1", ls="--")
    ax.set_yscale("log")
    ax.set_ylabel(r"loss $L$ (V$^2$)")
    ax.grid(True, which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    acc = curves.get("accuracy")
    if acc is not None and np.any(np.isfinite(acc)):
        ay = ax.twinx()
        (line,) = ay.plot(t, acc, color="C2", label="test accuracy")
        ay.set_ylim(0, 1.05)
        ay.set_ylabel("test accuracy")
        handles.append(line)
        labels.append("test accuracy")
    ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3,
              frameon=False)
    fig.suptitle(title or "training")
    q = curves["invariant_q"]
    drift = q / q[0] - 1 if len(q) and q[0] != 0 else np.zeros_like(q)
    bx.plot(t, drift, color="C3")
    bx.axhline(0, color="k", lw=0.5)
    bx.set_ylabel(r"$Q(t)/Q(0) - 1$")
    bx.set_xlabel("time t (s)")
    bx.grid(True, alpha=0.3)
    bx.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
