"""The dispatcher: routers for operators, officials' groups and citizens, with the app context injected."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeDefault,
)

from bot.context import AppContext
from bot.telegram import citizens, groups, operators
from bot.telegram.texts import COMMANDS, GROUP_COMMANDS


def build_dispatcher(app: AppContext) -> Dispatcher:
    dp = Dispatcher(app=app)
    dp.include_router(operators.setup())
    dp.include_router(groups.setup())
    dp.include_router(citizens.setup())
    return dp


async def set_citizen_commands(bot: Bot) -> None:
    """The menu a citizen sees: Vietnamese by default, English for English-language Telegram clients."""
    vi = [BotCommand(command=c, description=d) for c, d in COMMANDS["vi"]]
    en = [BotCommand(command=c, description=d) for c, d in COMMANDS["en"]]
    await bot.set_my_commands(vi, scope=BotCommandScopeDefault())
    await bot.set_my_commands(vi, scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands(en, scope=BotCommandScopeAllPrivateChats(), language_code="en")
    # officials' groups: only their administrators can use these, so only they see them
    for language, commands in GROUP_COMMANDS.items():
        menu = [BotCommand(command=c, description=d) for c, d in commands]
        code = None if language == "vi" else language
        await bot.set_my_commands(menu, scope=BotCommandScopeAllChatAdministrators(), language_code=code)
