"""The `show_if` skip-logic language: parsed into a tree and evaluated by this module, never by `eval`.

Grammar (lowest precedence first)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := operand (("==" | "!=" | "<" | "<=" | ">" | ">=") operand
                        | "not"? "in" list)?
    operand := NUMBER | STRING | NAME | NAME "(" args ")" | "(" expr ")" | list
    list    := "[" (literal ("," literal)*)? "]"

Names refer to earlier questions. The only function is ``selected(question, "value")``,
true when a multi-choice answer includes the value.

Evaluation uses three-valued logic: a reference to a question that was not answered (skipped,
hidden, or not reached) is *unknown*, comparisons with unknown are unknown, and ``and``/``or``/``not``
follow Kleene's rules. A condition that ends up unknown hides the question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

Literal_ = str | int | float


class ExprError(ValueError):
    """A syntax error in an expression, with the 0-based column where it was found."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


# --- tree -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Const:
    value: Literal_


@dataclass(frozen=True)
class Ref:
    name: str
    column: int


@dataclass(frozen=True)
class ListLit:
    items: tuple[Literal_, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node
    column: int


@dataclass(frozen=True)
class In:
    needle: Node
    haystack: ListLit
    negated: bool
    column: int


@dataclass(frozen=True)
class Selected:
    question: Ref
    value: str
    column: int


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


Node = Const | Ref | ListLit | Compare | In | Selected | Not | BoolOp

# --- tokens -----------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # number, string, name, kw, op, end
    text: str
    column: int


def _tokenize(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            if source[pos] in "\"'":
                raise ExprError("unterminated string", pos)
            if source[pos] == "=":
                raise ExprError("use '==' to compare", pos)
            raise ExprError(f"unexpected character {source[pos]!r}", pos)
        kind = m.lastgroup or ""
        text = m.group()
        if kind != "ws":
            if kind == "name" and text in _KEYWORDS:
                kind = "kw"
            tokens.append(_Tok(kind, text, pos))
        pos = m.end()
    tokens.append(_Tok("end", "", len(source)))
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


# --- parser -----------------------------------------------------------------------------------------

_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.pos = 0

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.pos]

    def take(self) -> _Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def accept(self, kind: str, text: str | None = None) -> _Tok | None:
        tok = self.tok
        if tok.kind == kind and (text is None or tok.text == text):
            self.pos += 1
            return tok
        return None

    def expect(self, kind: str, text: str, what: str) -> _Tok:
        tok = self.accept(kind, text)
        if tok is None:
            raise ExprError(f"expected {what}, found {self._describe(self.tok)}", self.tok.column)
        return tok

    @staticmethod
    def _describe(tok: _Tok) -> str:
        return "end of expression" if tok.kind == "end" else repr(tok.text)

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ExprError("empty expression", 0)
        node = self.parse_or()
        if self.tok.kind != "end":
            raise ExprError(f"unexpected {self._describe(self.tok)}", self.tok.column)
        return node

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.accept("kw", "or"):
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def parse_and(self) -> Node:
        operands = [self.parse_not()]
        while self.accept("kw", "and"):
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def parse_not(self) -> Node:
        if self.accept("kw", "not"):
            return Not(self.parse_not())
        return self.parse_compare()

    def parse_compare(self) -> Node:
        left = self.parse_operand()
        tok = self.tok
        if tok.kind == "op" and tok.text in _COMPARISONS:
            self.take()
            right = self.parse_operand()
            return Compare(tok.text, left, right, tok.column)
        if tok.kind == "kw" and tok.text in ("in", "not"):
            negated = False
            if tok.text == "not":
                self.take()
                negated = True
                self.expect("kw", "in", "'in' after 'not'")
            else:
                self.take()
            if self.tok.kind != "op" or self.tok.text != "[":
                raise ExprError(
                    f'expected a list like ["a", "b"] after \'in\', found {self._describe(self.tok)}',
                    self.tok.column,
                )
            haystack = self.parse_list()
            return In(left, haystack, negated, tok.column)
        return left

    def parse_list(self) -> ListLit:
        self.expect("op", "[", "'['")
        items: list[Literal_] = []
        if not self.accept("op", "]"):
            while True:
                items.append(self.parse_literal())
                if self.accept("op", "]"):
                    break
                self.expect("op", ",", "',' or ']'")
        return ListLit(tuple(items))

    def parse_literal(self) -> Literal_:
        tok = self.tok
        if tok.kind == "number":
            self.take()
            return _number(tok.text)
        if tok.kind == "string":
            self.take()
            return _unquote(tok.text)
        raise ExprError(f"expected a string or number, found {self._describe(tok)}", tok.column)

    def parse_operand(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.take()
            return Const(_number(tok.text))
        if tok.kind == "string":
            self.take()
            return Const(_unquote(tok.text))
        if tok.kind == "op" and tok.text == "(":
            self.take()
            node = self.parse_or()
            self.expect("op", ")", "')'")
            return node
        if tok.kind == "op" and tok.text == "[":
            return self.parse_list()
        if tok.kind == "name":
            self.take()
            if self.accept("op", "("):
                return self.parse_call(tok)
            return Ref(tok.text, tok.column)
        raise ExprError(f"expected a value, found {self._describe(tok)}", tok.column)

    def parse_call(self, name: _Tok) -> Node:
        if name.text != "selected":
            raise ExprError(f"unknown function '{name.text}' (only selected(question, \"value\"))", name.column)
        qtok = self.tok
        if qtok.kind != "name":
            raise ExprError("selected() needs a question id as its first argument", qtok.column)
        self.take()
        self.expect("op", ",", "','")
        vtok = self.tok
        if vtok.kind not in ("string", "number"):
            raise ExprError("selected() needs a choice value as its second argument", vtok.column)
        self.take()
        self.expect("op", ")", "')'")
        value = _unquote(vtok.text) if vtok.kind == "string" else vtok.text
        return Selected(Ref(qtok.text, qtok.column), value, name.column)


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def parse(source: str) -> Node:
    """Parse a `show_if` expression, raising `ExprError` with the column of the problem."""
    return _Parser(source).parse()


# --- analysis ---------------------------------------------------------------------------------------


def walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Compare):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, In):
        yield from walk(node.needle)
        yield node.haystack
    elif isinstance(node, Selected):
        yield node.question
    elif isinstance(node, Not):
        yield from walk(node.operand)
    elif isinstance(node, BoolOp):
        for operand in node.operands:
            yield from walk(operand)


