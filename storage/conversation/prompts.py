"""What a process remembers between updates: which message shows each person's current question (written
behind, in batches) and each response as this process last wrote it (so the next answer to it skips the
read on PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import replace
from typing import Final

from flows.conversation import Decision, PutAnswer, state_after
from storage.conversation import fastpath
from storage.db import Database

log = logging.getLogger(__name__)

KNOWN_LIMIT: Final = 20_000
"""Responses whose last written state a process keeps (see `fastpath.Known`): some 2 KB each."""


class Unset:
    """No prompt id was pending for a response (distinct from a pending None: "no message shows it")."""


UNSET: Final = Unset()


class Prompts:
    """Prompt message ids not written yet, and the responses this process last wrote."""

    def __init__(self, db: Database, flush_delay: float = 0.2) -> None:
        self.db = db
        self.flush_delay = flush_delay
        self._pending: dict[int, int | None] = {}
        self._writing: dict[int, int | None] = {}
        """Being written by a flush right now (a read meanwhile may still find the old value in the row)."""
        self._written: OrderedDict[int, int] = OrderedDict()
        """The last ones written here (a read that began before the write may still find the old value)."""
        self._flusher: asyncio.Task[None] | None = None
        self._known: OrderedDict[int, fastpath.Known] = OrderedDict()

    # --- prompt message ids --------------------------------------------------------------------------------

    def set(self, response_id: int, message_id: int | None) -> None:
        """Remember which message shows the current question; written behind, within `flush_delay`: it is
        where the question is on screen, not an answer, so a crash losing the last fraction of a second of
        these only means an old message keeps its buttons."""
        self._pending[response_id] = message_id
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    def of(self, response_id: int | None, stored: int | None) -> int | None:
        """The prompt of a response: the one waiting to be written, else the stored one."""
        if response_id is not None:
            if response_id in self._pending:
                return self._pending[response_id]
            if response_id in self._writing:
                return self._writing[response_id]
            written = self._written.get(response_id)
            if written is not None and (stored is None or written > stored):  # message ids grow in a chat
                return written
        return stored

    def hold(self, response_id: int | None) -> int | Unset | None:
        """Take a response's pending prompt out while an answer to it runs (writing it updates the response's
        row, which would make the answer's single statement find a new version)."""
        if response_id is None:
            return UNSET
        return self._pending.pop(response_id, UNSET)

    def release(self, response_id: int | None, held: int | Unset | None, answered: bool) -> None:
        """After the answer: a question answered needs its prompt no more (the next question's will be
        written); otherwise the held prompt is written as before, unless a newer one came meanwhile."""
        if isinstance(held, Unset) or response_id is None:
            return
        if answered:
            self._pending.pop(response_id, None)
        elif response_id not in self._pending:
            self.set(response_id, held)

    async def _flush_soon(self) -> None:
        while True:  # prompt ids remembered while a flush runs are written by the next one
            await asyncio.sleep(self.flush_delay)
            await self.flush()
            if not self._pending:
                return

    async def flush(self) -> None:
        """Write the remembered prompt message ids (also called when the application stops)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        self._writing.update(pending)
        try:
            versions: dict[int, tuple[int, int]] = await self.db.run_program(
                fastpath.set_prompts_program(pending, self.db.dialect), fastpath.SQL, transaction=self.db.is_sqlite
            )
        except Exception:
            log.warning("could not store %d prompt message ids", len(pending), exc_info=True)
            return
        finally:
            for response_id, message_id in pending.items():
                if self._writing.get(response_id, message_id) == message_id:
                    self._writing.pop(response_id, None)
                if message_id is None:
                    self._written.pop(response_id, None)
                else:
                    self._written[response_id] = message_id
                    self._written.move_to_end(response_id)
            while len(self._written) > KNOWN_LIMIT:
                self._written.popitem(last=False)
        for response_id, (before, after) in versions.items():
            # a known response stays known if this flush was the only change since (else it is read again)
            known = self._known.pop(response_id, None)
            response = None if known is None else known.loaded.response
            if known is not None and response is not None and response.version == before:
                updated = replace(response, prompt_message_id=pending[response_id], version=after)
                self._known[response_id] = replace(known, loaded=replace(known.loaded, response=updated))

    # --- responses as last written here -------------------------------------------------------------------

    def take_known(self, response_id: int | None, key: str) -> fastpath.Known | None:
        """The response as this process last wrote it, taken out while an answer to it runs (only the single
        statement's write puts it back); None if unknown or not this person's (a forged button)."""
        if response_id is None:
            return None
        known = self._known.pop(response_id, None)
        if known is not None and known.key != key:
            self._known[response_id] = known
            return None
        return known

    def remember(self, key: str, applied: fastpath.Applied) -> None:
        """The response as the single statement just wrote it (not a completed one: nothing more is
        answered in it)."""
        loaded, decision = applied.loaded, applied.decision
        if loaded is None or loaded.response is None or decision is None or applied.response_version is None:
            return
        after = state_after(loaded.response, decision.writes, applied.response_version)
        if not after.in_progress:
            return
        self._known[after.id] = fastpath.Known(key, fastpath.Loaded(loaded.person, after, loaded.campaign_id))
        self._known.move_to_end(after.id)
        while len(self._known) > KNOWN_LIMIT:
            self._known.popitem(last=False)

    def forget(self, response_id: int | None) -> None:
        if response_id is not None:
            self._known.pop(response_id, None)

    def forget_all(self) -> None:
        self._known.clear()

    def knows(self, response_id: int) -> bool:
        """Whether the next answer to this response may skip the read."""
        return response_id in self._known


def answered(decision: Decision | None) -> bool:
    """Whether a decision recorded an answer (its question is no longer the one on screen)."""
    return decision is not None and any(isinstance(w, PutAnswer) for w in decision.writes)
