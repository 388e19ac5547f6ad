"""Channels grouped by capability: each folder holds what one channel needs (parse, connect, send)."""
