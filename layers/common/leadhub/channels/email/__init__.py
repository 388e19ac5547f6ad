"""Email through Resend: inbound events and their content, connecting a domain, sending."""
