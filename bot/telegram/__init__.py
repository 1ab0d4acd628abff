"""The Telegram channel (aiogram 3): routers, callbacks, rendering, polling and webhook transports."""
