"""XLSForm workbooks (KoBoToolbox, ODK) read into questionnaires, and questionnaires written back as XLSForms.

`read_xlsform` translates a workbook's `survey`, `choices` and `settings` sheets into questionnaire data and
validates it with `flows.loader`, so a workbook is held to the same rules as a YAML file. It refuses what a
questionnaire cannot represent with every problem listed, each placed by sheet, row and column::

    FORM.xlsx: survey!C7 (relevant): unknown function 'count-selected' (relevant may use selected() and not())

What it reads but has to leave out (a column khaosat does not use, a constraint message) is reported as a
warning instead. `build_xlsform` writes a questionnaire as a workbook that `read_xlsform` reads back to the
same questionnaire. Where XLSForm has no column of its own the conventions are khaosat's, in columns named
`khaosat::...` and a `khaosat_factors` sheet (README, "Questionnaires from Excel").

Apart from reading a workbook with openpyxl this module is pure: `build_xlsform` returns the workbook and the
caller saves it.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from flows import expr
from flows.i18n import LANGUAGES, likert_labels, message
from flows.loader import PathT, Problem, SurveyError, load_survey_data
from flows.schema import (
    DONT_KNOW,
    SUPPORTED_LANGUAGES,
    Likert5Question,
    LocalizedText,
    MultiChoiceQuestion,
    NumberQuestion,
    Question,
    RatingQuestion,
    SingleChoiceQuestion,
    Survey,
    TextQuestion,
    WardQuestion,
    YesNoQuestion,
)
from flows.text import fold

FACTORS_SHEET = "khaosat_factors"
"""The sheet that defines the reporting factors (name, label per language, framework)."""
WARD_LISTS = ("wards", "ward")
"""A `select_one` of a list with one of these names is a ward question (the campaign's wards, at run time)."""
LANGUAGE_NAMES = {"vi": "Vietnamese", "en": "English"}
DEFAULT_TEXT_LENGTH: int = TextQuestion.model_fields["max_length"].default
ACKNOWLEDGE_VALUE = "OK"
"""What an `acknowledge` question stores, as in ODK."""
ACKNOWLEDGE_LABELS = {"vi": "Xác nhận", "en": "OK"}
DEFAULT_THANKS = {
    "vi": "Cảm ơn bạn đã hoàn thành khảo sát!",
    "en": "Thank you for completing the survey!",
}

_LOCALIZED = ("label", "hint", "constraint_message", "khaosat::unit", "khaosat::low_label", "khaosat::high_label")
_SURVEY_COLUMNS = (
    "type",
    "name",
    "required",
    "relevant",
    "constraint",
    "choice_filter",
    "khaosat::factor",
    "khaosat::reporting",
    "khaosat::type",
    "khaosat::scores",
)
_FACTOR_COLUMNS = ("name", "framework", "dimension", "subdimension", "scoring")
_KHAOSAT_TYPES = ("ward", "single_choice")
_REPORTING_ROLES = ("overall", "issues", "comment")
_NAME_CODES = {"vietnamese": "vi", "tieng viet": "vi", "english": "en", "tieng anh": "en"}
_WHY_IGNORED = {
    "appearance": "khaosat decides how a question looks on each channel",
    "required_message": "khaosat shows its own message for an unanswered question",
    "guidance_hint": "khaosat shows the hint only",
    "default": "khaosat does not pre-fill answers",
    "read_only": "every khaosat question is answered",
}
_METADATA = frozenset(
    {
        "start",
        "end",
        "today",
        "deviceid",
        "phonenumber",
        "username",
        "email",
        "simserial",
        "subscriberid",
        "audit",
        "start-geopoint",
    }
)
_REFUSED = {
    "geopoint": "khaosat does not collect locations",
    "geotrace": "khaosat does not collect locations",
    "geoshape": "khaosat does not collect locations",
    "calculate": "khaosat has no calculated fields",
    "date": "khaosat has no date or time question",
    "time": "khaosat has no date or time question",
    "datetime": "khaosat has no date or time question",
    "image": "khaosat does not collect files or media",
    "audio": "khaosat does not collect files or media",
    "video": "khaosat does not collect files or media",
    "file": "khaosat does not collect files or media",
    "background-audio": "khaosat does not collect files or media",
    "barcode": "khaosat does not scan barcodes",
    "range": "for a 0-10 rating use select_one of a list valued 0 to 10; otherwise integer with a constraint",
    "rank": "khaosat has no ranking question",
    "hidden": "khaosat has no hidden fields",
    "trigger": "khaosat has no trigger question",
    "xml-external": "khaosat cannot read external data",
    "csv-external": "khaosat cannot read external data",
    "select_one_from_file": "khaosat cannot read external data; list the choices in the choices sheet",
    "select_multiple_from_file": "khaosat cannot read external data; list the choices in the choices sheet",
    "select_one_external": "khaosat cannot read external data; list the choices in the choices sheet",
    "begin_repeat": "khaosat asks each question once",
    "end_repeat": "khaosat asks each question once",
}
_TYPES_READ = "select_one, select_multiple, integer, decimal, text, note, acknowledge, begin_group, end_group"
_ALIASES = {"int": "integer", "string": "text"}


# --- problems -------------------------------------------------------------------------------------------------

_SHEET_ORDER = {"settings": 0, "survey": 1, "choices": 2, FACTORS_SHEET: 3}


@dataclass(frozen=True)
class CellProblem(Problem):
    """A problem (or warning) in a workbook, shown as ``FORM.xlsx: survey!C7 (relevant): message``."""

    sheet: str = ""
    row: int = 0
    column: int = 0
    header: str = ""

    def __str__(self) -> str:
        if not self.sheet:
            return f"{self.file}: {self.message}"
        if not self.row:
            return f"{self.file}: {self.sheet}: {self.message}"
        cell = (
            f"{self.sheet}!{get_column_letter(self.column)}{self.row}"
            if self.column
            else f"{self.sheet} row {self.row}"
        )
        return (
            f"{self.file}: {cell} ({self.header}): {self.message}"
            if self.header
            else f"{self.file}: {cell}: {self.message}"
        )

    def sort_key(self) -> tuple[Any, ...]:
        """Settings, survey, choices, then factors; by row and column within a sheet."""
        sheet = _SHEET_ORDER.get(self.sheet.lower(), 9) if self.sheet else -1
        return (sheet, self.row, self.column, self.message)


@dataclass(frozen=True)
class _Where:
    """A cell (or a sheet, or the file) a problem is placed at."""

    sheet: str = ""
    row: int = 0
    column: int = 0
    header: str = ""


@dataclass(frozen=True)
class Imported:
    """A questionnaire read from a workbook, with what was left out of it (warnings, to show the operator)."""

    survey: Survey
    warnings: tuple[Problem, ...] = ()


# --- reading the workbook -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """A usable column of a sheet."""

    index: int  # 1-based, as Excel counts
    header: str  # as written
    base: str  # "label", "khaosat::unit", ...
    language: str | None  # for text columns: the language code (a plain "label" is the default language)


@dataclass
class _Sheet:
    """A sheet read for translation: its usable columns and its non-empty rows."""

    name: str
    columns: list[_Column]
    rows: list[tuple[int, dict[int, str]]]  # (row number, {column index: text}) of the rows that are not empty
    headers: dict[int, str]  # every column's header, used or not

    def column(self, base: str) -> _Column | None:
        """The first usable column of this kind (None if the sheet has none)."""
        return next((c for c in self.columns if c.base == base), None)

    def get(self, cells: Mapping[int, str], base: str) -> str:
        """A row's text in a column ("" when empty or absent)."""
        col = self.column(base)
        return cells.get(col.index, "") if col is not None else ""

    def where(self, row: int, base: str) -> _Where:
        """The cell of a row in a column (the row alone if the sheet has no such column)."""
        col = self.column(base)
        return _Where(self.name, row, col.index, col.header) if col is not None else _Where(self.name, row)

    def texts(self, cells: Mapping[int, str], base: str) -> dict[str, str]:
        """A row's non-empty texts of a localized column, by language code."""
        return {
            c.language: cells[c.index]
            for c in self.columns
            if c.base == base and c.language is not None and c.index in cells
        }

    def text_wheres(self, row: int, base: str) -> dict[str, _Where]:
        """The cells of a row in each language's column of a localized column."""
        return {
            c.language: _Where(self.name, row, c.index, c.header)
            for c in self.columns
            if c.base == base and c.language is not None
        }


def _text(value: object) -> str:
    """A cell's value as the text it shows: whole numbers without ".0", booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\r\n", "\n").strip()


def _header_parts(header: str) -> tuple[str, str | None]:
    """'label::English (en)' -> ('label', 'English (en)'); 'khaosat::unit::English (en)' -> ('khaosat::unit', ...)."""
    parts = [p.strip() for p in header.split("::")]
    if parts[0].lower() == "khaosat" and len(parts) >= 2:
        base, rest = "khaosat::" + parts[1].lower().replace(" ", "_"), parts[2:]
    else:
        base, rest = parts[0].lower().replace(" ", "_"), parts[1:]
    return base, "::".join(rest) if rest else None


def _language_code(part: str) -> str | None:
    """'English (en)' -> 'en'; 'Vietnamese' -> 'vi'; 'vi' -> 'vi'; None when it names no language we can tell."""
    match = re.search(r"\(\s*([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)\s*\)\s*$", part)
    if match:
        return match.group(1).lower()
    if fold(part) in _NAME_CODES:
        return _NAME_CODES[fold(part)]
    if re.fullmatch(r"[a-z]{2,3}", part):
        return part
    return None


def _language_header(base: str, code: str) -> str:
    """'label', 'en' -> 'label::English (en)'."""
    return f"{base}::{LANGUAGE_NAMES.get(code, code)} ({code})"


def _suggest(word: str, options: Iterable[str], show: Callable[[str], str] = lambda s: f"'{s}'") -> str:
    """ " (did you mean 'x'?)" for a close option, else ""."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.7)
    return f" (did you mean {show(close[0])}?)" if close else ""


# --- expressions: the XPath subset XLSForms use ----------------------------------------------------------------


@dataclass(frozen=True)
class _XNum:
    value: int | float


@dataclass(frozen=True)
class _XStr:
    value: str


@dataclass(frozen=True)
class _XRef:
    name: str


@dataclass(frozen=True)
class _XDot:
    pass


@dataclass(frozen=True)
class _XName:
    """A bare name: a column of the choices sheet in a choice_filter."""

    name: str


@dataclass(frozen=True)
class _XCall:
    name: str
    args: tuple[_X, ...]


@dataclass(frozen=True)
class _XBin:
    op: str  # = != < <= > >= (comparisons) or + - * div mod | (everything else)
    left: _X
    right: _X


@dataclass(frozen=True)
class _XBool:
    op: str  # and | or
    operands: tuple[_X, ...]


_X = _XNum | _XStr | _XRef | _XDot | _XName | _XCall | _XBin | _XBool
_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
_FLIPPED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

_XTOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ref>\$\{[^}]*\})
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_.:-]*)
  | (?P<op>==|!=|<=|>=|=|<|>|\(|\)|,|\+|-|\*|\||\.)
    """,
    re.VERBOSE,
)


class _XSyntax(ValueError):
    """A syntax error in an XLSForm expression, at a 0-based character position."""

    def __init__(self, text: str, position: int) -> None:
        super().__init__(text)
        self.text = text
        self.position = position


class _XParser:
    """Recursive descent over XPath's precedence: or < and < = != < relational < + - < * div mod < unary."""

    def __init__(self, source: str) -> None:
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(source):
            m = _XTOKEN.match(source, pos)
            if m is None:
                if source[pos] in "'\"":
                    raise _XSyntax("unterminated string", pos)
                raise _XSyntax(f"unexpected character {source[pos]!r}", pos)
            kind = m.lastgroup or ""
            if kind == "op" and m.group() == "==":
                raise _XSyntax("use '=' to compare (XLSForm has no '==')", pos)
            if kind != "ws":
                self.tokens.append((kind, m.group(), pos))
            pos = m.end()
        self.tokens.append(("end", "", len(source)))
        self.pos = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.pos]

    def accept(self, *texts: str) -> str | None:
        kind, text, _ = self.peek()
        if kind in ("op", "name") and text in texts:
            self.pos += 1
            return text
        return None

    def fail(self, expected: str) -> _XSyntax:
        kind, text, pos = self.peek()
        found = "the end" if kind == "end" else repr(text)
        return _XSyntax(f"expected {expected}, found {found}", pos)

    def parse(self) -> _X:
        if self.peek()[0] == "end":
            raise _XSyntax("empty expression", 0)
        node = self.parse_bool("or")
        if self.peek()[0] != "end":
            raise self.fail("the end of the expression")
        return node

    def parse_bool(self, op: str) -> _X:
        operands = [self.parse_bool("and") if op == "or" else self.parse_equality()]
        while self.accept(op):
            operands.append(self.parse_bool("and") if op == "or" else self.parse_equality())
        return operands[0] if len(operands) == 1 else _XBool(op, tuple(operands))

    def parse_binary(self, ops: tuple[str, ...], parse_next: Callable[[], _X]) -> _X:
        node = parse_next()
        while (op := self.accept(*ops)) is not None:
            node = _XBin(op, node, parse_next())
        return node

    def parse_equality(self) -> _X:
        return self.parse_binary(("=", "!="), self.parse_relational)

    def parse_relational(self) -> _X:
        return self.parse_binary(("<", "<=", ">", ">="), self.parse_additive)

    def parse_additive(self) -> _X:
        return self.parse_binary(("+", "-"), self.parse_multiplicative)

    def parse_multiplicative(self) -> _X:
        return self.parse_binary(("*", "div", "mod", "|"), self.parse_unary)

    def parse_unary(self) -> _X:
        if self.accept("-"):
            operand = self.parse_unary()
            return _XNum(-operand.value) if isinstance(operand, _XNum) else _XBin("-", _XNum(0), operand)
        return self.parse_primary()

    def parse_primary(self) -> _X:
        kind, text, _ = self.peek()
        if kind == "number":
            self.pos += 1
            return _XNum(float(text) if "." in text else int(text))
        if kind == "string":
            self.pos += 1
            return _XStr(text[1:-1])
        if kind == "ref":
            self.pos += 1
            return _XRef(text[2:-1].strip())
        if self.accept("."):
            return _XDot()
        if self.accept("("):
            node = self.parse_bool("or")
            if not self.accept(")"):
                raise self.fail("')'")
            return node
        if kind == "name":
            self.pos += 1
            if not self.accept("("):
                return _XName(text)
            args: list[_X] = []
            if not self.accept(")"):
                while True:
                    args.append(self.parse_bool("or"))
                    if self.accept(")"):
                        break
                    if not self.accept(","):
                        raise self.fail("',' or ')'")
            return _XCall(text, tuple(args))
        raise self.fail("a value")


