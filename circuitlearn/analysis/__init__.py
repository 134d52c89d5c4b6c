"""Analyses of learning flows: read-only uses of the solver and the rules.

``conservation``: the invariants of the learning flow (``Q = sum k^2``) and their rates.
"""
