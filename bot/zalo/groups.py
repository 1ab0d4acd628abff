"""Messages in Zalo group chats (officials' groups).

For now a citizen's command typed in a group gets one line, in both languages: the survey runs in a private
chat with the bot. (The officials' side, /subscribe, /digest and /unsubscribe, replaces this module.)
"""

from __future__ import annotations

import logging

from bot.zalo.client import ZaloError
from bot.zalo.context import ZaloApp
from bot.zalo.text import split_text
from bot.zalo.texts import t
from bot.zalo.updates import ZaloMessage
from flows.i18n import LANGUAGES

log = logging.getLogger(__name__)


def looks_like_command(text: str) -> bool:
    """A command typed in a group: it starts with "/" (chatter without one is left alone)."""
    return text.strip().startswith("/")


async def handle_group_message(app: ZaloApp, message: ZaloMessage) -> None:
    """A message from a group chat (`message.chat_type` is GROUP; `message.chat_id` is the group). Raises
    when something fails, as a private message's handler does."""
    text = message.text or ""
    if not looks_like_command(text):
        return
    lines = [t("group_private", lang, bot=app.bot_name or t("the_bot", lang)) for lang in LANGUAGES]
    for part in split_text("\n".join(lines)):
        try:
            await app.client.send_message(message.chat_id, part)
        except ZaloError as e:
            if e.kind != "unreachable":
                raise
            log.info("zalo group %s refuses messages: %s", message.chat_id, e.description)
            return
