"""Figures of training runs: the learning curves (matplotlib, Agg backend, loaded lazily)."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import LogLocator, NullFormatter  # noqa: E402

from circuitlearn.training.io import atomic_write  # noqa: E402


def _positive(y: np.ndarray) -> np.ndarray:
    """Values for a log axis: non-positive entries become NaN (not drawn)."""
    return np.where(y > 0, y, np.nan)


def log_axis(ax: plt.Axes, values: np.ndarray) -> None:
    """A readable logarithmic y axis: labelled decades (at most about 7), minor ticks
    unlabelled when the data span more than two decades."""
    ax.set_yscale("log")
    finite = values[np.isfinite(values) & (values > 0)]
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
    if len(finite) and np.log10(finite.max() / finite.min()) > 2:
        ax.yaxis.set_minor_locator(LogLocator(base=10, subs=np.arange(2, 10), numticks=12))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.1)


def save_figure(fig: plt.Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` atomically (format from the suffix: .png, .svg, .pdf) and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=dpi, format=Path(path).suffix.lstrip(".").lower() or "png")
    plt.close(fig)
    atomic_write(Path(path), buffer.getvalue())
    return Path(path)


def plot_curves(curves: dict[str, np.ndarray], path: str | Path, *, title: str = "",
                baselines: dict[str, float] | None = None, loss_unit: str = "V^2") -> Path:
    r"""The learning curves of a run against time ``t`` (s), one panel per quantity.

    * loss :math:`L` (V^2), train and test, on a log axis;
    * accuracy, train and test (classification only), with the chance level
      ``1/C`` and the least-squares readout's accuracy when ``baselines`` has them;
    * mean free-state power (W), on a log axis when it spans more than a decade;
    * the drift :math:`Q(t)/Q(0) - 1` of :math:`Q = \sum_e k_e^2`;
    * the fraction of trainable edges on a bound.

    Parameters
    ----------
    curves : dict
        Columns of ``curves.csv``.
    path : path-like
        Image file to write (PNG, or SVG/PDF by suffix).
    title : str
        Experiment, rule and hyperparameters.
    baselines : dict, optional
        ``chance``, ``least_squares_train_accuracy``, ``least_squares_test_accuracy``.
    loss_unit : str
        Unit of the loss (``"V^2/s^2"`` for the flow-matching loss).
    """
    t = curves["t"]
    classification = np.any(np.isfinite(curves.get("test_accuracy", np.nan))) or np.any(
        np.isfinite(curves.get("train_accuracy", np.nan)))
    panels = ["loss", *(["accuracy"] if classification else []), "power", "q", "bound"]
    ratios = {"loss": 3, "accuracy": 2, "power": 1.4, "q": 1.4, "bound": 1.1}
    fig, axes = plt.subplots(len(panels), 1, figsize=(7.5, 2.0 + 1.5 * len(panels)),
                             sharex=True, gridspec_kw={"height_ratios": [ratios[p]
                                                                          for p in panels]})
    ax = dict(zip(panels, axes, strict=True))
    _loss_panel(ax["loss"], t, curves, loss_unit)
    if classification:
        _accuracy_panel(ax["accuracy"], t, curves, baselines or {})
    _power_panel(ax["power"], t, curves["power"])
    q = curves["invariant_q"]
    drift = q / q[0] - 1 if len(q) and q[0] != 0 else np.zeros_like(q)
    ax["q"].plot(t, drift, color="C3")
    ax["q"].axhline(0, color="k", lw=0.5)
    ax["q"].set_ylabel("$Q(t)/Q(0) - 1$")
    ax["q"].ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    ax["q"].grid(True, alpha=0.3)
    ax["bound"].plot(t, curves["at_bound"], color="C5", drawstyle="steps-post")
    ax["bound"].set_ylim(-0.03, 1.03)
    ax["bound"].set_ylabel("at a bound")
    ax["bound"].grid(True, alpha=0.3)
    axes[-1].set_xlabel("time t (s)")
    fig.suptitle("\n".join(textwrap.wrap(title or "training", 90)), fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _loss_panel(ax: plt.Axes, t: np.ndarray, curves: dict[str, np.ndarray],
                unit: str) -> None:
    train, test = _positive(curves["train_loss"]), _positive(curves["test_loss"])
    ax.plot(t, train, label="train loss", color="C0")
    if np.any(np.isfinite(test)):
        ax.plot(t, test, label="test loss", color="C1", ls="--")
    log_axis(ax, np.concatenate([train, test]))
    ax.set_ylabel(f"loss $L$ ({unit})")
    ax.legend(loc="best", frameon=False)


def _accuracy_panel(ax: plt.Axes, t: np.ndarray, curves: dict[str, np.ndarray],
                    baselines: dict[str, float]) -> None:
    ax.plot(t, curves["train_accuracy"], color="C0", label="train")
    if np.any(np.isfinite(curves["test_accuracy"])):
        ax.plot(t, curves["test_accuracy"], color="C1", ls="--", label="test")
    lines = (("chance", "chance", "0.5", ":"),
             ("least_squares_test_accuracy", "least squares, test", "C1", "-."),
             ("least_squares_train_accuracy", "least squares, train", "C0", "-."))
    for key, label, color, style in lines:
        value = baselines.get(key)
        if value is not None and np.isfinite(value):
            ax.axhline(value, color=color, ls=style, lw=1, label=f"{label} ({value:.2f})")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", frameon=False, fontsize=8, ncol=2)


def _power_panel(ax: plt.Axes, t: np.ndarray, power: np.ndarray) -> None:
    ax.plot(t, power, color="C4")
    finite = power[np.isfinite(power) & (power > 0)]
    if len(finite) and finite.max() > 10 * finite.min():
        log_axis(ax, power)
    else:
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
        ax.grid(True, alpha=0.3)
    ax.set_ylabel("power (W)")
