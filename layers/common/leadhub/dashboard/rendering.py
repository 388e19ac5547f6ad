"""Pages are Jinja2 templates (templates/), every value HTML-escaped (autoescape on for every template):
lead names, messages and custom fields come from strangers.

The templates are also compiled to Python ahead of time (`python -m leadhub.dashboard.rendering`, run by
the layer's build, the local stack and the tests) into templates_compiled/, which pages load when it is
current: a cold start's first page then skips Jinja2's parsing and code generation (measured: -12 ms of
the overview's first request, wall and CPU). When it is absent or stale (a template, this module or
Jinja2 changed since), pages compile the sources as before."""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import BaseLoader, Environment, FileSystemLoader, ModuleLoader, StrictUndefined

from leadhub.dashboard.assets import asset_url

TEMPLATES_DIR = Path(__file__).with_name("templates")
COMPILED_DIR = Path(__file__).with_name("templates_compiled")
SOURCES_FILE = "SOURCES"  # in COMPILED_DIR: the digest of what it was compiled from


def _environment(loader: BaseLoader) -> Environment:
    env = Environment(
        loader=loader,
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt name fails the test that renders it, not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset_url"] = asset_url
    return env


def sources_digest(templates_dir: Path = TEMPLATES_DIR) -> str:
    """What compiled templates depend on: Jinja2's version, this module (the environment's options) and
    every template's name and text."""
    digest = hashlib.sha256(f"jinja2 {jinja2.__version__}\n".encode())
    digest.update(Path(__file__).read_bytes())
    for path in sorted(p for p in templates_dir.rglob("*") if p.is_file()):
        digest.update(f"\n{path.relative_to(templates_dir).as_posix()}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_current(compiled_dir: Path, templates_dir: Path = TEMPLATES_DIR) -> bool:
    try:
        recorded = (compiled_dir / SOURCES_FILE).read_text()
    except OSError:
        return False
    return recorded == sources_digest(templates_dir)


def templates_environment(templates_dir: Path, compiled_dir: Path) -> Environment:
    """The pages' environment: the compiled templates when they are current, else the sources."""
    if is_current(compiled_dir, templates_dir):
        return _environment(ModuleLoader(compiled_dir))
    return _environment(FileSystemLoader(templates_dir))


@cache
def environment() -> Environment:
    return templates_environment(TEMPLATES_DIR, COMPILED_DIR)


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def compile_ahead(target: Path = COMPILED_DIR, templates_dir: Path = TEMPLATES_DIR) -> bool:
    """Compile every template into `target` (a Python module each, and the digest of the sources) unless
    what is there is current; True when it wrote them. A template that does not compile fails the call.
    Other processes may load or write `target` meanwhile: the new directory replaces the old by renames."""
    if is_current(target, templates_dir):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        staging = scratch / "new"
        _environment(FileSystemLoader(templates_dir)).compile_templates(
            staging, zip=None, ignore_errors=False
        )
        (staging / SOURCES_FILE).write_text(sources_digest(templates_dir))
        if target.exists():
            target.rename(scratch / "old")
        try:
            staging.rename(target)
        except OSError:
            if not is_current(target, templates_dir):  # else another process wrote the same meanwhile
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return True


if __name__ == "__main__":  # python -m leadhub.dashboard.rendering [TARGET_DIR]
    written = compile_ahead(Path(sys.argv[1]) if len(sys.argv) > 1 else COMPILED_DIR)
    print(
        f"dashboard templates compiled ahead: {'written' if written else 'already current'}", file=sys.stderr
    )
