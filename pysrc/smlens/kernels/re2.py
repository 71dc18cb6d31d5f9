"""RE2 regular expressions (the engine behind TensorFlow's regex ops), matched in linear time.

Pyodide has no re2 package, and Python's backtracking `re` takes exponential time on patterns such as
`(a+)+$` — a hostile model would hang the page. This module parses RE2's syntax into a small program
and runs it with
- a lazily built DFA (sets of program states, transitions cached per character) to decide whether and
  where a match can exist, and
- a Pike VM (NFA simulation with one thread per program position, in priority order) to find the
  leftmost-first match and its submatches, as RE2 does by default.
Both take time proportional to len(text) x len(program); nothing backtracks.

Semantics follow RE2 on UTF-8 input: text is decoded with surrogateescape, so invalid bytes become
U+DC80..U+DCFF and are never matched by `.` or negated classes. \\d \\s \\w \\b are ASCII-only;
`$` matches only at the end of text unless (?m). Backreferences, lookaround and possessive forms are
rejected with RE2's own error messages, which TensorFlow passes on as "Invalid pattern: ...".
"""
from __future__ import annotations

import bisect
import unicodedata
from functools import lru_cache

from ..errors import ExecutionError, UnsupportedError

MAX_REPEAT = 1000          # RE2's limit on {n,m} counts
MAX_PROGRAM = 200_000      # instructions; RE2 refuses patterns whose program exceeds its memory budget
MAX_DFA_STATES = 5_000     # cached DFA states before the cache is flushed (RE2 does the same)
MAX_CODEPOINT = 0x10FFFF
_BAD_LO, _BAD_HI = 0xDC80, 0xDCFF   # invalid UTF-8 bytes after surrogateescape decoding


def _invalid(pattern: str, why: str) -> ExecutionError:
    return ExecutionError(f"Invalid pattern: {pattern}, error: {why}")


# ---------------------------------------------------------------- character classes

class CharClass:
    """A set of code points: sorted, merged ranges plus optional Unicode-category tests."""
    __slots__ = ("ranges", "starts", "categories", "negated", "_memo")

    def __init__(self, ranges=(), categories=(), negated=False):
        self.ranges = _merge(ranges)
        self.starts = [lo for lo, _ in self.ranges]
        self.categories = tuple(categories)   # (prefix, wanted): e.g. ("L", True) = any letter
        self.negated = negated
        self._memo: dict[str, bool] = {}

    def __contains__(self, ch: str) -> bool:
        r = self._memo.get(ch)
        if r is None:
            r = self._test(ch)
            if len(self._memo) < 4096:
                self._memo[ch] = r
        return r

    def _test(self, ch: str) -> bool:
        cp = ord(ch)
        i = bisect.bisect_right(self.starts, cp) - 1
        hit = i >= 0 and self.ranges[i][1] >= cp
        if not hit and self.categories:
            cat = unicodedata.category(ch)
            hit = any(cat.startswith(prefix) == wanted for prefix, wanted in self.categories)
        if self.negated:
            return not hit and not _BAD_LO <= cp <= _BAD_HI
        return hit


def _merge(ranges) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def _fold_ranges(ranges) -> list[tuple[int, int]]:
    """Add the other case of every letter in the ranges (simple case folding)."""
    out = list(ranges)
    for lo, hi in ranges:
        if hi - lo > 0x3000:   # big ranges: fold the scripts that have case
            lo2, hi2 = max(lo, 0), min(hi, 0x1EFFF)
            span = range(lo2, hi2 + 1) if hi2 - lo2 < 0x20000 else range(0)
        else:
            span = range(lo, hi + 1)
        for cp in span:
            for other in _case_variants(chr(cp)):
                out.append((ord(other), ord(other)))
    return out


@lru_cache(maxsize=1)
def _fold_orbits() -> dict[str, frozenset]:
    """Characters that are equal under simple case folding, by character (e.g. k, K and KELVIN SIGN)."""
    groups: dict[str, set] = {}
    for cp in range(0x1E944):
        ch = chr(cp)
        low = ch.lower()
        if len(low) == 1 and (low != ch or ch.upper() != ch):
            groups.setdefault(low, {low}).add(ch)
    return {ch: frozenset(g) for g in groups.values() for ch in g}


