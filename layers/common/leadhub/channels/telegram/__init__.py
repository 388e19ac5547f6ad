"""Telegram bots: updates, connecting a bot, the Bot API, sending."""
