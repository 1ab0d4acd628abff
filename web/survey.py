"""The citizen web survey: /s/<campaign>[/<ward>], the same engine and conversation service as Telegram.

One question per screen, plain HTML forms (no JavaScript needed; web/static/survey/survey.js only enhances).

* Who: a random id in a signed, HttpOnly, SameSite=Lax cookie (path /s/) is the channel user id of
  `Who("web", id)`; the conversation service keys the respondent by an HMAC of it, so returning resumes
  and a second response to the same campaign is refused ("already completed"). A missing or tampered
  cookie makes a new visitor. Before consent the chosen language lives only in the cookie; afterwards
  SetLanguage stores it on the respondent.
* Every POST carries a CSRF token bound to the cookie's id (403 without it) and a one-time update id,
  rendered fresh into every form and passed to the service (hashed with the cookie id): a form submitted
  twice changes nothing. A successful POST redirects (303) to the page's GET, so a reload never resubmits.
  An answer the engine re-asks is shown again at once (422, with the message and what was typed).
* GET pages read: the view of the person's conversation, or `Start(campaign, ward)` (which writes nothing
  for a survey with a consent text) to show the consent, a resumed question, or "already completed".

Status codes: unknown (or draft) campaign 404; closed or ended 410; not open yet 403; a ward in the URL that
is not one of the campaign's 404 with the ward picker; missing or bad CSRF token 403; unreadable form 400;
a re-asked answer 422; an answer to a question already answered (another tab) 409; anything unexpected 503
with a "temporary error" page (logged once); any other address under /s/ 404 with a "page not found" page
(`web.errors`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from flows import engine
from flows.conversation import (
    WEB,
    DeleteMyData,
    GiveConsent,
    Outcome,
    OutcomeKind,
    Reply,
    Restart,
    SetLanguage,
    Start,
    Who,
)
from flows.events import (
    AnswerRejected,
    ConsentRequested,
    Event,
    InputIgnored,
    QuestionAsked,
    SurveyCompleted,
)
from flows.questions import Option, WardOption, search_wards
from flows.schema import Survey
from flows.text import collation_key
from reports import format as fmt
from storage.records import CampaignRecord
from web import errors, survey_texts
from web.context import SurveyStats, WebContext
from web.params import whole_number
from web.security import Signer, new_id
from web.survey_texts import LANGUAGES
from web.templating import render

log = logging.getLogger(__name__)

CHANNEL = WEB
COOKIE = "khaosat_r"
BACK_COOKIE = "khaosat_back"
COOKIE_PATH = "/s/"
COOKIE_MAX_AGE = 365 * 24 * 3600
BACK_MAX_AGE = 3600
MAX_COOKIE = 3800  # browsers keep cookies up to about 4096 bytes (name, value and attributes)
STATIC_PREFIX = "/static/survey"
STATIC_DIR = Path(__file__).parent / "static" / "survey"

SELECT_ABOVE = 20  # a ward question with more options than this is a <select> rather than radio buttons
MAX_SEARCH = 100

_CODE = re.compile(r"^[a-z0-9-]{3,32}$")
_WARD = re.compile(r"^[0-9]{1,7}$")
_UPDATE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_INT32 = 2**31 - 1

NOTICE_STATUS = {
    "unknown_campaign": 404,
    "no_campaign": 404,
    "campaign_closed": 410,
    "campaign_not_started": 403,
    "other_under_way": 409,
    "forbidden": 403,
    "bad_request": 400,
    "too_many_new": 429,
    "error": 503,
}


# --- state kept in the browser ------------------------------------------------------------------------


@dataclass
class Visitor:
    """The person behind a browser: the cookie's random id, language, and whether a respondent row exists."""

    id: str
    language: str = "vi"
    known: bool = False
    """The service has a respondent for this id (they consented); language changes go to the database."""
    valid: bool = True
    """The request came with a valid cookie (False: a new visitor, or a missing or tampered cookie)."""
    changed: bool = False
    back: tuple[str, Any] | None = None
    """(question id, answer) of the question the person just went back to, to show the answer they gave."""
    back_changed: bool = False


_UNAVAILABLE = frozenset({OutcomeKind.UNKNOWN_CAMPAIGN, OutcomeKind.CAMPAIGN_CLOSED, OutcomeKind.CAMPAIGN_NOT_STARTED})
"""Outcomes that say the campaign does not take answers (a notice page)."""


