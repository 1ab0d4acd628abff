"""Read a questionnaire from YAML into a `Survey`, or refuse it with every problem listed.

Each problem names the file, the line and the field path, e.g.::

    survey.yaml:42: questions[5].show_if: unknown question 'q_foo'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from flows import expr
from flows.schema import (
    CALLBACK_BUDGET,
    ID_PATTERN,
    PAPI_DIMENSIONS,
    QUESTION_TYPES,
    SUPPORTED_LANGUAGES,
    VALUE_PATTERN,
    Choice,
    Factor,
    MultiChoiceQuestion,
    NumberQuestion,
    Question,
    SingleChoiceQuestion,
    Survey,
    TextQuestion,
)

PathT = tuple[str | int, ...]

MAX_CHOICES = 50  # Telegram allows 100 inline buttons; a choice question needs room for back/skip
MAX_MULTI_CHOICES = 30  # a multi-choice keyboard keeps its selection as a bit mask in the button data
MAX_TEXT_LENGTH = 4000  # a Telegram message is at most 4096 characters
SURVEY_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,47}$"
_QUESTION: TypeAdapter[Question] = TypeAdapter(Question)
_LOCALIZED_FIELDS = ("title", "intro", "consent", "consent_web", "thanks")
SCOREABLE_TYPES = ("likert5", "rating", "yes_no", "single_choice")
"""The questions a factor scored 1-10 can use (yes/no and single choices with their `scores`)."""


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def sort_key(self) -> tuple[Any, ...]:
        """Where the problem is in its file, to list problems in file order."""
        return (self.line, self.path)


Locate = Callable[[tuple[str | int, ...], str], Problem]
"""Builds the problem for a field path and a message, when the questionnaire data came from another format."""


class SurveyError(ValueError):
    """A questionnaire that cannot be used, with every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.sort_key())
        super().__init__("\n".join(str(p) for p in self.problems))


def bundled_survey_path() -> Path:
    """The default Hanoi ward-satisfaction questionnaire shipped with the package."""
    return Path(str(resources.files("flows") / "data" / "hanoi.yaml"))


BUNDLED = {"hanoi": "hanoi-ward-satisfaction", "papi": "papi-ward-governance"}
"""The questionnaires shipped with the package: file name (flows/data/<name>.yaml) -> survey id."""


def bundled_surveys() -> dict[str, Path]:
    """Each bundled questionnaire's file, by its short name ("hanoi", "papi")."""
    return {name: Path(str(resources.files("flows") / "data" / f"{name}.yaml")) for name in BUNDLED}


def resolve_survey_file(name: str) -> str:
    """A questionnaire argument as a file: an existing file as it is, else a bundled questionnaire named by its
    short name or its survey id ("papi", "papi-ward-governance"), else the argument unchanged (the loader then
    says the file is not found)."""
    if Path(name).exists():
        return name
    for short, survey_id in BUNDLED.items():
        if name in (short, survey_id):
            return str(bundled_surveys()[short])
    return name


