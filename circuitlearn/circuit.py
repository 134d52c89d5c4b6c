"""The circuit model: a frozen set of arrays describing a linear R/V/I network.

Conventions
-----------
* ``nodes[0]`` is always the ground node ``"0"``; every other node has an index in
  ``1 .. N-1``. Names are lower case, as ngspice prints them (``x1.mid`` for a node
  inside subcircuit instance ``x1``).
* Every two-terminal element is an edge ``(n+, n-)`` of node indices.
* Resistors carry conductances ``k = 1/R`` in siemens (negative resistance is legal
  SPICE and gives a negative conductance).
* A voltage source imposes ``V(n+) - V(n-) = value`` (volts). A current source drives
  ``value`` amperes from ``n+`` through the source to ``n-`` (SPICE convention: it
  draws current out of ``n+`` and pushes it into ``n-``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from circuitlearn.errors import SourceLocation

if TYPE_CHECKING:
    import networkx as nx

GROUND = "0"


def _edges(a: object) -> np.ndarray:
    arr = np.asarray(a, dtype=np.int64)
    return arr.reshape(-1, 2)


def _values(a: object) -> np.ndarray:
    return np.asarray(a, dtype=float).reshape(-1)


@dataclass(frozen=True, eq=False)
class Circuit:
    """A linear resistive circuit as index arrays.

    Attributes
    ----------
    nodes : tuple of str
        Node names; ``nodes[0] == "0"`` (ground).
    resistor_names : tuple of str
        One name per resistor, e.g. ``"r1"`` or ``"r.x1.r2"``.
    resistor_edges : ndarray of int, shape (E, 2)
        ``(n+, n-)`` node indices of each resistor.
    conductance : ndarray of float, shape (E,)
        Conductance ``k_e = 1 / R_e`` in siemens.
    vsource_names, vsource_edges, vsource_values
        Independent voltage sources: names, ``(n+, n-)`` indices, volts.
    isource_names, isource_edges, isource_values
        Independent current sources: names, ``(n+, n-)`` indices, amperes.
    title : str
        The netlist's title line.
    origins : mapping of str to SourceLocation
        File and line each element came from (not part of equality).
    """

    nodes: tuple[str, ...]
    resistor_names: tuple[str, ...]
    resistor_edges: np.ndarray
    conductance: np.ndarray
    vsource_names: tuple[str, ...] = ()
    vsource_edges: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    vsource_values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    isource_names: tuple[str, ...] = ()
    isource_edges: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    isource_values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    title: str = ""
    origins: Mapping[str, SourceLocation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "nodes", tuple(self.nodes))
        if not self.nodes or self.nodes[0] != GROUND:
            raise ValueError("nodes[0] must be the ground node '0'")
        for kind in ("resistor", "vsource", "isource"):
            set_(self, f"{kind}_names", tuple(getattr(self, f"{kind}_names")))
            set_(self, f"{kind}_edges", _edges(getattr(self, f"{kind}_edges")))
        set_(self, "conductance", _values(self.conductance))
        set_(self, "vsource_values", _values(self.vsource_values))
        set_(self, "isource_values", _values(self.isource_values))
        for names, edges, vals in self._groups():
            if not len(names) == len(edges) == len(vals):
                raise ValueError("names, edges and values must have equal lengths")
            if edges.size and (edges.min() < 0 or edges.max() >= len(self.nodes)):
                raise ValueError("edge node index out of range")
        for arr in (self.resistor_edges, self.vsource_edges, self.isource_edges,
                    self.conductance, self.vsource_values, self.isource_values):
            arr.setflags(write=False)

    def _groups(self) -> tuple[tuple[tuple[str, ...], np.ndarray, np.ndarray], ...]:
        return (
            (self.resistor_names, self.resistor_edges, self.conductance),
            (self.vsource_names, self.vsource_edges, self.vsource_values),
            (self.isource_names, self.isource_edges, self.isource_values),
        )

    # ------------------------------------------------------------------ sizes
    @property
    def num_nodes(self) -> int:
        """Number of nodes including ground."""
        return len(self.nodes)

    @property
    def num_resistors(self) -> int:
        return len(self.resistor_names)

    @property
    def resistance(self) -> np.ndarray:
        """Resistances ``R_e = 1 / k_e`` in ohms, shape (E,)."""
        return 1.0 / self.conductance

    def node_index(self, name: str) -> int:
        """Index of node ``name`` (case-insensitive; ``gnd`` is ground)."""
        key = name.lower()
        key = GROUND if key == "gnd" else key
        try:
            return self._node_lookup()[key]
        except KeyError:
            raise KeyError(f"no node named {name!r}") from None

    def _node_lookup(self) -> dict[str, int]:
        lookup = self.__dict__.get("_lookup")
        if lookup is None:
            lookup = {n: i for i, n in enumerate(self.nodes)}
            object.__setattr__(self, "_lookup", lookup)
        return lookup

    # --------------------------------------------------------------- variants
    def with_conductance(self, k: np.ndarray) -> Circuit:
        """Copy of this circuit with resistor conductances ``k`` (S)."""
        return dataclasses.replace(self, conductance=np.array(k, dtype=float))

    def with_sources(
        self, vsource_values: np.ndarray | None = None, isource_values: np.ndarray | None = None
    ) -> Circuit:
        """Copy of this circuit with new source values (V and A)."""
        v = self.vsource_values if vsource_values is None else vsource_values
        i = self.isource_values if isource_values is None else isource_values
        return dataclasses.replace(
            self, vsource_values=np.array(v, float), isource_values=np.array(i, float)
        )

    # --------------------------------------------------------------- equality
    def __eq__(self, other: object) -> bool:
        """Same network: the same node names, and the same elements (names, terminal
        node names and values, in order within each kind). Node numbering, title
        and origins do not matter. Conductances compare equal within 2 ulp: a netlist
        stores resistances, and about 14% of doubles ``k`` are not ``1/R`` of any
        double ``R``, so ``k -> R -> 1/R`` cannot always be bit-exact."""
        if not isinstance(other, Circuit):
            return NotImplemented
        if set(self.nodes) != set(other.nodes):
            return False
        for (na, ea, va), (nb, eb, vb) in zip(self._groups(), other._groups(), strict=True):
            if na != nb or va.shape != vb.shape:
                return False
            ulp = np.spacing(np.maximum(np.abs(va), np.abs(vb)))
            if not np.all(np.abs(va - vb) <= (2 * ulp if va is self.conductance else 0)):
                return False
            ends_a = [(self.nodes[a], self.nodes[b]) for a, b in ea.tolist()]
            ends_b = [(other.nodes[a], other.nodes[b]) for a, b in eb.tolist()]
            if ends_a != ends_b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Circuit({self.title!r}: {self.num_nodes} nodes, {self.num_resistors} resistors, "
            f"{len(self.vsource_names)} V sources, {len(self.isource_names)} I sources)"
        )

    # --------------------------------------------------------------- networkx
    def to_networkx(self) -> nx.MultiGraph:
        """The circuit as a ``networkx.MultiGraph``.

        Nodes are node names. Each element is an edge keyed by its name with
        attributes ``kind`` (``"R"``, ``"V"`` or ``"I"``), ``pos`` and ``neg`` (its
        ``n+`` and ``n-`` node names), and ``conductance`` (S) for resistors or
        ``value`` (V or A) for sources, and ``index`` (position among elements of its
        kind). The graph attribute ``title`` holds the title.
        """
        import networkx as nx

        g = nx.MultiGraph(title=self.title)
        g.add_nodes_from(self.nodes)
        kinds = ("R", "V", "I")
        for kind, (names, edges, vals) in zip(kinds, self._groups(), strict=True):
            attr = "conductance" if kind == "R" else "value"
            rows = zip(names, edges.tolist(), vals.tolist(), strict=True)
            for i, (name, (a, b), v) in enumerate(rows):
                pos, neg = self.nodes[a], self.nodes[b]
                g.add_edge(pos, neg, key=name, kind=kind, pos=pos, neg=neg, index=i,
                           **{attr: v})
        return g

    @classmethod
    def from_networkx(cls, graph: nx.Graph) -> Circuit:
        """Build a circuit from a graph made by :meth:`to_networkx`.

        Plain graphs are accepted too: an edge without ``kind`` is a resistor whose
        ``conductance`` attribute (default 1 S) is used, named ``r<i>``, oriented as
        the graph stores it. Elements are ordered by their ``index`` attribute where
        present. Node names are converted with ``str`` and lower-cased; ground must
        be called ``"0"`` (or ``"gnd"``).
        """
        names = [str(n).lower() for n in graph.nodes]
        names = [GROUND if n == "gnd" else n for n in names]
        nodes = [GROUND] + [n for n in dict.fromkeys(names) if n != GROUND]
        index = {n: i for i, n in enumerate(nodes)}
        groups: dict[str, tuple[list, list, list]] = {k: ([], [], []) for k in "RVI"}
        edge_iter = (graph.edges(keys=True, data=True) if graph.is_multigraph()
                     else ((u, v, None, d) for u, v, d in graph.edges(data=True)))
        edge_list = sorted(edge_iter, key=lambda e: e[3].get("index", 0))
        for i, (u, v, key, data) in enumerate(edge_list):
            kind = data.get("kind", "R")
            pos, neg = data.get("pos", u), data.get("neg", v)
            name = key if isinstance(key, str) else f"{kind.lower()}{i + 1}"
            value = data.get("conductance", 1.0) if kind == "R" else data["value"]
            a, b = (index[_node_name(x)] for x in (pos, neg))
            group = groups[kind]
            group[0].append(name)
            group[1].append((a, b))
            group[2].append(float(value))
        (rn, re, rk), (vn, ve, vv), (in_, ie, iv) = (groups[k] for k in "RVI")
        return cls(nodes=tuple(nodes), resistor_names=tuple(rn), resistor_edges=re,
                   conductance=rk, vsource_names=tuple(vn), vsource_edges=ve,
                   vsource_values=vv, isource_names=tuple(in_), isource_edges=ie,
                   isource_values=iv, title=graph.graph.get("title", ""))


def _node_name(node: object) -> str:
    name = str(node).lower()
    return GROUND if name == "gnd" else name