def _parse_x(source: str) -> _X:
    """Parse an XLSForm expression, raising `_XSyntax`."""
    return _XParser(source).parse()


def _walk_x(node: _X) -> Iterable[_X]:
    """Every node of an expression, the node itself first."""
    yield node
    if isinstance(node, _XCall):
        for arg in node.args:
            yield from _walk_x(arg)
    elif isinstance(node, _XBin):
        yield from _walk_x(node.left)
        yield from _walk_x(node.right)
    elif isinstance(node, _XBool):
        for operand in node.operands:
            yield from _walk_x(operand)


def _number_text(value: float) -> str:
    """1.0 -> '1', 2.5 -> '2.5'."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _scores(text: str) -> dict[str, float] | None:
    """'yes=1; no=0' -> {"yes": 1.0, "no": 0.0} (a question's item scores); None when it does not read so."""
    found: dict[str, float] = {}
    for part in (piece.strip() for piece in text.split(";")):
        if not part:
            continue
        value, equals, score = part.partition("=")
        if not equals or not value.strip():
            return None
        try:
            found[value.strip()] = float(score.strip().replace(",", "."))
        except ValueError:
            return None
    return found or None


# --- printing conditions --------------------------------------------------------------------------------------


def _needs_parens(child: expr.Node) -> bool:
    """An `and`/`or` inside another is parenthesized, even where precedence makes it unnecessary, as people write."""
    return isinstance(child, expr.BoolOp)


def _show_if_literal(value: expr.Literal_) -> str:
    """A value as written in `show_if` (strings in double quotes)."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return _number_text(value)


def show_if_text(node: expr.Node) -> str:
    """A condition written in the `show_if` language (parses back to the same tree)."""
    if isinstance(node, expr.Const):
        return _show_if_literal(node.value)
    if isinstance(node, expr.Ref):
        return node.name
    if isinstance(node, expr.ListLit):
        return "[" + ", ".join(_show_if_literal(v) for v in node.items) + "]"
    if isinstance(node, expr.Compare):
        return f"{show_if_text(node.left)} {node.op} {show_if_text(node.right)}"
    if isinstance(node, expr.In):
        return f"{show_if_text(node.needle)} {'not in' if node.negated else 'in'} {show_if_text(node.haystack)}"
    if isinstance(node, expr.Selected):
        return f"selected({node.question.name}, {_show_if_literal(node.value)})"
    if isinstance(node, expr.Not):
        inner = show_if_text(node.operand)
        return f"not {inner}" if isinstance(node.operand, (expr.Selected, expr.Not)) else f"not ({inner})"
    parts = [f"({show_if_text(op)})" if _needs_parens(op) else show_if_text(op) for op in node.operands]
    return f" {node.op} ".join(parts)


def _xls_literal(value: expr.Literal_) -> str:
    """A value as written in XLSForm (strings in single quotes, or double ones around a quote)."""
    if isinstance(value, str):
        return f'"{value}"' if "'" in value else f"'{value}'"
    return _number_text(value)


def relevant_text(node: expr.Node) -> str:
    """A `show_if` condition written as an XLSForm `relevant` (which `read_xlsform` reads back to the same one).

    `q in ["a", "b"]` has no XLSForm form: it is written as `(${q} = 'a' or ${q} = 'b')`.
    """
    if isinstance(node, expr.Const):
        return _xls_literal(node.value)
    if isinstance(node, expr.Ref):
        return "${" + node.name + "}"
    if isinstance(node, expr.Compare):
        op = "=" if node.op == "==" else node.op
        return f"{relevant_text(node.left)} {op} {relevant_text(node.right)}"
    if isinstance(node, expr.Selected):
        return f"selected(${{{node.question.name}}}, {_xls_literal(node.value)})"
    if isinstance(node, expr.In):
        needle = relevant_text(node.needle)
        either = " or ".join(f"{needle} = {_xls_literal(v)}" for v in node.haystack.items) or "false()"
        return f"not({either})" if node.negated else f"({either})"
    if isinstance(node, expr.Not):
        return f"not({relevant_text(node.operand)})"
    if isinstance(node, expr.ListLit):
        return ", ".join(_xls_literal(v) for v in node.items)
    parts = [f"({relevant_text(op)})" if _needs_parens(op) else relevant_text(op) for op in node.operands]
    return f" {node.op} ".join(parts)


# --- recognising lists ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RawChoice:
    """A row of the choices sheet."""

    row: int
    value: str
    label: dict[str, str]
    cells: dict[str, str]  # every column of its row by header, for choice_filter
    where: _Where  # its name cell
    label_at: dict[str, _Where]


@dataclass(frozen=True)
class _Likert:
    """A list recognised as a 5-point scale."""

    scale: str
    dont_know: str | None  # the list's value for "don't know", if it has one
    differs: bool  # its labels are not khaosat's


_LIKERT_WORDS = {
    "satisfaction": (("khong hai long", "dissatisf", "unsatisf", "not satisf"), ("hai long", "satisf")),
    "agreement": (("khong dong y", "disagree", "not agree"), ("dong y", "agree")),
}
_DONT_KNOW_WORDS = ("khong ro", "khong biet", "khong co y kien", "dont know", "don t know", "do not know", "no opinion")


def _likert(choices: Sequence[_RawChoice]) -> _Likert | None:
    """A 5-point satisfaction or agreement scale valued 1-5 (plus an optional 6th "don't know"), or None."""
    scale_values = [c for c in choices if c.value in ("1", "2", "3", "4", "5")]
    others = [c for c in choices if c not in scale_values]
    if sorted(c.value for c in scale_values) != ["1", "2", "3", "4", "5"] or len(others) > 1:
        return None
    by_value = {c.value: c for c in scale_values}
    dont_know = None
    if others:
        if not any(any(w in fold(t) for w in _DONT_KNOW_WORDS) for t in others[0].label.values()):
            return None
        dont_know = others[0].value
    for scale, (negative, positive) in _LIKERT_WORDS.items():
        low = [fold(t) for t in by_value["1"].label.values()]
        high = [fold(t) for t in by_value["5"].label.values()]
        if any(any(w in t for w in negative) for t in low) and any(
            any(w in t for w in positive) and not any(w in t for w in negative) for t in high
        ):
            differs = [c.value for c in choices[:5]] != ["1", "2", "3", "4", "5"]
            for c in scale_values:
                for lang, text in c.label.items():
                    ours = likert_labels(scale, lang) if lang in LANGUAGES else None
                    differs = differs or ours is None or fold(text) != fold(ours[int(c.value) - 1])
            if others:
                differs = differs or any(
                    fold(text) != fold(message("dont_know", lang)) for lang, text in others[0].label.items()
                )
            return _Likert(scale, dont_know, differs)
    return None


def _is_yes_no(choices: Sequence[_RawChoice]) -> bool:
    """Exactly yes then no, labelled as khaosat labels them (Có/Không, Yes/No)."""
    if [c.value for c in choices] != ["yes", "no"]:
        return False
    return all(
        lang in LANGUAGE_NAMES and fold(text) == fold(message(c.value, lang))
        for c in choices
        for lang, text in c.label.items()
    )


def _is_rating(choices: Sequence[_RawChoice]) -> bool:
    """Exactly 0 to 10, each labelled with its number."""
    return [c.value for c in choices] == [str(i) for i in range(11)] and all(
        text == c.value for c in choices for text in c.label.values()
    )


def _natural_kind(list_name: str, choices: Sequence[_RawChoice]) -> str:
    """What a `select_one` of this list is read as when no `khaosat::type` says otherwise."""
    if list_name in WARD_LISTS:
        return "ward"
    if _likert(choices) is not None:
        return "likert5"
    if _is_yes_no(choices):
        return "yes_no"
    if _is_rating(choices):
        return "rating"
    return "single_choice"


# --- reading: the translation -----------------------------------------------------------------------------------


@dataclass
class _Group:
    """An open begin_group (or begin_repeat) and its relevant."""

    row: int
    relevant: str
    where: _Where
    repeat: bool


@dataclass
class _Item:
    """A row of the survey sheet that holds a question, a note or an acknowledge."""

    row: int
    cells: dict[int, str]
    kind: str  # select_one | select_multiple | integer | decimal | text | note | acknowledge
    name: str
    list_name: str
    groups: tuple[_Group, ...]
    role: str = ""  # "question", "intro", "consent" or "thanks"
    qtype: str = ""  # our question type, for a question
    likert: _Likert | None = None
    choices: list[_RawChoice] | None = None  # a choice question's choices (after its choice_filter)
    inline: bool = False  # its choices are its own, not a shared list


@dataclass(frozen=True)
class _Name:
    """What a name in the survey sheet is, for the references of `relevant`."""

    what: str  # "question", "consent", "note", "acknowledge", "group", "metadata" or "refused"
    row: int
    qtype: str = ""
    dont_know: str | None = None  # a likert5's list value for "don't know"


_SETTINGS_COLUMNS = ("form_id", "form_title", "version", "default_language")
_EXTRAS = {"khaosat::unit": "number", "khaosat::low_label": "rating", "khaosat::high_label": "rating"}


class _Importer:
    """One workbook's translation: the questionnaire data, where each part of it came from, problems, warnings."""

    def __init__(self, filename: str) -> None:
        self.file = filename
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.at: dict[PathT, _Where] = {}
        self.default = "vi"
        self.languages: list[str] = []
        self.no_vietnamese = False
        self.choice_columns: set[str] = set()

    # reporting

    def problem(self, where: _Where | None, text: str) -> None:
        """Record a problem at a cell."""
        self.problems.append(self._cell(where, text))

    def warn(self, where: _Where | None, text: str) -> None:
        """Record a warning at a cell."""
        self.warnings.append(self._cell(where, f"warning: {text}"))

    def _cell(self, where: _Where | None, text: str) -> CellProblem:
        w = where or _Where()
        return CellProblem(self.file, w.row, w.header, text, w.sheet, w.row, w.column, w.header)

    def locate(self, path: PathT, text: str) -> Problem:
        """A problem the loader found in the questionnaire data, placed at the cell it came from."""
        missing = re.match(r"missing text for language '([^']+)'", text)
        if missing and (*path, missing.group(1)) in self.at:
            path = (*path, missing.group(1))
        elif missing and path == ("title",):
            text += f" (give it in a settings column {_language_header('khaosat::title', missing.group(1))})"
        if not path and text == "missing required field 'id'":
            path, text = ("id",), "no form_id: give the survey's id (e.g. hanoi-2026) in the settings sheet"
        elif not path and text == "missing required field 'title'":
            path, text = ("title",), "no form_title: give the survey's title in the settings sheet"
        elif len(path) == 2 and text == "missing required field 'label'":
            path, text = (*path, "label"), "no label"
        probe = path
        while probe and probe not in self.at:
            probe = probe[:-1]
        where = self.at.get(probe) or _Where("survey" if path[:1] == ("questions",) else "settings")
        return self._cell(where, text)

    def place_texts(self, path: PathT, sheet: _Sheet, row: int, base: str) -> None:
        """Remember the cells of a localized field (per language) for the loader's problems."""
        wheres = sheet.text_wheres(row, base)
        if wheres:
            self.at[path] = next(iter(wheres.values()))
        for lang, where in wheres.items():
            self.at[(*path, lang)] = where

    def place_choices(self, path: PathT, choices: Sequence[_RawChoice]) -> None:
        """Remember the choices sheet's cells of a list of choices for the loader's problems."""
        if choices:
            self.at.setdefault(path, choices[0].where)
        for j, c in enumerate(choices):
            self.at[(*path, j)] = self.at[(*path, j, "value")] = c.where
            if c.label_at:
                self.at[(*path, j, "label")] = next(iter(c.label_at.values()))
            for lang, where in c.label_at.items():
                self.at[(*path, j, "label", lang)] = where

    # the workbook

    def run(self, sheets: Mapping[str, Sequence[Sequence[object]]]) -> Survey:
        """The validated questionnaire of a workbook's sheets, or `SurveyError` with every problem."""
        found = {name.strip().lower(): name for name in sheets}
        if "survey" not in found:
            names = ", ".join(f"'{n}'" for n in sheets) or "none"
            raise SurveyError(
                [
                    self._cell(
                        None,
                        f"no 'survey' sheet (an XLSForm has the sheets survey, choices and settings; found {names})",
                    )
                ]
            )
        settings = self.read_settings(found["settings"], sheets[found["settings"]]) if "settings" in found else None
        survey = self.sheet(found["survey"], sheets[found["survey"]], _SURVEY_COLUMNS, _LOCALIZED)
        choices = None
        if "choices" in found:
            choices = self.sheet(found["choices"], sheets[found["choices"]], ("list_name", "name"), ("label",), False)
        factors = None
        if FACTORS_SHEET in found:
            factors = self.sheet(found[FACTORS_SHEET], sheets[found[FACTORS_SHEET]], _FACTOR_COLUMNS, ("label",))
        self.languages = self.collect_languages([s for s in (settings, survey, choices, factors) if s is not None])
        data = self.settings_data(settings)
        data["languages"] = self.languages
        data.update(self.read_survey(survey, self.read_choices(choices)))
        if factors is not None:
            data["factors"] = self.read_factors(factors)
        result: Survey | None = None
        try:
            result = load_survey_data(data, self.locate)
        except SurveyError as e:
            skip = "missing text for language 'vi'" if self.no_vietnamese else None
            self.problems += [p for p in e.problems if not (skip and p.message.startswith(skip))]
        if self.problems or result is None:
            raise SurveyError(self.problems)
        return result

    def sheet(
        self,
        name: str,
        rows: Sequence[Sequence[object]],
        plain: Sequence[str],
        localized: Sequence[str],
        warn_unknown: bool = True,
    ) -> _Sheet:
        """A sheet's usable columns and its non-empty rows; problems and warnings about other columns reported."""
        headers = {i: h for i, v in enumerate(rows[0] if rows else (), start=1) if (h := _text(v))}
        body: list[tuple[int, dict[int, str]]] = []
        for number, values in enumerate(rows[1:], start=2):
            cells = {i: t for i, v in enumerate(values, start=1) if i in headers and (t := _text(v))}
            if cells:
                body.append((number, cells))
        used = {i for _, cells in body for i in cells}
        columns: list[_Column] = []
        seen: dict[tuple[str, str | None], str] = {}
        for index, header in headers.items():
            where = _Where(name, 1, index, header)
            base, part = _header_parts(header)
            language: str | None = None
            if base in localized:
                language = self.default if part is None else _language_code(part)
                if language is None:
                    self.problem(where, f"cannot tell the language of '{header}': write it as {base}::English (en)")
                    continue
                if language not in SUPPORTED_LANGUAGES:
                    if index in used:
                        self.warn(where, f"ignored: khaosat offers {' and '.join(LANGUAGE_NAMES.values())} only")
                    continue
            elif base not in plain or part is not None:
                if warn_unknown and index in used:
                    self.warn(where, f"ignored ({_WHY_IGNORED.get(base, 'khaosat does not use this column')})")
                continue
            if (base, language) in seen:
                self.problem(where, f"'{seen[(base, language)]}' is the same column: keep one")
                continue
            seen[(base, language)] = header
            columns.append(_Column(index, header, base, language))
        return _Sheet(name, columns, body, headers)

    def read_settings(self, name: str, rows: Sequence[Sequence[object]]) -> _Sheet:
        """The settings sheet (its first row); the default language is read first, the other columns need it."""
        rows = rows[:2]
        headers = [_text(v) for v in rows[0]] if rows else []
        values = rows[1] if len(rows) > 1 else ()
        for index, header in enumerate(headers, start=1):
            raw = _text(values[index - 1]) if index <= len(values) else ""
            if _header_parts(header) != ("default_language", None) or not raw:
                continue
            code = _language_code(raw)
            where = _Where(name, 2, index, header)
            if code is None:
                self.problem(where, f"cannot tell the language of '{raw}': write it as Vietnamese (vi) or English (en)")
            elif code not in SUPPORTED_LANGUAGES:
                self.problem(where, "khaosat offers Vietnamese (vi) and English (en) only")
            else:
                self.default = code
        return self.sheet(name, rows, _SETTINGS_COLUMNS, ("khaosat::title", "khaosat::consent_web"))

    def collect_languages(self, sheets: Sequence[_Sheet]) -> list[str]:
        """The default language, then every other language with text in a column, in the order of the columns."""
        languages = [self.default]
        first: dict[str, _Where] = {}
        for sheet in sheets:
            used = {i for _, cells in sheet.rows for i in cells}
            for c in sheet.columns:
                if c.language is not None and c.index in used:
                    first.setdefault(c.language, _Where(sheet.name, 1, c.index, c.header))
                    if c.language not in languages:
                        languages.append(c.language)
        for i, lang in enumerate(languages):
            if lang in first:
                self.at[("languages", i)] = first[lang]
        if "vi" not in first:
            self.no_vietnamese = True
            self.problem(
                _Where("survey"),
                "no Vietnamese text: khaosat surveys are in Vietnamese first; add label::Vietnamese (vi) columns",
            )
            if "vi" not in languages:
                languages.append("vi")
        return languages

    def settings_data(self, sheet: _Sheet | None) -> dict[str, Any]:
        """id, version and title from the settings sheet."""
        data: dict[str, Any] = {}
        if sheet is None or not sheet.rows:
            self.warn(_Where("settings"), "no version: the survey is version 1")
            return {"version": 1}
        row, cells = sheet.rows[0]
        self.at[("id",)] = sheet.where(row, "form_id")
        self.at[("version",)] = sheet.where(row, "version")
        self.at[("languages",)] = sheet.where(row, "default_language")
        self.place_texts(("title",), sheet, row, "khaosat::title")
        self.at[("title",)] = self.at[("title", self.default)] = sheet.where(row, "form_title")
        if form_id := sheet.get(cells, "form_id"):
            data["id"] = form_id
        version = sheet.get(cells, "version")
        if not version:
            self.warn(sheet.where(row, "version"), "no version: the survey is version 1")
            data["version"] = 1
        elif re.fullmatch(r"\d+", version):
            data["version"] = int(version)
        else:
            self.problem(
                sheet.where(row, "version"),
                f"'{version}' is not a whole number (khaosat numbers versions 1, 2, 3 ...)",
            )
            data["version"] = 1  # told above; the loader need not say it is missing
        title = sheet.texts(cells, "khaosat::title")
        if form_title := sheet.get(cells, "form_title"):
            if self.default in title:
                where = sheet.text_wheres(row, "khaosat::title")[self.default]
                self.problem(where, "the title in the default language is form_title's: keep one")
            title = {self.default: form_title, **{lang: t for lang, t in title.items() if lang != self.default}}
        if title:
            data["title"] = title
        consent_web = sheet.texts(cells, "khaosat::consent_web")
        if consent_web:  # the consent as the web survey shows it (no chat commands)
            self.place_texts(("consent_web",), sheet, row, "khaosat::consent_web")
            data["consent_web"] = consent_web
        return data

    def read_choices(self, sheet: _Sheet | None) -> dict[str, list[_RawChoice]]:
        """The choices sheet's lists by name, in the sheet's order."""
        lists: dict[str, list[_RawChoice]] = {}
        if sheet is None:
            return lists
        self.choice_columns = set(sheet.headers.values())
        for base in ("list_name", "name"):
            if sheet.column(base) is None:
                self.problem(_Where(sheet.name), f"no '{base}' column")
        if sheet.column("list_name") is None or sheet.column("name") is None:
            return lists
        first: dict[tuple[str, str], int] = {}
        for row, cells in sheet.rows:
            list_name, value = sheet.get(cells, "list_name"), sheet.get(cells, "name")
            if not list_name:
                self.problem(sheet.where(row, "list_name"), "no list_name: which list is this choice in?")
                continue
            if not value:
                self.problem(sheet.where(row, "name"), "no name: a choice needs one (the value stored)")
                continue
            if (list_name, value) in first:
                self.problem(
                    sheet.where(row, "name"),
                    f"list '{list_name}' already has a choice named '{value}' (row {first[(list_name, value)]})",
                )
                continue
            first[(list_name, value)] = row
            lists.setdefault(list_name, []).append(
                _RawChoice(
                    row,
                    value,
                    sheet.texts(cells, "label"),
                    {sheet.headers[i]: t for i, t in cells.items()},
                    sheet.where(row, "name"),
                    sheet.text_wheres(row, "label"),
                )
            )
        return lists

    def read_factors(self, sheet: _Sheet) -> list[dict[str, Any]]:
        """The factors of the khaosat_factors sheet."""
        factors: list[dict[str, Any]] = []
        for row, cells in sheet.rows:
            path: PathT = ("factors", len(factors))
            factor: dict[str, Any] = {"id": sheet.get(cells, "name"), "label": sheet.texts(cells, "label")}
            if framework := sheet.get(cells, "framework"):
                factor["framework"] = framework
            for key in ("dimension", "subdimension"):  # PAPI's dimension and the sub-dimension's number
                if number := sheet.get(cells, key):
                    factor[key] = int(number) if number.isdigit() else number
                self.at[(*path, key)] = sheet.where(row, key)
            if scoring := sheet.get(cells, "scoring"):
                factor["scoring"] = scoring
            self.at[(*path, "scoring")] = sheet.where(row, "scoring")
            self.at[path] = self.at[(*path, "id")] = sheet.where(row, "name")
            self.at[(*path, "framework")] = sheet.where(row, "framework")
            self.place_texts((*path, "label"), sheet, row, "label")
            factors.append(factor)
        return factors

    # the survey sheet

    def read_survey(self, sheet: _Sheet, lists: dict[str, list[_RawChoice]]) -> dict[str, Any]:
        """intro, consent, thanks, questions, reporting and choice_lists from the survey sheet."""
        for base in ("type", "name"):
            if sheet.column(base) is None:
                self.problem(_Where(sheet.name), f"no '{base}' column")
        if sheet.column("type") is None:
            return {"questions": []}
        items, names = self.read_rows(sheet, lists)
        self.classify(sheet, items, names, lists)
        data: dict[str, Any] = {}
        for role in ("intro", "consent", "thanks"):
            parts = [item for item in items if item.role == role]
            if parts:
                data[role] = self.joined_text(sheet, parts)
                self.place_texts((role,), sheet, parts[0].row, "label")
        if "thanks" not in data:
            data["thanks"] = {lang: DEFAULT_THANKS.get(lang, DEFAULT_THANKS["en"]) for lang in self.languages}
            self.warn(
                _Where(sheet.name), f"no note after the last question: the closing message is “{DEFAULT_THANKS['vi']}”"
            )
        questions = [item for item in items if item.role == "question"]
        groups: dict[int, expr.Node | None] = {}
        data["questions"] = [self.question(sheet, i, item, names, groups) for i, item in enumerate(questions)]
        data["reporting"] = self.reporting(sheet, questions)
        shared = {
            item.list_name
            for item in questions
            if item.qtype in ("single_choice", "multi_choice") and item.choices is not None and not item.inline
        }
        used = {item.list_name for item in items if item.list_name}
        data["choice_lists"] = {}
        for list_name, choices in lists.items():
            if list_name in shared or (list_name not in used and list_name not in WARD_LISTS):
                data["choice_lists"][list_name] = [{"value": c.value, "label": c.label} for c in choices]
                self.place_choices(("choice_lists", list_name), choices)
        return data

    def joined_text(self, sheet: _Sheet, notes: Sequence[_Item]) -> dict[str, str]:
        """The labels of notes (or an acknowledge) as one text per language, paragraphs apart."""
        text: dict[str, str] = {}
        for item in notes:
            labels = sheet.texts(item.cells, "label")
            for lang in self.languages:
                if labels and lang not in labels and not (lang == "vi" and self.no_vietnamese):
                    where = sheet.text_wheres(item.row, "label").get(lang, sheet.where(item.row, "type"))
                    self.problem(where, f"missing text for language '{lang}'")
            for lang, t in labels.items():
                text[lang] = f"{text[lang]}\n\n{t}" if lang in text else t
        return text

    def read_rows(self, sheet: _Sheet, lists: Mapping[str, list[_RawChoice]]) -> tuple[list[_Item], dict[str, _Name]]:
        """The rows that hold a question, a note or an acknowledge (groups flattened), and what every name is."""
        items: list[_Item] = []
        names: dict[str, _Name] = {}
        stack: list[_Group] = []

        def name_row(name: str, row: int, what: str) -> bool:
            if not name:
                return True
            if name in names:
                self.problem(sheet.where(row, "name"), f"the name '{name}' is already used in row {names[name].row}")
                return False
            names[name] = _Name(what, row)
            return True

        for row, cells in sheet.rows:
            raw_type = sheet.get(cells, "type")
            type_at = sheet.where(row, "type")
            name = sheet.get(cells, "name")
            if not raw_type:
                self.problem(type_at, "no type (e.g. select_one LIST, integer, text)")
                continue
            words = raw_type.split()
            kind = words[0].lower()
            if len(words) >= 2 and f"{kind} {words[1].lower()}" in (
                "begin group",
                "end group",
                "begin repeat",
                "end repeat",
                "select one",
                "select multiple",
            ):
                words = [f"{kind}_{words[1].lower()}", *words[2:]]
                kind = words[0]
            kind = _ALIASES.get(kind, kind)
            if kind in ("begin_group", "begin_repeat"):
                if kind == "begin_repeat":
                    self.problem(type_at, f"type '{raw_type}' cannot be represented ({_REFUSED[kind]})")
                name_row(name, row, "group")
                relevant = sheet.get(cells, "relevant")
                stack.append(_Group(row, relevant, sheet.where(row, "relevant"), kind == "begin_repeat"))
            elif kind in ("end_group", "end_repeat"):
                opened = "begin_repeat" if kind == "end_repeat" else "begin_group"
                if not stack:
                    self.problem(type_at, f"{kind} without a {opened} before it")
                    continue
                if stack[-1].repeat != (kind == "end_repeat"):
                    self.problem(
                        type_at,
                        f"{kind} closes the {'begin_repeat' if stack[-1].repeat else 'begin_group'} "
                        f"of row {stack[-1].row}",
                    )
                stack.pop()
            elif kind in _METADATA:
                name_row(name, row, "metadata")
                self.warn(type_at, f"ignored: '{kind}' is form metadata (khaosat records its own times)")
            elif kind in _REFUSED:
                name_row(name, row, "refused")
                self.problem(type_at, f"type '{raw_type}' cannot be represented ({_REFUSED[kind]})")
            elif kind in ("select_one", "select_multiple"):
                list_name = words[1] if len(words) >= 2 else ""
                forced = sheet.get(cells, "khaosat::type")
                ward = forced == "ward" or (not forced and kind == "select_one" and list_name in WARD_LISTS)
                if not list_name:
                    self.problem(type_at, f"{kind} needs a list name (e.g. {kind} yes_no)")
                elif len(words) > 2:
                    extra = " ".join(words[2:])
                    what = "an 'or_other' free-text answer" if extra.lower() == "or_other" else f"'{extra}'"
                    self.problem(type_at, f"{what} cannot be represented (write {kind} {list_name})")
                elif not ward and list_name not in lists:
                    self.problem(
                        type_at,
                        f"select list '{list_name}' is missing from the choices sheet{_suggest(list_name, lists)}",
                    )
                elif name_row(name, row, "question"):
                    items.append(_Item(row, cells, kind, name, list_name, tuple(stack)))
                    continue
                else:
                    continue
                name_row(name, row, "refused")
            elif kind in ("integer", "decimal", "text", "note", "acknowledge"):
                if name_row(name, row, kind if kind in ("note", "acknowledge") else "question"):
                    items.append(_Item(row, cells, kind, name, "", tuple(stack)))
            else:
                name_row(name, row, "refused")
                guess = _suggest(kind, _TYPES_READ.split(", "))
                self.problem(type_at, f"unknown type '{raw_type}'{guess} (khaosat reads: {_TYPES_READ})")
        for group in stack:
            col = sheet.column("type")
            where = _Where(sheet.name, group.row, col.index, col.header) if col is not None else None
            self.problem(where, f"{'begin_repeat' if group.repeat else 'begin_group'} without an end")
        return items, names

    def classify(
        self, sheet: _Sheet, items: list[_Item], names: dict[str, _Name], lists: Mapping[str, list[_RawChoice]]
    ) -> None:
        """What each row becomes: the consent, part of the introduction or the closing message, or a question."""
        for item in items:
            if item.kind == "note":
                continue
            first_acknowledge = item.kind == "acknowledge" and not any(i.role for i in items if i.kind != "note")
            if first_acknowledge and not self.conditional(sheet, item):
                item.role = "consent"
                if item.name:
                    names[item.name] = _Name("consent", item.row)
            else:
                item.role = "question"
        positions = [i for i, item in enumerate(items) if item.role == "question"]
        for i, item in enumerate(items):
            if item.kind != "note":
                continue
            if positions and positions[0] < i < positions[-1]:
                self.problem(
                    sheet.where(item.row, "type"),
                    "a note between questions cannot be shown on its own: put its text in the next question's hint, "
                    "or move it before the first question (the introduction) or after the last (the closing message)",
                )
            elif self.conditional(sheet, item):
                self.problem(sheet.where(item.row, "relevant"), "a note cannot have a condition (relevant)")
            else:
                item.role = "intro" if not positions or i < positions[0] else "thanks"
                if sheet.texts(item.cells, "hint"):
                    self.warn(sheet.where(item.row, "type"), "a note's hint is not shown: put it in the label")
        uses: dict[str, int] = {}
        for item in items:
            if item.role == "question" and item.list_name:
                uses[item.list_name] = uses.get(item.list_name, 0) + 1
        for item in items:
            if item.role == "question":
                item.qtype = self.question_type(sheet, item, lists, uses)
                if item.name:
                    dont_know = item.likert.dont_know if item.likert else None
                    names[item.name] = _Name("question", item.row, item.qtype, dont_know)

    def conditional(self, sheet: _Sheet, item: _Item) -> bool:
        """Whether a row or one of its groups has a relevant."""
        return bool(sheet.get(item.cells, "relevant")) or any(g.relevant for g in item.groups)

    def question_type(
        self, sheet: _Sheet, item: _Item, lists: Mapping[str, list[_RawChoice]], uses: Mapping[str, int]
    ) -> str:
        """Our question type for a row; a choice question's choices (and whether they are its own) on the item."""
        forced = sheet.get(item.cells, "khaosat::type")
        forced_at = sheet.where(item.row, "khaosat::type")
        if forced and forced not in _KHAOSAT_TYPES:
            self.problem(forced_at, f"unknown khaosat::type '{forced}' (expected {' or '.join(_KHAOSAT_TYPES)})")
            forced = ""
        elif forced and item.kind != "select_one":
            self.problem(forced_at, f"khaosat::type {forced} is for a select_one, not {item.kind}")
            forced = ""
        if item.kind in ("integer", "decimal"):
            return "number"
        if item.kind == "text":
            return "text"
        if item.kind == "acknowledge":
            return "single_choice"
        if forced == "ward" or (not forced and item.kind == "select_one" and item.list_name in WARD_LISTS):
            if sheet.get(item.cells, "choice_filter"):
                self.warn(
                    sheet.where(item.row, "choice_filter"), "ignored: a ward question offers the campaign's wards"
                )
            return "ward"
        everything = lists[item.list_name]
        item.choices = self.filtered(sheet, item, everything)
        item.inline = item.choices is not everything or (item.list_name == item.name and uses[item.list_name] == 1)
        if item.kind == "select_multiple":
            return "multi_choice"
        if forced == "single_choice":
            return "single_choice"
        item.likert = _likert(item.choices)
        if item.likert is not None:
            renamed = item.likert.dont_know not in (None, DONT_KNOW)
            if item.likert.differs or renamed:
                ours = likert_labels(item.likert.scale, self.default)
                stored = f"; its '{item.likert.dont_know}' is stored as '{DONT_KNOW}'" if renamed else ""
                self.warn(
                    sheet.where(item.row, "type"),
                    f"list '{item.list_name}' is read as a {item.likert.scale} scale (likert5), shown with khaosat's "
                    f"labels ({ours[0]} ... {ours[-1]}){stored}",
                )
            return "likert5"
        if _is_yes_no(item.choices):
            return "yes_no"
        if _is_rating(item.choices):
            return "rating"
        return "single_choice"

    def filtered(self, sheet: _Sheet, item: _Item, choices: list[_RawChoice]) -> list[_RawChoice]:
        """The choices a choice_filter keeps when it depends on no answer (a cascading select is refused)."""
        source = sheet.get(item.cells, "choice_filter")
        if not source:
            return choices
        where = sheet.where(item.row, "choice_filter")
        try:
            tree = _parse_x(source)
        except _XSyntax as e:
            self.problem(where, f"syntax error at character {e.position + 1}: {e.text}")
            return choices
        for node in _walk_x(tree):
            if isinstance(node, _XRef):
                self.problem(
                    where,
                    f"a choice_filter that depends on an answer (${{{node.name}}}) cannot be represented "
                    "(khaosat has no cascading selects)",
                )
                return choices
        for node in _walk_x(tree):
            if isinstance(node, _XName) and node.name not in self.choice_columns:
                guess = _suggest(node.name, self.choice_columns)
                self.problem(where, f"'{node.name}' is not a column of the choices sheet{guess}")
                return choices
        try:
            return [c for c in choices if _static_truth(tree, c.cells)]
        except _Unsupported as e:
            self.problem(where, str(e))
            return choices

    def question(
        self, sheet: _Sheet, i: int, item: _Item, names: Mapping[str, _Name], groups: dict[int, expr.Node | None]
    ) -> dict[str, Any]:
        """A question's data, each part's cell remembered for the loader's problems."""
        row, cells = item.row, item.cells
        path: PathT = ("questions", i)
        self.at[path] = self.at[(*path, "type")] = self.at[(*path, "choice_list")] = sheet.where(row, "type")
        self.at[(*path, "id")] = sheet.where(row, "name")
        self.at[(*path, "factor")] = sheet.where(row, "khaosat::factor")
        self.place_texts((*path, "label"), sheet, row, "label")
        self.place_texts((*path, "help"), sheet, row, "hint")
        if not item.name:
            self.problem(sheet.where(row, "name"), "no name: a question needs one (its id, e.g. age_group)")
        q: dict[str, Any] = {"id": item.name, "type": item.qtype}
        if label := sheet.texts(cells, "label"):
            q["label"] = label
        if hint := sheet.texts(cells, "hint"):
            q["help"] = hint
        q["required"] = self.required(sheet, item)
        if factor := sheet.get(cells, "khaosat::factor"):
            q["factor"] = factor
        self.at[(*path, "scores")] = sheet.where(row, "khaosat::scores")
        if scores := sheet.get(cells, "khaosat::scores"):
            parsed = _scores(scores)
            if parsed is None:
                self.problem(
                    sheet.where(row, "khaosat::scores"),
                    f"'{scores}': write each answer's score as value=score, separated by ';' (e.g. yes=1; no=0)",
                )
            else:
                q["scores"] = parsed
        own = sheet.get(cells, "relevant")
        group_at = [g.where for g in item.groups if g.relevant]
        self.at[(*path, "show_if")] = sheet.where(row, "relevant") if own or not group_at else group_at[-1]
        condition = self.condition(sheet, item, names, groups)
        if condition is not None:
            q["show_if"] = show_if_text(condition)
        if item.kind == "acknowledge":
            q["choices"] = [
                {
                    "value": ACKNOWLEDGE_VALUE,
                    "label": {lang: ACKNOWLEDGE_LABELS.get(lang, "OK") for lang in self.languages},
                }
            ]
        elif item.choices is not None and item.qtype in ("single_choice", "multi_choice"):
            if item.inline:
                q["choices"] = [{"value": c.value, "label": c.label} for c in item.choices]
                self.place_choices((*path, "choices"), item.choices)
            else:
                q["choice_list"] = item.list_name
        elif item.likert is not None:
            if item.likert.scale != "satisfaction":
                q["scale"] = item.likert.scale
            if item.likert.dont_know is not None:
                q["dont_know"] = True
        elif item.qtype == "number":
            q["integer"] = item.kind == "integer"
        for base, qtype in _EXTRAS.items():
            texts = sheet.texts(cells, base)
            key = base.removeprefix("khaosat::")
            self.place_texts((*path, key), sheet, row, base)
            if texts and item.qtype == qtype:
                q[key] = texts
            elif texts:
                where = next(w for lang, w in sheet.text_wheres(row, base).items() if lang in texts)
                self.warn(
                    where, f"ignored: only a {'number' if qtype == 'number' else 'rating (0-10)'} question has a {key}"
                )
        q.update(self.constraint(sheet, item, path))
        return q

    def required(self, sheet: _Sheet, item: _Item) -> bool:
        """The required column as a boolean (XLSForm's default: not required)."""
        value = sheet.get(item.cells, "required")
        if value.lower() in ("yes", "true", "1", "true()"):
            return True
        if value.lower() not in ("", "no", "false", "0", "false()"):
            self.problem(sheet.where(item.row, "required"), f"required is yes or no: {value} cannot be represented")
        return False

    def reporting(self, sheet: _Sheet, questions: Sequence[_Item]) -> dict[str, Any]:
        """The reporting section from the khaosat::reporting column."""
        reporting: dict[str, Any] = {}
        comments: list[str] = []
        first: dict[str, int] = {}
        for item in questions:
            role = sheet.get(item.cells, "khaosat::reporting").lower()
            where = sheet.where(item.row, "khaosat::reporting")
            if not role:
                continue
            if role not in _REPORTING_ROLES:
                self.problem(where, f"unknown khaosat::reporting '{role}' (expected {', '.join(_REPORTING_ROLES)})")
            elif role == "comment":
                self.at[("reporting", "comments", len(comments))] = where
                comments.append(item.name)
            elif role in first:
                self.problem(where, f"only one question can be '{role}' (row {first[role]} is)")
            else:
                first[role] = item.row
                self.at[("reporting", role)] = where
                reporting[role] = item.name
        if comments:
            reporting["comments"] = comments
        return reporting

    # relevant

    def condition(
        self, sheet: _Sheet, item: _Item, names: Mapping[str, _Name], groups: dict[int, expr.Node | None]
    ) -> expr.Node | None:
        """The groups' relevant and the row's own, translated and joined with `and`; None if none (or failed)."""
        parts: list[expr.Node | None] = []
        for group in item.groups:
            if group.relevant:
                if group.row not in groups:  # a group's relevant is translated (and its problems told) once
                    groups[group.row] = self.relevant(group.relevant, group.where, group.row, names)
                parts.append(groups[group.row])
        if own := sheet.get(item.cells, "relevant"):
            parts.append(self.relevant(own, sheet.where(item.row, "relevant"), item.row, names))
        if not parts or any(p is None for p in parts):
            return None
        operands: list[expr.Node] = []
        for part in parts:
            assert part is not None
            if isinstance(part, expr.BoolOp) and part.op == "and" and len(parts) > 1:
                operands.extend(part.operands)
            else:
                operands.append(part)
        return operands[0] if len(operands) == 1 else expr.BoolOp("and", tuple(operands))

    def relevant(self, source: str, where: _Where, row: int, names: Mapping[str, _Name]) -> expr.Node | None:
        """One relevant translated, or None with its problems recorded."""
        try:
            tree = _parse_x(source)
        except _XSyntax as e:
            self.problem(where, f"syntax error at character {e.position + 1}: {e.text}")
            return None
        translator = _Relevant(names, row)
        node = translator.condition(tree)
        for text in translator.problems:
            self.problem(where, text)
        return None if translator.problems else node

    # constraint

    def constraint(self, sheet: _Sheet, item: _Item, path: PathT) -> dict[str, Any]:
        """min/max, max_length or min/max_selections from a range constraint."""
        source = sheet.get(item.cells, "constraint")
        where = sheet.where(item.row, "constraint")
        for key in ("min", "max", "max_length", "min_selections", "max_selections"):
            self.at[(*path, key)] = where
        messages = [c for c in sheet.columns if c.base == "constraint_message" and c.index in item.cells]
        if messages:
            self.warn(
                _Where(sheet.name, item.row, messages[0].index, messages[0].header),
                "dropped: khaosat shows its own message for an answer out of range",
            )
        if not source:
            return {}
        subjects = {"number": ".", "text": "string-length(.)", "multi_choice": "count-selected(.)"}
        if item.qtype not in subjects:
            self.problem(
                where,
                f"a constraint on {item.kind} cannot be represented (khaosat reads a range on integer and decimal, "
                "string-length(.) on text, count-selected(.) on select_multiple)",
            )
            return {}
        try:
            tree = _parse_x(source)
        except _XSyntax as e:
            self.problem(where, f"syntax error at character {e.position + 1}: {e.text}")
            return {}
        subject = subjects[item.qtype]
        bounds = _bounds(tree, subject)
        if isinstance(bounds, str):
            self.problem(where, bounds)
            return {}
        whole = item.kind != "decimal"
        low: list[float] = []
        high: list[float] = []
        for op, value in bounds:
            if op in ("<", ">") and not whole:
                self.problem(
                    where, f"'{op}' cannot be represented on a decimal: khaosat's limits are included (write '{op}=')"
                )
                return {}
            if op in (">", ">=", "="):
                low.append(math.floor(value) + 1 if op == ">" else math.ceil(value) if whole else value)
            if op in ("<", "<=", "="):
                high.append(math.ceil(value) - 1 if op == "<" else math.floor(value) if whole else value)
        if len(low) > 1 or len(high) > 1:
            self.problem(where, f"give at most one lower and one upper limit (e.g. {subject} >= 1 and {subject} <= 3)")
            return {}
        keys = {
            "number": ("min", "max"),
            "text": ("", "max_length"),
            "multi_choice": ("min_selections", "max_selections"),
        }
        low_key, high_key = keys[item.qtype]
        out: dict[str, Any] = {}
        if low and not low_key:
            if low[0] > 1:
                self.problem(where, "a minimum length cannot be represented (khaosat only refuses an empty answer)")
                return {}
        elif low:
            out[low_key] = low[0] if item.qtype == "number" else int(low[0])
        if high:
            out[high_key] = high[0] if item.qtype == "number" else int(high[0])
        return out


def _bounds(tree: _X, subject: str) -> list[tuple[str, float]] | str:
    """`. >= 0 and . <= 20` -> [(">=", 0), ("<=", 20)] (the subject on the left), or what is wrong with it."""
    terms = list(tree.operands) if isinstance(tree, _XBool) and tree.op == "and" else [tree]
    example = f"{subject} >= 0 and {subject} <= 20" if subject == "." else f"{subject} <= 3"
    out: list[tuple[str, float]] = []
    for term in terms:
        for node in _walk_x(term):
            if isinstance(node, _XCall) and node.name not in ("count-selected", "string-length"):
                return f"unknown function '{node.name}' (only a range can be represented, e.g. {example})"
            if isinstance(node, _XRef):
                return f"a constraint that depends on another answer (${{{node.name}}}) cannot be represented"
        if not (isinstance(term, _XBin) and term.op in _COMPARISONS):
            return f"only a range can be represented (e.g. {example})"
        left, op, right = term.left, term.op, term.right
        if _subject_text(right) == subject and isinstance(left, _XNum):
            left, op, right = right, _FLIPPED[op], left
        if _subject_text(left) != subject or not isinstance(right, _XNum) or op == "!=":
            return f"only a range can be represented (e.g. {example})"
        out.append((op, float(right.value)))
    return out


def _subject_text(node: _X) -> str:
    """'.', 'string-length(.)' or 'count-selected(.)' for what a constraint limits, else ''."""
    if isinstance(node, _XDot):
        return "."
    if isinstance(node, _XCall) and len(node.args) == 1 and isinstance(node.args[0], _XDot):
        return f"{node.name}(.)"
    return ""


class _Unsupported(ValueError):
    """A choice_filter that cannot be evaluated for a choice row."""

    pass


_FILTER_HELP = "a choice_filter can compare columns of the choices sheet with values, with and, or, not()"


def _static_truth(node: _X, row: Mapping[str, str]) -> bool:
    """A choice_filter that depends on no answer, evaluated for one choice (names are its row's columns)."""
    if isinstance(node, _XBool):
        results = [_static_truth(op, row) for op in node.operands]
        return all(results) if node.op == "and" else any(results)
    if isinstance(node, _XCall) and node.name == "not" and len(node.args) == 1:
        return not _static_truth(node.args[0], row)
    if isinstance(node, _XBin) and node.op in _COMPARISONS:
        left, right = _static_value(node.left, row), _static_value(node.right, row)
        if node.op in ("=", "!="):
            numeric = isinstance(left, float) or isinstance(right, float)
            equal = _as_number(left) == _as_number(right) if numeric else left == right
            return equal if node.op == "=" else not equal
        a, b = _as_number(left), _as_number(right)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]
    raise _Unsupported(_FILTER_HELP)


