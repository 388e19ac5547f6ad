"""Leadhub's shared package: domain logic, models, ports and AWS adapters (the Lambda layer)."""
