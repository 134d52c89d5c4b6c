"""Batch backend: run the ``ngspice`` program once per call (standard library only).

The netlist is copied into a temporary folder with a ``.control`` block appended::

    set filetype=binary
    let circuitlearn_orig_0 = @v1[dc]     (alterations only)
    print circuitlearn_marker_0           (marks where point 0's messages start)
    alter v1 dc = 0.5                     (alterations only)
    op
    let circuitlearn_pad_vector = 0       (see below)
    write /tmp/.../op_0.raw
    destroy all
    ...                                   (one block per operating point)
    quit 0

and run as ``ngspice -b deck.cir`` with the netlist's folder as current directory,
so relative ``.include`` files resolve as they would for the netlist itself. The
marker lines appear on stderr ("vector circuitlearn_marker_0 is not available"),
which ngspice does not buffer, so warnings are attributed to the operating point
they belong to. Each point's rawfile is parsed by :mod:`circuitlearn.spice.rawfile`.
The padding vector works around an ngspice quirk: ``write`` on a plot holding a
single vector also writes a spurious ``v(all)``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from circuitlearn.errors import RawFileError, SpiceFailed, SpiceUnavailable
from circuitlearn.spice.common import (
    INSTALL_HINT,
    MARKER_PREFIX,
    MARKER_RE,
    SpiceResult,
    Triage,
    result_from_vectors,
    triage_messages,
)
from circuitlearn.spice.deck import AlterationPlan, Deck, plan_alterations
from circuitlearn.spice.rawfile import RawPlot, read_rawfile

BACKEND = "batch"
PAD_VECTOR = "circuitlearn_pad_vector"

#: Seconds allowed for one ngspice run when the caller gives no timeout: a base
#: plus an allowance per operating point. A hang guard, not an estimate: ngspice
#: 39 needs about 3 s per point for a 100x100 resistor grid and over 40 s for a
#: random sparse network of 2000 nodes and 10^4 resistors.
DEFAULT_TIMEOUT_BASE_S = 600.0
DEFAULT_TIMEOUT_PER_POINT_S = 60.0

# ngspice's command parser splits at blanks and does not understand quotes in
# file names, so rawfiles must go to a folder whose path is plain.
_PLAIN_PATH = re.compile(r"[\w./\\:+@-]+")


def find_executable() -> str | None:
    """Locate the ngspice program.

    Returns
    -------
    str or None
        ``$NGSPICE_EXECUTABLE`` if set (and it exists or is found on ``PATH``),
        else ``ngspice`` from ``PATH``, else None.
    """
    configured = os.environ.get("NGSPICE_EXECUTABLE")
    if configured:
        return shutil.which(configured) or (configured if Path(configured).is_file() else None)
    return shutil.which("ngspice")


def is_available() -> bool:
    """Whether the ngspice program can be found."""
    return find_executable() is not None


def _scratch_dir() -> tempfile.TemporaryDirectory[str]:
    candidates = [None, "/tmp", "/var/tmp"]
    for parent in candidates:
        if parent is not None and not Path(parent).is_dir():
            continue
        scratch = tempfile.TemporaryDirectory(prefix="circuitlearn-ngspice-", dir=parent)
        if _PLAIN_PATH.fullmatch(scratch.name):
            return scratch
        scratch.cleanup()
    raise SpiceFailed(
        "no temporary folder without blanks or special characters for ngspice's output; "
        "set TMPDIR to a plain path"
    )


def _control_block(plan: AlterationPlan, scratch: Path, reset_each: bool) -> list[str]:
    commands = ["set filetype=binary"]
    if not reset_each:
        commands.extend(plan.setup)
    for index in range(len(plan.steps)):
        commands.append(f"print {MARKER_PREFIX}{index}")
        if reset_each:
            if index:
                commands.append("reset")
            commands.extend(plan.fresh_steps[index])
        else:
            commands.extend(plan.steps[index])
        commands.append("op")
        # A one-vector plot makes `write` add a bogus "v(all)": never leave it at one.
        commands.append(f"let {PAD_VECTOR} = 0")
        commands.append(f"write {scratch / f'op_{index}.raw'}")
        commands.append("destroy all")
    commands.append(f"print {MARKER_PREFIX}{len(plan.steps)}")
    commands.append("quit 0")
    return commands


def _split_by_marker(stderr: str, count: int) -> tuple[list[str], list[list[str]], bool]:
    """Split stderr lines into (before first marker, per point, markers found)."""
    before: list[str] = []
    per_point: list[list[str]] = [[] for _ in range(count)]
    current = -1
    found = False
    for line in stderr.splitlines():
        match = MARKER_RE.search(line)
        if match:
            current = int(match.group(1))
            found = True
            continue
        if current < 0:
            before.append(line)
        elif current < count:
            per_point[current].append(line)
        else:
            before.append(line)  # after the last point: belongs to the whole run
    return before, per_point, found


def run_batch(
    deck: Deck,
    alterations: Sequence[Mapping[str, float]],
    *,
    timeout: float | None = None,
) -> list[SpiceResult]:
    """Solve the DC operating point once per alteration with one ngspice process.

    Parameters
    ----------
    deck : Deck
        The prepared netlist.
    alterations : sequence of mapping of str to float
        Source name to DC value (volts or amperes) for each operating point.
    timeout : float, optional
        Seconds before ngspice is killed; default
        ``DEFAULT_TIMEOUT_BASE_S + DEFAULT_TIMEOUT_PER_POINT_S * len(alterations)``.

    Returns
    -------
    list of SpiceResult
        One result per alteration, in order.

    Raises
    ------
    SpiceUnavailable
        If the ngspice program cannot be found or started.
    SpiceFailed
        If ngspice reports an error, times out or writes no operating point.
    """
    executable = find_executable()
    if executable is None:
        raise SpiceUnavailable(f"the ngspice program was not found on PATH; {INSTALL_HINT}")
    plan = plan_alterations(alterations)
    if timeout is None:
        timeout = DEFAULT_TIMEOUT_BASE_S + DEFAULT_TIMEOUT_PER_POINT_S * len(plan.steps)
    results, aided = _run_once(executable, deck, plan, timeout, reset_each=False)
    if any(aided[:-1]):
        # A point needed convergence aids: later points of that session cannot be
        # trusted (see circuitlearn.spice.deck). Solve again, resetting before each.
        results, _ = _run_once(executable, deck, plan, timeout, reset_each=True)
    return results


def _run_once(
    executable: str, deck: Deck, plan: AlterationPlan, timeout: float, reset_each: bool
) -> tuple[list[SpiceResult], list[bool]]:
    with _scratch_dir() as scratch_name:
        scratch = Path(scratch_name)
        deck_path = scratch / "circuitlearn_deck.cir"
        text = deck.with_control(_control_block(plan, scratch, reset_each))
        deck_path.write_text(text, encoding="utf-8", errors="surrogateescape")
        env = dict(os.environ, LC_ALL="C", LANG="C")
        env.pop("SPICE_ASCIIRAWFILE", None)
        try:
            proc = subprocess.run(
                [executable, "-b", str(deck_path)],
                cwd=deck.base_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SpiceFailed(
                f"ngspice did not finish {deck.origin} within {timeout:.0f} s "
                f"({len(plan.steps)} operating point(s)); pass a larger timeout"
            ) from None
        except OSError as exc:
            raise SpiceUnavailable(f"cannot run {executable}: {exc}; {INSTALL_HINT}") from None
        stdout = proc.stdout.decode("utf-8", errors="replace")
        stderr = proc.stderr.decode("utf-8", errors="replace")
        before, per_point, found = _split_by_marker(stderr, len(plan.steps))
        common = triage_messages([("stdout", line) for line in stdout.splitlines()])
        common.extend(triage_messages([("stderr", line) for line in before]))
        points = [triage_messages([("stderr", line) for line in lines]) for lines in per_point]
        aided = [common.needed_convergence_aid or p.needed_convergence_aid for p in points]
        if not found:  # cannot attribute: every point gets every message
            for point in points:
                common.extend(point)
            points = [Triage() for _ in points]
        errors = list(common.errors)
        for index, point in enumerate(points):
            errors.extend(f"operating point {index}: {e}" for e in point.errors)
        if errors:
            raise SpiceFailed(f"ngspice failed on {deck.origin}: " + "; ".join(errors[:6]))
        if proc.returncode != 0:
            tail = " | ".join(stderr.strip().splitlines()[-3:])
            raise SpiceFailed(
                f"ngspice exited with status {proc.returncode} on {deck.origin}: {tail}"
            )
        results = []
        for index, point in enumerate(points):
            raw = scratch / f"op_{index}.raw"
            try:
                plots = read_rawfile(raw)
            except FileNotFoundError:
                raise SpiceFailed(
                    f"ngspice wrote no operating point {index} for {deck.origin}"
                ) from None
            except RawFileError as exc:
                raise SpiceFailed(f"unreadable ngspice rawfile for {deck.origin}: {exc}") from None
            if not plots or "operating point" not in plots[-1].plotname.lower():
                raise SpiceFailed(f"ngspice wrote no operating point {index} for {deck.origin}")
            plot = plots[-1]
            if plot.data.shape[0] < 1:
                raise SpiceFailed(f"ngspice found no operating point {index} for {deck.origin}")
            kinds = plot.kinds()
            vectors = [(name, kinds[name], float(c[0].real)) for name, c in plot.vectors.items()]
            warnings = list(deck.notes)
            for w in [*common.warnings, *point.warnings]:
                if w not in warnings:
                    warnings.append(w)
            results.append(result_from_vectors(vectors, warnings, BACKEND))
        return results, aided


def run_analysis(deck: Deck, command: str, timeout: float) -> RawPlot:
    """Run one analysis ``command`` (``run``, ``sens v(a)``, ...) on ``deck`` with
    ``ngspice -b`` in a scratch folder and return the last plot of its rawfile.

    Raises
    ------
    SpiceUnavailable
        If the ngspice program cannot be found.
    SpiceFailed
        If ngspice reports an error, times out or writes no rawfile.
    """
    executable = find_executable()
    if executable is None:
        raise SpiceUnavailable(f"the ngspice program was not found on PATH; {INSTALL_HINT}")
    with _scratch_dir() as scratch:
        raw, path = Path(scratch) / "analysis.raw", Path(scratch) / "analysis.cir"
        path.write_text(deck.with_control(["set filetype=binary", command, f"write {raw}",
                                           "quit 0"]), encoding="utf-8")
        try:
            proc = subprocess.run([executable, "-b", str(path)], cwd=scratch,
                                  env=dict(os.environ, LC_ALL="C", LANG="C"),
                                  stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise SpiceFailed(f"ngspice did not finish {command} within {timeout:.0f} s") from None
        triage = triage_messages([("stderr", line) for line in
                                  proc.stderr.decode("utf-8", "replace").splitlines()])
        if triage.errors or proc.returncode != 0:
            raise SpiceFailed(f"ngspice failed ({command}): "
                              + "; ".join(triage.errors[:3] or [f"status {proc.returncode}"]))
        try:
            return read_rawfile(raw)[-1]
        except (FileNotFoundError, RawFileError, IndexError) as exc:
            raise SpiceFailed(f"ngspice wrote no rawfile for {command} ({exc})") from None