def _static_value(node: _X, row: Mapping[str, str]) -> str | float:
    """A value in a choice_filter: a literal, or a column of the choice's row."""
    if isinstance(node, _XStr):
        return node.value
    if isinstance(node, _XNum):
        return float(node.value)
    if isinstance(node, _XName):
        return row.get(node.name, "")
    raise _Unsupported(_FILTER_HELP)


def _as_number(value: str | float) -> float:
    """A value as a number for a comparison (NaN when it is not one, so it compares false)."""
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except ValueError:
        return math.nan


_ORDERING = ("<", "<=", ">", ">=")


class _Relevant:
    """Translates one `relevant` into a `show_if` tree, collecting what cannot be translated."""

    def __init__(self, names: Mapping[str, _Name], row: int) -> None:
        self.names = names
        self.row = row
        self.problems: list[str] = []

    def fail(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def condition(self, node: _X) -> expr.Node | None:
        """A condition translated, or None (the problem recorded)."""
        if isinstance(node, _XBool):
            operands = [self.condition(op) for op in node.operands]
            kept = [op for op in operands if op is not None]
            return expr.BoolOp(node.op, tuple(kept)) if len(kept) == len(operands) else None
        if isinstance(node, _XCall):
            return self.call(node)
        if isinstance(node, _XBin) and node.op in _COMPARISONS:
            return self.compare(node)
        if isinstance(node, _XBin):
            self.fail(f"arithmetic ('{node.op}') cannot be represented")
        elif isinstance(node, _XRef):
            if self.question(node.name) is not None:
                self.fail(f"${{{node.name}}} alone is not a condition (e.g. ${{{node.name}}} = 'yes')")
        else:
            self.fail(f"{_describe(node)} is not a condition (e.g. ${{q}} = 'yes')")
        return None

    def call(self, node: _XCall) -> expr.Node | None:
        """not(...) or selected(${q}, 'v') translated; any other function is refused."""
        if node.name == "not":
            if len(node.args) != 1:
                self.fail("not() takes one condition")
                return None
            inner = self.condition(node.args[0])
            return expr.Not(inner) if inner is not None else None
        if node.name != "selected":
            self.fail(f"unknown function '{node.name}' (relevant may use selected() and not())")
            return None
        if len(node.args) != 2 or not isinstance(node.args[0], _XRef) or not isinstance(node.args[1], (_XStr, _XNum)):
            self.fail("selected() takes a question and a value: selected(${q}, 'value')")
            return None
        name, value = node.args[0].name, node.args[1]
        target = self.question(name)
        if target is None:
            return None
        text = value.value if isinstance(value, _XStr) else _number_text(value.value)
        if target.qtype == "multi_choice":
            return expr.Selected(expr.Ref(name, 0), text, 0)
        # ODK's selected() also reads a select_one: the same as comparing its answer
        return expr.Compare("==", expr.Ref(name, 0), expr.Const(self.stored(target, text)), 0)

    def compare(self, node: _XBin) -> expr.Node | None:
        """A comparison between answers and values translated."""
        op = "==" if node.op == "=" else node.op
        targets: list[_Name | None] = []
        for side in (node.left, node.right):
            target = None
            if isinstance(side, _XRef):
                target = self.question(side.name)
                if target is None:
                    return None
                if target.qtype == "multi_choice":
                    self.fail(f"${{{side.name}}} is a select_multiple: use selected(${{{side.name}}}, 'value')")
                    return None
            targets.append(target)
        sides: list[expr.Node] = []
        for side, other in ((node.left, targets[1]), (node.right, targets[0])):
            if isinstance(side, _XRef):
                sides.append(expr.Ref(side.name, 0))
                continue
            literal = self.literal(side, op, other)
            if literal is None:
                return None
            sides.append(expr.Const(literal))
        return expr.Compare(op, sides[0], sides[1], 0)

    def literal(self, side: _X, op: str, target: _Name | None) -> expr.Literal_ | None:
        """A value compared with an answer: numbers for an ordering, a likert5's "don't know" as stored."""
        if isinstance(side, _XNum):
            if op in ("==", "!=") and target is not None and target.dont_know == _number_text(side.value):
                return DONT_KNOW
            return side.value
        if not isinstance(side, _XStr):
            self.fail(_operand_problem(side))
            return None
        if side.value == "":
            self.fail(
                "comparing with '' (no answer) cannot be represented: khaosat hides a question whose condition "
                "uses an unanswered question"
            )
            return None
        if op in _ORDERING:
            try:
                number = float(side.value)
            except ValueError:
                self.fail(f"'{op}' compares numbers, not '{side.value}'")
                return None
            return int(number) if number.is_integer() else number
        return self.stored(target, side.value)

    def stored(self, target: _Name | None, value: str) -> str:
        """A likert5's "don't know" is stored as "dk", whatever its list called it."""
        return DONT_KNOW if target is not None and target.dont_know == value else value

    def question(self, name: str) -> _Name | None:
        """The earlier question `${name}` refers to, or None (the problem recorded)."""
        found = self.names.get(name)
        if found is None:
            self.fail(f"${{{name}}} does not exist{_suggest(name, self.names, lambda s: '${' + s + '}')}")
            return None
        if found.what == "refused":
            return None  # its row is refused already: once is enough
        if found.what == "consent":
            self.fail(
                f"${{{name}}} is the consent (the first acknowledge): every question is asked after consent, "
                "remove this condition"
            )
            return None
        if found.what != "question":
            what = {
                "metadata": "form metadata",
                "group": "a group",
                "note": "a note",
                "acknowledge": "an acknowledge",
            }[found.what]
            self.fail(f"${{{name}}} is {what}, not a question")
            return None
        if found.row == self.row:
            self.fail(f"${{{name}}} is this question itself")
            return None
        if found.row > self.row:
            self.fail(f"${{{name}}} comes later (row {found.row}): a condition can only use earlier answers")
            return None
        return found


def _operand_problem(node: _X) -> str:
    """Why a part of a comparison in `relevant` cannot be translated (only answers and values can)."""
    if isinstance(node, _XCall) and node.name not in ("selected", "not"):
        return f"unknown function '{node.name}' (relevant may use selected() and not())"
    if isinstance(node, _XBin):
        return f"arithmetic ('{node.op}') cannot be represented"
    return f"{_describe(node)} cannot be compared in relevant (compare ${{q}} with a value)"


def _describe(node: _X) -> str:
    """How a part of an expression is named in a problem."""
    if isinstance(node, _XDot):
        return "'.' (this question)"
    if isinstance(node, _XName):
        return f"'{node.name}' (write ${{{node.name}}} for a question)"
    if isinstance(node, _XCall):
        return f"{node.name}()"
    if isinstance(node, (_XNum, _XStr)):
        return repr(node.value)
    return "this expression"


# --- reading: entry points ---------------------------------------------------------------------------------------


def read_xlsform(path: str | Path) -> Imported:
    """Read an XLSForm workbook into a validated questionnaire, or raise `SurveyError` listing every problem."""
    name = str(path)
    p = Path(path)

    def refuse(text: str) -> SurveyError:
        return SurveyError([CellProblem(name, 0, "", text)])

    if not p.exists():
        raise refuse("file not found")
    if p.is_dir():
        raise refuse("is a directory, not an XLSForm workbook")
    if p.suffix.lower() == ".xls":
        raise refuse("an old Excel 97-2003 workbook (.xls): open it in Excel or LibreOffice and save it as .xlsx")
    try:
        with p.open("rb") as stream:
            book = load_workbook(stream, read_only=True, data_only=True)
            try:
                sheets = {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets}
            finally:
                book.close()
    except PermissionError:
        raise refuse("cannot read: permission denied") from None
    except (BadZipFile, InvalidFileException, KeyError, EOFError):
        raise refuse("not an Excel workbook (.xlsx)") from None
    except Exception as e:  # a damaged workbook can fail anywhere in openpyxl's parsing
        raise refuse(f"not a readable Excel workbook (.xlsx): {type(e).__name__}: {e}") from None
    return import_sheets(sheets, name)


def import_sheets(sheets: Mapping[str, Sequence[Sequence[object]]], filename: str = "<workbook>") -> Imported:
    """Translate a workbook's sheets (name -> rows of cell values, the header first) into a questionnaire."""
    importer = _Importer(filename)
    survey = importer.run(sheets)
    return Imported(survey, tuple(sorted(importer.warnings, key=lambda w: w.sort_key())))


# --- writing -----------------------------------------------------------------------------------------------------


class _Lists:
    """Names for the lists a questionnaire needs in the choices sheet, none used twice."""

    def __init__(self, survey: Survey) -> None:
        self.taken = set(survey.choice_lists)
        self.rows: list[tuple[str, str, LocalizedText]] = []
        self.by_key: dict[str, str] = {}

    def fresh(self, wanted: str, ward: bool = False) -> str:
        """`wanted`, or `wanted_2` ... when taken; only the ward question's list may be named like one."""
        name, n = wanted, 2
        while name in self.taken or (name in WARD_LISTS and not ward):
            name, n = f"{wanted}_{n}", n + 1
        self.taken.add(name)
        return name

    def add(self, key: str, wanted: str, choices: Sequence[tuple[str, LocalizedText]]) -> str:
        """The list for `key` (written once), named `wanted` or a free variant of it."""
        if key not in self.by_key:
            name = self.fresh(wanted, ward=key == "wards")
            self.by_key[key] = name
            self.rows += [(name, value, label) for value, label in choices]
        return self.by_key[key]


def build_xlsform(survey: Survey, wards: Sequence[tuple[int, str]] = ()) -> Workbook:
    """The questionnaire as an XLSForm workbook; `read_xlsform` reads it back to the same questionnaire.

    `wards` (code, name) fill the `wards` list that XLSForm tools expect for a ward question; khaosat itself
    offers the campaign's wards and ignores the list when reading.
    """
    languages = survey.languages
    lists = _Lists(survey)
    for name, choices in survey.choice_lists.items():
        lists.rows += [(name, c.value, c.label) for c in choices]
    inline: dict[str, str] = {}
    for q in survey.questions:
        if isinstance(q, (SingleChoiceQuestion, MultiChoiceQuestion)) and q.choice_list is None:
            inline[q.id] = lists.add(f"inline:{q.id}", q.id, [(c.value, c.label) for c in q.choices])

    rows: list[dict[str, Any]] = []
    taken_names = {q.id for q in survey.questions}

    def note_name(wanted: str) -> str:
        name, n = wanted, 2
        while name in taken_names:
            name, n = f"{wanted}_{n}", n + 1
        taken_names.add(name)
        return name

    if survey.intro:
        rows.append({"type": "note", "name": note_name("intro"), "label": survey.intro})
    if survey.consent:
        rows.append({"type": "acknowledge", "name": note_name("consent"), "label": survey.consent, "required": "yes"})
    roles = {survey.reporting.overall: "overall", survey.reporting.issues: "issues"}
    roles.update({c: "comment" for c in survey.reporting.comments})
    for q in survey.questions:
        row: dict[str, Any] = {"name": q.id, "label": q.label, "required": "yes" if q.required else "no"}
        if q.help:
            row["hint"] = q.help
        if q.condition is not None:
            row["relevant"] = relevant_text(q.condition)
        if q.factor:
            row["khaosat::factor"] = q.factor
        if q.scores:
            row["khaosat::scores"] = "; ".join(f"{value}={_number_text(score)}" for value, score in q.scores.items())
        if q.id in roles:
            row["khaosat::reporting"] = roles[q.id]
        row.update(_question_row(q, survey, lists, inline, languages))
        rows.append(row)
    rows.append({"type": "note", "name": note_name("thanks"), "label": survey.thanks})
    if lists.by_key.get("wards") == "wards" and wards:
        lists.rows += [("wards", str(code), {lang: name for lang in languages}) for code, name in wards]

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    _write(sheet, _columns(rows, languages), rows)
    choice_rows = [{"list_name": n, "name": v, "label": label} for n, v, label in lists.rows]
    _write(book.create_sheet("choices"), ["list_name", "name", *_text_columns("label", languages)], choice_rows)
    settings: dict[str, Any] = {
        "form_title": survey.title.get(survey.default_language, ""),
        "form_id": survey.id,
        "version": survey.version,
        "default_language": f"{LANGUAGE_NAMES.get(survey.default_language, survey.default_language)} "
        f"({survey.default_language})",
    }
    others = [lang for lang in languages[1:] if lang in survey.title]
    settings["khaosat::title"] = {lang: survey.title[lang] for lang in others}
    web_languages = [lang for lang in languages if survey.consent_web and lang in survey.consent_web]
    settings["khaosat::consent_web"] = dict(survey.consent_web or {})
    _write(
        book.create_sheet("settings"),
        [
            "form_title",
            "form_id",
            "version",
            "default_language",
            *_text_columns("khaosat::title", others),
            *_text_columns("khaosat::consent_web", web_languages),
        ],
        [settings],
    )
    if survey.factors:
        factor_rows = [
            {
                "name": f.id,
                "label": f.label,
                "framework": f.framework,
                "dimension": f.dimension,
                "subdimension": f.subdimension,
                "scoring": f.scoring if f.scoring != "share" else None,
            }
            for f in survey.factors
        ]
        papi = [key for key in ("dimension", "subdimension", "scoring") if any(r[key] is not None for r in factor_rows)]
        columns = ["name", *_text_columns("label", languages), "framework", *papi]
        _write(book.create_sheet(FACTORS_SHEET), columns, factor_rows)
    return book


def _question_row(
    q: Question, survey: Survey, lists: _Lists, inline: Mapping[str, str], languages: Sequence[str]
) -> dict[str, Any]:
    """The type, constraint and khaosat columns of a question's row."""
    row: dict[str, Any] = {}
    if isinstance(q, WardQuestion):
        name = lists.add("wards", "wards", [])
        row["type"] = f"select_one {name}"
        if name not in WARD_LISTS:
            row["khaosat::type"] = "ward"
    elif isinstance(q, (SingleChoiceQuestion, MultiChoiceQuestion)):
        name = q.choice_list if q.choice_list is not None else inline[q.id]
        kind = "select_one" if isinstance(q, SingleChoiceQuestion) else "select_multiple"
        row["type"] = f"{kind} {name}"
        if isinstance(q, SingleChoiceQuestion):
            raw = [_RawChoice(0, c.value, dict(c.label), {}, _Where(), {}) for c in survey.choices(q)]
            if _natural_kind(name, raw) != "single_choice":
                row["khaosat::type"] = "single_choice"
        else:
            terms = []
            if q.min_selections != MultiChoiceQuestion.model_fields["min_selections"].default:
                terms.append(f"count-selected(.) >= {q.min_selections}")
            if q.max_selections is not None:
                terms.append(f"count-selected(.) <= {q.max_selections}")
            if terms:
                row["constraint"] = " and ".join(terms)
    elif isinstance(q, Likert5Question):
        choices = [(str(i + 1), {lang: likert_labels(q.scale, lang)[i] for lang in languages}) for i in range(5)]
        if q.dont_know:
            choices.append((DONT_KNOW, {lang: message("dont_know", lang) for lang in languages}))
        key = f"likert_{q.scale}" + ("_dk" if q.dont_know else "")
        row["type"] = f"select_one {lists.add(key, key, choices)}"
    elif isinstance(q, YesNoQuestion):
        choices = [(v, {lang: message(v, lang) for lang in languages}) for v in ("yes", "no")]
        row["type"] = f"select_one {lists.add('yes_no', 'yes_no', choices)}"
    elif isinstance(q, RatingQuestion):
        choices = [(str(i), {lang: str(i) for lang in languages}) for i in range(11)]
        row["type"] = f"select_one {lists.add('rating_0_10', 'rating_0_10', choices)}"
        if q.low_label:
            row["khaosat::low_label"] = q.low_label
        if q.high_label:
            row["khaosat::high_label"] = q.high_label
    elif isinstance(q, NumberQuestion):
        row["type"] = "integer" if q.integer else "decimal"
        terms = []
        if q.min is not None:
            terms.append(f". >= {_number_text(q.min)}")
        if q.max is not None:
            terms.append(f". <= {_number_text(q.max)}")
        if terms:
            row["constraint"] = " and ".join(terms)
        if q.unit:
            row["khaosat::unit"] = q.unit
    elif isinstance(q, TextQuestion):
        row["type"] = "text"
        if q.max_length != DEFAULT_TEXT_LENGTH:
            row["constraint"] = f"string-length(.) <= {q.max_length}"
    return row


_COLUMN_ORDER = (
    "type",
    "name",
    "label",
    "hint",
    "required",
    "relevant",
    "constraint",
    "khaosat::type",
    "khaosat::factor",
    "khaosat::scores",
    "khaosat::reporting",
    "khaosat::unit",
    "khaosat::low_label",
    "khaosat::high_label",
)


def _text_columns(base: str, languages: Sequence[str]) -> list[str]:
    """One header per language: 'label::Vietnamese (vi)', 'label::English (en)'."""
    return [_language_header(base, lang) for lang in languages]


def _columns(rows: Sequence[Mapping[str, Any]], languages: Sequence[str]) -> list[str]:
    """The survey sheet's columns: the ones some row uses, text columns once per language."""
    used = {key for row in rows for key in row}
    out: list[str] = []
    for base in _COLUMN_ORDER:
        if base not in used:
            continue
        localized = any(isinstance(row.get(base), dict) for row in rows)
        out += _text_columns(base, languages) if localized else [base]
    return out


def _write(sheet: Any, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """A header row, then one row per mapping; a text column `base::Language (code)` reads `row[base][code]`."""
    sheet.append(list(columns))
    for row in rows:
        values: list[object] = []
        for column in columns:
            base, part = _header_parts(column)
            value = row.get(base)
            if isinstance(value, dict):
                value = value.get(_language_code(part) or "") if part is not None else None
            values.append(value)
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text


# --- YAML ------------------------------------------------------------------------------------------------------


def to_yaml(survey: Survey, source: str | None = None) -> str:
    """The questionnaire as a YAML file that `flows.loader` reads back to the same questionnaire."""
    data: dict[str, Any] = survey.model_dump(mode="json", exclude_defaults=True)
    data["questions"] = [{"id": q["id"], "type": q["type"], **q} for q in data["questions"]]
    for q in data["questions"]:
        for key in ("min", "max"):  # 1 rather than 1.0: the same number once loaded
            if isinstance(q.get(key), float) and q[key].is_integer():
                q[key] = int(q[key])
    header = f"# Imported from {Path(source).name} by 'khaosat survey import'.\n" if source else ""
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110, default_flow_style=False)


__all__ = [
    "CellProblem",
    "Imported",
    "build_xlsform",
    "import_sheets",
    "read_xlsform",
    "relevant_text",
    "show_if_text",
    "to_yaml",
]
