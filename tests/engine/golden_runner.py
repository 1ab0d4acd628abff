"""Golden flow tests: a questionnaire, inputs in, events out (goflow style).

Each case under `golden/` names a survey, a language and wards, then steps of `input` and the `events`
expected in a compact form. Between every step the state is serialised to JSON and read back.
Set KHAOSAT_UPDATE_GOLDEN=1 to rewrite the expected events after an intended change (and read the diff).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from flows import engine
from flows.events import (
    AnswerRecorded,
    AnswerRejected,
    AnswerRemoved,
    ConsentDeclined,
    ConsentRequested,
    Event,
    InputIgnored,
    QuestionAsked,
    SurveyCompleted,
)
from flows.loader import bundled_survey_path, load_survey
from flows.questions import Context, WardOption
from flows.schema import Survey
from storage.admin_units import units_of_province

GOLDEN = Path(__file__).parent / "golden"


def compact(event: Event) -> str:
    if isinstance(event, ConsentRequested):
        return "consent"
    if isinstance(event, ConsentDeclined):
        return "declined"
    if isinstance(event, QuestionAsked):
        text = f"ask {event.question_id} {event.number}/{event.total} {event.percent}%"
        if event.has_previous:
            text += f" previous={json.dumps(event.previous, ensure_ascii=False)}"
        return text
    if isinstance(event, AnswerRecorded):
        return f"record {event.question_id}={json.dumps(event.value, ensure_ascii=False)}"
    if isinstance(event, AnswerRemoved):
        return f"remove {event.question_id}"
    if isinstance(event, AnswerRejected):
        return f"reject {event.question_id} {event.reason}: {event.text}"
    if isinstance(event, InputIgnored):
        return f"ignore {event.reason}"
    if isinstance(event, SurveyCompleted):
        return "complete"
    raise AssertionError(event)


def to_input(spec: dict[str, Any]) -> engine.Input:
    qid = spec.get("question")
    if "consent" in spec:
        return engine.Consent(bool(spec["consent"]))
    if "text" in spec:
        return engine.Text(str(spec["text"]), qid)
    if "value" in spec:
        return engine.Answer(spec["value"], qid)
    if spec.get("back"):
        return engine.Back(qid)
    if spec.get("skip"):
        return engine.Skip(qid)
    raise AssertionError(spec)


def load_case(path: Path) -> tuple[dict[str, Any], Survey, Context]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    survey_ref = case.get("survey", "bundled")
    survey = load_survey(bundled_survey_path() if survey_ref == "bundled" else path.parent / survey_ref)
    wards_spec = case.get("wards", "hanoi")
    if wards_spec == "hanoi":
        wards = tuple(WardOption(u.code, u.name) for u in units_of_province(1))
    else:
        wards = tuple(WardOption(int(w["code"]), w["name"]) for w in wards_spec)
    return case, survey, Context(case.get("language", "vi"), wards)


def run_case(path: Path, update: bool = False) -> list[tuple[int, list[str], list[str]]]:
    """Returns (step index, expected, actual) for every step that differs."""
    case, survey, ctx = load_case(path)
    mismatches = []
    state: engine.State | None = None
    for i, step_spec in enumerate(case["steps"]):
        if "start" in step_spec:
            opts = step_spec["start"] or {}
            step = engine.start(survey, ctx, prefill=opts.get("prefill"), consented=opts.get("consented", False))
        else:
            assert state is not None, "the first step must be a start"
            step = engine.advance(survey, state, to_input(step_spec["input"]), ctx)
        actual = [compact(e) for e in step.events]
        if actual != step_spec.get("events"):
            mismatches.append((i, step_spec.get("events"), actual))
            step_spec["events"] = actual
        # the answers are the state: serialise and read back between every step
        state = engine.State.from_json(json.loads(json.dumps(step.state.to_json())))
        assert state == step.state
    if update and mismatches:
        path.write_text(yaml.safe_dump(case, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
    return mismatches
