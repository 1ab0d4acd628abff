"""Which questions feed the figures of a questionnaire (the digests, the dashboard, the trends, the annual
report): one plan, in every language, from the questionnaire's `reporting` section and its factors, with PAPI's
dimensions and how each figure is scored.

Two methods (a factor's `scoring`):

* "share" (SIPAS): the share of answers 4-5 among the valid answers of the factor's 5-level questions;
* "score" (PAPI-style, 1-10): every scored answer has an item score from 0 (worst) to 1 (best): a 5-level
  answer 1 -> 0, 2 -> 0.25 ... 5 -> 1, a 0-10 rating v/10, a yes/no or single choice as the question's
  `scores` say (a question may turn a 5-level scale round, for statements where agreeing is bad); "don't
  know" and answers without a score count for nothing. A respondent's score for a factor or a dimension is
  1 + 9 x the mean of their item scores in it (`respondent_score`); the figure is the mean over the
  respondents who have one, with its 95% t interval (`reports.stats.mean_from_sums`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from flows.i18n import LANGUAGES, Section
from flows.schema import (
    Likert5Question,
    MultiChoiceQuestion,
    Question,
    RatingQuestion,
    SingleChoiceQuestion,
    Survey,
    YesNoQuestion,
)

_T = Section("digest")
_P = Section("papi")

LIKERT_SCORES: Mapping[int | str, float] = {1: 0.0, 2: 0.25, 3: 0.5, 4: 0.75, 5: 1.0}
"""A 5-level answer's item score, unless its question says otherwise."""
RATING_SCORES: Mapping[int | str, float] = {v: v / 10 for v in range(11)}


@dataclass(frozen=True)
class ScoredQuestion:
    """A question of a factor scored 1-10, and the item score (0-1) of each stored answer that has one
    (ints: 5-level and rating answers; strings: yes/no and choices)."""

    id: str
    scores: Mapping[int | str, float]


@dataclass(frozen=True)
class Figure:
    """An index: its id (the overall question's, or a factor's), its 1-5 scale questions, its label; for a
    factor scored 1-10, its scored questions; for a sub-dimension, its dimension and number."""

    id: str
    questions: tuple[str, ...]
    labels: Mapping[str, str]
    scoring: str = "share"
    dimension: int | None = None
    subdimension: int | None = None
    scored: tuple[ScoredQuestion, ...] = ()

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels["vi"]

    @property
    def code(self) -> str | None:
        """ "5.2" for sub-dimension 2 of dimension 5 (None when it is not a numbered sub-dimension)."""
        if self.dimension is None or self.subdimension is None:
            return None
        return f"{self.dimension}.{self.subdimension}"


@dataclass(frozen=True)
class Dimension:
    """One of PAPI's eight dimensions as a questionnaire measures it: its sub-dimensions (factors), all scored
    the same way."""

    number: int
    scoring: str
    factors: tuple[Figure, ...]

    def label(self, language: str) -> str:
        """Its name, from the catalog: "Thủ tục hành chính công" (vi), "Public administrative procedures"."""
        return dimension_label(self.number, language)

    @property
    def questions(self) -> tuple[str, ...]:
        """Its 5-level questions (what a "share" dimension counts)."""
        return tuple(dict.fromkeys(q for f in self.factors for q in f.questions))

    @property
    def scored(self) -> tuple[ScoredQuestion, ...]:
        """Its scored questions (what a "score" dimension counts)."""
        return tuple({q.id: q for f in self.factors for q in f.scored}.values())

    def groups(self) -> dict[str, dict[str, Mapping[int | str, float]]]:
        """{dimension number as text: {question: its item scores}}: what `storage.repo.stats.score_sums` takes."""
        return {str(self.number): {q.id: q.scores for q in self.scored}}


def dimension_label(number: int, language: str) -> str:
    """The name of PAPI dimension `number` (1-8) in a language."""
    return _P(f"dimension_{number}", language)


def method_label(scoring: str, language: str) -> str:
    """How a figure is made, in a few words: "tỷ lệ hài lòng (4–5)" or "điểm 1–10"."""
    return _P(f"method_{scoring}", language)


