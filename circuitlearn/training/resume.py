"""Where a run starts: a fresh state, or a checkpoint checked against the experiment.

A checkpoint is resumed only when it belongs to the same run: the same resolved
experiment (every table but ``[output]``), the same network (its flat netlist and
exact conductances) and the same data set (their SHA-256 fingerprints, see
:meth:`~circuitlearn.training.setup.Setup.fingerprint`), and as many conductances
as the network has resistors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from circuitlearn.errors import ExperimentError
from circuitlearn.training.experiment import comparable
from circuitlearn.training.io import CHECKPOINT, Checkpoint, load_checkpoint
from circuitlearn.training.setup import Setup


def json_roundtrip(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as it reads back from JSON (tuples become lists, and so on)."""
    return json.loads(json.dumps(config))


def fresh_checkpoint(setup: Setup, fingerprint: dict[str, str]) -> Checkpoint:
    """The state before step 0: the netlist's conductances, no rows, initial modifiers."""
    k0 = np.array(setup.circuit.conductance, dtype=float)
    return Checkpoint(0, 0.0, k0, [], setup.rule.state_dict(),
                      json_roundtrip(setup.experiment.to_dict()), fingerprint=fingerprint)


def resume_checkpoint(folder: Path, setup: Setup, fingerprint: dict[str, str]) -> Checkpoint:
    """The checkpoint in ``folder``, after checking that it belongs to this run.

    Raises
    ------
    ExperimentError
        No checkpoint, or one of another experiment, network or data set.
    """
    exp = setup.experiment
    if not (folder / CHECKPOINT).is_file():
        raise ExperimentError(f"{folder}: no {CHECKPOINT} to resume from")
    ckpt = load_checkpoint(folder)
    if comparable(ckpt.config) != comparable(json_roundtrip(exp.to_dict())):
        raise ExperimentError(f"{exp.path}: the experiment differs from the one "
                              f"checkpointed in {folder}; cannot resume")
    _check_fingerprint(folder, setup, ckpt, fingerprint)
    if len(ckpt.k) != setup.circuit.num_resistors:
        raise ExperimentError(f"{folder}: checkpoint has {len(ckpt.k)} conductances, the "
                              f"network has {setup.circuit.num_resistors}")
    return ckpt


def _check_fingerprint(folder: Path, setup: Setup, ckpt: Checkpoint,
                       fingerprint: dict[str, str]) -> None:
    """Refuse to resume when the network or the data set differ from the checkpoint's.

    The experiment file can be unchanged while the netlist it names (or a file
    that one includes) or the CSV data were edited; a checkpoint without a
    fingerprint (written by an older version) cannot be verified and is refused.
    """
    exp = setup.experiment
    if ckpt.fingerprint is None:
        raise ExperimentError(
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
