"""The web: the citizen web survey, the dashboard for operators and officials, health and metrics.

One aiohttp application (the same server that receives Telegram's webhook) with Jinja2 templates.
"""
