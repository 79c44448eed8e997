"""Strings matching a schema `pattern`, a few choices per string.

Hypothesis's regex strategy draws every character of a match as its own choice, with a "one more?" choice per
repetition: an image-repository pattern such as `^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)+$`
costs hundreds of choices and ~30 ms a draw, and the engine's bookkeeping grows with the choices. Values-schema
patterns are nearly always anchored sequences of character classes, groups, alternatives and counted repeats,
so this compiles those into hypothesis strategies where a run of one class (`[a-z0-9]{1,63}`) is a single
string choice. Anything else (lookarounds, back-references, negated classes, `.`, flags, unanchored patterns)
returns None and the caller keeps hypothesis-jsonschema's strategy. Every string drawn is checked against the
original pattern.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache

from hypothesis import strategies as st
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.strategies import SearchStrategy

#: Unbounded repeats are capped for generation (any drawn string still matches the pattern): a run of one
#: character class at this many characters beyond its minimum (one choice whatever its length, so long names
#: still come up), a repeated group at MAX_GROUP repetitions beyond its minimum (nested repeats multiply).
MAX_RUN = 64
MAX_GROUP = 3

_CLASSES = {"d": string.digits, "w": string.ascii_letters + string.digits + "_", "s": " \t\n\r\f\v"}
_CHARS = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}
_COUNT = re.compile(r"\{(\d*)(,?)(\d*)\}")


class Unsupported(ValueError):
    """A construct this compiler leaves to hypothesis."""


@dataclass(frozen=True)
class Node:
    """A parsed pattern piece: `chars` (one of them) when `parts` is None, else a sequence (`alt` False) or
    alternatives (`alt` True) of parts; repeated `low`..`high` times (None: unbounded)."""

    chars: str = ""
    parts: tuple[Node, ...] | None = None
    alt: bool = False
    low: int = 1
    high: int | None = 1


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.i = text, 0

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def take(self) -> str:
        c = self.peek()
        self.i += 1
        return c

    def alternatives(self) -> Node:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else Node(parts=tuple(branches), alt=True)

    def sequence(self) -> Node:
        items: list[Node] = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.quantified(self.atom()))
        return items[0] if len(items) == 1 else Node(parts=tuple(items))

    def atom(self) -> Node:
        c = self.take()
        if c == "(":
            if self.text.startswith("?:", self.i):
                self.i += 2
            elif self.peek() == "?":
                raise Unsupported("group flags or lookaround")
            inner = self.alternatives()
            if self.take() != ")":
                raise Unsupported("unbalanced group")
            return inner
        if c == "[":
            return Node(chars=self.char_class())
        if c == "\\":
            return Node(chars=self.escape())
        if c in ".^$*+?{}])":
            raise Unsupported(f"{c!r} here")
        return Node(chars=c)

    def escape(self) -> str:
        c = self.take()
        if c in _CLASSES:
            return _CLASSES[c]
        if c in _CHARS:
            return _CHARS[c]
        if c in ("x", "u"):
            digits = self.text[self.i:self.i + (2 if c == "x" else 4)]
            if len(digits) != (2 if c == "x" else 4) or not all(d in string.hexdigits for d in digits):
                raise Unsupported("bad hex escape")
            self.i += len(digits)
            return chr(int(digits, 16))
        if c and not c.isalnum():
            return c
        raise Unsupported(f"escape \\{c}")

    def char_class(self) -> str:
        if self.peek() == "^":
            raise Unsupported("negated class")
        chars: list[str] = []
        first = True
        while True:
            c = self.take()
            if c == "":
                raise Unsupported("unterminated class")
            if c == "]" and not first:
                break
            first = False
            if c == "[" or self.text.startswith(("--", "&&", "~~", "||"), self.i - 1):
                raise Unsupported("set operations")
            one = self.escape() if c == "\\" else c
            if len(one) == 1 and self.peek() == "-" and self.text[self.i + 1:self.i + 2] not in ("]", ""):
                self.i += 1
                end = self.take()
                end = self.escape() if end == "\\" else end
                if len(end) != 1 or end < one:
                    raise Unsupported("bad range")
                one = "".join(chr(o) for o in range(ord(one), ord(end) + 1))
            chars.append(one)
        return "".join(sorted(set("".join(chars))))

    def quantified(self, node: Node) -> Node:
        c = self.peek()
        low: int
        high: int | None
        if c in ("*", "+", "?"):
            self.i += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        elif c == "{" and (m := _COUNT.match(self.text, self.i)) and (m.group(1) or m.group(3)):
            self.i = m.end()
            low = int(m.group(1) or 0)
            high = low if not m.group(2) else int(m.group(3)) if m.group(3) else None
        else:
            return node
        if self.peek() == "?":
            self.i += 1  # lazy: the same strings match
        if self.peek() in ("*", "+", "?", "{"):
            raise Unsupported("possessive or repeated quantifier")
        return Node(parts=(node,), low=low, high=high)


def parse(pattern: str) -> Node:
    """The pattern between its `^` and `$` anchors, parsed; Unsupported when it is not such a pattern."""
    inner = pattern[1:-1] if pattern.startswith("^") and pattern.endswith("$") else None
    trailing = len(inner) - len(inner.rstrip("\\")) if inner is not None else 0
    if inner is None or trailing % 2:
        raise Unsupported("not anchored at both ends")
    parser = _Parser(inner)
    node = parser.sequence()
    if parser.i != len(inner):
        raise Unsupported("a top-level alternative or a stray `)`")
    return node


def _join(parts: list[str]) -> str:
    return "".join(parts)


class Concat(SearchStrategy[str]):
    """A sequence: literal text as is, the other parts drawn (one strategy draw for the whole sequence)."""

    def __init__(self, parts: list[str | SearchStrategy[str]]) -> None:
        super().__init__()
        self.parts = parts

    def do_draw(self, data: ConjectureData) -> str:
        """Draw the string."""
        return "".join(p if isinstance(p, str) else data.draw(p) for p in self.parts)


def _piece(node: Node) -> str | SearchStrategy[str]:
    """A node as literal text when it matches exactly one string, else its strategy."""
    if node.parts is None and len(node.chars) == 1:
        return node.chars
    return strategy(node)


def strategy(node: Node) -> SearchStrategy[str]:
    """The strategy of strings a parsed node matches."""
    if node.parts is None:
        return st.text(node.chars, min_size=1, max_size=1)
    if node.alt:
        return st.one_of([strategy(p) for p in node.parts])
    if (node.low, node.high) != (1, 1):
        (part,) = node.parts
        if part.parts is None:
            high = node.low + MAX_RUN if node.high is None else node.high
            return st.text(part.chars, min_size=node.low, max_size=high)
        high = node.low + MAX_GROUP if node.high is None else min(node.high, node.low + MAX_GROUP)
        return st.lists(strategy(part), min_size=node.low, max_size=high).map(_join)
    pieces: list[str | SearchStrategy[str]] = []
    for piece in map(_piece, node.parts):
        if isinstance(piece, str) and pieces and isinstance(pieces[-1], str):
            pieces[-1] += piece
        else:
            pieces.append(piece)
    if len(pieces) == 1 and not isinstance(pieces[0], str):
        return pieces[0]
    return Concat(pieces)


@lru_cache(maxsize=1024)
def pattern_strings(pattern: str) -> st.SearchStrategy[str] | None:
    """Strings matching an anchored `pattern` (re.search semantics, as JSON Schema), or None when the pattern
    uses a construct this module leaves to hypothesis."""
    try:
        check = re.compile(pattern)
        node = parse(pattern)
    except (re.error, Unsupported):
        return None
    return strategy(node).filter(lambda s: check.search(s) is not None)
