"""Simulated responses for the first-start demo: valid answers made by walking the real questionnaire with the
engine, drawn from a seeded random generator (the same seed, questionnaire and wards give the same responses).

Pure: no I/O and no clock (the caller gives the time window). The figures they make are meant to look like a
real campaign's: a few wards that promoted the survey have most responses, others a handful; wards differ in
how satisfied their residents are; factors differ (staff rated above the living environment); a response
takes a few minutes; answers come mostly in the daytime, more as the campaign gets known; some people stop
part-way; about one in ten leaves a comment. Nothing here is a citizen's opinion.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flows import engine
from flows.questions import TYPED_ONLY, Context, JSONValue, Option, Rejected, kind_of
from flows.questions.multi_choice import MultiChoice
from flows.schema import MultiChoiceQuestion, NumberQuestion, Question, Survey

FACTOR_LEANING: Mapping[str, float] = {
    "sipas_access": 0.2,
    "sipas_procedures": -0.1,
    "sipas_staff": 0.35,
    "sipas_result": 0.15,
    "sipas_feedback": -0.35,
    "papi_transparency": -0.2,
    "papi_environment": -0.45,
    "papi_corruption": -0.3,
}
"""How each factor of the bundled survey leans against the ward's general mood (others: 0)."""

CHOICE_WEIGHTS: Mapping[str, Mapping[str, float]] = {
    "used_service": {"in_person": 0.4, "online": 0.15, "both": 0.1, "no": 0.35},
    "informal_payment": {"yes": 0.07, "no": 0.8, "prefer_not": 0.13},
    "age_group": {"18_29": 0.25, "30_44": 0.35, "45_59": 0.25, "60_plus": 0.15},
}
"""Plausible shares for some choices of the bundled survey (other choices: equally likely)."""

COMMENTS: Sequence[str] = (
    "Cần tăng thêm thùng rác công cộng ở các ngõ nhỏ.",
    "Cán bộ một cửa hướng dẫn tận tình, tôi rất hài lòng.",
    "Mưa to là ngập đầu ngõ, đề nghị phường sớm cải tạo cống thoát nước.",
    "Nên có thêm hướng dẫn làm thủ tục trực tuyến cho người cao tuổi.",
    "Vỉa hè bị lấn chiếm để xe, người đi bộ phải xuống lòng đường.",
    "Thủ tục chứng thực nhanh hơn trước nhiều.",
    "Đề nghị công khai lịch tiếp dân trên trang của phường.",
    "Giờ làm việc buổi chiều nên kéo dài thêm cho người đi làm.",
    "Khu vực chợ buổi sáng ùn tắc, cần bố trí người điều tiết.",
    "Trạm y tế phường cần thêm bác sĩ vào cuối tuần.",
    "Tôi phải đi lại ba lần mới xong hồ sơ vì thiếu giấy tờ mà không được báo trước.",
    "Rác thu gom muộn, để qua đêm bốc mùi.",
    "Cổng dịch vụ công hay bị lỗi khi nộp hồ sơ.",
    "Cảm ơn phường đã lắp thêm đèn chiếu sáng trong ngõ.",
    "Tiếng ồn từ quán karaoke đến khuya, đã phản ánh nhưng chưa được xử lý.",
    "Nên có chỗ ngồi chờ và nước uống ở bộ phận một cửa.",
)
"""Made-up comments, in the voice residents use (shown on the demo's pages as recent comments)."""


@dataclass(frozen=True)
class SimulatedResponse:
    """One made-up respondent's response: its ward, answers (in the order given) and times."""

    ward: int
    answers: tuple[tuple[str, JSONValue], ...]
    completed: bool
    language: str
    started_at: datetime
    last_activity_at: datetime

    @property
    def completed_at(self) -> datetime | None:
        return self.last_activity_at if self.completed else None


