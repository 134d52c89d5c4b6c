"""Numbers as ngspice 39 reads element values (``INPevaluate``) and scale suffixes.

Sign, mantissa, optional exponent (``e`` or ``d``), optional scale suffix
(``T G Meg K M(m) U(µ) N P F``, any case; ``mil`` = 25.4e-6 in element values only);
whatever follows is ignored.

>>> parse_number("10kOhm"), parse_number("1.5meg"), parse_number("abc")
(10000.0, 1500000.0, None)
"""

from __future__ import annotations

import re

_SCALE = {"t": 1e12, "g": 1e9, "k": 1e3, "u": 1e-6, "\u00b5": 1e-6, "n": 1e-9, "p": 1e-12,
          "f": 1e-15}  # "\u00b5" is the micro sign, which ngspice reads as u
_ELEMENT_NUMBER = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+))(?:[eEdD]([+-]?)(\d*))?")


def scale_of(suffix: str, mil: bool) -> float:
    """Multiplier of the scale suffix that `suffix` starts with (1.0 if none)."""
    head = suffix[:3].lower()
    if head == "meg":
        return 1e6
    if mil and head == "mil":
        return 25.4e-6
    return 1e-3 if head[:1] == "m" else _SCALE.get(head[:1], 1.0)


def parse_number(text: str) -> float | None:
    """Read a SPICE number the way ngspice reads an element value.

    Parameters
    ----------
    text : str
        A token such as ``"10kOhm"``, ``"-1.5e-3"``, ``"2mil"`` or ``"1d3"``.

    Returns
    -------
    float or None
        Sign, mantissa, optional exponent (``e`` or ``d``; ``1e`` is 1), optional scale
        suffix; whatever follows is ignored (``1.2.3`` is 1.2, ``1a`` is 1, ``0x10`` is 0).
        None when `text` does not start with a number (``"abc"``, ``"{x}"``, ``"-"``, ``"."``).
    """
    m = _ELEMENT_NUMBER.match(text)
    if m is None:
        return None
    mantissa, exp_sign, exp_digits = m.groups()
    value = float(f"{mantissa}e{exp_sign}{exp_digits}" if exp_digits else mantissa)
    scale = scale_of(text[m.end():], mil=True)
    return value * 25.4 * 1e-6 if scale == 25.4e-6 else value * scale
