"""Channels (the aiogram 3 adapter) and the application's entry point and CLI."""
