r"""Conserved quantities of learning flows :math:`\dot k = F(k)`.

For a voltage-driven network the outputs do not change when every conductance is
scaled, :math:`V(c k) = V(k)`, so :math:`k \cdot \partial L/\partial k = 0` and the
gradient flow conserves

.. math:: Q = \sum_{e \in T} k_e^2 \quad (\mathrm{S}^2), \qquad
          \dot Q = 2 \sum_{e \in T} k_e \dot k_e ,

over the trainable edges ``T``; in fact every component separately
(:mod:`circuitlearn.analysis.components`). Coupled learning and equilibrium
propagation conserve it only in the small-nudge limit. The other laws, and their
discovery: :mod:`circuitlearn.analysis.laws`, :mod:`circuitlearn.analysis.discovery`,
:mod:`circuitlearn.analysis.first_integrals`.

>>> invariant_q(np.array([1.0, 2.0, 3.0]), np.array([True, False, True]))
10.0
"""

from __future__ import annotations

import numpy as np


def invariant_q(k: np.ndarray, trainable: np.ndarray | None = None) -> float:
    """``Q = sum_e k_e^2`` over trainable edges (all edges without a mask), S^2."""
    k = np.asarray(k, float)
    kt = k if trainable is None else k[np.asarray(trainable, bool)]
    return float(kt @ kt)


def invariant_q_rate(k: np.ndarray, dkdt: np.ndarray, trainable: np.ndarray | None = None
                     ) -> float:
    """``dQ/dt = 2 sum_e k_e dk_e/dt`` over trainable edges, S^2/s."""
    prod = 2.0 * np.asarray(k, float) * np.asarray(dkdt, float)
    return float(np.sum(prod if trainable is None else prod[np.asarray(trainable, bool)]))