def references(node: Node) -> list[Ref]:
    """Every question reference in the expression, in source order."""
    return [n for n in walk(node) if isinstance(n, Ref)]


# --- evaluation -------------------------------------------------------------------------------------

Value = str | int | float | list[str] | None
Tri = bool | None  # None is "unknown"


def evaluate(node: Node, answers: Mapping[str, object] | Callable[[str], object]) -> Tri:
    """Evaluate with three-valued logic; answers missing from the mapping are unknown."""
    lookup: Callable[[str], object] = answers.get if isinstance(answers, Mapping) else answers
    return _truth(_eval(node, lookup))


def _truth(value: object) -> Tri:
    if value is None or isinstance(value, bool):
        return value
    raise TypeError("a bare value is not a condition")  # the loader refuses these; defensive


def _eval(node: Node, lookup: Callable[[str], object]) -> object:
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Ref):
        return lookup(node.name)
    if isinstance(node, ListLit):
        return list(node.items)
    if isinstance(node, Selected):
        chosen = lookup(node.question.name)
        if not isinstance(chosen, list):
            return None
        return node.value in chosen
    if isinstance(node, Not):
        inner = _eval(node.operand, lookup)
        return None if inner is None else not inner
    if isinstance(node, BoolOp):
        results = [_eval(op, lookup) for op in node.operands]
        if node.op == "and":
            if any(r is False for r in results):
                return False
            return None if any(r is None for r in results) else True
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False
    if isinstance(node, In):
        needle = _eval(node.needle, lookup)
        if needle is None or isinstance(needle, list):
            return None
        found = any(_equal(needle, item) for item in node.haystack.items)
        return not found if node.negated else found
    if isinstance(node, Compare):
        return _compare(node.op, _eval(node.left, lookup), _eval(node.right, lookup))
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(a: object, b: object) -> bool:
    if _is_number(a) and _is_number(b):
        return a == b
    if _is_number(a) or _is_number(b):
        # "3" == 3 is true: choice values are strings, scale answers are numbers
        return str(a) == str(b)
    return a == b


def _compare(op: str, left: object, right: object) -> Tri:
    if left is None or right is None or isinstance(left, list) or isinstance(right, list):
        return None
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if not (_is_number(left) and _is_number(right)):
        return None  # ordering only makes sense between numbers
    assert isinstance(left, (int, float)) and isinstance(right, (int, float))
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


def is_condition(node: Node) -> bool:
    """True when the node yields a truth value (not a bare name, literal or list)."""
    return isinstance(node, (Compare, In, Selected, Not, BoolOp))
