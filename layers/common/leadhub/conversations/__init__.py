"""Conversations and their messages, whatever the channel: recording what arrives, routes to accounts,
replies (automations or a model), agents' actions, and the conversation worker's jobs."""
