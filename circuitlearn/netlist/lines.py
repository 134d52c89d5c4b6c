"""Reading SPICE netlist text into logical lines and tokens (ngspice conventions).

* The first line of the top file is the title, whatever it looks like.
* Comments: lines whose first non-blank character is ``*``; from ``;`` or ``//``
  anywhere, or ``$`` preceded by white space, to the end of the line; blank lines.
* Continuation: a line starting (after optional white space) with ``+`` continues
  the previous logical line.
* ``.end`` ends the netlist; ``.control`` ... ``.endc`` blocks are skipped.
* ``.include FILE`` and ``.lib FILE SECTION`` are replaced by the file's lines
  (or the lines between ``.lib SECTION`` and ``.endl``), paths relative to the
  folder of the file that names them.
* Tokens are separated by white space, ``,``, ``(``, ``)`` and ``=``; ``=`` is kept
  as a token of its own so that ``key=value`` pairs can be recognised; ``{...}``
  and ``'...'`` expressions stay whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from circuitlearn.errors import NetlistError

MAX_INCLUDE_DEPTH = 32
_DOLLAR_COMMENT = re.compile(r"(^|\s)\$.*$")
_SPECIAL = re.compile(r"[,()={']")


@dataclass(frozen=True)
class Line:
    """One logical line: its text (comments removed, continuations joined) and origin."""

    text: str
    path: str
    number: int

    def error(self, message: str, element: str | None = None) -> NetlistError:
        return NetlistError(self.path, self.number, message, element)


@dataclass(frozen=True)
class Token:
    """A field of a line. ``kind`` is ``"word"``, ``"expr"`` (braced or quoted) or ``"="``."""

    text: str
    kind: str = "word"


def strip_comment(text: str) -> str:
    """Remove end-of-line comments (``;``, ``//``, `` $``) from one physical line."""
    for mark in (";", "//"):
        cut = _outside_quotes(text, mark) if mark in text else -1
        if cut >= 0:
            text = text[:cut]
    return _DOLLAR_COMMENT.sub("", text).rstrip() if "$" in text else text.rstrip()


def _outside_quotes(text: str, mark: str) -> int:
    depth, quoted = 0, False
    for i, ch in enumerate(text):
        if ch == "'" and depth == 0:
            quoted = not quoted
        elif ch == "{" and not quoted:
            depth += 1
        elif ch == "}" and not quoted:
            depth = max(depth - 1, 0)
        elif not quoted and depth == 0 and text.startswith(mark, i):
            return i
    return -1


def read_file(path: Path, where: Line | None = None) -> str:
    """Read a netlist file; unreadable files raise :class:`NetlistError`."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if where is not None:
            raise where.error(f"cannot read included file {str(path)!r}: {reason}") from None
        raise NetlistError(str(path), 0, f"cannot read netlist: {reason}") from None


def logical_lines(text: str, path: str, *, has_title: bool = True) -> tuple[str, list[Line]]:
    """Split netlist text into the title and its logical lines.

    Includes are expanded; ``.control`` blocks and everything after ``.end`` are
    dropped. Returns ``(title, lines)``.
    """
    raw = text.splitlines()
    title = raw[0].strip() if has_title and raw else ""
    start = 1 if has_title else 0
    lines = _join_continuations(raw, path, start)
    return title, _expand_includes(lines, depth=0)


def _join_continuations(raw: list[str], path: str, start: int, *, top: bool = True
                        ) -> list[Line]:
    """Join ``+`` lines to the previous card (comment lines in between do not count,
    as in ngspice); a ``+`` line before any card continues the title and is dropped."""
    out: list[Line] = []
    for number, physical in enumerate(raw[start:], start=start + 1):
        stripped = physical.strip()
        if not stripped or stripped.startswith("*"):
            continue
        stripped = strip_comment(stripped)
        if stripped.startswith("+"):
            if out:
                prev = out[-1]
                out[-1] = Line(f"{prev.text} {stripped[1:].strip()}", prev.path, prev.number)
            elif start == 0:
                raise NetlistError(path, number, "continuation line '+' with nothing to continue")
        elif stripped:
            out.append(Line(stripped, path, number))
    return _drop_control_and_end(out, top=top)


def _drop_control_and_end(lines: list[Line], *, top: bool) -> list[Line]:
    """Drop ``.control`` ... ``.endc`` blocks; ``.end`` ends the top file (in an
    included file it is ignored, as ngspice does)."""
    out: list[Line] = []
    in_control = False
    for line in lines:
        word = line.text.split(None, 1)[0].lower()
        if in_control:
            in_control = word != ".endc"
        elif word == ".control":
            in_control = True
        elif word == ".end":
            if top:
                break
        else:
            out.append(line)
    return out


def _expand_includes(lines: list[Line], depth: int) -> list[Line]:
    out: list[Line] = []
    skip_section = False
    for line in lines:
        words = line.text.split()
        word = words[0].lower()
        if skip_section:
            skip_section = word != ".endl"
            continue
        if word in (".include", ".inc", ".incl"):
            out.extend(_include(line, words, depth, section=None))
        elif word == ".lib" and len(words) >= 3:
            out.extend(_include(line, words, depth, section=words[-1].lower()))
        elif word == ".lib":
            skip_section = True  # a section definition not called from here
        elif word != ".endl":
            out.append(line)
    return out


def _include(line: Line, words: list[str], depth: int, section: str | None) -> list[Line]:
    if len(words) < 2:
        raise line.error(f"{words[0]} needs a file name")
    if depth >= MAX_INCLUDE_DEPTH:
        raise line.error(f"includes nested deeper than {MAX_INCLUDE_DEPTH} (a cycle?)")
    name = " ".join(words[1:-1] if section else words[1:]).strip("'\"")
    target = Path(name).expanduser()
    if not target.is_absolute():
        target = Path(line.path).parent / target
    text = read_file(target, where=line)
    lines = _join_continuations(text.splitlines(), str(target), 0, top=False)
    if section is not None:
        lines = _lib_section(lines, section, line)
    return _expand_includes(lines, depth + 1)


def _lib_section(lines: list[Line], section: str, where: Line) -> list[Line]:
    out: list[Line] = []
    inside = found = False
    for line in lines:
        words = line.text.lower().split()
        if not inside and words[0] == ".lib" and len(words) == 2 and words[1] == section:
            inside = found = True
        elif inside and words[0] == ".endl":
            inside = False
        elif inside:
            out.append(line)
    if not found:
        raise where.error(f"library section {section!r} not found in the included file")
    return out


def tokenize(line: Line) -> list[Token]:
    """Split a logical line into tokens (see module docstring)."""
    if not _SPECIAL.search(line.text):  # the common case: plain fields
        return [Token(word) for word in line.text.split()]
    text, tokens, i, n = line.text, [], 0, len(line.text)
    while i < n:
        ch = text[i]
        if ch.isspace() or ch in ",()":
            i += 1
        elif ch == "=":
            tokens.append(Token("=", "="))
            i += 1
        elif ch in "{'":
            end = _expression_end(text, i, line)
            tokens.append(Token(text[i + 1:end].strip(), "expr"))
            i = end + 1
        else:
            j = i
            while j < n and not (text[j].isspace() or text[j] in ",()={'"):
                j += 1
            tokens.append(Token(text[i:j]))
            i = j
    return tokens


def _expression_end(text: str, start: int, line: Line) -> int:
    if text[start] == "'":
        end = text.find("'", start + 1)
        if end < 0:
            raise line.error("unterminated quoted expression '...")
        return end
    depth = 0
    for j in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return j
    raise line.error("unbalanced braces in expression {...}")
