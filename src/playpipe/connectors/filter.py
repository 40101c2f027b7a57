"""A small, safe expression language to choose which records a connector delivers.

    event_type in ["error", "view_end"] and player.name == "hls.js" and not exists(ad)

Grammar (``or`` binds loosest)::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := operand (("==" | "!=" | "<" | "<=" | ">" | ">=") operand
                        | ["not"] "in" "[" literal ("," literal)* "]")?
    operand := "(" expr ")" | "exists" "(" path ")" | literal | path
    literal := "string" | 'string' | number | true | false | null

A bare path is true when its value is truthy. Comparing values of different kinds (a number
with a string, anything ordered with null) is false, never an error. Expressions are parsed
once at start and compiled to closures; nothing is ever evaluated as Python.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playpipe.connectors.paths import MISSING, PathTree, check_path, get_path, split

Predicate = Callable[[dict[str, Any]], Any]

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      |(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      |(?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      |(?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
      |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "exists", "true", "false", "null"}
_LITERALS = {"true": True, "false": False, "null": None}
_ORDERED = {"<", "<=", ">", ">="}


class FilterError(ValueError):
    """The expression is invalid; ``position`` is the 0-based character offset."""

    def __init__(self, reason: str, position: int, expression: str) -> None:
        super().__init__(f"{reason} at position {position}")
        self.reason = reason
        self.position = position
        self.expression = expression

    def pointer(self) -> str:
        """The expression with a caret under the position."""
        return f"{self.expression}\n{' ' * self.position}^"


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # string | number | op | name | keyword | end
    text: str
    position: int
    value: Any = None


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raise ``FilterError`` at the first unknown character."""
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FilterError(f"unexpected character {text[position]!r}", position, text)
        kind = match.lastgroup or ""
        word = match.group()
        if kind == "string":
            tokens.append(Token(kind, word, position, _unquote(word)))
        elif kind == "number":
            number = float(word) if any(c in word for c in ".eE") else int(word)
            tokens.append(Token(kind, word, position, number))
        elif kind == "name" and word in _KEYWORDS:
            tokens.append(Token("keyword", word, position))
        elif kind != "ws":
            tokens.append(Token(kind, word, position))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _unquote(word: str) -> str:
    body = word[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class _Parser:
    def __init__(self, text: str, tree: PathTree | None) -> None:
        self.text = text
        self.tree = tree
        self.tokens = tokenize(text)
        self.index = 0

    # -- helpers ----------------------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def fail(self, reason: str, token: Token | None = None) -> FilterError:
        at = token or self.token
        return FilterError(reason, at.position, self.text)

    def accept(self, text: str) -> bool:
        if self.token.kind in ("op", "keyword") and self.token.text == text:
            self.index += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            found = self.token.text or "the end"
            raise self.fail(f"expected `{text}` but found `{found}`")

    # -- grammar ----------------------------------------------------------------------
    def parse(self) -> Predicate:
        if self.token.kind == "end":
            raise self.fail("the expression is empty")
        predicate = self.or_()
        if self.token.kind != "end":
            raise self.fail(f"unexpected `{self.token.text}`; expected `and`, `or` or the end")
        return predicate

    def or_(self) -> Predicate:
        parts = [self.and_()]
        while self.accept("or"):
            parts.append(self.and_())
        if len(parts) == 1:
            return parts[0]
        return lambda r: any(p(r) for p in parts)

    def and_(self) -> Predicate:
        parts = [self.not_()]
        while self.accept("and"):
            parts.append(self.not_())
        if len(parts) == 1:
            return parts[0]
        return lambda r: all(p(r) for p in parts)

    def not_(self) -> Predicate:
        if self.accept("not"):
            inner = self.not_()
            return lambda r: not inner(r)
        return self.compare()

    def compare(self) -> Predicate:
        left = self.operand()
        token = self.token
        if token.kind == "op" and token.text in ("==", "!=", *_ORDERED):
            self.index += 1
            return _comparison(token.text, left, self.operand())
        negate = False
        if (
            token.kind == "keyword"
            and token.text == "not"
            and self.tokens[self.index + 1].text == "in"
        ):
            self.index += 1
            negate = True
        if self.accept("in"):
            members = self.members()
            if negate:
                return lambda r: not _member(_value(left(r)), members)
            return lambda r: _member(_value(left(r)), members)
        return left

    def members(self) -> frozenset[Any] | tuple[Any, ...]:
        self.expect("[")
        values = [self.literal()]
        while self.accept(","):
            values.append(self.literal())
        self.expect("]")
        try:
            return frozenset(values)
        except TypeError:
            return tuple(values)

    def literal(self) -> Any:
        token = self.token
        if token.kind in ("string", "number"):
            self.index += 1
            return token.value
        if token.kind == "keyword" and token.text in _LITERALS:
            self.index += 1
            return _LITERALS[token.text]
        raise self.fail(f"expected a string, number, true, false or null, found `{token.text}`")

    def operand(self) -> Predicate:
        token = self.token
        if self.accept("("):
            inner = self.or_()
            self.expect(")")
            return inner
        if self.accept("exists"):
            self.expect("(")
            parts = self.path()
            self.expect(")")
            return lambda r: get_path(r, parts) not in (MISSING, None)
        if token.kind in ("string", "number") or token.text in _LITERALS:
            value = self.literal()
            return lambda r: value
        if token.kind == "name":
            parts = self.path()
            return lambda r: _value(get_path(r, parts))
        found = token.text or "the end"
        raise self.fail(f"expected a field, a value, `exists(…)` or `(`, found `{found}`")

    def path(self) -> list[str]:
        token = self.token
        if token.kind != "name":
            raise self.fail(f"expected a field path, found `{token.text or 'the end'}`")
        problem = check_path(token.text, self.tree)
        if problem:
            raise self.fail(problem, token)
        self.index += 1
        return split(token.text)


def _value(value: Any) -> Any:
    return None if value is MISSING else value


def _member(value: Any, members: frozenset[Any] | tuple[Any, ...]) -> bool:
    try:
        return value in members
    except TypeError:  # an object or list is never a member of a literal list
        return False


def _comparison(op: str, left: Predicate, right: Predicate) -> Predicate:
    if op == "==":
        return lambda r: _value(left(r)) == _value(right(r))
    if op == "!=":
        return lambda r: _value(left(r)) != _value(right(r))
    compare: Callable[[Any, Any], Any] = {
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
    }[op]

    def ordered(record: dict[str, Any]) -> bool:
        a, b = _value(left(record)), _value(right(record))
        if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
            return False
        if isinstance(a, str) != isinstance(b, str):
            return False
        try:
            return bool(compare(a, b))
        except TypeError:
            return False

    return ordered


def compile_filter(expression: str, tree: PathTree | None = None) -> Predicate:
    """Parse ``expression`` into a predicate over records; paths checked against ``tree``.

    Raises ``FilterError`` with the position of the first problem.
    """
    predicate = _Parser(expression, tree).parse()
    return lambda r: bool(predicate(r))
