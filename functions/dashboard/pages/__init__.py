"""The dashboard's pages, one module per section: each route starts with `wiring.visit` (to show) or
`wiring.change` (to change), calls the domain function the management API calls, and renders a template."""
