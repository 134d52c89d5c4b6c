r"""Graph structure that fixes conserved quantities: frozen edges, series chains,
parallel groups.

All three rest on one fact: a sub-network with no source and no output inside it
only passes current between the nodes where it is attached, in *every* state
(free, clamped, nudged, adjoint). So

* **frozen edges.** A block (biconnected component of the resistor graph) through
  which no simple path joins two *terminals* (nodes held or driven by a source,
  ground, output nodes) never carries current: its rate is zero under every rule
  and every function of its conductances is conserved. Dangling trees and
  source-free blocks hanging off one node are the common cases. With the output
  nodes left out of the terminals (the free state alone), the edges found are
  frozen for the gradient flow only (:func:`frozen_blocks` with ``outputs=False``).
* **series chains.** A node that is not a terminal and has exactly two resistors
  passes the same current through both, ``k_1 dV_1 = +-k_2 dV_2`` in every state.
* **parallel groups.** Resistors between the same two nodes have the same drop in
  every state.

>>> edges = np.array([[0, 1], [1, 2], [2, 0], [2, 3]])
>>> sorted(frozen_blocks(4, edges, terminals=np.array([True, True, False, False])))
[3]
"""

from __future__ import annotations

import numpy as np


def biconnected_blocks(num_nodes: int, edges: np.ndarray) -> np.ndarray:
    """Block (biconnected component) index of every edge; -1 for self-loops.

    Tarjan's algorithm, iterative, on a multigraph: parallel edges form one block.
    """
    adj: list[list[tuple[int, int]]] = [[] for _ in range(num_nodes)]
    for i, (a, b) in enumerate(np.asarray(edges).tolist()):
        if a != b:
            adj[a].append((b, i))
            adj[b].append((a, i))
    disc, low = [-1] * num_nodes, [0] * num_nodes
    block = np.full(len(edges), -1)
    count, clock = 0, 0
    for root in range(num_nodes):
        if disc[root] >= 0 or not adj[root]:
            continue
        disc[root] = low[root] = clock
        clock += 1
        stack, pending = [(root, -1, iter(adj[root]))], []
        while stack:
            v, parent_edge, neighbours = stack[-1]
            for w, i in neighbours:
                if i == parent_edge:
                    continue
                if disc[w] < 0:
                    pending.append(i)
                    disc[w] = low[w] = clock
                    clock += 1
                    stack.append((w, i, iter(adj[w])))
                    break
                if disc[w] < disc[v]:
                    pending.append(i)
                    low[v] = min(low[v], disc[w])
            else:
                stack.pop()
                if not stack:
                    continue
                u = stack[-1][0]
                low[u] = min(low[u], low[v])
                if low[v] >= disc[u]:
                    while True:
                        i = pending.pop()
                        block[i] = count
                        if i == parent_edge:
                            break
                    count += 1
    return block


def frozen_blocks(num_nodes: int, edges: np.ndarray, terminals: np.ndarray) -> set[int]:
    """Edges that no simple path between two distinct terminals uses.

    Such an edge carries no current whatever the terminals inject. Within a block
    any edge lies on a simple path between any two of its vertices, so an edge is
    used iff at least two vertices of its block *reach* a terminal: the vertex is a
    terminal, or the part of the graph hanging off it (away from the block)
    contains one.
    """
    block = biconnected_blocks(num_nodes, edges)
    nblocks = int(block.max()) + 1 if len(block) else 0
    verts = [set() for _ in range(nblocks)]
    for i, b in enumerate(block.tolist()):
        if b >= 0:
            verts[b].update(np.asarray(edges)[i].tolist())
    member: dict[int, list[int]] = {}
    for b, vs in enumerate(verts):
        for v in vs:
            member.setdefault(v, []).append(b)
    reach = _reach(verts, member, np.asarray(terminals, bool))
    frozen = {i for i, b in enumerate(block.tolist()) if b < 0}
    for b, vs in enumerate(verts):
        if sum(reach(b, v) for v in vs) < 2:
            frozen.update(np.flatnonzero(block == b).tolist())
    return frozen


def _reach(verts: list[set[int]], member: dict[int, list[int]], terminals: np.ndarray):
    """``reach(block, v)``: vertex ``v`` of ``block`` is a terminal or leads to one
    away from ``block``, by a search of the block-cut forest (memoised)."""
    memo: dict[tuple[int, int], bool] = {}

    def away(block: int, v: int) -> bool:
        """Is there a terminal beyond cut vertex ``v``, away from ``block``?"""
        key = (block, v)
        if key not in memo:
            memo[key] = False
            todo, seen = [(b, v) for b in member[v] if b != block], {block}
            while todo and not memo[key]:
                b, via = todo.pop()
                if b in seen:
                    continue
                seen.add(b)
                for w in verts[b] - {via}:
                    if terminals[w]:
                        memo[key] = True
                        break
                    todo.extend((c, w) for c in member[w] if c not in seen)
        return memo[key]

    return lambda block, v: bool(terminals[v]) or away(block, v)


def series_chains(num_nodes: int, edges: np.ndarray, terminals: np.ndarray) -> list[list[int]]:
    """Chains of two or more edges joined through non-terminal nodes of degree 2."""
    edges = np.asarray(edges)
    incident: list[list[int]] = [[] for _ in range(num_nodes)]
    for i, (a, b) in enumerate(edges.tolist()):
        if a != b:
            incident[a].append(i)
            incident[b].append(i)
    parent = list(range(len(edges)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for v in range(num_nodes):
        if not terminals[v] and len(incident[v]) == 2 and incident[v][0] != incident[v][1]:
            parent[root(incident[v][0])] = root(incident[v][1])
    groups: dict[int, list[int]] = {}
    for i in range(len(edges)):
        groups.setdefault(root(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def parallel_groups(edges: np.ndarray) -> list[list[int]]:
    """Groups of two or more edges between the same two (distinct) nodes."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (a, b) in enumerate(np.asarray(edges).tolist()):
        if a != b:
            groups.setdefault((min(a, b), max(a, b)), []).append(i)
    return [g for g in groups.values() if len(g) > 1]
