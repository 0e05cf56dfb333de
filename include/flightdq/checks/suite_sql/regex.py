"""Regular expressions as GX's pandas engine reads them (Python `re`, a search), re-spelled so that
Trino (Java/Joni), DuckDB (RE2) and Python search them alike; see the package docstring for where
the three disagree and which subset is accepted."""

from __future__ import annotations

import re
import string
import warnings
from typing import Any

_REPEAT_MAX = 1000  # RE2's limit
_SPECIAL = set(r"\.^$*+?()[]{}|")  # escaped when emitted outside a class
_CLASS_SPECIAL = set("\\[]^-&")  # escaped when emitted inside a class
_CONTROL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")


def portable_regex(pattern: str) -> str:
    """`pattern` (Python `re` syntax, as GX's pandas engine reads it) re-spelled so that Trino
    (Java/Joni), DuckDB (RE2) and Python all search it alike; ValueError for anything outside the
    supported subset."""
    try:
        with warnings.catch_warnings():  # Python's warning about a nested set: refused below anyway
            warnings.simplefilter("ignore", FutureWarning)
            re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None
    parser = _RegexParser(pattern)
    tree = parser.alternation()
    if parser.pos != len(pattern):
        raise ValueError(f"unbalanced ')' at position {parser.pos}")
    return _emit_alternation(tree, tail=True)


# Nodes: ("lit", char) ("any",) ("class", negated, [(lo, hi)]) ("begin",) ("end",) ("end_string",)
# ("group", alternation) ("repeat", node, min, max or None, lazy); an alternation is a list of
# sequences, a sequence a list of nodes.
_Node = tuple[Any, ...]


class _RegexParser:
    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def refuse(self, what: str) -> ValueError:
        return ValueError(f"{what} (position {self.pos}) is not supported")

    def alternation(self) -> list[list[_Node]]:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        return branches

    def sequence(self) -> list[_Node]:
        nodes: list[_Node] = []
        while self.peek() and self.peek() not in "|)":
            atom = self.atom()
            quantified = self.quantifier(atom)
            nodes.append(quantified)
        return nodes

    def atom(self) -> _Node:
        char = self.peek()
        self.pos += 1
        if char == "(":
            if self.peek() == "?":
                if self.peek(1) != ":":
                    raise self.refuse("a group with (? other than (?: (flags, lookaround, names)")
                self.pos += 2
            inner = self.alternation()
            if self.peek() != ")":
                raise self.refuse("an unclosed group")
            self.pos += 1
            return ("group", inner)
        if char == "[":
            return self.char_class()
        if char == ".":
            return ("any",)
        if char == "^":
            return ("begin",)
        if char == "$":
            return ("end",)
        if char == "\\":
            return self.escape(in_class=False)
        if char in "*+?":
            raise self.refuse(f"a repeat {char!r} with nothing to repeat")
        if char == "{":
            raise self.refuse("an unescaped '{' that is not a repeat count")
        return ("lit", char)

    def escape(self, *, in_class: bool) -> _Node:
        char = self.peek()
        self.pos += 1
        if char in string.punctuation:
            return ("lit", char)
        if char in _CONTROL_ESCAPES:
            return ("lit", _CONTROL_ESCAPES[char])
        if char in _HEX_ESCAPES:
            digits = self.text[self.pos : self.pos + _HEX_ESCAPES[char]]
            self.pos += len(digits)
            return ("lit", chr(int(digits, 16)))
        if not in_class and char == "A":
            return ("begin",)
        if not in_class and char == "Z":
            return ("end_string",)
        raise self.refuse(f"the escape \\{char} (use an explicit class such as [0-9] for \\d)")

    def char_class(self) -> _Node:
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        if self.peek() in ("]", "["):
            raise self.refuse(f"an unescaped {self.peek()!r} opening a character class")
        ranges: list[tuple[str, str]] = []
        first = True
        while self.peek() != "]":
            if not self.peek():
                raise self.refuse("an unclosed character class")
            if self.peek() == "-" and not first and self.peek(1) != "]":
                raise self.refuse("an unescaped '-' inside a character class")
            low = self.class_char()
            high = low
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                high = self.class_char()
                if ord(high) < ord(low):
                    raise self.refuse("a character range running backwards")
            ranges.append((low, high))
            first = False
        self.pos += 1
        return ("class", negated, ranges)

    def class_char(self) -> str:
        char = self.peek()
        self.pos += 1
        if char == "[":
            raise self.refuse("an unescaped '[' inside a character class")
        if char == "\\":
            node = self.escape(in_class=True)
            return node[1]
        return char

    def quantifier(self, atom: _Node) -> _Node:
        char = self.peek()
        if char in ("*", "+", "?"):
            self.pos += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        elif char == "{":
            match = _QUANTIFIER.match(self.text, self.pos)
            if not match:
                raise self.refuse("an unescaped '{' that is not a repeat count")
            self.pos = match.end()
            low = int(match.group(1))
            high = low if match.group(2) is None else (int(match.group(3)) if match.group(3) else None)
            if max(low, high or 0) > _REPEAT_MAX or (high is not None and high < low):
                raise self.refuse(f"the repeat count {match.group(0)}")
        else:
            return atom
        if atom[0] in ("begin", "end", "end_string"):
            raise self.refuse("a repeated anchor")
        lazy = self.peek() == "?"
        if lazy:
            self.pos += 1
        if self.peek() and self.peek() in "*+?{":
            raise self.refuse("a repeat of a repeat (possessive or nested)")
        return ("repeat", atom, low, high, lazy)


def _emit_alternation(branches: list[list[_Node]], *, tail: bool) -> str:
    return "|".join(_emit_sequence(branch, tail=tail) for branch in branches)


def _emit_sequence(nodes: list[_Node], *, tail: bool) -> str:
    return "".join(_emit(node, tail=tail and i == len(nodes) - 1) for i, node in enumerate(nodes))


def _emit(node: _Node, *, tail: bool) -> str:
    kind = node[0]
    if kind == "lit":
        return _emit_char(node[1], _SPECIAL)
    if kind == "any":
        return r"[^\n]"
    if kind == "begin":
        return r"\A"
    if kind == "end_string":
        return r"\z"
    if kind == "end":
        if not tail:
            raise ValueError("'$' is only supported at the very end of the pattern (or of a branch)")
        return r"\n?\z"
    if kind == "group":
        return "(?:" + _emit_alternation(node[1], tail=tail) + ")"
    if kind == "class":
        _, negated, ranges = node
        body = "".join(
            _emit_char(low, _CLASS_SPECIAL) + ("" if low == high else "-" + _emit_char(high, _CLASS_SPECIAL))
            for low, high in ranges
        )
        return "[" + ("^" if negated else "") + body + "]"
    _, atom, low, high, lazy = node
    inner = _emit(atom, tail=False)
    count = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((low, high))
    if count is None:
        count = f"{{{low}}}" if high == low else f"{{{low},{'' if high is None else high}}}"
    return inner + count + ("?" if lazy else "")


def _emit_char(char: str, special: set[str]) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        raise ValueError("a lone surrogate is not supported")
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02X}"
    if char in special:
        return "\\" + char
    return char
