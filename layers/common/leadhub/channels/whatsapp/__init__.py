"""WhatsApp (Meta Cloud API): notifications, connecting a number, the Graph API, sending."""
