"""Helpers for the web survey tests: a browser-like HTTP client (cookies kept, redirects followed) and a
small parser for the survey's pages (forms, hidden fields, choices, messages)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp
import sqlalchemy as sa

from bot.app import Application
from storage.repo.sql import answer as answer_t
from storage.repo.sql import respondent, response
from tests.web.conftest import base_url


@dataclass
class Choice:
    type: str
    name: str
    value: str
    label: str = ""
    checked: bool = False


@dataclass
class Page:
    status: int
    url: str
    html: str
    headers: Mapping[str, str]
    lang: str = ""
    h1: str = ""
    hidden: dict[str, str] = field(default_factory=dict)
    choices: list[Choice] = field(default_factory=list)
    typed: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)
    """(name, value, text) of the submit buttons."""
    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    progress: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""

    @property
    def question(self) -> str | None:
        return self.hidden.get("q")

    def actions(self) -> set[str]:
        return {value for name, value, _ in self.buttons if name == "action"}

    def value_of(self, label: str) -> str:
        """The value of the choice whose label is `label`."""
        for c in self.choices:
            if c.label == label:
                return c.value
        raise AssertionError(f"no choice {label!r} in {[c.label for c in self.choices]}")

    def checked(self) -> list[str]:
        return [c.value for c in self.choices if c.checked]


class _Parser(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.stack: list[str] = []
        self.capture: list[tuple[str, list[str]]] = []
        self.label: Choice | None = None
        self.label_text: list[str] = []
        self.button: tuple[str, str] | None = None
        self.textarea: str | None = None
        self.link: str | None = None
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "html":
            self.page.lang = a.get("lang", "")
        if tag == "input":
            kind = a.get("type", "text")
            if kind == "hidden":
                self.page.hidden[a.get("name", "")] = a.get("value", "")
            elif kind in ("radio", "checkbox"):
                choice = Choice(kind, a.get("name", ""), a.get("value", ""), checked="checked" in a)
                self.page.choices.append(choice)
                self.label = choice
                self.label_text = []
            elif kind in ("text", "search"):
                self.page.typed[a.get("name", "")] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a.get("name", "")
            self.page.typed[self.textarea] = ""
        elif tag == "option":
            choice = Choice("option", "value", a.get("value", ""), checked="selected" in a)
            self.page.choices.append(choice)
            self.label, self.label_text = choice, []
        elif tag == "button":
            self.button = (a.get("name", ""), a.get("value", ""))
            self.capture.append(("button", []))
        elif tag == "a":
            self.link = a.get("href", "")
            self.capture.append(("a", []))
        if tag == "h1":
            self.capture.append(("h1", []))
        if "error" in classes:
            self.capture.append(("error", []))
        if "notice" in classes:
            self.capture.append(("notice", []))
        if "progress-text" in classes:
            self.capture.append(("progress", []))
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("label", "option") and self.label is not None:
            self.label.label = " ".join("".join(self.label_text).split())
            self.label = None
        if tag == "textarea":
            self.textarea = None
        if self.capture and self._closes(tag):
            kind, parts = self.capture.pop()
            text = " ".join("".join(parts).split())
            if kind == "h1":
                self.page.h1 = text
            elif kind == "error":
                self.page.errors.append(text)
            elif kind == "notice":
                self.page.notices.append(text)
            elif kind == "progress":
                self.page.progress = text
            elif kind == "button" and self.button is not None:
                self.page.buttons.append((*self.button, text))
            elif kind == "a" and self.link is not None:
                self.page.links.append((text, self.link))

    def _closes(self, tag: str) -> bool:
        kind = self.capture[-1][0]
        return (
            (kind == "h1" and tag == "h1")
            or (kind == "button" and tag == "button")
            or (kind == "a" and tag == "a")
            or (kind in ("error", "notice", "progress") and tag == "p")
        )

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self.label is not None:
            self.label_text.append(data)
        if self.textarea is not None:
            self.page.typed[self.textarea] += data
        for _, parts in self.capture:
            parts.append(data)


def parse(status: int, url: str, html: str, headers: Mapping[str, str]) -> Page:
    page = Page(status, url, html, headers)
    parser = _Parser(page)
    parser.feed(html)
    page.text = " ".join(" ".join(parser.texts).split())
    return page


class Citizen:
    """One person's browser: keeps its cookies and follows redirects (like a phone's browser would)."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.base = base_url(app)
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.last: Page | None = None

    async def close(self) -> None:
        await self.session.close()

    async def __aenter__(self) -> Citizen:
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.close()

    async def get(self, path: str, *, follow: bool = True) -> Page:
        async with self.session.get(self.base + path, allow_redirects=follow) as r:
            page = parse(r.status, str(r.url), await r.text(), r.headers)
        self.last = page
        return page

    async def post(self, path: str, data: Any, *, follow: bool = True, **kwargs: Any) -> Page:
        async with self.session.post(self.base + path, data=data, allow_redirects=follow, **kwargs) as r:
            page = parse(r.status, str(r.url), await r.text(), r.headers)
        self.last = page
        return page

    async def submit(self, page: Page, action: str = "next", *, follow: bool = True, **fields: Any) -> Page:
        """Submit the page's form as a browser does: its hidden fields, the pressed button, the given fields."""
        path = page.url.split(str(self.base), 1)[-1].split("?", 1)[0]
        data: list[tuple[str, str]] = [*page.hidden.items(), ("action", action)]
        for name, value in fields.items():
            if isinstance(value, (list, tuple)):
                data += [(name, str(v)) for v in value]
            else:
                data.append((name, str(value)))
        return await self.post(path, data, follow=follow)

    def cookie(self, name: str = "khaosat_r") -> str | None:
        for morsel in self.session.cookie_jar:
            if morsel.key == name:
                return morsel.value
        return None


