"""Tests of circuitlearn.expr: ngspice 39 numbers and numparam expressions.

Expected values not computed with Python's math module were obtained by running
ngspice 39 (``ngspice -b``) on a netlist with one ``v n 0 'EXPR'`` source per case.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from circuitlearn.errors import CircuitLearnError
from circuitlearn.netlist.expr import (
    ExpressionError,
    UserFunction,
    evaluate,
    free_names,
    parse_number,
)

SHARED = Path(__file__).parents[3] / "shared"
XPRESSN = SHARED / "conformance" / "ng__tests__regression__parser__xpressn-1.cir"

PARAMS = {"x": 3.0, "a": 1.0, "y": 100.0, "zero": 0.0}


def lookup(name: str) -> float:
    return PARAMS[name]


def ev(text: str, functions: dict[str, UserFunction] | None = None) -> float:
    return evaluate(text, lookup, functions)


# --------------------------------------------------------------------- ngspice regression


def _xpressn_cases() -> list:
    if not (XPRESSN / "circuit.cir").is_file():
        reason = f"shared conformance data not found at {XPRESSN}"
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason=reason))]
    exprs: dict[tuple[str, str], str] = {}
    line_re = re.compile(r"^v(\d+)_([tg])\s+\S+\s+0\s+'([^']*)'\s*$", re.IGNORECASE)
    for line in (XPRESSN / "circuit.cir").read_text().splitlines():
        if m := line_re.match(line):
            exprs[m.group(1), m.group(2).lower()] = m.group(3)
    voltages = json.loads((XPRESSN / "expected.json").read_text())["node_voltages"]
    numbers = sorted({number for number, _ in exprs})
    return [
        pytest.param(exprs[n, "t"], exprs[n, "g"], voltages[f"n{n}_t"], id=f"v{n}")
        for n in numbers
    ]


XPRESSN_CASES = _xpressn_cases()


@pytest.mark.parametrize(("expression", "expected_text", "voltage"), XPRESSN_CASES)
def test_xpressn_regression(expression: str, expected_text: str, voltage: float) -> None:
    value = ev(expression)
    assert value == pytest.approx(ev(expected_text), rel=1e-12, abs=1e-300)
    assert value == pytest.approx(voltage, rel=1e-12, abs=1e-300)


def test_xpressn_file_has_all_cases() -> None:
    if XPRESSN_CASES[0].values[0] is None:
        pytest.skip(f"shared conformance data not found at {XPRESSN}")
    assert len(XPRESSN_CASES) == 118  # v1001 .. v1118, each with a _t and a _g line


# --------------------------------------------------------------------- operators


OPERATOR_CASES = [
        ("1+2*3", 7.0),
        ("1 - 2 - 3", -4.0),
        ("8/4/2", 1.0),
        ("2*3%4", 2.0),
        ("2*3\\4", 1.0),
        ("2^3*2", 16.0),
        ("10-2^2*2", 2.0),
        ("2^3^2", 64.0),  # ngspice: '^' is left associative
        ("2**3**2", 64.0),
        ("2^3**2", 64.0),
        ("-2^2", -4.0),  # a leading '-' is '0 - ...'
        ("-2**2", -4.0),
        ("-1 ^ 0.5", -1.0),
        ("-x", -3.0),
        ("-(3)", -3.0),
        ("- 3", -3.0),
        ("+3", 3.0),
        ("+-3", -3.0),
        ("--3", 3.0),
        ("-!1", 0.0),
        ("(-2)^3", 8.0),  # '^' is pow(|x|, y)
        ("(-2)^0.5", math.sqrt(2.0)),
        ("2*-3^2", 18.0),  # '-' after an operator negates the literal, before '^'
        ("3 - -2^2", -1.0),
        ("2^-2^2", 0.0625),
        ("-2^-2", -0.25),
        ("2^-1", 0.5),
        ("2*- 3", -6.0),
        ("0^0", 1.0),
        ("1--1", 2.0),
        ("5+2/-4", 4.5),
        ("!2^0", 1.0),  # '!' binds to the atom: (!2)^0
        ("!3^0", 1.0),
        ("!0 + 1", 2.0),
        ("!!2", 1.0),
        ("! (x)", 0.0),
        ("2*!0", 2.0),
        ("!sin(0)", 1.0),
        ("2 == 2 < 3", 1.0),  # all comparisons share one level, left to right
        ("3 > 2 == 2", 0.0),
        ("2<3<1", 0.0),
        ("1 + 2 == 3", 1.0),
        ("1 < 2 && 3", 1.0),
        ("0 || 2 > 1", 1.0),
        ("2=2", 1.0),
        ("2<>3", 1.0),
        ("2<>2", 0.0),
        ("1 ? (0 ? 7 : 8) : 9", 8.0),
        ("0 ? (0 ? 7 : 8) : 9", 9.0),
        ("1 ? 2 : 3 ? 4 : 5", 2.0),
        ("0 ? 2 : 0 ? 4 : 5", 5.0),
        ("0 ? 2 : 3 || 0", 1.0),
        ("1 || 0 ? 5 : 6", 5.0),
        ("0 && 1 ? 5 : 6", 6.0),
        ("1 ? 2 : 3 + 10", 2.0),
        ("0 ? 2 : 3 + 10", 13.0),
        ("1+(0?2:3)*2", 7.0),
        ("x > 2 ? x : -3", 3.0),
        ("1 ? -2 : 3", -2.0),
        ("7%3", 1.0),
        ("-7%3", -1.0),
        ("7%-3", 1.0),
        ("7.5%2", 1.5),
        ("7\\2", 3.0),  # ngspice: trunc(|x/y|)
        ("-7\\2", -3.0),
        ("7\\-2", 3.0),
        ("1/0 > 1", 1.0),  # IEEE inside, as in ngspice; only the result must be finite
        ("0 ? 1/0 : 5", 5.0),
        ("x == 3 ? 0 : 1/(x-3)", 0.0),
        ("ternary_fcn(zero, 1/zero, 2)", 2.0),
        ("  0.1 ? 42 : 43 ", 42.0),
        ("\t1 +\n2", 3.0),
        ("X + A", 4.0),
        ("1e3 == 1k", 1.0),
]


@pytest.mark.parametrize(("expression", "expected"), OPERATOR_CASES)
def test_operators_as_ngspice(expression: str, expected: float) -> None:
    assert ev(expression) == pytest.approx(expected, rel=1e-15, abs=0.0)


def test_booleans_are_exactly_one_or_zero() -> None:
    assert [ev(e) for e in ("-0.1 && 0.2", "0.1 || -0.2", "!0", "2 >= 2")] == [1.0] * 4
    assert [ev(e) for e in ("0 && 1", "0 || 0", "!(-0.1)", "2 > 2")] == [0.0] * 4


# --------------------------------------------------------------------- numbers


NUMBER_CASES = [
        ("10kohm", 1e4),
        ("10kOhm*2", 2e4),
        ("2k*3", 6000.0),
        ("1meg+1", 1000001.0),
        ("1MEG", 1e6),
        ("1Megohm", 1e6),
        ("1mega", 1e6),
        ("1M", 1e-3),  # M is milli
        ("1mA", 1e-3),
        ("1mil", 1e-3),  # inside expressions ngspice reads 'mil' as milli
        ("2*1mil", 2e-3),
        ("1t", 1e12),
        ("1G", 1e9),
        ("1u", 1e-6),
        ("1n", 1e-9),
        ("3p", 3e-12),
        ("1f", 1e-15),
        ("1a", 1.0),  # no atto in ngspice 39
        ("1E2A", 100.0),
        ("5v", 5.0),
        ("1e3k", 1e6),
        ("1e-3u", 1e-9),
        (".5k", 500.0),
        ("1.k", 1000.0),
        ("5.", 5.0),
        ("1.5E-3", 1.5e-3),
        ("1e+3", 1000.0),
        ("1e", 1.0),  # sscanf swallows a bare exponent marker
        ("1e+", 1.0),
        ("1e-x", 1.0),
        ("1e2e", 100.0),
        ("1k_x", 1000.0),
        ("2pi", 2e-12),  # 'p' is pico, then letters are skipped
        ("0x10", 16.0),
        ("0X10", 16.0),
        ("0x1fk", 31000.0),
        ("0x1e3", 483.0),
        ("0x1p3", 8.0),
        ("0x.8p", 0.5),  # C hex float, bare binary exponent marker swallowed
        ("1e-400", 0.0),
]


@pytest.mark.parametrize(("expression", "expected"), NUMBER_CASES)
def test_numbers_in_expressions(expression: str, expected: float) -> None:
    assert ev(expression) == pytest.approx(expected, rel=1e-15, abs=0.0)


@pytest.mark.parametrize(
    "expression", ["1meg2", "1.2.3", "1e3.5", "1..2", ".e3", "1k.5", "1 2", "1 e3", "1 .5"]
)
def test_malformed_numbers_in_expressions(expression: str) -> None:
    with pytest.raises(ExpressionError, match="syntax error"):
        ev(expression)


PARSE_NUMBER_CASES = [
        ("1", 1.0),
        ("1.5", 1.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1e3),
        ("1.5E-3", 1.5e-3),
        ("-5", -5.0),
        ("+.5e1k", 5000.0),
        ("-.5", -0.5),
        ("10kOhm", 1e4),
        ("1mA", 1e-3),
        ("5v", 5.0),
        ("1a", 1.0),
        ("1meg", 1e6),
        ("1Megohm", 1e6),
        ("3MEG", 3e6),
        ("1M", 1e-3),
        ("2mil", 5.08e-5),  # element values know mil = 25.4e-6
        ("1MIL", 25.4e-6),
        ("1milli", 25.4e-6),
        ("1mi", 1e-3),
        ("1T", 1e12),
        ("1g", 1e9),
        ("4.7u", 4.7e-6),
        ("1n", 1e-9),
        ("1p", 1e-12),
        ("1f", 1e-15),
        ("1e", 1.0),
        ("1e+", 1.0),
        ("2.5e", 2.5),
        ("1ea", 1.0),
        ("1.e2", 100.0),
        ("1d3", 1000.0),  # FORTRAN exponent
        ("1.2.3", 1.2),
        ("1e3.5", 1000.0),
        ("1e3meg", 1e9),
        ("1Meg2", 1e6),
        ("0x10", 0.0),
        ("4k7", 4000.0),  # no RKM notation in ngspice 39
]


@pytest.mark.parametrize(("text", "expected"), PARSE_NUMBER_CASES)
def test_parse_number(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected, rel=1e-15, abs=0.0)


@pytest.mark.parametrize("text", ["abc", "{x}", "'1'", "-", "+", ".", "-.e3", "", "e3", "k1"])
def test_parse_number_rejects_non_numbers(text: str) -> None:
    assert parse_number(text) is None


@given(st.floats(min_value=0.0, allow_nan=False, allow_infinity=False))
def test_repr_of_a_float_reads_back_exactly(x: float) -> None:
    assert ev(repr(x)) == x
    assert ev(repr(-x)) == -x
    assert parse_number(repr(x)) == x


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_arithmetic_matches_python(a: float, b: float, c: float) -> None:
    values = {"a": a, "b": b, "c": c}
    assert evaluate("a + b*c - a*c", values.__getitem__) == a + b * c - a * c
    assert evaluate("(a - b) * (c + a)", values.__getitem__) == (a - b) * (c + a)


# --------------------------------------------------------------------- functions


FUNCTION_CASES = [
        ("sqr(-3)", 9.0),
        ("sqrt(2)", math.sqrt(2)),
        ("tan(0.3)", math.tan(0.3)),
        ("ATAN(0.3)", math.atan(0.3)),
        ("arctan(0.3)", math.atan(0.3)),
        ("acosh(1.3)", math.acosh(1.3)),
        ("exp(-2)", math.exp(-2)),
        ("log(0.5)", math.log(0.5)),
        ("ln(2)", math.log(2)),
        ("log10(0.5)", math.log10(0.5)),
        ("abs(-2)", 2.0),
        ("sgn(-2)", -1.0),
        ("sgn(0)", 0.0),
        ("sgn(3)", 1.0),
        ("int(-1.9)", -1.0),
        ("int(2.1)", 2.0),
        ("int(1e20)", 1e20),
        ("nint(2.5)", 2.0),
        ("nint(-0.5)", 0.0),
        ("nint(1.5)", 2.0),
        ("nint(-2.6)", -3.0),
        ("floor(-1.9)", -2.0),
        ("ceil(-1.9)", -1.0),
        ("min(1.1, 2.1)", 1.1),
        ("max(2.1, 1.1)", 2.1),
        ("pow(2, 3)", 8.0),
        ("pow(-2, 3)", -8.0),
        ("pwr(2, 3)", 8.0),
        ("pwr(-2, 3)", 8.0),  # ngspice: pow(fabs(x), y), no sign
        ("pwr(-2, 0.5)", math.sqrt(2)),
        ("ternary_fcn(1, 2, 3)", 2.0),
        ("ternary_fcn(0, 2, 3)", 3.0),
        ("max(-x, 2*a) + min(x, y)", 5.0),
        ("sin(max(0, 0.3))", math.sin(0.3)),
]


@pytest.mark.parametrize(("expression", "expected"), FUNCTION_CASES)
def test_builtin_functions(expression: str, expected: float) -> None:
    assert ev(expression) == pytest.approx(expected, rel=1e-15, abs=0.0)


FUNCS = {
    "ftest": UserFunction(("x",), "2*x"),
    "g": UserFunction(("x",), "x+1"),
    "h": UserFunction(("x",), "x*x"),
    "n": UserFunction(("x",), "-x"),
    "sqr": UserFunction(("x",), "x+100"),
    "two": UserFunction(("a", "b"), "a-b"),
    "k": UserFunction((), "7"),
    "m": UserFunction(("q",), "g(q)*2"),
    "p": UserFunction(("x",), "x^2"),
    "gy": UserFunction(("u",), "u+y"),
    "fy": UserFunction(("y",), "gy(1)"),
    "rec": UserFunction(("x",), "x <= 0 ? 0 : rec(x - 1)"),
    "ping": UserFunction(("x",), "pong(x) + 1"),
    "pong": UserFunction(("x",), "g(x) * ping(x)"),
    "fan": UserFunction(("x",), "g(x) + g(x) + m(x)"),
    "bad": UserFunction(("x",), "x +"),
    "undef": UserFunction(("x",), "x + nosuch"),
}


USER_CASES = [
        ("ftest(2.0)+a", 5.0),  # xyce PARSER/paramFunc1: .param ftest(x)={2*x}, a=1
        ("FTEST(1)", 2.0),
        ("g(2)", 3.0),  # the argument shadows the global x = 3
        ("x + g(x)", 7.0),
        ("h(1+1)", 4.0),  # arguments are values, not text
        ("2*n(3)", -6.0),
        ("2^n(1)", 0.5),
        ("sqr(2)", 102.0),  # a user function overrides a built-in, as in ngspice
        ("two(5,3)", 2.0),
        ("two(a, x)", -2.0),
        ("two(two(5, 1), 1)", 3.0),
        ("k()", 7.0),
        ("m(1)", 4.0),
        ("p(-2)", 4.0),
        ("gy(1)", 101.0),
        ("fy(5)", 6.0),  # ngspice expands textually: gy's 'y' is fy's argument
        ("fan(1)", 8.0),  # a function used twice is not recursion
]


@pytest.mark.parametrize(("expression", "expected"), USER_CASES)
def test_user_functions(expression: str, expected: float) -> None:
    assert ev(expression, FUNCS) == pytest.approx(expected, rel=1e-15, abs=0.0)


def test_user_function_errors() -> None:
    with pytest.raises(ExpressionError, match=r"^function 'two' takes 2 argument\(s\), got 1$"):
        ev("two(1)", FUNCS)
    with pytest.raises(ExpressionError, match=r"^function 'k' takes 0 argument\(s\), got 1$"):
        ev("k(1)", FUNCS)
    with pytest.raises(ExpressionError, match=r"^recursive user function: rec -> rec$"):
        ev("rec(3)", FUNCS)  # ngspice 39 segfaults on it
    with pytest.raises(ExpressionError, match=r"^recursive user function: ping -> pong -> ping$"):
        ev("1 + ping(2)", FUNCS)
    with pytest.raises(ExpressionError, match=r"^in user function 'bad': syntax error"):
        ev("bad(1)", FUNCS)
    with pytest.raises(ExpressionError, match=r"^undefined parameter 'nosuch'$"):
        ev("undef(1)", FUNCS)
    with pytest.raises(ExpressionError, match=r"^unknown function 'ftest'$"):
        ev("ftest(1)")  # not passed in: no user functions


# --------------------------------------------------------------------- errors


def test_undefined_parameter_message_and_types() -> None:
    with pytest.raises(ExpressionError) as info:
        ev("2*Foo + 1")
    assert str(info.value) == "undefined parameter 'foo'"
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, CircuitLearnError)
    assert info.value.__cause__ is None


def test_lookup_gets_lower_case_names() -> None:
    seen: list[str] = []

    def record(name: str) -> float:
        seen.append(name)
        return 2.0

    assert evaluate("Rval*RVAL + r_1", record) == 6.0
    assert seen == ["rval", "rval", "r_1"]


def test_both_ternary_branches_must_be_defined_as_in_ngspice() -> None:
    with pytest.raises(ExpressionError, match="undefined parameter 'zzz'"):
        ev("1 ? 2 : zzz")
    with pytest.raises(ExpressionError, match="undefined parameter 'zzz'"):
        ev("0 ? zzz : 2")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("foo(1)", "unknown function 'foo'"),
        ("if(1, 2, 3)", "unknown function 'if'"),
        ("atan2(1, 2)", "unknown function 'atan2'"),
        ("x(1)", "unknown function 'x'"),
        ("agauss(1, 0.1, 3)", "unknown random function 'agauss'"),
        ("limit(1, 2)", "unknown random function 'limit'"),
        ("max(1, 5, 3)", r"function 'max' takes 2 argument\(s\), got 3"),
        ("min(1)", r"function 'min' takes 2 argument\(s\), got 1"),
        ("sin(1, 2)", r"function 'sin' takes 1 argument\(s\), got 2"),
        ("sin()", r"function 'sin' takes 1 argument\(s\), got 0"),
        ("ternary_fcn(1, 2)", r"function 'ternary_fcn' takes 3 argument\(s\), got 2"),
        ("1/0", "division by zero"),
        ("0/0", "division by zero"),
        ("x/(x-3)", "division by zero"),
        ("7%0", "division by zero"),
        ("7\\0", "division by zero"),
        ("sqrt(-1)", r"math domain error in sqrt\(-1\)"),
        ("log(0)", r"math domain error in log\(0\)"),
        ("ln(-1)", r"math domain error in ln\(-1\)"),
        ("log10(0)", r"math domain error in log10\(0\)"),
        ("acos(2)", r"math domain error in acos\(2\)"),
        ("atanh(1)", r"math domain error in atanh\(1\)"),
        ("pow(-2, 0.5)", r"math domain error in pow\(-2, 0.5\)"),
        ("0^-1", r"math domain error in 0\^-1"),
        ("exp(1000)", r"overflow in exp\(1000\)"),
        ("2*sinh(-1000)", r"overflow in sinh\(-1000\)"),
        ("1e308*10", "overflow: result is infinite"),
        ("1e308*10 - 1e308*10", "result is not a number"),
    ],
)
def test_evaluation_errors(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=f"^{message}$"):
        ev(expression)


@pytest.mark.parametrize(
    ("expression", "column", "what"),
    [
        ("", 1, "unexpected end of expression"),
        ("   ", 4, "unexpected end of expression"),
        ("1 +", 4, "unexpected end of expression"),
        ("(1", 3, "expected ')', found end of expression"),
        ("1)", 2, "unexpected ')'"),
        ("()", 2, "unexpected ')'"),
        ("2 3", 3, "unexpected number 3"),
        ("2(3)", 2, "unexpected '('"),
        ("sin 1", 5, "unexpected number 1"),
        ("1 ? 2", 6, "expected ':', found end of expression"),
        ("1 : 2", 3, "unexpected ':'"),
        ("1 ? 2 : 3 : 4", 11, "unexpected ':'"),
        ("1 & 2", 3, "unexpected character '&'"),
        ("1 | 2", 3, "unexpected character '|'"),
        ("{x}", 1, "unexpected character '{'"),
        ("1 ++ 2", 4, "unexpected '+'"),
        ("2*+3", 3, "unexpected '+'"),
        ("!-1", 2, "unexpected '-'"),
        ("max(1,)", 7, "unexpected ')'"),
        ("max(,1)", 5, "unexpected ','"),
        ("2*-x", 3, "'-' after an operator must be followed by a number"),
        ("2*-(3)", 3, "'-' after an operator must be followed by a number"),
        ("1---1", 3, "'-' after an operator must be followed by a number"),
        ("1 ? -x : 2", 5, "'-' after an operator must be followed by a number"),  # ngspice: 3
        ("--x+1", 2, "'-' after an operator must be followed by a number"),  # ngspice: -4
        ("1 ? 0 ? 7 : 8 : 9", 7, "a '?:' nested between '?' and ':' needs parentheses"),
        ("0x", 1, "hex number without digits"),
        ("0x-1", 1, "hex number without digits"),
    ],
)
def test_syntax_errors_name_column_and_token(expression: str, column: int, what: str) -> None:
    with pytest.raises(ExpressionError, match="syntax error") as info:
        ev(expression)
    assert f"at column {column} of '{expression}': {what}" in str(info.value)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    assert ev("(" * 50 + "x" + ")" * 50) == 3.0
    with pytest.raises(ExpressionError, match="nested too deeply"):
        ev("(" * 5000 + "1" + ")" * 5000)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        ev("+".join(["1"] * 20000))


# --------------------------------------------------------------------- free names, cache


def test_free_names() -> None:
    assert free_names("a*sin(b) + F(c, d^2) + X1.Y - 2k") == {"a", "b", "c", "d", "x1.y"}
    assert free_names("3*4") == set()
    assert free_names("sin") == {"sin"}  # a function name without '(' is a parameter
    with pytest.raises(ExpressionError, match="syntax error"):
        free_names("a +")


def test_cache_does_not_freeze_values() -> None:
    assert evaluate("2*x", {"x": 1.0}.__getitem__) == 2.0
    assert evaluate("2*x", {"x": 5.0}.__getitem__) == 10.0
    two = {"f": UserFunction(("t",), "t*2")}
    three = {"f": UserFunction(("t",), "t*3")}
    assert evaluate("f(1)", lookup, two) == 2.0
    assert evaluate("f(1)", lookup, three) == 3.0


def test_many_distinct_expressions() -> None:
    # (speed belongs in the benchmark, not in a timed unit test)
    texts = [f"x*{1 + i * 1e-7} + 2*a - (x > a ? 1k : 2k)" for i in range(20000)]
    total = sum(ev(t) for t in texts)
    assert total == pytest.approx(sum(3 * (1 + i * 1e-7) + 2 - 1000 for i in range(20000)))


# --------------------------------------------------------------------- ngspice itself


def _ngspice_values(tmp_path: Path, values: list[str], functions: dict, resistor: bool = False
                    ) -> list[float]:
    """Node voltages of ``v n 0 'EXPR'`` sources, or of 1 A into ``r n 0 VALUE`` resistors."""
    lines = ["* expression cases", ".param " + " ".join(f"{k}={v!r}" for k, v in PARAMS.items())]
    for name, fun in functions.items():
        lines.append(f".func {name}({', '.join(fun.params)}) {{{fun.body}}}")
    for i, value in enumerate(values):
        if resistor:
            lines += [f"i{i} 0 n{i} 1", f"r{i} n{i} 0 {value}"]
        else:
            lines += [f"v{i} n{i} 0 '{value}'", f"r{i} n{i} 0 1"]
    lines += [".control", "set numdgt=17", "op", "print all", ".endc", ".end", ""]
    (tmp_path / "cases.cir").write_text("\n".join(lines))
    run = subprocess.run(["ngspice", "-b", "cases.cir"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    found = {int(m[1]): float(m[2]) for m in re.finditer(r"^n(\d+) = (\S+)", run.stdout, re.M)}
    assert len(found) == len(values), run.stdout[-2000:] + run.stderr[-2000:]
    return [found[i] for i in range(len(values))]


@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice is not installed")
def test_expected_values_agree_with_ngspice(tmp_path: Path) -> None:
    """Every value asserted above (numbers, operators, functions) as ngspice 39 computes it."""
    plain = [c for c in OPERATOR_CASES + NUMBER_CASES + FUNCTION_CASES if "\n" not in c[0]]
    user = {k: f for k, f in FUNCS.items() if k not in ("rec", "ping", "pong", "bad", "undef")}
    for cases, functions in [(plain, {}), (USER_CASES, user)]:
        values = _ngspice_values(tmp_path, [e for e, _ in cases], functions)
        for (expression, expected), value in zip(cases, values, strict=True):
            assert value == pytest.approx(expected, rel=1e-12, abs=1e-15), expression


@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice is not installed")
def test_parse_number_agrees_with_ngspice_resistor_values(tmp_path: Path) -> None:
    cases = [(text, expected) for text, expected in PARSE_NUMBER_CASES if expected != 0.0]
    values = _ngspice_values(tmp_path, [text for text, _ in cases], {}, resistor=True)
    for (text, expected), value in zip(cases, values, strict=True):
        assert value == pytest.approx(expected, rel=1e-12), text
