r"""Pictures of networks: conductances on the edges, potentials on the nodes.

Each resistor is a segment coloured and sized by its conductance on a log scale
(colour bar in S); each node a dot coloured by its free-state potential (V): the
DC operating point with every source at its netlist value. Ground, the input
sources and the outputs are marked and named. Node coordinates come from the
netlist or the generator when known (:mod:`circuitlearn.training.layout`).

:func:`draw` takes a netlist, an experiment file (its network, inputs and
outputs) or a run folder. For a run it draws the initial and the trained network
side by side on one conductance scale, and a third panel with the change of
each conductance, :math:`\log_{10}(k / k_0)`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from circuitlearn.circuit import Circuit
from circuitlearn.errors import RunFolderError
from circuitlearn.training.layout import Positions, layout, netlist_positions


@dataclass
class Picture:
    """What one figure shows: the network(s), marked nodes and coordinates."""

    title: str
    circuits: list[tuple[str, Circuit]]
    inputs: list[str]
    outputs: list[str | list[str]]
    positions: Positions
    input_label: str = "input"


def _netlist_picture(path: Path) -> Picture:
    from circuitlearn import netlist

    circuit = netlist.load(path)
    sources = [*circuit.vsource_names, *circuit.isource_names]
    return Picture(path.name, [("", circuit)], sources, [],
                   netlist_positions(path.read_text(errors="replace")), "source")


def _experiment_picture(path: Path) -> Picture:
    from circuitlearn.training.experiment import load_experiment
    from circuitlearn.training.setup import build

    setup = build(load_experiment(path))
    config = setup.config()["task"]
    return Picture(path.name, [("", setup.circuit)], config["inputs"], config["outputs"],
                   setup.positions)


def _run_picture(folder: Path) -> Picture:
    from circuitlearn import netlist
    from circuitlearn.training.checkpoint import load_checkpoint

    trained = folder / "trained.cir"
    if not trained.is_file():
        raise RunFolderError(f"{folder}: not a run folder (no trained.cir)")
    ckpt = load_checkpoint(folder)
    circuit = netlist.load(trained)
    if len(ckpt.k) != circuit.num_resistors:
        raise RunFolderError(f"{folder}: checkpoint.npz and trained.cir do not match")
    task = {"inputs": [], "outputs": []}
    summary = folder / "summary.json"
    if summary.is_file():
        task = json.loads(summary.read_text())["config"]["task"]
    label = f"trained: step {ckpt.step}, t = {ckpt.t:.4g} s"
    return Picture(f"run {folder}", [("initial", circuit.with_conductance(ckpt.k0)),
                                 (label, circuit.with_conductance(ckpt.k))],
                   task["inputs"], task["outputs"],
                   netlist_positions(trained.read_text(errors="replace")))


def picture(source: str | Path) -> Picture:
    """The :class:`Picture` of a netlist, an experiment (``.toml``) or a run folder."""
    source = Path(source)
    if source.is_dir():
        return _run_picture(source)
    if source.suffix.lower() == ".toml":
        return _experiment_picture(source)
    return _netlist_picture(source)


def draw(source: str | Path, out: str | Path | None = None) -> Path:
    """Draw ``source`` (netlist, experiment or run folder) into ``out`` (PNG or SVG;
    default ``RUN_DIR/network.png`` for a run, ``./<name>.png`` otherwise).

    >>> path = draw("netlists/bridge.cir", getfixture("tmp_path") / "bridge.svg")
    >>> path.read_text().lstrip().startswith("<?xml")
    True
    """
    pic = picture(source)
    if out is None:
        out = Path(source) / "network.png" if Path(source).is_dir() else \
            Path(f"{Path(source).stem}.png")
    out = Path(out)
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise RunFolderError(f"{out}: the picture must be a .png, .svg or .pdf file")
    from circuitlearn.training.plotting import save_figure

    return save_figure(_figure(pic), out)


# ------------------------------------------------------------------- figure
def _figure(pic: Picture):
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    from circuitlearn.solver.dc import solve

    first = pic.circuits[0][1]
    xy = layout(first, pic.positions)
    panels = len(pic.circuits) + (len(pic.circuits) > 1)
    fig, axes = plt.subplots(1, panels, figsize=(5.6 * panels, 6.8), squeeze=False,
                             layout="constrained")
    axes = axes[0]
    fig.suptitle(pic.title, fontsize=12)
    ks = np.concatenate([c.conductance for _, c in pic.circuits])
    knorm = LogNorm(*_span(ks[ks > 0]))
    ops = [solve(c) for _, c in pic.circuits]
    volts = np.concatenate([op.node_voltages for op in ops])
    vnorm = _voltage_norm(volts)
    for ax, (label, circuit), op in zip(axes, pic.circuits, ops, strict=False):
        edges = _edges(ax, circuit, xy, circuit.conductance, knorm, "viridis")
        nodes = _nodes(ax, circuit, xy, op.node_voltages, vnorm)
        _marks(ax, circuit, xy, pic)
        ax.set_title(label, fontsize=11)
    networks = list(axes[:len(pic.circuits)])
    for mappable, label in ((nodes, "free-state potential (V), sources at their netlist values"),
                            (edges, "conductance k (S)")):
        fig.colorbar(mappable, ax=networks, location="bottom", shrink=0.8, aspect=40,
                     label=label)
    if len(pic.circuits) > 1:
        _change_panel(fig, axes[-1], pic, xy)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return fig


def _span(values: np.ndarray) -> tuple[float, float]:
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (1.0, 1.0)
    return (lo / 1.5, hi * 1.5) if hi <= lo * 1.0001 else (lo, hi)


def _voltage_norm(v: np.ndarray):
    from matplotlib.colors import Normalize, TwoSlopeNorm

    lo, hi = float(np.min(v)), float(np.max(v))
    if lo < 0 < hi:
        return TwoSlopeNorm(0.0, lo, hi)
    return Normalize(lo, hi if hi > lo else lo + 1.0)


def _edges(ax, circuit: Circuit, xy: np.ndarray, values: np.ndarray, norm, cmap: str):
    from matplotlib.collections import LineCollection

    segments = xy[circuit.resistor_edges]
    scaled = np.clip(norm(np.abs(values) if cmap == "viridis" else values), 0, 1)
    widths = 0.5 + 3.0 * (scaled if cmap == "viridis" else np.abs(2 * scaled - 1))
    lines = LineCollection(segments, cmap=cmap, norm=norm, linewidths=widths, zorder=1)
    lines.set_array(np.asarray(values, float))
    ax.add_collection(lines)
    ax.autoscale()
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.06)
    ax.set_axis_off()
    return lines


def _nodes(ax, circuit: Circuit, xy: np.ndarray, volts: np.ndarray, norm):
    size = 28 if circuit.num_nodes <= 400 else 8
    if circuit.num_nodes <= 30:  # small circuits: every node named
        for name, (x, y) in zip(circuit.nodes, xy, strict=True):
            ax.annotate(name, (x, y), xytext=(-5, -11), textcoords="offset points",
                        fontsize=7, color="0.35", ha="right")
    return ax.scatter(xy[:, 0], xy[:, 1], c=volts, cmap="coolwarm", norm=norm, s=size,
                      edgecolors="k", linewidths=0.4, zorder=2)


def _marks(ax, circuit: Circuit, xy: np.ndarray, pic: Picture) -> None:
    def mark(node: str, marker: str, color: str, text: str, label: str | None) -> None:
        try:
            i = circuit.node_index(node)
        except KeyError:
            return
        ax.scatter(*xy[i], marker=marker, s=150, facecolors="none", edgecolors=color,
                   linewidths=2.0, zorder=3, label=label)
        ax.annotate(text, xy[i], xytext=(5, 5), textcoords="offset points", fontsize=8,
                    color=color, zorder=4)

    mark("0", "v", "k", "0", "ground")
    names = dict(zip(circuit.vsource_names, circuit.vsource_edges.tolist(), strict=True))
    names.update(zip(circuit.isource_names, circuit.isource_edges.tolist(), strict=True))
    for j, name in enumerate(pic.inputs):
        a, b = names.get(name.lower(), (0, 0))
        node = circuit.nodes[a if a != 0 else b]
        if node != "0":
            mark(node, "s", "tab:green", name, pic.input_label if j == 0 else None)
    for j, out in enumerate(pic.outputs):
        label = "output" if j == 0 else None
        if isinstance(out, str):
            mark(out, "*", "tab:red", f"out{j + 1}", label)
        else:
            mark(out[0], "*", "tab:red", f"out{j + 1}+", label)
            mark(out[1], "*", "tab:red", f"out{j + 1}-", None)


def _change_panel(fig, ax, pic: Picture, xy: np.ndarray) -> None:
    from matplotlib.colors import Normalize

    (_, before), (_, after) = pic.circuits[0], pic.circuits[-1]
    change = np.log10(np.abs(after.conductance) / np.abs(before.conductance))
    span = float(np.max(np.abs(change))) or 1.0
    lines = _edges(ax, before, xy, change, Normalize(-span, span), "coolwarm")
    _marks(ax, before, xy, pic)
    ax.set_title("change of each conductance", fontsize=11)
    fig.colorbar(lines, ax=ax, location="bottom", shrink=0.8, aspect=20,
                 label=r"$\log_{10}(k / k_0)$ (red: grew, blue: shrank)")
