"""Property tests: random input sequences never raise, never ask a hidden question, and valid answers
always reach completion."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import engine, expr
from flows.events import AnswerRecorded, AnswerRemoved, QuestionAsked, SurveyCompleted
from flows.loader import bundled_survey_path, load_survey
from flows.questions import Context, WardOption
from flows.schema import MultiChoiceQuestion, NumberQuestion, Question, Survey
from storage.admin_units import units_of_province
from tests.engine.golden_runner import GOLDEN

SURVEYS = [load_survey(bundled_survey_path()), load_survey(GOLDEN / "surveys" / "small.yaml")]
HANOI = tuple(WardOption(u.code, u.name) for u in units_of_province(1))
CONTEXTS = [Context("vi", HANOI), Context("en", HANOI[:5])]

junk_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.text(max_size=8), max_size=5),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", " ", "1", "0", "99", "-1", "2,5", "có", "không", "<", "dk", "hoan kiem", "a, b", "\u202e"]),
    st.text(alphabet=st.characters(categories=["Cc", "Zs", "So"]), max_size=30),
)


def question_ids(survey: Survey) -> list[str]:
    return [q.id for q in survey.questions]


@st.composite
def inputs(draw: st.DrawFn, survey: Survey) -> engine.Input:
    qid = draw(st.none() | st.sampled_from(question_ids(survey)))
    kind = draw(st.sampled_from(["consent", "answer", "text", "back", "skip"]))
    if kind == "consent":
        return engine.Consent(draw(st.booleans()))
    if kind == "answer":
        return engine.Answer(draw(junk_values), qid)
    if kind == "text":
        return engine.Text(draw(texts), qid)
    if kind == "back":
        return engine.Back(qid)
    return engine.Skip(qid)


def assert_consistent(survey: Survey, step: engine.Step) -> None:
    state = step.state
    answers = state.answer_map
    # every stored answer belongs to a question shown given the answers before it
    for qid in answers:
        q = survey.question(qid)
        before = {k: v for k, v in answers.items() if survey.index[k] < survey.index[qid]}
        assert q.condition is None or expr.evaluate(q.condition, before) is True
    for event in step.events:
        if isinstance(event, QuestionAsked):
            q = survey.question(event.question_id)
            assert q.condition is None or expr.evaluate(q.condition, answers) is True, "asked a hidden question"
            assert event.question_id not in answers
            assert 1 <= event.number <= event.total <= len(survey.questions)
    # the state survives JSON
    assert engine.State.from_json(json.loads(json.dumps(state.to_json()))) == state


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), survey_index=st.integers(0, len(SURVEYS) - 1), ctx_index=st.integers(0, 1))
def test_random_inputs_never_raise_nor_ask_hidden_questions(
    data: st.DataObject, survey_index: int, ctx_index: int
) -> None:
    survey, ctx = SURVEYS[survey_index], CONTEXTS[ctx_index]
    step = engine.start(survey, ctx)
    assert_consistent(survey, step)
    for inp in data.draw(st.lists(inputs(survey), max_size=40)):
        step = engine.advance(survey, step.state, inp, ctx)
        assert_consistent(survey, step)
        recorded = [e for e in step.events if isinstance(e, AnswerRecorded)]
        removed = [e for e in step.events if isinstance(e, AnswerRemoved)]
        assert len(recorded) <= 1 and (not removed or not recorded or removed[0].question_id != recorded[0].question_id)


def valid_answer(draw: st.DrawFn, survey: Survey, q: Question, event: QuestionAsked) -> engine.Input:
    if not q.required and draw(st.booleans()):
        return engine.Skip(q.id)
    if isinstance(q, NumberQuestion):
        low = q.min if q.min is not None else -1000
        high = q.max if q.max is not None else 1000
        if q.integer:
            return engine.Text(str(draw(st.integers(int(low), int(high)))), q.id)
        x = round(draw(st.floats(low, high)), 2)
        x = min(max(x, low), high)
        return engine.Text(str(x).replace(".", draw(st.sampled_from([".", ","]))), q.id)
    if q.type == "text":
        size = min(20, getattr(q, "max_length", 20))
        return engine.Text(draw(st.text(alphabet="abc xyz ơư", min_size=1, max_size=size)).strip() or "ok", q.id)
    values = [o.value for o in event.options]
    if isinstance(q, MultiChoiceQuestion):
        count = draw(st.integers(event.min_selections, event.max_selections))
        chosen = draw(st.permutations(values))[:count]
        return engine.Answer(list(chosen), q.id)
    return engine.Answer(draw(st.sampled_from(values)), q.id)


@settings(max_examples=120, deadline=None)
@given(data=st.data(), survey_index=st.integers(0, len(SURVEYS) - 1), lang=st.sampled_from(["vi", "en"]))
def test_valid_answers_always_complete(data: st.DataObject, survey_index: int, lang: str) -> None:
    survey = SURVEYS[survey_index]
    ctx = Context(lang, HANOI)
    step = engine.start(survey, ctx)
    if not step.state.consented:
        step = engine.advance(survey, step.state, engine.Consent(True), ctx)
    backs = 0
    for _ in range(4 * len(survey.questions)):
        asked = step.events[-1]
        if isinstance(asked, SurveyCompleted):
            break
        assert isinstance(asked, QuestionAsked), step.events
        q = survey.question(asked.question_id)
        if asked.can_go_back and backs < 5 and data.draw(st.integers(0, 5)) == 0:
            backs += 1
            inp: engine.Input = engine.Back(q.id)
        else:
            inp = valid_answer(data.draw, survey, q, asked)
        step = engine.advance(survey, step.state, inp, ctx)
        assert_consistent(survey, step)
    assert engine.is_complete(survey, step.state)
    assert isinstance(step.events[-1], SurveyCompleted)


@given(st.text(max_size=80))
def test_expression_parser_never_crashes(source: str) -> None:
    try:
        tree = expr.parse(source)
    except expr.ExprError as e:
        assert 0 <= e.column <= len(source)
        return
    answers: dict[str, Any] = {}
    try:
        expr.evaluate(tree, answers)
    except TypeError:
        assert not expr.is_condition(tree) or isinstance(tree, (expr.Not, expr.BoolOp))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), survey_index=st.integers(0, len(SURVEYS) - 1), prefill_ward=st.booleans())
def test_the_progress_shown_never_goes_down_along_any_answer_path(
    data: st.DataObject, survey_index: int, prefill_ward: bool
) -> None:
    survey = SURVEYS[survey_index]
    ctx = Context("vi", HANOI)
    prefill = {"ward": 70} if prefill_ward and "ward" in survey.index else None
    step = engine.start(survey, ctx, prefill=prefill, consented=True)
    shown: list[tuple[int, int, str]] = []
    for _ in range(2 * len(survey.questions)):
        asked = step.events[-1]
        if isinstance(asked, SurveyCompleted):
            break
        assert isinstance(asked, QuestionAsked), step.events
        shown.append((asked.number, asked.percent, asked.progress_text))
        q = survey.question(asked.question_id)
        step = engine.advance(survey, step.state, valid_answer(data.draw, survey, q, asked), ctx)
    assert isinstance(step.events[-1], SurveyCompleted)
    numbers = [number for number, _, _ in shown]
    percents = [percent for _, percent, _ in shown]
    assert numbers == list(range(1, len(shown) + 1)), "the question number moves by one, never sideways"
    assert percents == sorted(percents), f"the share done went down: {percents}"
    assert percents[0] == 0 and all(p < 100 for p in percents)
    for number, percent, text in shown:
        assert text == f"Câu {number} · đã xong {percent}%"


def test_saying_no_to_the_service_question_moves_the_progress_forward_not_back() -> None:
    survey, ctx = SURVEYS[0], Context("vi", HANOI)
    step = engine.start(survey, ctx, prefill={"ward": 70}, consented=True)
    for value in ("18_29", "female"):
        step = engine.advance(survey, step.state, engine.Answer(value), ctx)
    before = step.events[-1]
    step = engine.advance(survey, step.state, engine.Answer("no"), ctx)
    after = step.events[-1]
    assert isinstance(before, QuestionAsked) and isinstance(after, QuestionAsked)
    assert before.progress_text == "Câu 3 · đã xong 11%"  # 2 answered of at most 17 (the ward came with the link)
    assert after.progress_text == "Câu 4 · đã xong 30%"  # the service block is hidden: 3 of at most 10
