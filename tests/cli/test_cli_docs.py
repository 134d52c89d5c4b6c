"""README's command synopses list every sub-command and every option the parser accepts."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from circuitlearn.cli import COMMANDS, build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _synopsis(name: str) -> str:
    """The README bullet ``- `circuitlearn NAME ...`` up to the next bullet."""
    m = re.search(rf"^- `circuitlearn {name}\b.*?(?=^- |^\n|\Z)", README, re.M | re.S)
    return m.group(0) if m else ""


def test_readme_lists_every_command_and_option():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name in COMMANDS:
        text = _synopsis(name)
        if not text:
            missing.append(name)
        for action in sub.choices[name]._actions:
            missing += [f"{name} {opt}" for opt in action.option_strings
                        if opt.startswith("--") and opt != "--help" and opt not in text]
    assert missing == []