def _case_variants(ch: str) -> tuple[str, ...]:
    return tuple(_fold_orbits().get(ch, (ch,)))


_WORD = [(48, 57), (65, 90), (95, 95), (97, 122)]
_PERL = {
    "d": [(48, 57)],
    "s": [(9, 10), (12, 13), (32, 32)],
    "w": _WORD,
}
_POSIX = {
    "alnum": [(48, 57), (65, 90), (97, 122)], "alpha": [(65, 90), (97, 122)], "ascii": [(0, 127)],
    "blank": [(9, 9), (32, 32)], "cntrl": [(0, 31), (127, 127)], "digit": [(48, 57)], "graph": [(33, 126)],
    "lower": [(97, 122)], "print": [(32, 126)],
    "punct": [(33, 47), (58, 64), (91, 96), (123, 126)], "space": [(9, 13), (32, 32)], "upper": [(65, 90)],
    "word": _WORD, "xdigit": [(48, 57), (65, 70), (97, 102)],
}
_UNICODE_CATEGORIES = {"L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No",
                       "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So",
                       "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Cs", "Co"}


def _negate(ranges) -> list[tuple[int, int]]:
    out, prev = [], 0
    for lo, hi in _merge(ranges):
        if lo > prev:
            out.append((prev, lo - 1))
        prev = hi + 1
    if prev <= MAX_CODEPOINT:
        out.append((prev, MAX_CODEPOINT))
    return _minus_bad(out)


def _minus_bad(ranges) -> list[tuple[int, int]]:
    out = []
    for lo, hi in ranges:
        if hi < _BAD_LO or lo > _BAD_HI:
            out.append((lo, hi))
            continue
        if lo < _BAD_LO:
            out.append((lo, _BAD_LO - 1))
        if hi > _BAD_HI:
            out.append((_BAD_HI + 1, hi))
    return out


# ---------------------------------------------------------------- parser

class _Flags:
    __slots__ = ("i", "m", "s", "U")

    def __init__(self, i=False, m=False, s=False, U=False):
        self.i, self.m, self.s, self.U = i, m, s, U

    def copy(self) -> "_Flags":
        return _Flags(self.i, self.m, self.s, self.U)