@dataclass(frozen=True)
class Plan:
    overall: Figure | None
    """The overall satisfaction question (labelled with its factor's name, if it has one)."""
    factors: tuple[Figure, ...]
    """The factors with 1-5 scale questions (other than the overall one), in the questionnaire's order."""
    issues: str | None
    """The "top issues" choice question."""
    issue_labels: Mapping[str, Mapping[str, str]]
    """Each choice of the issues question: its label in every language."""
    comments: tuple[str, ...]
    scored: tuple[Figure, ...] = ()
    """The factors scored 1-10 (with or without a dimension), in the questionnaire's order."""
    dimensions: tuple[Dimension, ...] = field(default=())
    """PAPI's dimensions the questionnaire measures, by number."""

    def dimension(self, number: int) -> Dimension | None:
        return next((d for d in self.dimensions if d.number == number), None)

    @property
    def scale_questions(self) -> list[str]:
        ids = [self.overall.questions[0]] if self.overall else []
        for f in self.factors:
            ids.extend(f.questions)
        return list(dict.fromkeys(ids))

    def issues_label(self, language: str) -> str | None:
        return _T("issues_label", language) if self.issues is not None else None

    def issue_label(self, value: str, language: str) -> str:
        labels = self.issue_labels.get(value)
        return (labels.get(language) or labels.get("vi") or value) if labels else value


def _texts(survey: Survey, text: dict[str, str] | None) -> dict[str, str]:
    return {language: survey.text(text, language) for language in LANGUAGES}


def _plan(survey: Survey) -> Plan:
    reporting = survey.reporting
    scale = {q.id: q for q in survey.questions if isinstance(q, Likert5Question)}
    overall = None
    if reporting.overall and reporting.overall in scale:
        question = scale[reporting.overall]
        labels = _texts(survey, question.label)
        for f in survey.factors:
            if f.id == question.factor:
                labels = _texts(survey, f.label)
        overall = Figure(reporting.overall, (reporting.overall,), labels)
    factors = []
    scored = []
    for f in survey.factors:
        qids = tuple(q.id for q in scale.values() if q.factor == f.id and q.id != reporting.overall)
        labels = _texts(survey, f.label)
        if f.scoring == "score":
            items = tuple(
                ScoredQuestion(q.id, item_scores(q))
                for q in survey.questions
                if q.factor == f.id and q.id != reporting.overall and item_scores(q)
            )
            if items:
                scored.append(Figure(f.id, qids, labels, "score", f.dimension, f.subdimension, items))
        elif qids:
            factors.append(Figure(f.id, qids, labels, "share", f.dimension, f.subdimension))
    by_number: dict[int, list[Figure]] = {}
    for figure in (*factors, *scored):
        if figure.dimension is not None:
            by_number.setdefault(figure.dimension, []).append(figure)
    dimensions = tuple(
        Dimension(number, members[0].scoring, tuple(sorted(members, key=lambda m: (m.subdimension or 0, m.id))))
        for number, members in sorted(by_number.items())
    )
    issues = None
    issue_labels: dict[str, dict[str, str]] = {}
    if reporting.issues and reporting.issues in survey.index:
        asked = survey.question(reporting.issues)
        if isinstance(asked, MultiChoiceQuestion | SingleChoiceQuestion):
            issues = asked.id
            issue_labels = {c.value: _texts(survey, c.label) for c in survey.choices(asked)}
    comments = tuple(q for q in reporting.comments if q in survey.index)
    return Plan(overall, tuple(factors), issues, issue_labels, comments, tuple(scored), dimensions)


def item_scores(q: Question) -> dict[int | str, float]:
    """Each stored answer of a question and its item score (0-1), for a factor scored 1-10 ({} for a question
    that cannot be scored)."""
    if isinstance(q, Likert5Question):
        return {int(k): v for k, v in q.scores.items()} if q.scores else dict(LIKERT_SCORES)
    if isinstance(q, RatingQuestion):
        return {int(k): v for k, v in q.scores.items()} if q.scores else dict(RATING_SCORES)
    if isinstance(q, YesNoQuestion | SingleChoiceQuestion):
        return {str(k): v for k, v in (q.scores or {}).items()}
    return {}


def respondent_score(answers: Mapping[str, object], questions: tuple[ScoredQuestion, ...]) -> float | None:
    """A respondent's score (1-10) on these questions from their answers: 1 + 9 x the mean of the item scores
    of the answers that have one; None when none has. The rule `storage.repo.stats.score_sums` carries out in
    SQL (the tests compare the two)."""
    items = []
    for q in questions:
        answer = answers.get(q.id)
        if isinstance(answer, bool) or answer is None:
            continue
        key: int | str | None = None
        if isinstance(answer, int | float) and float(answer).is_integer():
            key = int(answer)
        elif isinstance(answer, str):
            key = answer
        if key is not None and key in q.scores:
            items.append(q.scores[key])
    if not items:
        return None
    return 1 + 9 * math.fsum(items) / len(items)


_PLANS: dict[int, tuple[Survey, Plan]] = {}


def plan_of(survey: Survey) -> Plan:
    """The plan of a questionnaire (made once per parsed questionnaire: they are kept for the process)."""
    found = _PLANS.get(id(survey))
    if found is None or found[0] is not survey:
        found = _PLANS[id(survey)] = (survey, _plan(survey))
    return found[1]
