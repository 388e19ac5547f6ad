"""Accounts, their API keys and scopes, webhook tokens and the audit log."""
