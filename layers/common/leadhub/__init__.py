"""Leadhub's shared package (the Lambda layer), one folder per capability (README "Development")."""
