"""Messaging channels: integrations shared by all, and per channel the provider's inbound webhook, connecting,
its API client and the sender of replies. A channel never imports another."""