def load_survey(path: str | Path) -> Survey:
    """Load and validate a questionnaire file."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SurveyError([Problem(name, 0, "", "file not found")]) from None
    except IsADirectoryError:
        raise SurveyError([Problem(name, 0, "", "is a directory, not a questionnaire file")]) from None
    except UnicodeDecodeError as e:
        raise SurveyError([Problem(name, 0, "", f"not UTF-8 text ({e.reason} at byte {e.start})")]) from None
    except OSError as e:
        raise SurveyError([Problem(name, 0, "", f"cannot read: {e.strerror}")]) from None
    return load_survey_text(text, name)


def load_survey_text(text: str, filename: str = "<string>") -> Survey:
    """Load and validate a questionnaire from YAML text."""
    return _Loader(filename).load(text)


def load_survey_data(data: dict[str, Any], locate: Locate) -> Survey:
    """Validate questionnaire data read from another format (e.g. an XLSForm); `locate` places each problem."""
    loader = _Loader("<data>", locate)
    survey = loader.validate(data)
    if loader.problems or survey is None:
        raise SurveyError(loader.problems)
    return survey


def format_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# --- YAML with line numbers -------------------------------------------------------------------------


_SCALARS = yaml.constructor.SafeConstructor()


class _Loader:
    def __init__(self, filename: str, locate: Locate | None = None) -> None:
        self.filename = filename
        self.locate = locate
        self.lines: dict[PathT, int] = {}
        self.problems: list[Problem] = []

    # reporting

    def line(self, path: PathT) -> int:
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def add(self, path: PathT, message: str, line_path: PathT | None = None) -> None:
        if self.locate is not None:
            self.problems.append(self.locate(path, message))
            return
        self.problems.append(
            Problem(self.filename, self.line(line_path if line_path is not None else path), format_path(path), message)
        )

    # reading

    def load(self, text: str) -> Survey:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line = mark.line + 1 if mark is not None else 1
            problem = e.problem or "invalid YAML"
            context = f" ({e.context})" if e.context else ""
            if e.context and "flow" in e.context:
                context = f" ({e.context}; put text that contains '?', ':', ',' or '#' inside {{ }} or [ ] in quotes)"
            raise SurveyError([Problem(self.filename, line, "", f"YAML syntax error: {problem}{context}")]) from None
        except yaml.YAMLError as e:
            raise SurveyError([Problem(self.filename, 1, "", f"YAML error: {e}")]) from None
        if node is None:
            raise SurveyError([Problem(self.filename, 1, "", "the file is empty")])
        data = self.build(node, ())
        if not isinstance(data, dict):
            raise SurveyError(
                [
                    Problem(
                        self.filename, node.start_mark.line + 1, "", "the file must be a mapping (id:, version:, ...)"
                    )
                ]
            )
        survey = self.validate(data)
        if self.problems or survey is None:
            raise SurveyError(self.problems)
        return survey

    def build(self, node: yaml.Node, path: PathT) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            first_seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, (*path, "<key>"))
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    self.problems.append(
                        Problem(
                            self.filename, key_node.start_mark.line + 1, format_path(path), "keys must be plain text"
                        )
                    )
                    continue
                key = str(key) if not isinstance(key, str) else key
                line = key_node.start_mark.line + 1
                if key in first_seen:
                    message = f"duplicate key '{key}' (first at line {first_seen[key]})"
                    self.problems.append(Problem(self.filename, line, format_path((*path, key)), message))
                    continue
                first_seen[key] = line
                self.lines[(*path, key)] = line
                result[key] = self.build(value_node, (*path, key))
            self.lines.pop((*path, "<key>"), None)
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                self.lines[(*path, i)] = item.start_mark.line + 1
                items.append(self.build(item, (*path, i)))
            return items
        return _SCALARS.construct_object(node)

    # validation

    def validate(self, data: dict[str, Any]) -> Survey | None:
        raw_questions = data.get("questions")
        header_data = dict(data)
        header_data["questions"] = []
        header: Survey | None = None
        try:
            header = Survey.model_validate(header_data)
        except ValidationError as e:
            self.pydantic_problems(e, ())
        if "questions" not in data:
            pass  # reported by the header validation as missing
        elif not isinstance(raw_questions, list):
            self.add(("questions",), "must be a list of questions")
            raw_questions = []
        elif not raw_questions:
            self.add(("questions",), "the questionnaire has no questions")

        languages = _languages(data.get("languages"))
        if header is not None:
            self.check_header(header)
            languages = header.languages

        questions: list[Question | None] = []
        for i, raw in enumerate(raw_questions or []):
            path: PathT = ("questions", i)
            if not isinstance(raw, dict):
                self.add(path, "each question must be a mapping (id:, type:, label:, ...)")
                questions.append(None)
                continue
            if "type" in raw and raw["type"] not in QUESTION_TYPES:
                guess = _suggest(str(raw["type"]), QUESTION_TYPES)
                self.add(
                    (*path, "type"),
                    f"unknown question type '{raw['type']}'{guess} (expected one of: {', '.join(QUESTION_TYPES)})",
                )
                questions.append(None)
                continue
            try:
                questions.append(_QUESTION.validate_python(raw))
            except ValidationError as e:
                self.pydantic_problems(e, path)
                questions.append(None)

        self.check_questions(header, languages, questions, raw_questions or [])
        if header is None or any(q is None for q in questions) or self.problems:
            return None
        return header.model_copy(update={"questions": questions})

    def pydantic_problems(self, error: ValidationError, prefix: PathT) -> None:
        for err in error.errors(include_url=False):
            loc: list[str | int] = [p for p in err["loc"] if p not in QUESTION_TYPES or not prefix]
            if prefix and loc and loc[0] in QUESTION_TYPES:
                loc = loc[1:]
            path: PathT = (*prefix, *loc)
            kind = err["type"]
            if kind == "missing":
                self.add(path[:-1], f"missing required field '{path[-1]}'")
            elif kind == "extra_forbidden":
                allowed = _allowed_keys(path[:-1], prefix)
                self.add(path[:-1], f"unknown key '{path[-1]}'{_suggest(str(path[-1]), allowed)}", path)
            elif kind == "union_tag_not_found":
                self.add(path, "missing required field 'type'")
            else:
                self.add(path, _describe_pydantic(err))

    def check_header(self, s: Survey) -> None:
        if not re.match(SURVEY_ID_PATTERN, s.id):
            self.add(("id",), f"'{s.id}' is not a valid survey id (lower-case letters, digits, '-' and '_'; 2-48)")
        if s.version < 1:
            self.add(("version",), "must be 1 or more")
        if not s.languages:
            self.add(("languages",), "must list at least 'vi'")
        seen: set[str] = set()
        for i, lang in enumerate(s.languages):
            if lang not in SUPPORTED_LANGUAGES:
                self.add(
                    ("languages", i), f"unsupported language '{lang}' (supported: {', '.join(SUPPORTED_LANGUAGES)})"
                )
            if lang in seen:
                self.add(("languages", i), f"language '{lang}' is listed twice")
            seen.add(lang)
        if s.languages and "vi" not in s.languages:
            self.add(("languages",), "must include 'vi' (Vietnamese)")
        for name in _LOCALIZED_FIELDS:
            self.check_text(getattr(s, name), (name,), s.languages)
        factor_ids: dict[str, int] = {}
        for i, f in enumerate(s.factors):
            self.check_factor(f, i, s.languages, factor_ids)
        self.check_dimensions(s)
        for name, choices in s.choice_lists.items():
            path: PathT = ("choice_lists", name)
            if not re.match(ID_PATTERN, name):
                self.add(path, f"'{name}' is not a valid list name (lower-case letters, digits and '_')")
            self.check_choices(choices, path, s.languages)

    def check_factor(self, f: Factor, i: int, languages: list[str], seen: dict[str, int]) -> None:
        path: PathT = ("factors", i)
        if not re.match(ID_PATTERN, f.id):
            self.add((*path, "id"), f"'{f.id}' is not a valid id (lower-case letters, digits and '_')")
        if f.id in seen:
            self.add((*path, "id"), f"duplicate factor id '{f.id}' (first at factors[{seen[f.id]}])")
        seen.setdefault(f.id, i)
        self.check_text(f.label, (*path, "label"), languages)
        if f.dimension is not None and f.dimension not in PAPI_DIMENSIONS:
            self.add((*path, "dimension"), f"{f.dimension} is not one of PAPI's eight dimensions (1-8)")
        if f.subdimension is not None:
            if f.dimension is None:
                self.add((*path, "subdimension"), "a sub-dimension needs its 'dimension' (1-8)")
            elif f.subdimension < 1:
                self.add((*path, "subdimension"), "must be 1 or more (2 for sub-dimension 5.2)")

    def check_dimensions(self, s: Survey) -> None:
        """A sub-dimension is declared once; the factors of one dimension are scored the same way."""
        numbered: dict[tuple[int, int], int] = {}
        method: dict[int, tuple[str, int]] = {}
        for i, f in enumerate(s.factors):
            if f.dimension is None:
                continue
            if f.subdimension is not None:
                key = (f.dimension, f.subdimension)
                if key in numbered:
                    self.add(
                        ("factors", i, "subdimension"),
                        f"sub-dimension {f.dimension}.{f.subdimension} is already factors[{numbered[key]}]",
                    )
                numbered.setdefault(key, i)
            first = method.setdefault(f.dimension, (f.scoring, i))
            if first[0] != f.scoring:
                self.add(
                    ("factors", i, "scoring"),
                    f"dimension {f.dimension} is scored '{first[0]}' at factors[{first[1]}]: the factors of a "
                    "dimension are scored the same way",
                )

    def check_text(self, text: Mapping[str, str] | None, path: PathT, languages: list[str]) -> None:
        if text is None:
            return
        for lang in languages:
            if lang not in text:
                self.add(path, f"missing text for language '{lang}'")
            elif not text[lang].strip():
                self.add((*path, lang), f"text for language '{lang}' is empty")
        for lang in text:
            if lang not in languages and lang != "vi":  # a missing 'vi' is reported once, at languages
                self.add((*path, lang), f"language '{lang}' is not declared in languages")

    def check_choices(self, choices: list[Choice], path: PathT, languages: list[str]) -> None:
        if not choices:
            self.add(path, "the choice list is empty")
            return
        if len(choices) > MAX_CHOICES:
            self.add(path, f"{len(choices)} choices is too many (at most {MAX_CHOICES})")
        seen: dict[str, int] = {}
        for i, c in enumerate(choices):
            if not re.match(VALUE_PATTERN, c.value):
                self.add(
                    (*path, i, "value"),
                    f"'{c.value}' is not a valid choice value (letters, digits, '_', '-', '.'; no spaces)",
                )
            if c.value in seen:
                self.add((*path, i, "value"), f"duplicate choice value '{c.value}' (first at [{seen[c.value]}])")
            seen.setdefault(c.value, i)
            self.check_text(c.label, (*path, i, "label"), languages)

    def check_questions(
        self,
        header: Survey | None,
        languages: list[str],
        questions: list[Question | None],
        raw: list[Any],
    ) -> None:
        first: dict[str, int] = {}
        for i, q in enumerate(questions):
            if q is not None:
                first.setdefault(q.id, i)
        factors = {f.id for f in header.factors} if header is not None else None
        lists = header.choice_lists if header is not None else None
        for i, q in enumerate(questions):
            if q is None:
                continue
            path: PathT = ("questions", i)
            if not re.match(ID_PATTERN, q.id):
                self.add(
                    (*path, "id"),
                    f"'{q.id}' is not a valid question id (start with a lower-case letter; then letters, digits, '_')",
                )
            elif first[q.id] != i:
                self.add((*path, "id"), f"duplicate question id '{q.id}' (first at questions[{first[q.id]}])")
            if len(q.id.encode()) > CALLBACK_BUDGET - 8:
                self.add(
                    (*path, "id"),
                    f"'{q.id}' is too long for Telegram button data (at most {CALLBACK_BUDGET - 8} bytes)",
                )
            self.check_text(q.label, (*path, "label"), languages)
            self.check_text(q.help, (*path, "help"), languages)
            if factors is not None and q.factor is not None and q.factor not in factors:
                self.add((*path, "factor"), f"unknown factor '{q.factor}'{_suggest(q.factor, factors)}")
            if header is not None:
                self.check_scores(q, path, header, lists)
            if isinstance(q, (SingleChoiceQuestion, MultiChoiceQuestion)):
                self.check_choice_question(q, path, languages, lists, raw[i])
            elif isinstance(q, NumberQuestion):
                self.check_text(q.unit, (*path, "unit"), languages)
                if q.min is not None and q.max is not None and q.min > q.max:
                    self.add((*path, "min"), f"min ({_num(q.min)}) is greater than max ({_num(q.max)})")
                if q.integer:
                    for bound in ("min", "max"):
                        value = getattr(q, bound)
                        if value is not None and not float(value).is_integer():
                            self.add((*path, bound), f"{bound} must be a whole number for an integer question")
            elif isinstance(q, TextQuestion):
                if not 1 <= q.max_length <= MAX_TEXT_LENGTH:
                    self.add((*path, "max_length"), f"must be between 1 and {MAX_TEXT_LENGTH}")
            elif q.type == "rating":
                self.check_text(getattr(q, "low_label", None), (*path, "low_label"), languages)
                self.check_text(getattr(q, "high_label", None), (*path, "high_label"), languages)
            if q.show_if is not None:
                self.check_condition(q, i, questions, raw, lists, path)
        if header is not None:
            self.check_reporting(header, questions, first)

    def check_choice_question(
        self,
        q: SingleChoiceQuestion | MultiChoiceQuestion,
        path: PathT,
        languages: list[str],
        lists: dict[str, list[Choice]] | None,
        raw: dict[str, Any],
    ) -> None:
        choices: list[Choice] | None = None
        if q.choice_list is not None and "choices" in raw:
            self.add(path, "give either 'choices' or 'choice_list', not both")
        elif q.choice_list is not None:
            if lists is not None:
                if q.choice_list in lists:
                    choices = lists[q.choice_list]
                else:
                    self.add(
                        (*path, "choice_list"),
                        f"unknown choice list '{q.choice_list}'{_suggest(q.choice_list, lists)}",
                    )
        elif "choices" not in raw:
            self.add(path, "missing required field 'choices' (or 'choice_list')")
        else:
            choices = q.choices
            self.check_choices(q.choices, (*path, "choices"), languages)
        if choices is None:
            return
        for j, c in enumerate(choices):
            size = len(f"{q.id}:{c.value}".encode())
            if size > CALLBACK_BUDGET:
                where = (*path, "choices", j, "value") if q.choice_list is None else (*path, "choice_list")
                self.add(
                    where,
                    f"question id and choice value '{c.value}' take {size} bytes; Telegram button data allows "
                    f"{CALLBACK_BUDGET} for them",
                )
        if isinstance(q, MultiChoiceQuestion) and choices:
            n = len(choices)
            if n > MAX_MULTI_CHOICES:
                self.add(path, f"a multi-choice question can have at most {MAX_MULTI_CHOICES} choices, not {n}")
            high = q.max_selections if q.max_selections is not None else n
            if q.min_selections < 0:
                self.add((*path, "min_selections"), "must be 0 or more")
            if q.max_selections is not None and q.max_selections < 1:
                self.add((*path, "max_selections"), "must be 1 or more")
            if q.min_selections > high:
                self.add(
                    (*path, "min_selections"),
                    f"min_selections ({q.min_selections}) is greater than max_selections ({high})",
                )
            if q.max_selections is not None and q.max_selections > n:
                self.add((*path, "max_selections"), f"max_selections ({q.max_selections}) is more than the {n} choices")

    def check_condition(
        self,
        q: Question,
        i: int,
        questions: list[Question | None],
        raw: list[Any],
        lists: dict[str, list[Choice]] | None,
        path: PathT,
    ) -> None:
        where: PathT = (*path, "show_if")
        assert q.show_if is not None
        try:
            tree = expr.parse(q.show_if)
        except expr.ExprError as e:
            self.add(where, f"syntax error at column {e.column + 1}: {e.message}")
            return
        if not _is_condition(tree):
            self.add(where, f"'{q.show_if}' is not a condition (e.g. {q.show_if} == \"yes\")")
            return
        by_id: dict[str, tuple[int, Question]] = {}
        for j, other in enumerate(questions):
            if other is not None:
                by_id.setdefault(other.id, (j, other))
        positions: dict[str, int] = {}
        for j, raw_q in enumerate(raw):
            if isinstance(raw_q, dict) and isinstance(raw_q.get("id"), str):
                positions.setdefault(raw_q["id"], j)
        for node in expr.walk(tree):
            if isinstance(node, expr.Ref):
                if node.name not in positions:
                    self.add(where, f"unknown question '{node.name}'{_suggest(node.name, positions)}")
                elif positions[node.name] == i:
                    self.add(where, f"refers to its own question '{node.name}'")
                elif positions[node.name] > i:
                    self.add(
                        where, f"refers to later question '{node.name}' (show_if may only look at earlier questions)"
                    )
        for node in expr.walk(tree):
            self.check_node_types(node, by_id, lists, where)

    def check_node_types(
        self,
        node: expr.Node,
        by_id: dict[str, tuple[int, Question]],
        lists: dict[str, list[Choice]] | None,
        where: PathT,
    ) -> None:
        def target(ref: expr.Node) -> Question | None:
            return by_id[ref.name][1] if isinstance(ref, expr.Ref) and ref.name in by_id else None

        if isinstance(node, expr.Selected):
            tq = target(node.question)
            if tq is None:
                return
            if not isinstance(tq, MultiChoiceQuestion):
                self.add(where, f"selected() needs a multi-choice question; '{tq.id}' is {tq.type}")
                return
            values = _values(tq, lists)
            if values is not None and node.value not in values:
                self.add(where, f"'{node.value}' is not a choice of '{tq.id}'{_suggest(node.value, values)}")
        elif isinstance(node, (expr.Compare, expr.In)):
            if isinstance(node, expr.Compare):
                pairs = [(node.left, node.right), (node.right, node.left)]
                literals_of = {id(node.left): [node.right], id(node.right): [node.left]}
            else:
                pairs = [(node.needle, node.haystack)]
                literals_of = {id(node.needle): [expr.Const(v) for v in node.haystack.items]}
            for ref, _ in pairs:
                tq = target(ref)
                if tq is None:
                    continue
                if isinstance(tq, MultiChoiceQuestion):
                    self.add(where, f"'{tq.id}' is multi-choice: use selected({tq.id}, \"value\")")
                    continue
                op = node.op if isinstance(node, expr.Compare) else "in"
                if op in ("<", "<=", ">", ">=") and tq.type not in ("number", "rating", "likert5"):
                    self.add(where, f"'{op}' compares numbers, but '{tq.id}' is {tq.type}")
                    continue
                allowed = _values(tq, lists)
                if allowed is None or op in ("<", "<=", ">", ">="):
                    continue
                for lit in literals_of.get(id(ref), []):
                    if isinstance(lit, expr.Const) and str(lit.value) not in allowed:
                        self.add(
                            where,
                            f"'{lit.value}' is not a possible answer of '{tq.id}'{_suggest(str(lit.value), allowed)}",
                        )

    def check_scores(self, q: Question, path: PathT, header: Survey, lists: dict[str, list[Choice]] | None) -> None:
        """`scores` only where they count (a question of a factor scored 1-10) and only for real answers; such
        a factor's questions must all be scoreable."""
        factor = next((f for f in header.factors if f.id == q.factor), None)
        scored = factor is not None and factor.scoring == "score"
        if q.scores is not None:
            where: PathT = (*path, "scores")
            if not scored:
                self.add(where, "'scores' count only for a question of a factor scored 1-10 (scoring: score)")
            if q.type not in SCOREABLE_TYPES:
                self.add(where, f"a {q.type} question cannot be scored (only {', '.join(SCOREABLE_TYPES)})")
                return
            if not q.scores:
                self.add(where, "give a score for at least one answer")
            allowed = _values(q, lists)
            if q.type == "likert5":
                allowed = {"1", "2", "3", "4", "5"}
            for value, score in q.scores.items():
                if allowed is not None and value not in allowed:
                    hint = _suggest(value, allowed)
                    if value in ("True", "False"):
                        hint = ' (YAML reads an unquoted yes or no as true or false: write "yes" or "no" in quotes)'
                    self.add((*where, value), f"'{value}' is not a possible answer of '{q.id}'{hint}")
                if not 0 <= score <= 1:
                    self.add((*where, value), f"a score is between 0 (worst) and 1 (best), not {_num(score)}")
        elif scored and q.type in ("yes_no", "single_choice"):
            self.add(
                path,
                f"factor '{q.factor}' is scored 1-10: give 'scores' for this question's answers "
                '(e.g. scores: {"yes": 0, "no": 1})',
            )
        elif scored and q.type not in SCOREABLE_TYPES:
            self.add(
                (*path, "factor"),
                f"factor '{q.factor}' is scored 1-10, but a {q.type} question cannot be scored "
                f"(only {', '.join(SCOREABLE_TYPES)})",
            )

    def check_reporting(self, s: Survey, questions: list[Question | None], first: dict[str, int]) -> None:
        by_id = {q.id: q for q in questions if q is not None}
        wanted: list[tuple[PathT, str | None, tuple[str, ...]]] = [
            (("reporting", "overall"), s.reporting.overall, ("likert5", "rating")),
            (("reporting", "issues"), s.reporting.issues, ("multi_choice", "single_choice")),
        ]
        wanted += [(("reporting", "comments", i), c, ("text",)) for i, c in enumerate(s.reporting.comments)]
        for path, qid, types in wanted:
            if qid is None:
                continue
            if qid not in by_id:
                self.add(path, f"unknown question '{qid}'{_suggest(qid, by_id)}")
            elif by_id[qid].type not in types:
                self.add(path, f"'{qid}' is {by_id[qid].type}; expected {' or '.join(types)}")