class _Parser:
    """Recursive-descent parser producing tuples:
    ('cls', CharClass) | ('cat', [..]) | ('alt', [..]) | ('rep', node, min, max|None, greedy)
    | ('cap', n, node) | ('assert', kind) | ('empty',)."""

    def __init__(self, pattern: str):
        self.p = pattern
        self.i = 0
        self.ncap = 0
        self.depth = 0
        self.last_rep: tuple[int, int, str] | None = None   # (start, item count, text) of the last operator

    def error(self, why: str) -> ExecutionError:
        return _invalid(self.p, why)

    def parse(self):
        node = self.alternation(_Flags())
        if self.i < len(self.p):
            raise self.error(f"unexpected ): {self.p}" if self.p[self.i] == ")" else "trailing characters")
        return node

    def alternation(self, flags: _Flags):
        self.depth += 1
        if self.depth > 1000:
            raise self.error("expression nests too deeply")
        branches = [self.concat(flags)]
        while self.i < len(self.p) and self.p[self.i] == "|":
            self.i += 1
            branches.append(self.concat(flags))
        self.depth -= 1
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def concat(self, flags: _Flags):
        items: list = []
        p = self.p
        while self.i < len(p) and p[self.i] not in "|)":
            c = p[self.i]
            if c in "*+?":
                self.repeat(items, c, flags)
                continue
            if c == "{":
                bounds = self.braces()
                if bounds is not None:
                    self.repeat(items, bounds, flags)
                    continue
            if c == "(" and p.startswith("(?", self.i) and self.flag_group(flags):
                continue  # (?flags) changes the flags for the rest of this group
            items.append(self.atom(flags))
        return items[0] if len(items) == 1 else ("cat", items) if items else ("empty",)

    def braces(self):
        """{n}, {n,}, {n,m} at self.i -> (n, m|None) and advance; None if not a repetition (a literal {)."""
        p, j = self.p, self.i + 1
        k = j
        while k < len(p) and p[k].isdigit() and p[k].isascii():
            k += 1
        if k == j:
            return None
        lo = int(p[j:k])
        hi: int | None = lo
        if k < len(p) and p[k] == ",":
            k += 1
            m = k
            while k < len(p) and p[k].isdigit() and p[k].isascii():
                k += 1
            hi = int(p[m:k]) if k > m else None
        if k >= len(p) or p[k] != "}":
            return None
        if lo > MAX_REPEAT or (hi is not None and (hi > MAX_REPEAT or hi < lo)):
            raise self.error(f"bad repetition operator: {p[self.i:k + 1]}")
        self.i = k  # at the '}' (repeat() steps over it)
        return lo, hi

    def repeat(self, items: list, op, flags: _Flags) -> None:
        start = self.i
        if isinstance(op, tuple):
            lo, hi = op
        else:
            lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[op]
        self.i += 1
        greedy = True
        if self.i < len(self.p) and self.p[self.i] == "?":
            greedy = False
            self.i += 1
        if flags.U:
            greedy = not greedy
        text = self.p[start:self.i]
        if not items:
            raise self.error(f"missing argument to repetition operator: {text}")
        if self.last_rep is not None and self.last_rep[1] == len(items) and self.last_rep[0] == start - \
                len(self.last_rep[2]):
            raise self.error(f"bad repetition operator: {self.last_rep[2]}{text}")
        items[-1] = ("rep", items[-1], lo, hi, greedy)
        self.last_rep = (start, len(items), text)

    def flag_group(self, flags: _Flags) -> bool:
        """Parse (?flags) or (?flags: at self.i. (?flags) updates `flags` and returns True; (?flags:...)
        and other groups return False (atom() parses them)."""
        p = self.p
        j = self.i + 2
        on = True
        seen = False
        new = flags.copy()
        while j < len(p):
            c = p[j]
            if c in "imsU":
                setattr(new, c, on)
                seen = True
            elif c == "-" and on:
                on = False
                seen = False
            elif c == ")":
                if not seen and (not on or j == self.i + 2):
                    raise self.error(f"missing argument to repetition operator: {p[self.i:j + 1]}"
                                     if j == self.i + 2 else f"invalid or unsupported Perl syntax: "
                                     f"{p[self.i:j + 1]}")
                flags.i, flags.m, flags.s, flags.U = new.i, new.m, new.s, new.U
                self.i = j + 1
                return True
            elif c == ":":
                return False
            else:
                return False
            j += 1
        raise self.error(f"missing closing ): {p}")

    def group(self, flags: _Flags):
        p = self.p
        self.i += 1
        inner_flags = flags.copy()
        cap = None
        if p.startswith("?", self.i):
            if p.startswith("?P<", self.i):
                end = p.find(">", self.i)
                name = p[self.i + 3:end] if end >= 0 else ""
                if end < 0 or not name or not all(ch.isalnum() or ch == "_" for ch in name):
                    raise self.error(f"invalid named capture group: {p[self.i - 1:end + 1 if end >= 0 else None]}")
                self.i = end + 1
                self.ncap += 1
                cap = self.ncap
            elif p.startswith("?P=", self.i) or p.startswith("?P>", self.i):
                raise self.error(f"invalid named capture group: {p[self.i - 1:]}")
            else:
                j = self.i + 1
                on = True
                while j < len(p) and p[j] != ":":
                    c = p[j]
                    if c in "imsU":
                        setattr(inner_flags, c, on)
                    elif c == "-" and on:
                        on = False
                    else:
                        end = p.find(")", self.i)
                        raise self.error("invalid or unsupported Perl syntax: "
                                         f"{p[self.i - 1:(end + 1) if end >= 0 else j + 1]}"[:80])
                    j += 1
                if j >= len(p):
                    raise self.error(f"missing closing ): {p}")
                self.i = j + 1
        else:
            self.ncap += 1
            cap = self.ncap
        node = self.alternation(inner_flags)
        if self.i >= len(p) or p[self.i] != ")":
            raise self.error(f"missing closing ): {p}")
        self.i += 1
        return ("cap", cap, node) if cap is not None else node

    def atom(self, flags: _Flags):
        p = self.p
        c = p[self.i]
        if c == "(":
            return self.group(flags)
        if c == "[":
            return ("cls", self.char_class(flags))
        if c == ".":
            self.i += 1
            ranges = [(0, MAX_CODEPOINT)] if flags.s else [(0, 9), (11, MAX_CODEPOINT)]
            return ("cls", CharClass(_minus_bad(ranges)))
        if c == "^":
            self.i += 1
            return ("assert", "bol" if flags.m else "bot")
        if c == "$":
            self.i += 1
            return ("assert", "eol" if flags.m else "eot")
        if c == "\\":
            return self.escape(flags)
        self.i += 1
        return ("cls", _literal(c, flags))

    def escape(self, flags: _Flags):
        p = self.p
        if self.i + 1 >= len(p):
            raise self.error("trailing \\")
        e = p[self.i + 1]
        if e in "AzbB":
            self.i += 2
            return ("assert", {"A": "bot", "z": "eot", "b": "word", "B": "notword"}[e])
        if e == "Q":
            end = p.find("\\E", self.i + 2)
            end = len(p) if end < 0 else end
            text = p[self.i + 2:end]
            self.i = min(end + 2, len(p))
            return ("cat", [("cls", _literal(ch, flags)) for ch in text]) if text else ("empty",)
        if e == "E":
            self.i += 2
            return ("empty",)
        if e == "C":
            self.i += 2
            return ("cls", CharClass([(0, MAX_CODEPOINT)]))
        if e == "Z":
            raise self.error("invalid escape sequence: \\Z")
        cls = self.class_escape(flags)
        return ("cls", cls)

    def class_escape(self, flags: _Flags) -> CharClass:
        """An escape that stands for a set of characters (\\d, \\pL, \\x41, \\n, \\.) at self.i."""
        p = self.p
        e = p[self.i + 1]
        if e in "dswDSW":
            self.i += 2
            ranges = _PERL[e.lower()]
            return CharClass(_negate(ranges)) if e.isupper() else CharClass(ranges)
        if e in "pP":
            return self.unicode_class(e == "P")
        self.i, cp = self.escape_char(self.i)
        return _literal(chr(cp), flags)

    def unicode_class(self, negated: bool) -> CharClass:
        p = self.p
        j = self.i + 2
        if j < len(p) and p[j] == "{":
            end = p.find("}", j)
            if end < 0:
                raise self.error(f"invalid character class range: {p[self.i:]}")
            name = p[j + 1:end]
            self.i = end + 1
        elif j < len(p):
            name = p[j]
            self.i = j + 1
        else:
            raise self.error("invalid character class range: " + p[self.i:])
        if name.startswith("^"):
            negated, name = not negated, name[1:]
        if name == "Any":
            cls = CharClass([(0, MAX_CODEPOINT)])
        elif name in _UNICODE_CATEGORIES:
            cls = CharClass(categories=[(name, True)])
        else:
            raise UnsupportedError(f"regex {p!r}: Unicode class \\p{{{name}}} is not supported "
                                   "(general categories such as \\pL or \\p{Lu} are)")
        cls.negated = negated
        return cls

    def escape_char(self, i: int) -> tuple[int, int]:
        """A single-character escape at i (the backslash): (position after it, code point)."""
        p = self.p
        e = p[i + 1]
        simple = {"a": 7, "f": 12, "t": 9, "n": 10, "r": 13, "v": 11}
        if e in simple:
            return i + 2, simple[e]
        if e == "x":
            if i + 2 < len(p) and p[i + 2] == "{":
                end = p.find("}", i + 3)
                digits = p[i + 3:end] if end >= 0 else ""
                if end < 0 or not digits or len(digits) > 8 or not _is_hex(digits) or int(digits, 16) > MAX_CODEPOINT:
                    raise self.error(f"invalid escape sequence: {p[i:(end + 1) if end >= 0 else None]}")
                return end + 1, int(digits, 16)
            digits = p[i + 2:i + 4]
            if len(digits) != 2 or not _is_hex(digits):
                raise self.error(f"invalid escape sequence: {p[i:i + 4]}")
            return i + 4, int(digits, 16)
        if e in "01234567":
            j = i + 1
            while j < len(p) and j < i + 4 and p[j] in "01234567":
                j += 1
            if e != "0" and j == i + 2:   # a lone \1..\7 is a backreference: RE2 has none
                raise self.error(f"invalid escape sequence: \\{e}")
            return j, int(p[i + 1:j], 8)
        if e in "89":
            raise self.error(f"invalid escape sequence: \\{e}")
        if e.isascii() and not e.isalnum():
            return i + 2, ord(e)
        if not e.isascii():
            raise self.error(f"invalid escape sequence: \\{e}")
        raise self.error(f"invalid escape sequence: \\{e}")

    def char_class(self, flags: _Flags) -> CharClass:
        p = self.p
        start = self.i
        self.i += 1
        negated = self.i < len(p) and p[self.i] == "^"
        if negated:
            self.i += 1
        ranges: list[tuple[int, int]] = []
        categories: list = []
        first = True
        while True:
            if self.i >= len(p):
                raise self.error(f"missing closing ]: {p[start:]}")
            c = p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c == "[" and p.startswith("[:", self.i):
                end = p.find(":]", self.i + 2)
                name = p[self.i + 2:end] if end >= 0 else None
                neg = name is not None and name.startswith("^")
                key = name[1:] if neg else name
                if key in _POSIX:
                    ranges += _negate(_POSIX[key]) if neg else _POSIX[key]
                    self.i = end + 2
                    continue
                if end >= 0 and name is not None and ("]" not in name):
                    raise self.error(f"invalid character class range: [:{name}:]")
            if c == "\\" and self.i + 1 < len(p) and p[self.i + 1] in "dswDSWpP":
                sub = self.class_escape(flags)
                if sub.categories:
                    if sub.negated:
                        raise UnsupportedError(f"regex {p!r}: negated Unicode classes inside [...] are not "
                                               "supported")
                    categories += sub.categories
                else:
                    ranges += sub.ranges
                continue
            lo_pos = self.i
            lo = self.class_char()
            if self.i + 1 < len(p) and p[self.i] == "-" and p[self.i + 1] != "]":
                self.i += 1
                hi = self.class_char()
                if hi < lo:
                    raise self.error(f"invalid character class range: {p[lo_pos:self.i]}")
                ranges.append((lo, hi))
            else:
                ranges.append((lo, lo))
        if flags.i:
            ranges = _fold_ranges(ranges)
        if negated:
            if categories:
                return CharClass(ranges, categories, negated=True)
            return CharClass(_negate(ranges))
        return CharClass(ranges, categories)

    def class_char(self) -> int:
        p = self.p
        if self.i >= len(p):
            raise self.error(f"missing closing ]: {p}")
        if p[self.i] == "\\":
            if self.i + 1 >= len(p):
                raise self.error("trailing \\")
            self.i, cp = self.escape_char(self.i)
            return cp
        cp = ord(p[self.i])
        self.i += 1
        return cp


