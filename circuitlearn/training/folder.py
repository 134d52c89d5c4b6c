"""Run folders: created with a clear error, locked while a run uses them, never mixed.

A run holds an exclusive :func:`fcntl.flock` on ``DIR/.lock`` (which records its
process id) from start to end. The operating system releases the lock when the
process ends, however it ends (SIGKILL included), so a stale lock never blocks
a folder; a second process asking for the folder meanwhile gets a
:class:`~circuitlearn.errors.RunFolderError` naming the folder and the holder.

A fresh run refuses a folder that already holds run files (``--force`` removes
them first); a resumed run needs them. Temporary files left by a killed process
(``.checkpoint.npz.*.tmp`` and the like) are removed under the lock.
"""

from __future__ import annotations

import os
from pathlib import Path

from circuitlearn.errors import RunFolderError

LOCK = ".lock"
RUN_FILES = ("checkpoint.npz", "curves.csv", "curves.png", "summary.json", "trained.cir",
             "best.cir", "invariants.csv")


class RunFolder:
    """The output folder of one run, locked until :meth:`release`.

    Parameters
    ----------
    path : path-like
    resume : bool
        The folder must hold a run to continue.
    force : bool
        A fresh run may replace the run files already there.

    Raises
    ------
    RunFolderError
        The folder cannot be created, is in use by another process, holds a run
        (fresh run without ``force``) or none (``resume``).
    """

    def __init__(self, path: str | os.PathLike[str], *, resume: bool = False,
                 force: bool = False):
        self.path = Path(path)
        self._fd: int | None = None
        if resume and not self.path.is_dir():
            raise RunFolderError(f"{self.path}: no run folder to resume")
        self._create()
        self._lock()
        try:
            self._check(resume, force)
            self._clean_temporaries()
        except BaseException:
            self.release()
            raise

    def _create(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise RunFolderError(f"{self.path}: cannot create the run folder: a file of "
                                 "that name exists") from None
        except OSError as exc:
            raise RunFolderError(f"{self.path}: cannot create the run folder: "
                                 f"{exc.strerror}") from None
        if not self.path.is_dir():
            raise RunFolderError(f"{self.path}: cannot create the run folder: not a folder")

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no locking
            return
        lock = self.path / LOCK
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise RunFolderError(f"{self.path}: cannot write in the run folder: "
                                 f"{exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunFolderError(f"{self.path}: the run folder is in use by process {holder} "
                                 "(another circuitlearn run); wait for it to end or choose "
                                 "another folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def _check(self, resume: bool, force: bool) -> None:
        present = [name for name in RUN_FILES if (self.path / name).exists()]
        if resume:
            return
        if present and not force:
            raise RunFolderError(
                f"{self.path}: the folder already holds a run ({', '.join(present)}); "
                "continue it with --resume, replace it with --force, or choose another "
                "folder")
        for name in present:
            (self.path / name).unlink()

    def _clean_temporaries(self) -> None:
        for name in RUN_FILES:
            for tmp in self.path.glob(f".{name}.*.tmp"):
                tmp.unlink(missing_ok=True)

    def release(self) -> None:
        """Release the lock (also done by the OS when the process ends)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
