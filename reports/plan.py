"""Which questions feed the figures of a questionnaire (the digests, the dashboard, the trends): one plan,
in every language, from the questionnaire's `reporting` section and its factors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flows.i18n import LANGUAGES, Section
from flows.schema import Likert5Question, MultiChoiceQuestion, SingleChoiceQuestion, Survey

_T = Section("digest")


@dataclass(frozen=True)
class Figure:
    """An index: its id (the overall question's, or a factor's), its 1-5 scale questions, its label."""

    id: str
    questions: tuple[str, ...]
    labels: Mapping[str, str]

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels["vi"]


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
    for f in survey.factors:
        qids = tuple(q.id for q in scale.values() if q.factor == f.id and q.id != reporting.overall)
        if qids:
            factors.append(Figure(f.id, qids, _texts(survey, f.label)))
    issues = None
    issue_labels: dict[str, dict[str, str]] = {}
    if reporting.issues and reporting.issues in survey.index:
        asked = survey.question(reporting.issues)
        if isinstance(asked, MultiChoiceQuestion | SingleChoiceQuestion):
            issues = asked.id
            issue_labels = {c.value: _texts(survey, c.label) for c in survey.choices(asked)}
    comments = tuple(q for q in reporting.comments if q in survey.index)
    return Plan(overall, tuple(factors), issues, issue_labels, comments)


_PLANS: dict[int, tuple[Survey, Plan]] = {}


def plan_of(survey: Survey) -> Plan:
    """The plan of a questionnaire (made once per parsed questionnaire: they are kept for the process)."""
    found = _PLANS.get(id(survey))
    if found is None or found[0] is not survey:
        found = _PLANS[id(survey)] = (survey, _plan(survey))
    return found[1]
