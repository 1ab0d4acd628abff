"""Questionnaire format, loader, skip-logic expressions and the pure conversation engine.

Nothing in this package does I/O beyond reading a questionnaire file in the loader: no Telegram,
no database, no clock.
"""