def ward_sizes(rng: random.Random, wards: Sequence[int], total: int) -> dict[int, int]:
    """How many responses each ward gets: a few wards many (30-75), some 10-29, most a handful or none."""
    order = list(wards)
    rng.shuffle(order)
    sizes = dict.fromkeys(wards, 0)
    left = total
    for i, ward in enumerate(order):
        if left <= 0:
            break
        if i < 5:
            n = rng.randint(34, 75)
        elif i < 12:
            n = rng.randint(11, 28)
        else:
            n = rng.choice((0, 0, 1, 2, 3, 4, 6))
        sizes[ward] = min(n, left)
        left -= sizes[ward]
    return sizes


def _likert(rng: random.Random, mood: float, leaning: float, dont_know: bool) -> JSONValue:
    if dont_know and rng.random() < 0.06:
        return "dk"
    latent = 3.8 + mood + leaning + rng.gauss(0, 0.95)
    return max(1, min(5, round(latent)))


def _weighted(rng: random.Random, values: Sequence[JSONValue], weights: Mapping[str, float]) -> JSONValue:
    shares = [weights.get(str(v), 0.0) for v in values]
    if sum(shares) <= 0:
        return rng.choice(list(values))
    return rng.choices(list(values), weights=shares)[0]


Values = dict[str, list[str | int]]
"""The values of each question's buttons, worked out once per demo (it asks the same questions hundreds of times)."""


def _values(survey: Survey, q: Question, ctx: Context, known: Values) -> list[str | int]:
    if q.id not in known:
        options = kind_of(q).options(q, survey, ctx) if q.type not in TYPED_ONLY else []
        known[q.id] = [o.value for o in options]
    return known[q.id]


def _answer(
    rng: random.Random,
    survey: Survey,
    q: Question,
    ctx: Context,
    mood: float,
    issues: Mapping[str, float],
    known: Values,
) -> tuple[str, JSONValue] | None:
    """A made-up answer to `q`: ("value", a button's value), ("text", typed text), or None to skip it."""
    values = _values(survey, q, ctx, known)
    if q.type == "text":  # about one in ten comments
        if q.required or rng.random() < 0.11:
            return "text", rng.choice(COMMENTS)
        return None
    if not q.required and rng.random() < 0.1:
        return None
    if isinstance(q, NumberQuestion):
        low = int(q.min) if q.min is not None else 0
        high = int(q.max) if q.max is not None else low + 10
        return "text", str(min(high, low + int(rng.expovariate(0.8))))
    if q.type == "likert5":
        leaning = FACTOR_LEANING.get(q.factor or "", 0.0)
        return "value", _likert(rng, mood, leaning, "dk" in values)
    if q.type == "rating":
        return "value", max(0, min(10, round(7 + 2 * mood + rng.gauss(0, 1.8))))
    if isinstance(q, MultiChoiceQuestion):
        low, high = MultiChoice().bounds(q, survey)
        count = rng.randint(max(1, low), max(1, high))
        pool = [str(v) for v in values]
        chosen: list[str] = []
        while pool and len(chosen) < count:
            pick = rng.choices(pool, weights=[issues.get(v, 1.0) for v in pool])[0]
            chosen.append(pick)
            pool.remove(pick)
        return "value", chosen
    if q.type == "yes_no":
        return "value", "yes" if rng.random() < 0.3 else "no"
    return "value", _weighted(rng, values, CHOICE_WEIGHTS.get(q.id, {}))


