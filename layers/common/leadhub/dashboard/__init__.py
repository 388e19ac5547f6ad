"""The dashboard: sessions and sign-in (API key or one-time link), CSRF, failed sign-in limits, and the
pages' view-models, rendered by Jinja2 templates (templates/) with our own CSS and script (assets/).

A page calls the same domain functions as the management API, acting as a `Principal` whose source is
"dashboard" (so audit entries say where a change was made); nothing here re-implements their rules."""