async def rows(app: Application) -> dict[str, Any]:
    """What the database holds about web respondents: respondents, responses and answers."""
    async with app.db.read() as conn:
        people = (await conn.execute(sa.select(respondent.c.id, respondent.c.language))).all()
        responses = (
            await conn.execute(
                sa.select(
                    response.c.id,
                    response.c.respondent_id,
                    response.c.status,
                    response.c.ward_code,
                    response.c.channel,
                    response.c.fixed,
                ).order_by(response.c.id)
            )
        ).all()
        answers = (
            await conn.execute(
                sa.select(answer_t.c.response_id, answer_t.c.question_id, answer_t.c.value).order_by(answer_t.c.id)
            )
        ).all()
    return {
        "respondents": [tuple(r) for r in people],
        "responses": [r._asdict() for r in responses],
        "answers": {(a.response_id, a.question_id): a.value for a in answers},
    }


async def answers_of(app: Application) -> dict[str, Any]:
    """question id -> value, over every answer stored (the tests have one respondent)."""
    return {qid: value for (_, qid), value in (await rows(app))["answers"].items()}


# What a citizen answers, by question id: a choice label, a list of labels, or typed text.
PLAN: dict[str, Any] = {
    "age_group": "30–44 tuổi",
    "gender": "Nữ",
    "used_service": "Có, làm trực tiếp",
    "procedure_kind": "Cư trú",
    "sat_access": "Hài lòng",
    "sat_procedures": "Bình thường",
    "sat_staff": "Rất hài lòng",
    "sat_result": "Không rõ",
    "visits": "2",
    "informal_payment": "Không",
    "gave_feedback": "Không",
    "transparency": "Đồng ý",
    "environment": "Không hài lòng",
    "top_issues": ["Thu gom rác thải", "Ngập úng khi mưa"],
    "overall_satisfaction": "Hài lòng",
    "comment": "Cần thêm cây xanh",
}


async def answer(citizen: Citizen, page: Page, plan: Mapping[str, Any] = PLAN) -> Page:
    """Answer the page's question from the plan (a label, a list of labels, or typed text)."""
    qid = page.question
    assert qid is not None, page.text
    wanted = plan[qid]
    kind = page.hidden.get("kind")
    if kind == "multi":
        return await citizen.submit(page, values=[page.value_of(label) for label in wanted])
    if kind == "typed":
        return await citizen.submit(page, text=wanted)
    return await citizen.submit(page, value=page.value_of(wanted))


async def walk(citizen: Citizen, page: Page, until: str | None = None, plan: Mapping[str, Any] = PLAN) -> Page:
    """Answer question after question from the plan, until the question `until` (or the end)."""
    for _ in range(40):
        if page.question is None or page.question == until:
            return page
        page = await answer(citizen, page, plan)
        assert page.status == 200, (page.status, page.errors, page.text[:300])
    raise AssertionError("the survey did not end")


async def consented(app: Application, path: str = "/s/hn-2026/70") -> tuple[Citizen, Page]:
    """A citizen who opened `path` and agreed: the first question's page."""
    citizen = Citizen(app)
    page = await citizen.get(path)
    assert page.status == 200 and "agree" in page.actions(), page.text[:300]
    page = await citizen.submit(page, "agree")
    assert page.status == 200 and page.question is not None, page.text[:300]
    return citizen, page
