"""The `web` channel: the chat widget a customer embeds on their website (`/widget.js`), its public
endpoints (sessions, messages, polling, lead capture) and its settings. Its ports are in `ports`, its
storage and its sender (nothing to call: the widget polls) in `adapters`."""