def _is_hex(s: str) -> bool:
    return all(ch in "0123456789abcdefABCDEF" for ch in s)


def _literal(ch: str, flags: _Flags) -> CharClass:
    if flags.i:
        return CharClass([(ord(v), ord(v)) for v in _case_variants(ch)])
    return CharClass([(ord(ch), ord(ch))])


# ---------------------------------------------------------------- compiler (AST -> program)

CHAR, SPLIT, JMP, SAVE, ASSERT, MATCH = range(6)


class _Compiler:
    def __init__(self, pattern: str):
        self.pattern = pattern
        self.prog: list[list] = []

    def emit(self, *ins) -> int:
        if len(self.prog) >= MAX_PROGRAM:
            raise _invalid(self.pattern, "pattern too large - compile failed")
        self.prog.append(list(ins))
        return len(self.prog) - 1

    def node(self, n) -> None:
        kind = n[0]
        if kind == "cls":
            self.emit(CHAR, n[1])
        elif kind == "cat":
            for x in n[1]:
                self.node(x)
        elif kind == "empty":
            pass
        elif kind == "assert":
            self.emit(ASSERT, n[1])
        elif kind == "cap":
            self.emit(SAVE, 2 * n[1])
            self.node(n[2])
            self.emit(SAVE, 2 * n[1] + 1)
        elif kind == "alt":
            jumps = []
            branches = n[1]
            for b in branches[:-1]:
                split = self.emit(SPLIT, 0, 0)
                self.prog[split][1] = len(self.prog)
                self.node(b)
                jumps.append(self.emit(JMP, 0))
                self.prog[split][2] = len(self.prog)
            self.node(branches[-1])
            for j in jumps:
                self.prog[j][1] = len(self.prog)
        elif kind == "rep":
            self.repeat(n[1], n[2], n[3], n[4])
        else:  # pragma: no cover - parser produces only the kinds above
            raise AssertionError(kind)

    def repeat(self, body, lo: int, hi: int | None, greedy: bool) -> None:
        for _ in range(lo):
            self.node(body)
        if hi is None:
            split = self.emit(SPLIT, 0, 0)
            start = len(self.prog)
            self.node(body)
            self.emit(JMP, split)
            self._branch(split, start, len(self.prog), greedy)
            return
        pending = []
        for _ in range(hi - lo):
            split = self.emit(SPLIT, 0, 0)
            start = len(self.prog)
            self.node(body)
            pending.append((split, start))
        end = len(self.prog)
        for split, start in pending:
            self._branch(split, start, end, greedy)

    def _branch(self, split: int, body: int, out: int, greedy: bool) -> None:
        self.prog[split][1], self.prog[split][2] = (body, out) if greedy else (out, body)