def walk(
    survey: Survey,
    ctx: Context,
    rng: random.Random,
    *,
    ward: int,
    mood: float,
    issues: Mapping[str, float],
    stop_after: int | None = None,
    known: Values | None = None,
) -> tuple[tuple[tuple[str, JSONValue], ...], bool]:
    """One respondent's answers (the ward given by a per-ward link): (answers in order, completed).

    The questions are taken in order, each shown or not by the engine's own rule (a condition only looks at
    earlier questions, so one pass finds what `engine.advance` would ask), and each answer is read by the
    question type's parser, as any channel's answer is: only valid answers come out. `stop_after`: answer
    that many questions only (someone who stopped part-way)."""
    known = {} if known is None else known
    answers: dict[str, JSONValue] = {}
    if "ward" in survey.index:
        answers["ward"] = ward
    given = 0
    for q in survey.questions:
        if q.id in answers or not engine.is_shown(q, answers):
            continue
        if stop_after is not None and given >= stop_after:
            return tuple(answers.items()), False
        made = _answer(rng, survey, q, ctx, mood, issues, known)
        if made is None:
            answers[q.id] = None
        else:
            how, raw = made
            kind = kind_of(q)
            parsed = (
                kind.parse_text(q, survey, str(raw), ctx) if how == "text" else kind.parse_value(q, survey, raw, ctx)
            )
            if isinstance(parsed, Rejected):  # a made-up answer the questionnaire refuses: a bug here
                raise ValueError(f"simulated answer {raw!r} to {q.id} refused: {parsed.reason}")
            answers[q.id] = parsed.value
        given += 1
    return tuple(answers.items()), True


def _moment(rng: random.Random, start: datetime, end: datetime, zone: ZoneInfo) -> datetime:
    """A time in [start, end): later days more likely (the campaign gets known), weekends less, daytime."""
    first, last = start.astimezone(zone).date(), (end - timedelta(seconds=1)).astimezone(zone).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    weights = [(0.25 + i / max(1, len(days) - 1)) * (0.6 if d.weekday() >= 5 else 1.0) for i, d in enumerate(days)]
    for _ in range(100):
        day = rng.choices(days, weights=weights)[0]
        hour = min(23.9, max(6.0, rng.gauss(14.5, 3.5)))
        moment = datetime.combine(day, time(0, 0), zone) + timedelta(hours=hour)
        if start <= moment < end:
            return moment
    return start + (end - start) * rng.random()


def demo_responses(
    survey: Survey,
    ctx: Context,
    wards: Sequence[int],
    start: datetime,
    end: datetime,
    timezone: str,
    *,
    total: int = 420,
    seed: int = 2025,
) -> list[SimulatedResponse]:
    """About `total` responses (about 9 in 10 completed, the others stopped part-way) in `wards`, answered between
    `start` and `end`, in `timezone`'s daytime. The same arguments give the same responses."""
    rng = random.Random(seed)
    zone = ZoneInfo(timezone)
    sizes = ward_sizes(rng, sorted(wards), total)
    questions = max(1, len(survey.questions) - 1)
    known: Values = {}
    made: list[SimulatedResponse] = []
    for ward in sorted(sizes):
        mood = rng.gauss(0, 0.5)
        issues = {str(o.value): rng.random() * 2 for q in survey.questions for o in _options(survey, q.id, ctx)}
        if issues:
            issues[rng.choice(sorted(issues))] = 5.0  # each ward has its sore point
        for _ in range(sizes[ward]):
            partial = rng.random() < 0.1
            stop = rng.randint(1, questions - 1) if partial and questions > 1 else None
            answers, completed = walk(
                survey,
                ctx,
                rng,
                ward=ward,
                mood=mood + rng.gauss(0, 0.3),
                issues=issues,
                stop_after=stop,
                known=known,
            )
            finished = _moment(rng, start, end, zone)
            minutes = max(1.0, rng.gauss(6, 2.5)) * (len(answers) / questions if not completed else 1.0)
            began = max(start, finished - timedelta(minutes=minutes))
            made.append(
                SimulatedResponse(
                    ward=ward,
                    answers=answers,
                    completed=completed,
                    language="en" if rng.random() < 0.08 else "vi",
                    started_at=began,
                    last_activity_at=finished,
                )
            )
    made.sort(key=lambda r: r.started_at)
    return made


def _options(survey: Survey, question_id: str, ctx: Context) -> list[Option]:
    q = survey.question(question_id)
    if not isinstance(q, MultiChoiceQuestion):
        return []
    return [Option(c.value, survey.text(c.label, ctx.language)) for c in survey.choices(q)]
