"""RE2 semantics in linear time (kernels/re2.py): TensorFlow's regex ops must not backtrack."""
from __future__ import annotations

import random
import re

import numpy as np
import pytest

from smlens.errors import ExecutionError, UnsupportedError
from smlens.kernels import re2
from helpers.kernels import run

pytestmark = pytest.mark.pyodide


def S(*xs):
    return np.array([x.encode() if isinstance(x, str) else x for x in xs], dtype=object)


def spans(pattern, text, pos=0):
    return re2.compile(pattern).search(text, pos)


@pytest.mark.parametrize("pattern,text", [
    ("(a+)+$", "a" * 40 + "b"), ("(a|a)*c", "a" * 40), ("(a*)*b", "a" * 40), ("(x+x+)+y", "x" * 40),
    ("(.*a){12}", "a" * 30 + "b"), ("^(\\w+\\s?)*$", "an example sentence which ends badly!"),
])
def test_catastrophic_patterns_finish(pattern, text):
    # A backtracking engine needs ~2^40 steps for these; the Pike VM / DFA needs len(text) x len(program).
    rx = re2.compile(pattern)
    assert rx.fullmatch(text) is False
    rx.search(text)
    out = run("StaticRegexReplace", S(text), pattern=pattern, rewrite="-")
    assert out.shape == (1,)


def test_leftmost_first_and_submatches():
    assert spans("(\\w+) (\\w+)", "john smith") == [(0, 10), (0, 4), (5, 10)]
    assert spans("a|ab", "ab") == [(0, 1)]          # first alternative wins, not the longest
    assert spans("a*?", "aaa") == [(0, 0)]
    assert spans("a{2,3}?", "aaaa") == [(0, 2)]
    assert spans("(a|b)*?c", "abac") == [(0, 4), (2, 3)]
    assert spans("x(y)?", "x") == [(0, 1), None]
    assert spans("b", "abc", 2) is None and spans("c", "abc", 2) == [(2, 3)]


def test_syntax():
    assert spans("(?i)HeLLo", "say hello") == [(4, 9)]
    assert spans("(?i:k)", "\u212a") == [(0, 1)]            # KELVIN SIGN folds to k
    assert spans(r"\pL+", "123abcé4") == [(3, 7)]
    assert spans(r"\p{Lu}", "abC") == [(2, 3)]
    assert spans(r"[^\d\s]+", "12 ab 3") == [(3, 5)]
    assert spans("[[:alpha:]]+", "12ab3") == [(2, 4)]
    assert spans("[[:^digit:]]", "12a") == [(2, 3)]
    assert spans(r"\x41\x{42}\101", "ABA") == [(0, 3)]
    assert spans(r"\Qa.b\E", "axb a.b") == [(4, 7)]
    assert spans("(?m)^b$", "a\nb\nc") == [(2, 3)]
    assert spans("^b", "a\nb") is None and spans("a$", "a\n") is None
    assert spans(r"\bfoo\b", "afoo foo") == [(5, 8)]
    assert spans(r"\Bo", "o fo") == [(3, 4)]
    assert spans("a.c", "a\nc") is None and spans("(?s)a.c", "a\nc") == [(0, 3)]
    assert spans("(?U)a+", "aaa") == [(0, 1)]
    assert spans("(?P<word>\\w+)", "  hi") == [(2, 4), (2, 4)]
    assert spans("(?:ab)+", "ababx") == [(0, 4)]
    assert spans("a{,2}", "a{,2}") == [(0, 5)]            # not a repetition: literal braces
    assert spans("[]a]+", "]a]") == [(0, 3)]


def test_invalid_utf8_is_never_matched_by_dot_or_negated_classes():
    text = b"a\xffb".decode("utf-8", "surrogateescape")
    assert spans("a.b", text) is None
    assert spans("[^x]", text, 1) == [(2, 3)]
    assert spans(r"\C", text, 1) == [(1, 2)]


@pytest.mark.parametrize("bad,why", [
    ("(", "missing closing )"), ("a)", "unexpected )"), ("a(?=b)", "invalid or unsupported Perl syntax"),
    ("(?<=a)b", "invalid or unsupported Perl syntax"), (r"(a)\1", "invalid escape sequence: \\1"),
    ("[a", "missing closing ]"), ("a**", "bad repetition operator: **"), ("*a", "missing argument"),
    ("a{1001}", "bad repetition operator"), ("x{3,2}", "bad repetition operator"), ("[z-a]", "invalid character class range"),
    (r"\8", "invalid escape sequence"), (r"\xZZ", "invalid escape sequence"), ("a\\", "trailing \\"),
    ("(?P<>a)", "invalid named capture group"), ("(?<n>a)", "invalid or unsupported Perl syntax"),
])
def test_rejected_like_re2(bad, why):
    with pytest.raises(ExecutionError, match="Invalid pattern") as e:
        re2.compile(bad)
    assert why in str(e.value)


def test_unsupported_unicode_scripts_are_named():
    with pytest.raises(UnsupportedError, match="Greek"):
        re2.compile(r"\p{Greek}")


def test_program_size_is_bounded():
    with pytest.raises(ExecutionError, match="pattern too large"):
        re2.compile("((((a{100}){100}){100}){100})")


def test_kernels_use_the_linear_engine():
    out = run("RegexReplace", S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "john smith"),
              np.array(b"(a+)+$|(\\w+) (\\w+)", dtype=object), np.array(b"\\3 \\2", dtype=object))
    assert out.tolist() == [b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", b"smith john"]
    full = run("RegexFullMatch", S("a" * 50 + "b", "aaa"), np.array(b"(a|aa)+", dtype=object))
    assert full.tolist() == [False, True]


def _random_pattern(rng, depth=0) -> str:
    def atom(d):
        r = rng.random()
        if d > 2 or r < 0.4:
            return rng.choice(["a", "b", "c", "[ab]", ".", "[^a]", "\\d", "x"])
        return ("(" if r < 0.6 else "(?:") + _random_pattern(rng, d + 1) + ")"

    def piece(d):
        a = atom(d)
        q = rng.choice(["", "", "", "*", "+", "?", "{1,2}", "{2}", "*?", "+?", "??", "{0,2}?"])
        if a.startswith("(") and q and re.fullmatch(a, ""):
            q = rng.choice(["", "{2}", "?", "??"])
        return a + q
    return "|".join("".join(piece(depth) for _ in range(rng.randint(1, 3))) for _ in range(rng.choice([1, 1, 2])))


def test_agrees_with_backtracking_re_where_their_semantics_agree():
    """Python's re and RE2 both match leftmost-first with Perl's priorities; they differ only for loops whose
    body can match the empty string (RE2 never repeats an empty iteration), so such loops are left out."""
    rng = random.Random(2026)
    checked = 0
    for _ in range(600):
        p = ("^" if rng.random() < 0.2 else "") + _random_pattern(rng) + ("$" if rng.random() < 0.2 else "")
        try:
            py = re.compile(p)
        except re.error:
            continue
        rx = re2.compile(p)
        for _ in range(4):
            t = "".join(rng.choice("abc1x") for _ in range(rng.randint(0, 8)))
            m = py.search(t)
            want = None if m is None else [None if m.span(g) == (-1, -1) else m.span(g) for g in range(py.groups + 1)]
            assert rx.search(t) == want, (p, t)
            assert (rx.search(t, groups=False) or [None])[0] == (want[0] if want else None), (p, t)
            assert rx.fullmatch(t) == (py.fullmatch(t) is not None), (p, t)
            checked += 1
    assert checked > 1500