# ---------------------------------------------------------------- matching

def _is_word(ch: str | None) -> bool:
    return ch is not None and (ch == "_" or ("0" <= ch <= "9") or ("a" <= ch <= "z") or ("A" <= ch <= "Z"))


def _assert_ok(kind: str, text: str, i: int) -> bool:
    n = len(text)
    if kind == "bot":
        return i == 0
    if kind == "eot":
        return i == n
    if kind == "bol":
        return i == 0 or text[i - 1] == "\n"
    if kind == "eol":
        return i == n or text[i] == "\n"
    before = _is_word(text[i - 1]) if i > 0 else False
    after = _is_word(text[i]) if i < n else False
    return (before != after) if kind == "word" else (before == after)


class Regex:
    """A compiled RE2 pattern. Text is a str (UTF-8 decoded with surrogateescape)."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        parser = _Parser(pattern)
        ast = parser.parse()
        self.groups = parser.ncap
        c = _Compiler(pattern)
        c.emit(SAVE, 0)
        c.node(ast)
        c.emit(SAVE, 1)
        c.emit(MATCH)
        self.prog = c.prog
        self.dfa_ok = all(ins[0] != ASSERT or ins[1] in ("bot", "eot") for ins in self.prog)
        self.rev_prog: list | None = None
        if self.dfa_ok:
            rc = _Compiler(pattern)
            rc.node(_reverse(ast))
            rc.emit(MATCH)
            self.rev_prog = rc.prog
        self._rev_dfa: dict = {}
        self._rev_closures: dict = {}
        self._first_dfa: dict = {}
        self._first_closures: dict = {}
        self._starts_for: tuple[str, bytearray] | None = None
        self._dfa: dict = {}
        self._closure_cache: dict = {}

    # ---- Pike VM: leftmost-first match with submatches

    def search(self, text: str, pos: int = 0, anchored_end: bool = False, anchored_start: bool = False,
               groups: bool = True):
        """Spans [(start, end) or None per group 0..groups] of the leftmost-first match at or after
        `pos`, or None. anchored_start/anchored_end: the match must start at `pos` / end at len(text).
        groups=False: only the overall span is needed (the others are None)."""
        if self.dfa_ok and not anchored_start and not anchored_end:
            return self._search_dfa(text, pos, groups)
        if not anchored_start and self.dfa_ok and not self._may_match(text, pos, anchored_end):
            return None
        return self._pike(text, pos, anchored_end, anchored_start)

    def _search_dfa(self, text: str, pos: int, groups: bool):
        """Where matches may start comes from one backward DFA pass over the text (cached for repeated
        searches of the same text); the leftmost such start then gets its end from a forward DFA that
        keeps threads in priority order (leftmost-first), and submatches from the Pike VM run only over
        the match."""
        starts = self._match_starts(text)
        start = starts.find(1, pos)
        if start < 0:
            return None
        if groups and self.groups:
            return self._pike(text, start, False, True)
        end = self._first_match_end(text, start)
        return [(start, end)] + [None] * self.groups

    def _match_starts(self, text: str) -> bytearray:
        cached = self._starts_for
        if cached is not None and cached[0] is text:
            return cached[1]
        prog = self.rev_prog
        n = len(text)
        out = bytearray(n + 1)
        cache = self._rev_closures
        dfa = self._rev_dfa
        if len(dfa) > MAX_DFA_STATES:
            dfa.clear()
        state = _closure(prog, cache, [0], True, n == 0)
        if _accepts(prog, state):
            out[n] = 1
        for i in range(n - 1, -1, -1):
            ch = text[i]
            key = (state, i == 0)
            row = dfa.get(key)
            if row is None:
                row = dfa[key] = {}
            nxt = row.get(ch)
            if nxt is None:
                moved = [pc + 1 for pc in state if prog[pc][0] == CHAR and ch in prog[pc][1]]
                nxt = row[ch] = _closure(prog, cache, moved + [0], False, i == 0)
            state = nxt
            if _accepts(prog, state):
                out[i] = 1
        self._starts_for = (text, out)
        return out

    def _first_match_end(self, text: str, start: int) -> int:
        """End of the leftmost-first match that starts at `start` (one is known to exist)."""
        prog = self.prog
        n = len(text)
        cache = self._first_closures
        dfa = self._first_dfa
        if len(dfa) > MAX_DFA_STATES:
            dfa.clear()
        state = _ordered_closure(prog, cache, (0,), start == 0, start == n)
        end = -1
        i = start
        while True:
            live = []
            for pc in state:
                if prog[pc][0] == MATCH:
                    end = i
                    break   # lower-priority threads cannot win any more
                live.append(pc)
            if not live or i >= n:
                break
            ch = text[i]
            key = (tuple(live), i + 1 == n)
            row = dfa.get(key)
            if row is None:
                row = dfa[key] = {}
            nxt = row.get(ch)
            if nxt is None:
                moved = tuple(pc + 1 for pc in live if prog[pc][0] == CHAR and ch in prog[pc][1])
                nxt = row[ch] = _ordered_closure(prog, cache, moved, False, i + 1 == n)
            state = nxt
            i += 1
        if end < 0:  # pragma: no cover - the backward pass said a match starts here
            raise AssertionError("re2: forward and backward automata disagree")
        return end

    def _pike(self, text: str, pos: int, anchored_end: bool, anchored_start: bool):
        prog = self.prog
        n = len(text)
        nslots = 2 * (self.groups + 1)
        clist: list = []
        cseen: set = set()
        matched = None
        i = pos
        while True:
            if matched is None and (i == pos or not anchored_start):
                self._add(clist, cseen, 0, [None] * nslots, text, i)
            if not clist and (matched is not None or anchored_start or i >= n):
                break
            ch = text[i] if i < n else None
            nlist: list = []
            seen: set = set()
            for pc, caps in clist:
                ins = prog[pc]
                if ins[0] == MATCH:
                    if anchored_end and i != n:
                        continue
                    matched = caps
                    break  # lower-priority threads are cut: leftmost-first
                if ch is not None and ch in ins[1]:
                    self._add(nlist, seen, pc + 1, caps, text, i + 1)
            clist, cseen = nlist, seen
            if i >= n:
                break
            i += 1
        if matched is None:
            return None
        return [(matched[2 * g], matched[2 * g + 1]) if matched[2 * g] is not None else None
                for g in range(self.groups + 1)]

    def _add(self, out: list, seen: set, pc: int, caps: list, text: str, i: int) -> None:
        """Follow empty transitions from pc in priority order, appending CHAR/MATCH threads to out."""
        prog = self.prog
        stack = [(pc, caps)]
        while stack:
            pc, caps = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            ins = prog[pc]
            op = ins[0]
            if op == JMP:
                stack.append((ins[1], caps))
            elif op == SPLIT:
                stack.append((ins[2], caps))
                stack.append((ins[1], caps))
            elif op == SAVE:
                caps = caps[:]
                caps[ins[1]] = i
                stack.append((pc + 1, caps))
            elif op == ASSERT:
                if _assert_ok(ins[1], text, i):
                    stack.append((pc + 1, caps))
            else:
                out.append((pc, caps))

    # ---- lazy DFA: whether a match exists (programs whose only assertions are ^ and $ of the text)

    def _run_dfa(self, text: str, pos: int, restart: bool, stop_at_match: bool) -> bool:
        """restart: a match may begin anywhere (unanchored search); stop_at_match: any match counts,
        else only one ending at the end of text."""
        prog = self.prog
        n = len(text)
        state = _closure(prog, self._closure_cache, [0], pos == 0, pos == n)
        dfa = self._dfa
        if len(dfa) > MAX_DFA_STATES:
            dfa.clear()
        tag = (restart, stop_at_match)
        for i in range(pos, n):
            if stop_at_match and self._accepts(state):
                return True
            if not state and not restart:
                return False
            ch = text[i]
            last = i + 1 == n
            key = (tag, state, last)
            row = dfa.get(key)
            if row is None:
                row = dfa[key] = {}
            nxt = row.get(ch)
            if nxt is None:
                moved = [pc + 1 for pc in state if prog[pc][0] == CHAR and ch in prog[pc][1]]
                nxt = _closure(prog, self._closure_cache, moved + [0] if restart else moved, False, last)
                row[ch] = nxt
            state = nxt
        return self._accepts(state)

    def _accepts(self, state: frozenset) -> bool:
        prog = self.prog
        return any(prog[pc][0] == MATCH for pc in state)

    def _may_match(self, text: str, pos: int, anchored_end: bool) -> bool:
        return self._run_dfa(text, pos, True, not anchored_end)

    # ---- the operations TensorFlow's kernels need

    def fullmatch(self, text: str) -> bool:
        if self.dfa_ok:
            return self._run_dfa(text, 0, False, False)
        return self.search(text, 0, anchored_end=True, anchored_start=True) is not None


def _closure(prog: list, cache: dict, pcs, at_bot: bool, at_eot: bool) -> frozenset:
    """Program positions reachable from pcs without consuming text (CHAR and MATCH only), as a set."""
    key = (frozenset(pcs), at_bot, at_eot)
    got = cache.get(key)
    if got is not None:
        return got
    out = frozenset(pc for pc in _ordered_closure(prog, {}, tuple(pcs), at_bot, at_eot))
    if len(cache) > MAX_DFA_STATES:
        cache.clear()
    cache[key] = out
    return out


def _ordered_closure(prog: list, cache: dict, pcs: tuple, at_bot: bool, at_eot: bool) -> tuple:
    """Like _closure, in thread priority order (the order a backtracking engine would try them)."""
    key = (pcs, at_bot, at_eot)
    got = cache.get(key)
    if got is not None:
        return got
    out = []
    seen = set()
    stack = list(reversed(pcs))
    while stack:
        pc = stack.pop()
        if pc in seen:
            continue
        seen.add(pc)
        ins = prog[pc]
        op = ins[0]
        if op == JMP:
            stack.append(ins[1])
        elif op == SPLIT:
            stack.append(ins[2])
            stack.append(ins[1])
        elif op == SAVE:
            stack.append(pc + 1)
        elif op == ASSERT:
            if at_bot if ins[1] == "bot" else at_eot:
                stack.append(pc + 1)
        else:
            out.append(pc)
    result = tuple(out)
    if len(cache) > MAX_DFA_STATES:
        cache.clear()
    cache[key] = result
    return result


def _accepts(prog: list, state: frozenset) -> bool:
    return len(prog) - 1 in state   # MATCH is the last instruction of every program, and the only one


def _reverse(node):
    """The AST of the reversed language (captures dropped; ^ and $ of the text swapped)."""
    kind = node[0]
    if kind == "cat":
        return ("cat", [_reverse(x) for x in reversed(node[1])])
    if kind == "alt":
        return ("alt", [_reverse(x) for x in node[1]])
    if kind == "rep":
        return ("rep", _reverse(node[1]), node[2], node[3], node[4])
    if kind == "cap":
        return _reverse(node[2])
    if kind == "assert":
        return ("assert", {"bot": "eot", "eot": "bot"}.get(node[1], node[1]))
    return node


@lru_cache(maxsize=256)
def compile(pattern: str) -> Regex:  # noqa: A001 - mirrors re.compile
    """The compiled pattern; ExecutionError 'Invalid pattern: ...' like TensorFlow for RE2-invalid ones."""
    return Regex(pattern)
