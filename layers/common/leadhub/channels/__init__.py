"""Messaging channels: integrations shared by all, and per channel its inbound side (a provider's webhook,
or the website widget's own endpoints: web/), connecting, its API client and the sender of replies. A
channel never imports another."""
