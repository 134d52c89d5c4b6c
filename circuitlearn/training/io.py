"""Files of a training run: learning curves, checkpoints, summary, progress bar.

``curves.csv``
    Header ``step,t,train_loss,test_loss,accuracy,invariant_q,power``; floats in
    Python's shortest round-trip notation, ``accuracy`` empty for regression.
    Units: s, V^2, V^2, 1, S^2, W.
``checkpoint.npz``
    ``step``, ``t`` (s), ``k`` (S), ``curves`` (rows so far, NaN for empty
    accuracy), ``modifier_state`` (the rule chain's state), ``config`` and
    ``fingerprint`` (JSON text; SHA-256 digests of the network and the data set),
    ``wall_s`` and ``nfev``.
    Written atomically: a temporary file in the same folder, then :func:`os.replace`.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

COLUMNS = ("step", "t", "train_loss", "test_loss", "accuracy", "invariant_q", "power")
CHECKPOINT = "checkpoint.npz"


# --------------------------------------------------------------------- curves
def _cell(value: float, column: str) -> str:
    if column == "step":
        return str(int(value))
    if math.isnan(value):
        return ""
    return repr(float(value))


def write_curves(path: Path, rows: list[tuple[float, ...]]) -> None:
    """Write learning-curve ``rows`` (tuples in :data:`COLUMNS` order) as CSV."""
    lines = [",".join(COLUMNS)]
    lines += [",".join(_cell(v, c) for v, c in zip(row, COLUMNS, strict=True)) for row in rows]
    _atomic_write(path, ("\n".join(lines) + "\n").encode())


def read_curves(path: Path) -> dict[str, np.ndarray]:
    """Columns of a ``curves.csv`` (empty cells as NaN)."""
    text = Path(path).read_text().splitlines()
    body = [[float(c) if c else math.nan for c in line.split(",")] for line in text[1:]]
    arr = np.array(body, dtype=float).reshape(-1, len(COLUMNS))
    return {c: arr[:, i] for i, c in enumerate(COLUMNS)}


def curves_dict(rows: list[tuple[float, ...]]) -> dict[str, np.ndarray]:
    """Rows as columns ``{name: array}``."""
    arr = np.array(rows, dtype=float).reshape(-1, len(COLUMNS))
    return {c: arr[:, i] for i, c in enumerate(COLUMNS)}


# ------------------------------------------------------------------- atomic io
def _atomic_write(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON (atomically)."""
    _atomic_write(path, (json.dumps(data, indent=2, default=_jsonable) + "\n").encode())


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


# ----------------------------------------------------------------- checkpoints
@dataclass
class Checkpoint:
    """State of a run after a completed step.

    Attributes
    ----------
    step : int
    t : float
        Time (s).
    k : ndarray, shape (E,)
        Conductances (S).
    rows : list of tuple
        Learning-curve rows recorded so far.
    modifier_state : list
        State of the rule chain's modifiers
        (:meth:`~circuitlearn.learning.modifiers.ChainedRule.state_dict`).
    config : dict
        Resolved experiment configuration.
    wall_s : float
        Wall time spent so far, all sessions (s).
    nfev : int
        Rate evaluations so far.
    fingerprint : dict or None
        ``{"network": sha256, "data": sha256}`` of the run's network and data set
        (:meth:`~circuitlearn.training.setup.Setup.fingerprint`); None in a
        checkpoint written before fingerprints were stored.
    """

    step: int
    t: float
    k: np.ndarray
    rows: list[tuple[float, ...]]
    modifier_state: list[Any]
    config: dict[str, Any]
    wall_s: float = 0.0
    nfev: int = 0
    fingerprint: dict[str, str] | None = None


def save_checkpoint(folder: Path, ckpt: Checkpoint) -> Path:
    """Write ``folder/checkpoint.npz`` atomically; return its path."""
    path = Path(folder) / CHECKPOINT
    buffer = io.BytesIO()
    np.savez(buffer, step=np.int64(ckpt.step), t=np.float64(ckpt.t),
             k=np.asarray(ckpt.k, float),
             curves=np.array(ckpt.rows, dtype=float).reshape(-1, len(COLUMNS)),
             modifier_state=np.array(json.dumps(ckpt.modifier_state)),
             config=np.array(json.dumps(ckpt.config)),
             wall_s=np.float64(ckpt.wall_s), nfev=np.int64(ckpt.nfev),
             fingerprint=np.array(json.dumps(ckpt.fingerprint)))
    _atomic_write(path, buffer.getvalue())
    return path


def load_checkpoint(folder: Path) -> Checkpoint:
    """Read ``folder/checkpoint.npz``."""
    with np.load(Path(folder) / CHECKPOINT, allow_pickle=False) as z:
        rows = [tuple(float(v) for v in r) for r in z["curves"]]
        return Checkpoint(step=int(z["step"]), t=float(z["t"]), k=np.array(z["k"]),
                          rows=rows, modifier_state=json.loads(str(z["modifier_state"])),
                          config=json.loads(str(z["config"])), wall_s=float(z["wall_s"]),
                          nfev=int(z["nfev"]),
                          fingerprint=(json.loads(str(z["fingerprint"]))
                                       if "fingerprint" in z.files else None))


# -------------------------------------------------------------------- progress
def progress_enabled(stream: TextIO | None = None) -> bool:
    """True on a terminal outside CI (stderr is a TTY and ``CI`` is unset)."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("CI")


class Progress:
    """A one-line progress bar on stderr, redrawn at most 10 times per second.

    Silent unless :func:`progress_enabled` (or ``enabled=True``).
    """

    def __init__(self, total: int, *, start: int = 0, enabled: bool | None = None,
                 stream: TextIO | None = None, width: int = 30):
        self.stream = stream or sys.stderr
        self.enabled = progress_enabled(self.stream) if enabled is None else enabled
        self.total = max(total, 1)
        self.start = start
        self.width = width
        self.t0 = time.monotonic()
        self.last = 0.0

    def update(self, step: int, note: str = "", force: bool = False) -> None:
        """Redraw for ``step`` of ``total`` with a short ``note``."""
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < 0.1):
            return
        self.last = now
        frac = min(step / self.total, 1.0)
        done = int(frac * self.width)
        rate = (step - self.start) / max(now - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else math.inf
        eta_s = f"{eta:5.0f}s" if math.isfinite(eta) else "    ?s"
        bar = "#" * done + "-" * (self.width - done)
        self.stream.write(f"\r[{bar}] {100 * frac:5.1f}% {step}/{self.total} "
                          f"eta {eta_s} {note}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
