"""Where a run starts: a fresh state, or a checkpoint checked against the experiment.

A checkpoint is resumed only when it belongs to the same run: the same experiment
(every table but ``[output]``; a refusal lists the keys that changed), the same
network (its flat netlist and exact conductances) and the same data set (their
SHA-256 fingerprints, see :meth:`~circuitlearn.training.setup.Setup.fingerprint`),
and fields that fit the run (step, time and step size, conductances, modifier
states, curves). The factorization backend may differ: the fingerprints do not
depend on it, and the run continues with a note that the result then agrees to
rounding rather than bit for bit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from circuitlearn.errors import ExperimentError, RunFolderError
from circuitlearn.learning.integrate import step_time
from circuitlearn.training.checkpoint import CHECKPOINT, Checkpoint
from circuitlearn.training.experiment import Experiment, comparable
from circuitlearn.training.setup import Setup


def json_roundtrip(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as it reads back from JSON (tuples become lists, and so on)."""
    return json.loads(json.dumps(config))


def fresh_checkpoint(setup: Setup, fingerprint: dict[str, str], backend: str) -> Checkpoint:
    """The state before step 0: the netlist's conductances, no rows, initial modifiers."""
    k0 = np.array(setup.circuit.conductance, dtype=float)
    return Checkpoint(0, 0.0, float(setup.train.dt), k0, k0.copy(), [], setup.rule.state_dict(),
                      json_roundtrip(setup.experiment.to_dict()), backend=backend,
                      fingerprint=fingerprint)


def changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two configurations.

    >>> changed_keys({"rule": {"eta": 0.1, "alpha": 1}}, {"rule": {"eta": 0.2, "alpha": 1}})
    ['[rule] eta: 0.1 -> 0.2']
    """
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            table = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                out.append(f"{_where(table)}: {'added' if key in new else 'removed'}")
            else:
                out += changed_keys(old[key], new[key], table)
        return out
    return [] if old == new else [f"{_where(prefix)}: {old!r} -> {new!r}"]


def _where(dotted: str) -> str:
    table, _, key = dotted.rpartition(".")
    return f"[{table}] {key}" if table else f"[{key}]"


def check_config(folder: Path, exp: Experiment, ckpt: Checkpoint) -> None:
    """Refuse a checkpoint of another experiment, naming the keys that changed."""
    changes = changed_keys(comparable(ckpt.config), comparable(json_roundtrip(exp.to_dict())))
    if changes:
        raise ExperimentError(f"{exp.path}: the experiment differs from the one checkpointed "
                              f"in {folder} ({'; '.join(changes)}); cannot resume")


def check_checkpoint(folder: Path, setup: Setup, ckpt: Checkpoint,
                     fingerprint: dict[str, str], backend: str) -> None:
    """Refuse a checkpoint of another network or data set, or whose fields do not fit
    this run; note a change of factorization backend."""
    _check_fingerprint(folder, setup, ckpt, fingerprint)
    path = folder / CHECKPOINT
    train, total = setup.train, setup.train.total_steps

    def bad(message: str) -> RunFolderError:
        return RunFolderError(f"{path}: damaged checkpoint: {message}; start a fresh run")

    if ckpt.dt != train.dt:
        raise bad(f"step size dt = {ckpt.dt} s, the experiment's is {train.dt} s")
    if ckpt.step > total:
        raise bad(f"step {ckpt.step} is beyond the run's last step {total}")
    if ckpt.t != step_time(ckpt.step, t_end=train.t_end, dt=train.dt):
        raise bad(f"time t = {ckpt.t} s does not belong to step {ckpt.step}")
    edges = setup.circuit.num_resistors
    for name, arr in (("k", ckpt.k), ("k0", ckpt.k0)):
        if len(arr) != edges:
            raise bad(f"{name} has {len(arr)} conductances, the network has {edges}")
    if not np.array_equal(ckpt.k0, setup.circuit.conductance):
        raise bad("its initial conductances k0 are not the network's")
    if len(ckpt.modifier_state) != len(setup.rule.modifiers):
        raise bad(f"{len(ckpt.modifier_state)} modifier states for "
                  f"{len(setup.rule.modifiers)} modifiers")
    steps = [row[0] for row in ckpt.rows]
    if steps and (steps[0] != 0 or steps != sorted(steps) or steps[-1] > ckpt.step):
        raise bad("its curve rows are not steps 0 .. step in order")
    try:
        setup.rule.load_state(ckpt.modifier_state)
    except (ValueError, KeyError, TypeError) as exc:
        raise bad(f"modifier state {ckpt.modifier_state!r}: {exc}") from None
    if ckpt.backend and ckpt.backend != backend:
        print(f"note: resuming with the {backend} factorization backend, the checkpoint was "
              f"written with {ckpt.backend}: the result agrees to rounding, not bit for bit",
              file=sys.stderr)


def _check_fingerprint(folder: Path, setup: Setup, ckpt: Checkpoint,
                       fingerprint: dict[str, str]) -> None:
    """Refuse to resume when the network or the data set differ from the checkpoint's.

    The experiment file can be unchanged while the netlist it names (or a file
    that one includes) or the CSV data were edited; a checkpoint without a
    fingerprint (written by an older version) cannot be verified and is refused.
    """
    exp = setup.experiment
    if ckpt.fingerprint is None:
        raise RunFolderError(
            f"{folder / CHECKPOINT}: the checkpoint has no fingerprint of the network and "
            "data set (written by an older circuitlearn), so it cannot be checked against "
            "them; cannot resume: start a fresh run without --resume")
    from_file = exp.network.netlist is not None
    data_key = "path" if exp.task.data.get("path") else "kind"
    changes = (("network", "network", "netlist" if from_file else "generator",
                f"the {'network netlist' if from_file else 'generated network'} "
                "changed since the checkpoint"),
               ("data", "task.data", data_key, "the data set changed since the checkpoint"))
    for part, table, key, what in changes:
        if ckpt.fingerprint.get(part) != fingerprint[part]:
            raise ExperimentError(f"{exp.path}: [{table}] {key}: {what} in {folder}; "
                                  "cannot resume")
