"""A campaign's web policy, counted in the database: new web respondents per client address and hour (by a
keyed hash of the address, never the address), and one-time invitation codes. The rules (which address,
what limit) are the web survey's; this module only counts and claims, so every process counts together."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repo.sql import invitation_code, is_postgres, respondent, response, web_admission

WINDOW = timedelta(hours=1)
"""The limit counts new respondents admitted in the last hour."""
RETENTION = timedelta(days=1)
"""Admissions are forgotten a day after they are made (long enough to flag a response completed the same day)."""
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed from paper
CODE_LENGTH = 8


def address_key(secret: bytes, address: str) -> str:
    """The keyed hash a client address is counted by (HMAC-SHA256 with the server secret, shortened)."""
    return hmac.new(secret, b"web-address:" + address.encode(), hashlib.sha256).hexdigest()[:32]


async def admit(
    conn: AsyncConnection, campaign_id: int, key: str, limit: int, now: datetime, window: timedelta = WINDOW
) -> int | None:
    """Let one more new respondent in from this address (the admission's id), or refuse (None) when `limit` of
    them came in the last `window` (0: no limit). Counted under a lock of the address (PostgreSQL: an advisory
    lock for the transaction; SQLite has one writer), so a burst of simultaneous requests gets no extra places."""
    t = web_admission
    if is_postgres(conn):
        await conn.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"{campaign_id}:{key}", 0)))
        )
    if limit > 0:
        earlier = (
            await conn.execute(
                sa.select(sa.func.count()).where(
                    t.c.campaign_id == campaign_id, t.c.address_key == key, t.c.admitted_at > now - window
                )
            )
        ).scalar_one()
        if int(earlier) >= limit:
            return None
    new_id = (
        await conn.execute(
            t.insert().values(campaign_id=campaign_id, address_key=key, admitted_at=now).returning(t.c.id)
        )
    ).scalar_one()
    return int(new_id)


async def bind(conn: AsyncConnection, admission_id: int, response_id: int) -> None:
    """The response the admitted respondent began."""
    await conn.execute(web_admission.update().where(web_admission.c.id == admission_id).values(response_id=response_id))


async def forget(conn: AsyncConnection, admission_id: int) -> None:
    """An admission that began no response (the person declined): it does not count."""
    await conn.execute(web_admission.delete().where(web_admission.c.id == admission_id))


async def prune(conn: AsyncConnection, now: datetime, retention: timedelta = RETENTION) -> int:
    """Forget admissions older than `retention`; how many."""
    result = await conn.execute(web_admission.delete().where(web_admission.c.admitted_at < now - retention))
    return int(result.rowcount or 0)


async def has_response(conn: AsyncConnection, respondent_key: str, campaign_id: int) -> bool:
    """The respondent with this key has a response (any status) in the campaign."""
    q = (
        sa.select(response.c.id)
        .join(respondent, respondent.c.id == response.c.respondent_id)
        .where(respondent.c.key == respondent_key, response.c.campaign_id == campaign_id)
        .limit(1)
    )
    return (await conn.execute(q)).first() is not None


# --- invitation codes ---------------------------------------------------------------------------------------


class CodeClaim(enum.Enum):
    CLAIMED = "claimed"
    USED = "used"
    UNKNOWN = "unknown"


def normalise_code(text: str) -> str:
    """A code as typed (spaces, dashes, lower case) in its stored form."""
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())[:32]


async def issue_codes(conn: AsyncConnection, campaign_id: int, count: int, now: datetime) -> list[str]:
    """`count` new random one-time codes for the campaign."""
    if not 1 <= count <= 100_000:
        raise ValueError("the number of codes must be 1-100000")
    existing = set(
        (await conn.execute(sa.select(invitation_code.c.code).where(invitation_code.c.campaign_id == campaign_id)))
        .scalars()
        .all()
    )
    codes: list[str] = []
    fresh: set[str] = set()
    while len(codes) < count:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code in existing or code in fresh:
            continue
        fresh.add(code)
        codes.append(code)
    await conn.execute(
        invitation_code.insert(), [{"campaign_id": campaign_id, "code": c, "created_at": now} for c in codes]
    )
    return codes


async def claim_code(conn: AsyncConnection, campaign_id: int, code: str, now: datetime) -> CodeClaim:
    """Take an unused code (one statement: two people typing the same code at once, one gets it)."""
    t = invitation_code
    result = await conn.execute(
        t.update().where(t.c.campaign_id == campaign_id, t.c.code == code, t.c.used_at.is_(None)).values(used_at=now)
    )
    if result.rowcount:
        return CodeClaim.CLAIMED
    found = (await conn.execute(sa.select(t.c.code).where(t.c.campaign_id == campaign_id, t.c.code == code))).first()
    return CodeClaim.USED if found is not None else CodeClaim.UNKNOWN


async def bind_code(conn: AsyncConnection, campaign_id: int, code: str, response_id: int) -> None:
    t = invitation_code
    await conn.execute(
        t.update().where(t.c.campaign_id == campaign_id, t.c.code == code).values(response_id=response_id)
    )


async def release_code(conn: AsyncConnection, campaign_id: int, code: str) -> None:
    """A claimed code that began no response (the person declined): usable again."""
    t = invitation_code
    await conn.execute(
        t.update()
        .where(t.c.campaign_id == campaign_id, t.c.code == code, t.c.response_id.is_(None))
        .values(used_at=None)
    )


async def code_counts(conn: AsyncConnection, campaign_id: int) -> tuple[int, int]:
    """(codes issued, codes used) for the campaign."""
    t = invitation_code
    row = (
        await conn.execute(sa.select(sa.func.count(), sa.func.count(t.c.used_at)).where(t.c.campaign_id == campaign_id))
    ).one()
    return int(row[0]), int(row[1])
