"""Pages are Jinja2 templates (templates/), every value HTML-escaped (autoescape on for every template):
lead names, messages and custom fields come from strangers."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from leadhub.dashboard.assets import asset_url

TEMPLATES_DIR = Path(__file__).with_name("templates")


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt name fails the test that renders it, not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset_url"] = asset_url
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
