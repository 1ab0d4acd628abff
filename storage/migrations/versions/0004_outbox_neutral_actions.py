"""Outbox messages hold channel-neutral intents ("actions": resume a response, join a campaign, open a link)
instead of Telegram buttons ("buttons" with callback data) and a parse mode: pending rows are rewritten.

Revision ID: 0004_outbox_actions
Revises: 0003_dashboard_logins
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0004_outbox_actions"
down_revision = "0003_dashboard_logins"
branch_labels = None
depends_on = None

_outbox = sa.table(
    "outbox_message",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("payload", storage.types.JSONType),
)


def _action(button: dict[str, Any]) -> dict[str, Any] | None:
    """A Telegram button as an intent: "r:<response id>" resumes, "k:<campaign code>" joins, a URL links."""
    label = str(button.get("text", ""))
    data, url = button.get("callback_data"), button.get("url")
    if isinstance(url, str):
        return {"kind": "link", "label": label, "url": url}
    if isinstance(data, str) and data.startswith("r:") and data[2:].isdigit():
        return {"kind": "resume", "label": label, "response_id": int(data[2:])}
    if isinstance(data, str) and data.startswith("k:") and len(data) > 2:
        return {"kind": "join", "label": label, "campaign_code": data[2:]}
    return None


def _button(action: dict[str, Any]) -> dict[str, Any]:
    if action["kind"] == "link":
        return {"text": action["label"], "url": action["url"]}
    data = f"r:{action['response_id']}" if action["kind"] == "resume" else f"k:{action['campaign_code']}"
    return {"text": action["label"], "callback_data": data}


def _rewrite(convert: Any) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_outbox.c.id, _outbox.c.payload).where(_outbox.c.status == "pending")).all()
    for row in rows:
        payload = dict(row.payload or {})
        changed = convert(payload)
        if changed:
            conn.execute(_outbox.update().where(_outbox.c.id == row.id).values(payload=payload))


def _to_actions(payload: dict[str, Any]) -> bool:
    if "buttons" not in payload and "parse_mode" not in payload:
        return False
    buttons = payload.pop("buttons", None) or []
    payload.pop("parse_mode", None)
    actions = [a for row in buttons for b in row if (a := _action(b)) is not None]
    if actions:
        payload["actions"] = actions
    return True


def _to_buttons(payload: dict[str, Any]) -> bool:
    actions = payload.pop("actions", None)
    payload["parse_mode"] = "HTML"
    if actions:
        payload["buttons"] = [[_button(a)] for a in actions]
    return True


def upgrade() -> None:
    _rewrite(_to_actions)


def downgrade() -> None:
    _rewrite(_to_buttons)
