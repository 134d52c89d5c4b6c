"""Analyses of learning flows: read-only uses of the solver and the rules.

``conservation``: ``Q = sum k^2`` and its rate; ``components``: the per-component
invariants ``Q_j`` and their closed-form drifts under CL and EP; ``graph`` and
``laws``: the conserved quantities the structure and the data give (series, parallel,
Norton, frozen edges, preconditioned forms); ``discovery``: first integrals found
numerically; ``first_integrals``: the report of ``circuitlearn conservation``;
``fidelity``: rules against the exact gradient.
"""
