"""Files of a training run: learning curves, atomic writes, JSON, progress bar.

``curves.csv``
    Header :data:`COLUMNS`; floats in Python's shortest round-trip notation,
    accuracies empty for regression, test columns empty without a test set.
    Units: s, V^2, V^2, 1, 1, S^2, W, 1.

Every file is written atomically (a temporary file in the same folder, then
:func:`os.replace`) with mode ``0666 & ~umask`` (0644 under the usual umask), the
mode of any file a program creates.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

COLUMNS = ("step", "t", "train_loss", "test_loss", "train_accuracy", "test_accuracy",
           "invariant_q", "power", "at_bound")


# --------------------------------------------------------------------- curves
def _cell(value: float, column: str) -> str:
    if column == "step":
        return str(int(value))
    if math.isnan(value):
        return ""
    return repr(float(value))


def curves_text(rows: list[tuple[float, ...]]) -> str:
    """Learning-curve ``rows`` (tuples in :data:`COLUMNS` order) as CSV text."""
    lines = [",".join(COLUMNS)]
    lines += [",".join(_cell(v, c) for v, c in zip(row, COLUMNS, strict=True)) for row in rows]
    return "\n".join(lines) + "\n"


def write_curves(path: Path, rows: list[tuple[float, ...]]) -> None:
    """Write learning-curve ``rows`` as ``curves.csv``."""
    atomic_write(path, curves_text(rows).encode())


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
def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, with the usual file mode."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), _file_mode())
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented, strictly valid JSON (atomically): non-finite numbers
    become ``null``."""
    atomic_write(path, (json_text(data) + "\n").encode())


def json_text(data: Any) -> str:
    """``data`` as indented JSON with NaN and infinities written as ``null``."""
    return json.dumps(_finite(data), indent=2, allow_nan=False, default=_jsonable)


def _finite(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    return obj


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


# -------------------------------------------------------------------- progress
def progress_enabled(stream: TextIO | None = None) -> bool:
    """True on a terminal outside CI (stderr is a TTY and ``CI`` is unset)."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("CI")


def clock(seconds: float) -> str:
    """``seconds`` as ``m:ss`` or ``h:mm:ss`` (``?`` when unknown).

    >>> clock(75.2), clock(3725), clock(float("inf"))
    ('1:15', '1:02:05', '?')
    """
    if not math.isfinite(seconds):
        return "?"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """A one-line progress bar on stderr, redrawn at most 10 times per second: share
    done, steps, elapsed time and estimated time left (``elapsed<eta``), and a note.

    Silent unless :func:`progress_enabled` (or ``enabled=True``).
    """

    def __init__(self, total: int, *, start: int = 0, enabled: bool | None = None,
                 stream: TextIO | None = None, width: int = 24):
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
        elapsed = now - self.t0
        rate = (step - self.start) / max(elapsed, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else math.inf
        bar = "#" * done + "-" * (self.width - done)
        self.stream.write(f"\r[{bar}] {100 * frac:5.1f}% {step}/{self.total} "
                          f"{clock(elapsed)}<{clock(eta)} {note}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