@dataclass(frozen=True)
class Place:
    """A campaign taking answers, with its questionnaire and wards."""

    campaign: CampaignRecord
    survey: Survey
    wards: tuple[WardOption, ...]

    @property
    def code(self) -> str:
        return self.campaign.code

    @property
    def asks_ward(self) -> bool:
        return any(q.type == "ward" for q in self.survey.questions)

    @property
    def needs_picker(self) -> bool:
        """A link without a ward shows the ward picker first (unless the campaign has a single ward)."""
        return self.asks_ward and len(self.wards) > 1

    def ward_name(self, code: int | None) -> str | None:
        for w in self.wards:
            if w.code == code:
                return w.name
        return None


@dataclass(frozen=True)
class Ticket:
    """A new respondent let in by the campaign's web policy: their admission (counted per client address) and
    the invitation code they claimed, to bind to the response they begin (or give back if they begin none)."""

    admission: int
    code: str | None = None


@dataclass(frozen=True)
class Notice:
    kind: str
    title: str = ""
    when: str = ""


def _field(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _redirect(location: str) -> web.Response:
    response = web.Response(status=303, headers={"Location": location})
    response.headers["Cache-Control"] = "no-store"
    return response


def _asset_version(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


class SurveySite:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.service = ctx.service
        self.signer = Signer(ctx.secret)
        self.secure = (ctx.public_url or "").startswith("https://")
        self.stats = SurveyStats()
        self._wards: dict[int, tuple[WardOption, ...]] = {}
        version = _asset_version(STATIC_DIR)
        self.css_url = f"{STATIC_PREFIX}/survey.css?v={version}"
        self.js_url = f"{STATIC_PREFIX}/survey.js?v={version}"

    # --- the visitor's cookie ---------------------------------------------------------------------------

    def visitor(self, request: web.Request) -> Visitor:
        value = self.signer.unsign(request.cookies.get(COOKIE), "citizen")
        if (
            isinstance(value, dict)
            and isinstance(value.get("i"), str)
            and _VISITOR_ID.match(value["i"])
            and value.get("l") in LANGUAGES
        ):
            visitor = Visitor(value["i"], value["l"], known=bool(value.get("k")))
        else:
            visitor = Visitor(new_id(), valid=False, changed=True)
        back = self.signer.unsign(request.cookies.get(BACK_COOKIE), "citizen-back", max_age=BACK_MAX_AGE)
        if isinstance(back, dict) and back.get("r") == visitor.id and isinstance(back.get("q"), str):
            visitor.back = (back["q"], back.get("v"))
        return visitor

    def _store(self, response: web.StreamResponse, visitor: Visitor) -> None:
        options: dict[str, Any] = {"path": COOKIE_PATH, "httponly": True, "samesite": "Lax", "secure": self.secure}
        if visitor.changed:
            value = self.signer.sign({"i": visitor.id, "l": visitor.language, "k": int(visitor.known)}, "citizen")
            response.set_cookie(COOKIE, value, max_age=COOKIE_MAX_AGE, **options)
        if visitor.back_changed:
            token = None
            if visitor.back is not None:
                question_id, value = visitor.back
                token = self.signer.sign({"r": visitor.id, "q": question_id, "v": value}, "citizen-back")
            if token is not None and len(token) <= MAX_COOKIE:
                response.set_cookie(BACK_COOKIE, token, max_age=BACK_MAX_AGE, **options)
            else:  # nothing to remember, or too long for a cookie (a long text): the page just won't prefill it
                response.del_cookie(BACK_COOKIE, path=COOKIE_PATH)

    @staticmethod
    def who(visitor: Visitor) -> Who:
        return Who(CHANNEL, visitor.id, address=None, language=visitor.language)

    def _update_id(self, visitor: Visitor, token: str | None) -> str | None:
        """The service's update id for a form: its one-time token, bound to this visitor (None: not ours)."""
        if token is None or not _UPDATE.match(token):
            return None
        return "w" + hashlib.sha256(f"{visitor.id}:{token}".encode()).hexdigest()[:32]

    def _learn(self, visitor: Visitor, outcome: Outcome) -> None:
        """Keep the cookie in step with the database: a respondent exists, and their language."""
        exists = outcome.response_id is not None or outcome.kind is OutcomeKind.ALREADY_COMPLETED
        if exists and not visitor.known:
            visitor.known = True
            visitor.changed = True
        if exists and outcome.language in LANGUAGES and outcome.language != visitor.language:
            visitor.language = outcome.language
            visitor.changed = True

    @staticmethod
    def _set_back(visitor: Visitor, value: tuple[str, Any] | None) -> None:
        if value is None and visitor.back is None:
            return
        visitor.back = value
        visitor.back_changed = True

    # --- campaigns ----------------------------------------------------------------------------------------

    async def place(self, code: str) -> Place | Notice:
        """The campaign behind a link, or why it cannot be answered."""
        from storage.repo import campaigns, surveys, wards

        if not _CODE.match(code):
            return Notice("unknown_campaign")
        async with self.ctx.db.read() as conn:
            try:
                c = await campaigns.get(conn, code)
            except campaigns.CampaignNotFound:
                return Notice("unknown_campaign")
            if c.status == "draft":
                return Notice("unknown_campaign")
            survey_def = await surveys.definition(conn, c.survey_id)
            units = self._wards.get(c.id)
            if units is None:
                found = await wards.get_many(conn, list(c.ward_codes))
                units = tuple(sorted((WardOption(u.code, u.name) for u in found), key=_ward_order))
                self._wards[c.id] = units  # the wards of a launched campaign never change
        now = self.ctx.clock()
        if c.status == "closed" or now >= c.ends_at:
            return Notice("campaign_closed", c.title)
        if now < c.starts_at:
            return Notice("campaign_not_started", c.title, fmt.local(c.starts_at, c.timezone, "when"))
        return Place(c, survey_def, units)

    @staticmethod
    def _ward(place: Place, text: str | None) -> tuple[int | None, bool]:
        """(ward code or None, whether the URL's ward is valid)."""
        if text is None:
            if place.asks_ward and len(place.wards) == 1:
                return place.wards[0].code, True
            return None, True
        if not _WARD.match(text):
            return None, False
        code = int(text)
        return (code, True) if code in place.campaign.ward_codes else (None, False)

    # --- rendering ----------------------------------------------------------------------------------------

    def _values(self, request: web.Request, visitor: Visitor, place: Place | None, **values: Any) -> dict[str, Any]:
        lang = visitor.language
        other = "en" if lang == "vi" else "vi"
        base: dict[str, Any] = {
            "lang": lang,
            "other_lang": other,
            "t": lambda key, **params: survey_texts.t(key, lang, **params),
            "tl": survey_texts.t,
            "number": lambda value: survey_texts.number(value, lang),
            "css_url": self.css_url,
            "js_url": self.js_url,
            "path": request.path,
            "switch_url": request.path + "?" + urlencode({"lang": other, **_search(request)}),
            "campaign_title": place.campaign.title if place else "",
            "ward_name": None,
            "show_delete": visitor.known,
            "show_restart": False,
            "csrf": self.signer.csrf_token(visitor.id),
            "u": new_id(),
        }
        base.update(values)
        return base

    def _html(self, template: str, status: int, values: dict[str, Any]) -> web.Response:
        return render(f"survey/{template}", status=status, headers={"Cache-Control": "no-store"}, **values)

    def notice(
        self, request: web.Request, visitor: Visitor, notice: Notice, link: str | None = None, status: int | None = None
    ) -> web.Response:
        """A page that says why the survey cannot go on: in the visitor's language, then the other one."""
        lang = visitor.language
        order = [lang, "en" if lang == "vi" else "vi"]
        kind = notice.kind
        blocks = [
            {
                "lang": language,
                "title": survey_texts.t(f"{kind}_title", language) if f"{kind}_title" in survey_texts.t else "",
                "text": survey_texts.t(kind, language, title=notice.title, when=notice.when),
                "link_text": survey_texts.t("open_survey", language),
            }
            for language in order
        ]
        values = self._values(request, visitor, None, blocks=blocks, link=link, switch_url=None)
        values["campaign_title"] = notice.title
        return self._html("notice.html", status or NOTICE_STATUS.get(kind, 200), values)

    def picker(
        self, request: web.Request, visitor: Visitor, place: Place, status: int = 200, invalid: str | None = None
    ) -> web.Response:
        query = (request.query.get("q") or "").strip()[:MAX_SEARCH]
        shown = list(place.wards)
        if query:
            shown = search_wards(place.wards, query)
        items = [
            {"code": w.code, "name": w.name, "key": w.key, "short": w.short_key, "url": f"/s/{place.code}/{w.code}"}
            for w in shown
        ]
        values = self._values(
            request,
            visitor,
            place,
            items=items,
            query=query,
            total=len(place.wards),
            invalid=invalid,
            base_url=f"/s/{place.code}",
        )
        return self._html("picker.html", status, values)

    def _question(
        self,
        request: web.Request,
        visitor: Visitor,
        place: Place,
        outcome: Outcome,
        event: QuestionAsked,
        *,
        status: int = 200,
        error: str | None = None,
        notice: str | None = None,
        candidates: tuple[Option, ...] = (),
        submitted: Mapping[str, Any] | None = None,
    ) -> web.Response:
        previous: Any = None
        has_previous = False
        if event.has_previous:
            previous, has_previous = event.previous, True
        elif visitor.back is not None and visitor.back[0] == event.question_id:
            previous, has_previous = visitor.back[1], True
        previous_text = ""
        if has_previous and previous is not None and outcome.survey is not None and outcome.ctx is not None:
            try:
                previous_text = engine.display_answer(outcome.survey, event.question_id, previous, outcome.ctx)
            except Exception:  # a stale value for a changed questionnaire: show nothing rather than fail
                previous_text = ""
        options = list(candidates or event.options)
        chosen: set[str] = set()
        typed = ""
        if submitted is not None:
            chosen = {str(v) for v in submitted.get("values", ())}
            typed = str(submitted.get("text") or "")
        elif has_previous and previous is not None:
            if isinstance(previous, list):
                chosen = {str(v) for v in previous}
            elif event.options:
                chosen = {str(previous)}
            else:
                typed = str(previous)
        if event.type == "multi_choice":
            kind = "multi"
        elif event.options:
            kind = "ward" if event.type == "ward" else "choice"
        else:
            kind = "typed"
        question = outcome.survey.question(event.question_id) if outcome.survey is not None else None
        max_length = int(getattr(question, "max_length", 0) or 0) if event.type == "text" else 0
        integer = bool(getattr(question, "integer", False))
        values = self._values(
            request,
            visitor,
            place,
            event=event,
            kind=kind,
            options=[{"value": str(o.value), "label": o.label, "checked": str(o.value) in chosen} for o in options],
            use_select=kind == "ward" and len(options) > SELECT_ABOVE,
            candidates=bool(candidates),
            typed=typed,
            previous_text=previous_text if has_previous else "",
            has_previous=has_previous and previous is not None,
            error=error,
            notice=notice,
            response_id=outcome.response_id or "",
            max_length=max_length,
            inputmode="numeric" if integer else "decimal",
            unit=event.unit,
            is_last=event.number == event.total,
            ward_name=place.ward_name(outcome.ward_code),
            show_restart=True,
        )
        return self._html("question.html", status, values)

    def _consent(
        self,
        request: web.Request,
        visitor: Visitor,
        place: Place,
        outcome: Outcome | None,
        event: ConsentRequested | None,
        *,
        status: int = 200,
        code_error: str | None = None,
        code: str = "",
        ward: int | None = None,
    ) -> web.Response:
        """The consent page (and the invitation code, when the campaign needs one); without a consent event, the
        code alone (a questionnaire without a consent text)."""
        survey_def = (outcome.survey if outcome else None) or place.survey
        lang = visitor.language
        consent = ""
        if event is not None:
            consent = survey_def.text(survey_def.consent_web, lang) if survey_def.consent_web else event.text
        values = self._values(
            request,
            visitor,
            place,
            survey_title=survey_def.text(survey_def.title, lang),
            intro=survey_def.text(survey_def.intro, lang),
            consent=consent,
            web_consent=bool(survey_def.consent_web) or event is None,
            ward_name=place.ward_name(outcome.ward_code if outcome else ward),
            ask_code=place.campaign.web_requires_code,
            code_error=code_error,
            code=code,
        )
        return self._html("consent.html", status, values)

    def _done(self, request: web.Request, visitor: Visitor, place: Place, text: str, again: bool) -> web.Response:
        lang = visitor.language
        thanks = text or place.survey.text(place.survey.thanks, lang)
        values = self._values(request, visitor, place, thanks=thanks, again=again)
        return self._html("done.html", 200, values)

    def _message(
        self, request: web.Request, visitor: Visitor, place: Place, kind: str, link: str | None, status: int = 200
    ) -> web.Response:
        """A page in the visitor's language: declined, deleted."""
        values = self._values(request, visitor, place, kind=kind, link=link)
        return self._html("message.html", status, values)

    def show(
        self,
        request: web.Request,
        visitor: Visitor,
        place: Place,
        outcome: Outcome,
        *,
        declined: bool = False,
        deleted: bool = False,
    ) -> web.Response:
        """Render the person's current position (an outcome of the service)."""
        self._learn(visitor, outcome)
        if outcome.kind in _UNAVAILABLE or outcome.kind is OutcomeKind.NO_CAMPAIGN:
            return self.notice(request, visitor, Notice(outcome.kind.value, outcome.campaign_title or ""))
        if outcome.kind is OutcomeKind.ALREADY_COMPLETED:
            return self._done(request, visitor, place, "", again="done" not in request.query)
        if outcome.kind is OutcomeKind.OTHER_UNDER_WAY:  # one questionnaire at a time: back to the other one
            other = f"/s/{quote(outcome.campaign_code or '')}"
            return self.notice(request, visitor, Notice(outcome.kind.value, outcome.campaign_title or ""), other)
        event = _shown(outcome.events)
        if isinstance(event, QuestionAsked):
            return self._question(request, visitor, place, outcome, event)
        if isinstance(event, SurveyCompleted):
            return self._done(request, visitor, place, event.text, again=False)
        if isinstance(event, ConsentRequested):
            if deleted:
                return self._message(request, visitor, place, "deleted", request.path)
            if declined:
                return self._message(request, visitor, place, "declined", request.path)
            return self._consent(request, visitor, place, outcome, event)
        log.warning("web survey: nothing to show for outcome %s", outcome.kind)
        return self.notice(request, visitor, Notice("error"))

    # --- handlers -----------------------------------------------------------------------------------------

    def guarded(
        self, handler: Callable[[web.Request, Visitor], Awaitable[web.StreamResponse]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """Read the visitor, run the handler, attach the cookies; an unexpected error is a 503 page."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            visitor = self.visitor(request)
            try:
                response = await handler(request, visitor)
            except web.HTTPException:
                raise
            except Exception:
                log.exception("web survey: %s %s failed", request.method, request.path)
                if request.method == "POST":
                    self.stats.failed += 1
                response = self.notice(request, visitor, Notice("error"), link=request.path)
            self._store(response, visitor)
            return response

        return wrapped

    async def error_page(self, request: web.Request, status: int) -> web.StreamResponse:
        """404, 405 or 400 under /s/ (see `web.errors`): both languages, and a link to the campaign if the path has
        one."""
        visitor = self.visitor(request)
        parts = request.path.split("/")
        link = f"/s/{parts[2]}" if len(parts) > 2 and _CODE.match(parts[2]) else "/s"
        kind = {400: "bad_request", 405: "wrong_method"}.get(status, "page_not_found")
        return self.notice(request, visitor, Notice(kind), link=link, status=status)

    async def campaigns(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        """/s: the open campaigns (straight to the only one)."""
        from storage.repo import campaigns

        async with self.ctx.db.read() as conn:
            found = await campaigns.open_campaigns(conn, self.ctx.clock())
        if len(found) == 1:
            return _redirect(f"/s/{found[0].code}")
        if not found:
            return self.notice(request, visitor, Notice("no_campaign"))
        items = [{"url": f"/s/{c.code}", "title": c.title} for c in found]
        values = self._values(request, visitor, None, items=items, switch_url=None)
        return self._html("campaigns.html", 200, values)

    async def page(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        """GET /s/<code>[/<ward>]: the picker, the consent, the current question, or the thank-you."""
        code = request.match_info["code"]
        found = await self.place(code)
        if isinstance(found, Notice):
            return self.notice(request, visitor, found)
        place = found
        ward, valid = self._ward(place, request.match_info.get("ward"))
        if not valid:
            text = survey_texts.t("invalid_ward", visitor.language, ward=request.match_info.get("ward", "")[:20])
            return self.picker(request, visitor, place, status=404, invalid=text)
        language = request.query.get("lang")
        if language is not None:
            if language in LANGUAGES:
                if language != visitor.language:
                    visitor.language = language
                    visitor.changed = True
                if visitor.known:  # a respondent exists: store the choice with them
                    outcome = await self.service.handle(self.who(visitor), SetLanguage(language))
                    self._learn(visitor, outcome)
            search = _search(request)  # the picker's search survives the switch
            return _redirect(request.path + ("?" + urlencode(search) if search else ""))
        confirm = request.query.get("confirm")
        if confirm in ("restart", "delete"):
            values = self._values(request, visitor, place, action=confirm)
            return self._html("confirm.html", 200, values)
        who = self.who(visitor)
        if visitor.valid:
            view = await self.service.view(who)
            if view.kind is OutcomeKind.EVENTS and view.campaign_code == place.code:
                return self.show(request, visitor, place, view)
        if ward is None and place.needs_picker:
            if visitor.known:  # perhaps they finished this campaign already
                outcome = await self.service.handle(who, Start(place.code, None))
                if outcome.kind is not OutcomeKind.EVENTS or outcome.resumed:
                    return self.show(request, visitor, place, outcome)
            return self.picker(request, visitor, place)
        ticket: Ticket | None = None
        if place.survey.consent is None and await self._newcomer(visitor, place):  # Start would begin a response
            if place.campaign.web_requires_code:
                return self._consent(request, visitor, place, None, None, ward=ward)  # the code first
            admitted = await self._admit(request, visitor, place)
            if isinstance(admitted, web.Response):
                return admitted
            ticket = admitted
        outcome = await self.service.handle(who, Start(place.code, ward))
        if ticket is not None:
            await self._settle(place, ticket, outcome)
        return self.show(
            request, visitor, place, outcome, declined="declined" in request.query, deleted="deleted" in request.query
        )

    async def submit(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        """POST /s/<code>[/<ward>]: consent, an answer, back, skip, restart or delete; then 303 to the page."""
        try:
            form = await request.post()
        except (UnicodeDecodeError, ValueError):
            return self.notice(request, visitor, Notice("bad_request"), link=request.path)
        if not visitor.valid or not self.signer.check_csrf(_field(form, "csrf"), visitor.id):
            return self.notice(request, visitor, Notice("forbidden"), link=request.path)
        found = await self.place(request.match_info["code"])
        if isinstance(found, Notice):
            return self.notice(request, visitor, found)
        place = found
        ward, valid = self._ward(place, request.match_info.get("ward"))
        if not valid:
            text = survey_texts.t("invalid_ward", visitor.language, ward=request.match_info.get("ward", "")[:20])
            return self.picker(request, visitor, place, status=404, invalid=text)
        action = _field(form, "action") or "next"
        update_id = self._update_id(visitor, _field(form, "u"))
        who = self.who(visitor)
        self._set_back(visitor, None)

        if action == "agree" and await self._newcomer(visitor, place):  # the campaign's web policy decides
            admitted = await self._let_in(request, visitor, place, ward, _field(form, "code"))
            if isinstance(admitted, web.Response):
                return admitted
            outcome = await self._handle(who, GiveConsent(True, place.code, ward), update_id)
            await self._settle(place, admitted, outcome)
            return self._after(request, visitor, place, outcome)
        if action in ("agree", "decline"):
            outcome = await self._handle(who, GiveConsent(action == "agree", place.code, ward), update_id)
            if outcome.kind is OutcomeKind.DECLINED:
                visitor.known, visitor.changed = False, True
                return _redirect(request.path + "?declined=1")
            return self._after(request, visitor, place, outcome)
        if action == "restart":
            outcome = await self._handle(who, Restart(), update_id)
            return self._after(request, visitor, place, outcome)
        if action == "delete":
            await self._handle(who, DeleteMyData(), update_id)
            visitor.id, visitor.known, visitor.changed = new_id(), False, True  # a new, unlinkable code
            return _redirect(request.path + "?deleted=1")
        if not visitor.known:
            return _redirect(request.path)  # not answering yet: the page shows the consent

        response_id = _int(_field(form, "r"))
        question_id = (_field(form, "q") or "")[:64] or None
        inp, submitted = _input(action, form, question_id)
        outcome = await self._handle(who, Reply(inp, response_id), update_id)
        self._learn(visitor, outcome)
        if outcome.kind is OutcomeKind.CAMPAIGN_CLOSED:
            return self.notice(request, visitor, Notice("campaign_closed", outcome.campaign_title or ""))
        if outcome.kind is OutcomeKind.EVENTS and not outcome.duplicate:
            rejected = next((e for e in outcome.events if isinstance(e, AnswerRejected)), None)
            ignored = next((e for e in outcome.events if isinstance(e, InputIgnored)), None)
            if rejected is not None:
                return await self._again(
                    request, visitor, place, 422, error=rejected.text, candidates=rejected.candidates, sent=submitted
                )
            if ignored is not None and ignored.reason in ("already_answered", "not_current"):
                notice = survey_texts.t(ignored.reason, visitor.language)
                return await self._again(request, visitor, place, 409, notice=notice)
            asked = next((e for e in outcome.events if isinstance(e, QuestionAsked) and e.has_previous), None)
            if asked is not None:
                self._set_back(visitor, (asked.question_id, asked.previous))
            if any(isinstance(e, SurveyCompleted) for e in outcome.events):
                self._learn(visitor, outcome)
                return _redirect(request.path + "?done=1")  # the thank-you, not "you have already answered"
        return self._after(request, visitor, place, outcome)

    # --- the campaign's web policy: new respondents per address, invitation codes ----------------------------

    async def _newcomer(self, visitor: Visitor, place: Place) -> bool:
        """This person has no response in this campaign yet: beginning one lets a new respondent in (a person
        known from another campaign too: the limit and the code are per campaign). Asked of the database, not
        the cookie: an "agree" sent twice (the cookie of the first reply not yet kept) is not a second person."""
        if not visitor.valid:
            return True
        from storage.repo import webpolicy

        key = self.service.key(self.who(visitor))
        async with self.ctx.db.read() as conn:
            return not await webpolicy.has_response(conn, key, place.campaign.id)

    def client(self, request: web.Request) -> str:
        from web.client import client_address

        return client_address(request.remote, request.headers.getall("X-Forwarded-For", []), self.ctx.trusted_proxies)

    async def _admit(self, request: web.Request, visitor: Visitor, place: Place) -> Ticket | web.Response:
        """Count a new respondent from this client address, or the 429 page when the campaign's limit is reached."""
        from storage.repo import webpolicy

        key = webpolicy.address_key(self.ctx.secret, self.client(request))
        async with self.ctx.db.write() as conn:
            admission = await webpolicy.admit(conn, place.campaign.id, key, place.campaign.web_limit, self.ctx.clock())
        if admission is None:
            self.stats.refused += 1
            response = self.notice(request, visitor, Notice("too_many_new", place.campaign.title), link=request.path)
            response.headers["Retry-After"] = str(int(webpolicy.WINDOW.total_seconds()))
            return response
        return Ticket(admission)

    async def _let_in(
        self, request: web.Request, visitor: Visitor, place: Place, ward: int | None, typed: str | None
    ) -> Ticket | web.Response:
        """A new respondent agreeing to take part: the address limit, then the invitation code if one is needed
        (a refused code shows the consent again with why)."""
        from storage.repo import webpolicy

        code: str | None = None
        if place.campaign.web_requires_code:
            code = webpolicy.normalise_code(typed or "")
            if not code:
                return await self._code_refused(request, visitor, place, ward, "code_missing", 422, typed or "")
        admitted = await self._admit(request, visitor, place)
        if isinstance(admitted, web.Response) or code is None:
            return admitted
        async with self.ctx.db.write() as conn:
            claim = await webpolicy.claim_code(conn, place.campaign.id, code, self.ctx.clock())
            if claim is not webpolicy.CodeClaim.CLAIMED:
                await webpolicy.forget(conn, admitted.admission)
        if claim is webpolicy.CodeClaim.CLAIMED:
            return Ticket(admitted.admission, code)
        reason = "code_used" if claim is webpolicy.CodeClaim.USED else "code_unknown"
        return await self._code_refused(request, visitor, place, ward, reason, 403, typed or "")

    async def _code_refused(
        self,
        request: web.Request,
        visitor: Visitor,
        place: Place,
        ward: int | None,
        reason: str,
        status: int,
        typed: str,
    ) -> web.Response:
        error = survey_texts.t(reason, visitor.language)
        if place.survey.consent is None:  # the code page alone (Start would begin a response)
            return self._consent(request, visitor, place, None, None, status=status, code_error=error, ward=ward)
        outcome = await self.service.handle(self.who(visitor), Start(place.code, ward))  # writes nothing: the consent
        event = _shown(outcome.events)
        if not isinstance(event, ConsentRequested):
            return self.show(request, visitor, place, outcome)
        return self._consent(request, visitor, place, outcome, event, status=status, code_error=error, code=typed[:32])

    async def _settle(self, place: Place, ticket: Ticket, outcome: Outcome) -> None:
        """Bind the admission and the code to the response the new respondent began, or give them back."""
        from storage.repo import webpolicy

        campaign_id = place.campaign.id
        async with self.ctx.db.write() as conn:
            if outcome.response_id is not None and outcome.campaign_code == place.code:
                await webpolicy.bind(conn, ticket.admission, outcome.response_id)
                if ticket.code is not None:
                    await webpolicy.bind_code(conn, campaign_id, ticket.code, outcome.response_id)
            else:
                await webpolicy.forget(conn, ticket.admission)
                if ticket.code is not None:
                    await webpolicy.release_code(conn, campaign_id, ticket.code)

    async def _handle(self, who: Who, action: Any, update_id: str | None) -> Outcome:
        outcome = await self.service.handle(who, action, update_id)
        if outcome.duplicate:
            self.stats.duplicate += 1
        else:
            self.stats.handled += 1
        return outcome

    def _after(self, request: web.Request, visitor: Visitor, place: Place, outcome: Outcome) -> web.Response:
        self._learn(visitor, outcome)
        if outcome.kind in _UNAVAILABLE:
            return self.notice(request, visitor, Notice(outcome.kind.value, outcome.campaign_title or ""))
        return _redirect(request.path)

    async def _again(
        self,
        request: web.Request,
        visitor: Visitor,
        place: Place,
        status: int,
        *,
        error: str | None = None,
        notice: str | None = None,
        candidates: tuple[Option, ...] = (),
        sent: Mapping[str, Any] | None = None,
    ) -> web.Response:
        """The current question again, with why (a re-ask keeps what the person typed or chose)."""
        view = await self.service.view(self.who(visitor))
        event = _shown(view.events) if view.kind is OutcomeKind.EVENTS else None
        if not isinstance(event, QuestionAsked):
            return _redirect(request.path)
        return self._question(
            request,
            visitor,
            place,
            view,
            event,
            status=status,
            error=error,
            notice=notice,
            candidates=candidates,
            submitted=sent if error is not None else None,
        )


# --- helpers ----------------------------------------------------------------------------------------------


def _shown(events: tuple[Event, ...]) -> Event | None:
    """The event that decides the page: the last consent, question or thank-you."""
    for event in reversed(events):
        if isinstance(event, (ConsentRequested, QuestionAsked, SurveyCompleted)):
            return event
    return None


def _search(request: web.Request) -> dict[str, str]:
    """The ward picker's search of a request, as query parameters (empty without one)."""
    query = (request.query.get("q") or "").strip()[:MAX_SEARCH]
    return {"q": query} if query else {}


def _ward_order(ward: WardOption) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], int]:
    """The picker's order: Vietnamese alphabetical (Đ after every D, tones after letters), then by code."""
    return collation_key(ward.name), ward.code


def _int(text: str | None) -> int | None:
    return whole_number(text, 1, _INT32)


def _input(action: str, form: Mapping[str, Any], question_id: str | None) -> tuple[engine.Input, dict[str, Any]]:
    """The engine input for a submitted question form, and what was submitted (to show it again)."""
    if action == "back":
        return engine.Back(question_id), {}
    if action == "skip":
        return engine.Skip(question_id), {}
    getall = getattr(form, "getall", None)
    kind = _field(form, "kind")
    value = _field(form, "value")
    text = _field(form, "text") or ""
    if kind == "multi":
        values = [v for v in (getall("values", []) if getall else []) if isinstance(v, str)]
        return engine.Answer(values, question_id), {"values": values}
    if kind == "typed":
        return engine.Text(text, question_id), {"text": text}
    if value:
        return engine.Answer(value, question_id), {"values": [value], "text": text}
    return engine.Text(text, question_id), {"text": text}


def setup(app: web.Application, ctx: WebContext) -> None:
    site = SurveySite(ctx)
    ctx.survey_stats = site.stats
    errors.add_page(app, "/s/", site.error_page)
    app.router.add_static(STATIC_PREFIX, STATIC_DIR, name="survey-static")
    app.router.add_get("/s", site.guarded(site.campaigns))
    app.router.add_get("/s/", site.guarded(site.campaigns))
    app.router.add_get("/s/{code}", site.guarded(site.page))
    app.router.add_post("/s/{code}", site.guarded(site.submit))
    app.router.add_get("/s/{code}/{ward}", site.guarded(site.page))
    app.router.add_post("/s/{code}/{ward}", site.guarded(site.submit))
    app.router.add_get("/s/{code}/{ward}/", _without_slash)
    app.router.add_get("/s/{code}/", _without_slash)


async def _without_slash(request: web.Request) -> web.StreamResponse:
    """A link typed or scanned with a trailing slash: the same page without it."""
    code, ward = request.match_info["code"], request.match_info.get("ward")
    if not _CODE.match(code) or (ward is not None and not _WARD.match(ward)):
        raise web.HTTPNotFound()
    return _redirect(f"/s/{code}" + (f"/{ward}" if ward is not None else ""))
