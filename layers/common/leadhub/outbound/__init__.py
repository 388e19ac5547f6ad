"""Outbound webhooks to customer endpoints: the outbox and fan-out, endpoints, signing, URL safety, and
the delivery attempts with their log, retries and recovery."""