# --- helpers ----------------------------------------------------------------------------------------


def _languages(value: Any) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return []


def _is_condition(node: expr.Node) -> bool:
    if isinstance(node, expr.Not):
        return _is_condition(node.operand)
    if isinstance(node, expr.BoolOp):
        return all(_is_condition(op) for op in node.operands)
    return expr.is_condition(node)


def _values(q: Question, lists: dict[str, list[Choice]] | None) -> set[str] | None:
    """The possible answers of a question as strings, when there is a fixed set."""
    if isinstance(q, (SingleChoiceQuestion, MultiChoiceQuestion)):
        if q.choice_list is not None:
            if lists is None or q.choice_list not in lists:
                return None
            return {c.value for c in lists[q.choice_list]} or None
        return {c.value for c in q.choices} or None
    if q.type == "yes_no":
        return {"yes", "no"}
    if q.type == "likert5":
        return {"1", "2", "3", "4", "5", "dk"}
    if q.type == "rating":
        return {str(i) for i in range(11)}
    return None


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.7)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _allowed_keys(path: PathT, prefix: PathT) -> list[str]:
    from flows import schema

    if not path:
        return list(Survey.model_fields)
    if path[0] == "questions" and len(path) == 2:
        return sorted({k for name in QUESTION_TYPES for k in _question_model(name).model_fields})
    last = [p for p in path if isinstance(p, str)][-1] if any(isinstance(p, str) for p in path) else ""
    if last in ("factors",):
        return list(Factor.model_fields)
    if last in ("choices",) or (len(path) >= 2 and path[0] == "choice_lists"):
        return list(Choice.model_fields)
    if last == "reporting":
        return list(schema.Reporting.model_fields)
    return []


def _question_model(name: str) -> Any:
    from flows import schema

    return {
        "single_choice": schema.SingleChoiceQuestion,
        "multi_choice": schema.MultiChoiceQuestion,
        "likert5": schema.Likert5Question,
        "rating": schema.RatingQuestion,
        "number": schema.NumberQuestion,
        "text": schema.TextQuestion,
        "yes_no": schema.YesNoQuestion,
        "ward": schema.WardQuestion,
    }[name]


def _describe_pydantic(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    got = err.get("input")
    shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, got {shown}"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, got {shown}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {shown}"
    if kind == "string_type":
        return f"expected text, got {shown}"
    if kind == "list_type":
        return f"expected a list, got {shown}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        if isinstance(got, str):
            return "expected text per language (e.g. vi: ..., en: ...), got plain text"
        return f"expected a mapping, got {shown}"
    if kind == "literal_error":
        return f"must be one of {err.get('ctx', {}).get('expected', '')}, got {shown}"
    return f"{err['msg']} (got {shown})"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def iter_problems(error: SurveyError) -> Iterator[str]:
    for p in error.problems:
        yield str(p)
