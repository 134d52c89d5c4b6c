"""Checkpoints of training runs: ``checkpoint.npz``, written atomically, read with checks.

Fields (NumPy arrays in an ``.npz`` file, no pickles): ``step``, ``t`` (s), ``dt``
(s, the step actually used), ``k`` and ``k0`` (S, current and initial
conductances), ``curves`` (rows recorded so far, NaN for empty cells),
``modifier_state``, ``config`` and ``fingerprint`` (JSON text: the rule chain's
state, the experiment as read, SHA-256 digests of the network and the data set),
``status``, ``backend``, ``wall_s``, ``nfev`` and the best state so far
(``best_step``, ``best_t``, ``best_loss``, ``best_k``; ``best_step = -1``: none).

:func:`load_checkpoint` checks every field (type, shape, finiteness, range) and
raises :class:`~circuitlearn.errors.RunFolderError` naming the file and the
problem: a truncated, empty or foreign file is never half-read.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from circuitlearn.errors import RunFolderError
from circuitlearn.training.io import COLUMNS, atomic_write

CHECKPOINT = "checkpoint.npz"
STATUSES = ("running", "stopped", "completed", "converged", "diverged", "interrupted")
"""Run states: ``running`` (periodic checkpoint), ``stopped`` (``--max-steps``),
``completed`` (``t_end`` reached), ``converged`` (early stop), ``diverged``,
``interrupted`` (Ctrl-C)."""


@dataclass
class Best:
    """The recorded state with the lowest test loss (train loss without a test set)."""

    step: int
    t: float
    loss: float
    k: np.ndarray


@dataclass
class Checkpoint:
    """State of a run after a completed step (see the module docstring for units)."""

    step: int
    t: float
    dt: float
    k: np.ndarray
    k0: np.ndarray
    rows: list[tuple[float, ...]]
    modifier_state: list[Any]
    config: dict[str, Any]
    status: str = "running"
    backend: str = ""
    wall_s: float = 0.0
    nfev: int = 0
    fingerprint: dict[str, str] | None = None
    best: Best | None = field(default=None)


def save_checkpoint(folder: Path, ckpt: Checkpoint) -> Path:
    """Write ``folder/checkpoint.npz`` atomically; return its path."""
    path = Path(folder) / CHECKPOINT
    best = ckpt.best or Best(-1, 0.0, np.nan, np.zeros(0))
    buffer = io.BytesIO()
    np.savez(buffer, step=np.int64(ckpt.step), t=np.float64(ckpt.t), dt=np.float64(ckpt.dt),
             k=np.asarray(ckpt.k, float), k0=np.asarray(ckpt.k0, float),
             curves=np.array(ckpt.rows, dtype=float).reshape(-1, len(COLUMNS)),
             modifier_state=np.array(json.dumps(ckpt.modifier_state)),
             config=np.array(json.dumps(ckpt.config)), status=np.array(ckpt.status),
             backend=np.array(ckpt.backend), wall_s=np.float64(ckpt.wall_s),
             nfev=np.int64(ckpt.nfev), fingerprint=np.array(json.dumps(ckpt.fingerprint)),
             best_step=np.int64(best.step), best_t=np.float64(best.t),
             best_loss=np.float64(best.loss), best_k=np.asarray(best.k, float))
    atomic_write(path, buffer.getvalue())
    return path


def load_checkpoint(folder: Path) -> Checkpoint:
    """Read and check ``folder/checkpoint.npz``.

    Raises
    ------
    RunFolderError
        Missing, unreadable (empty, truncated, not an ``.npz``), a foreign or older
        file (missing fields), or a field of the wrong type, shape or range.
    """
    path = Path(folder) / CHECKPOINT
    try:
        with np.load(path, allow_pickle=False) as z:
            fields = {name: z[name] for name in z.files}
    except FileNotFoundError:
        raise RunFolderError(f"{path}: no checkpoint to resume from") from None
    except Exception as exc:  # noqa: BLE001 - any reading failure means a damaged file
        raise RunFolderError(f"{path}: damaged checkpoint, not a readable .npz file "
                             f"({type(exc).__name__}: {exc}); start a fresh run") from None
    return _checked(path, _Fields(path, fields))


class _Fields:
    """Typed access to the arrays of a checkpoint; errors name the file and field."""

    def __init__(self, path: Path, arrays: dict[str, np.ndarray]):
        self.path = path
        self.arrays = arrays

    def bad(self, name: str, message: str) -> RunFolderError:
        return RunFolderError(f"{self.path}: damaged checkpoint: field {name!r} {message}")

    def get(self, name: str, kind: str, ndim: int) -> np.ndarray:
        if name not in self.arrays:
            raise RunFolderError(
                f"{self.path}: not a checkpoint of this circuitlearn version (no field "
                f"{name!r}; fields: {', '.join(sorted(self.arrays)) or 'none'}); start a "
                "fresh run")
        arr = self.arrays[name]
        if arr.dtype.kind not in kind or arr.ndim != ndim:
            raise self.bad(name, f"has dtype {arr.dtype} and shape {arr.shape}")
        return arr

    def integer(self, name: str, low: int) -> int:
        value = int(self.get(name, "iu", 0))
        if value < low:
            raise self.bad(name, f"is {value}, below {low}")
        return value

    def number(self, name: str, low: float | None = 0.0, finite: bool = True) -> float:
        value = float(self.get(name, "f", 0))
        if (finite and not np.isfinite(value)) or (low is not None and value < low):
            raise self.bad(name, f"is {value}")
        return value

    def vector(self, name: str) -> np.ndarray:
        arr = np.array(self.get(name, "f", 1), dtype=float)
        if not np.all(np.isfinite(arr)):
            raise self.bad(name, "holds non-finite values")
        return arr

    def text(self, name: str) -> str:
        return str(self.get(name, "U", 0))

    def json(self, name: str, kinds: tuple[type, ...]) -> Any:
        try:
            value = json.loads(self.text(name))
        except json.JSONDecodeError as exc:
            raise self.bad(name, f"is not JSON ({exc})") from None
        if not isinstance(value, kinds):
            raise self.bad(name, f"is a {type(value).__name__}")
        return value


def _checked(path: Path, f: _Fields) -> Checkpoint:
    curves = f.get("curves", "f", 2)
    if curves.shape[1] != len(COLUMNS):
        raise f.bad("curves", f"has {curves.shape[1]} columns, not {len(COLUMNS)} (a "
                    "checkpoint of another circuitlearn version: start a fresh run)")
    status = f.text("status")
    if status not in STATUSES:
        raise f.bad("status", f"is {status!r}")
    k, k0 = f.vector("k"), f.vector("k0")
    if len(k) != len(k0):
        raise f.bad("k0", f"has {len(k0)} entries, k has {len(k)}")
    best_step = f.integer("best_step", -1)
    best = None
    if best_step >= 0:
        best = Best(best_step, f.number("best_t"), f.number("best_loss", None),
                    f.vector("best_k"))
        if len(best.k) != len(k):
            raise f.bad("best_k", f"has {len(best.k)} entries, k has {len(k)}")
    fingerprint = (f.json("fingerprint", (dict, type(None))) if "fingerprint" in f.arrays
                   else None)
    return Checkpoint(step=f.integer("step", 0), t=f.number("t"), dt=f.number("dt"),
                      k=k, k0=k0, rows=[tuple(float(v) for v in r) for r in curves],
                      modifier_state=f.json("modifier_state", (list,)),
                      config=f.json("config", (dict,)), status=status,
                      backend=f.text("backend"), wall_s=f.number("wall_s"),
                      nfev=f.integer("nfev", 0), fingerprint=fingerprint, best=best)
