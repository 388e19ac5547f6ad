"""The dashboard's templates compiled ahead of time (leadhub.dashboard.rendering): pages load them only
while they are what the sources compile to, and fall back to the sources otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from jinja2 import FileSystemLoader, ModuleLoader, TemplateSyntaxError

from leadhub.dashboard import rendering
from leadhub.dashboard.rendering import (
    COMPILED_DIR,
    SOURCES_FILE,
    TEMPLATES_DIR,
    compile_ahead,
    environment,
    templates_environment,
)


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A copy of the templates, to change."""
    return Path(shutil.copytree(TEMPLATES_DIR, tmp_path / "templates"))


def error_page(templates: Path, compiled: Path) -> str:
    page = templates_environment(templates, compiled).get_template("error.html")
    return page.render(title="Gone", message="Nothing here")


def test_the_pages_load_the_templates_compiled_from_the_sources(tmp_path: Path) -> None:
    # tests/conftest.py compiled them, as the layer's build and the local stack do: the tests render the
    # pages a deployed function renders.
    assert isinstance(environment().loader, ModuleLoader)

    # ...and they are, file for file, what the templates and Jinja2 compile to now.
    assert compile_ahead(tmp_path / "fresh") is True
    shipped = files(COMPILED_DIR)
    assert shipped == files(tmp_path / "fresh")
    assert len(shipped) == len(list(TEMPLATES_DIR.glob("*.html"))) + 1  # a module each, and SOURCES


def test_compiling_again_leaves_current_templates_alone(tmp_path: Path, sources: Path) -> None:
    compiled = tmp_path / "compiled"
    assert compile_ahead(compiled, sources) is True
    before = {p.name: p.stat().st_mtime_ns for p in compiled.iterdir()}

    assert compile_ahead(compiled, sources) is False
    assert {p.name: p.stat().st_mtime_ns for p in compiled.iterdir()} == before


def test_a_changed_template_is_rendered_from_its_source_until_compiled_again(
    tmp_path: Path, sources: Path
) -> None:
    compiled = tmp_path / "compiled"
    compile_ahead(compiled, sources)
    assert isinstance(templates_environment(sources, compiled).loader, ModuleLoader)
    error = sources / "error.html"
    error.write_text(error.read_text().replace("{% block content %}", "{% block content %}<p>Changed</p>"))

    assert isinstance(templates_environment(sources, compiled).loader, FileSystemLoader)
    assert "<p>Changed</p>" in error_page(sources, compiled)

    assert compile_ahead(compiled, sources) is True
    assert isinstance(templates_environment(sources, compiled).loader, ModuleLoader)
    assert "<p>Changed</p>" in error_page(sources, compiled)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left


@pytest.mark.parametrize("change", ["template added", "template removed", "another Jinja2"])
def test_templates_compiled_from_other_sources_are_not_used(
    tmp_path: Path, sources: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = tmp_path / "compiled"
    compile_ahead(compiled, sources)
    if change == "template added":
        (sources / "new.html").write_text("{% extends 'layout.html' %}")
    elif change == "template removed":
        (sources / "logout.html").unlink()
    else:
        monkeypatch.setattr(rendering.jinja2, "__version__", "3.2.0")

    assert isinstance(templates_environment(sources, compiled).loader, FileSystemLoader)


def test_without_compiled_templates_the_sources_are_rendered(tmp_path: Path) -> None:
    assert isinstance(templates_environment(TEMPLATES_DIR, tmp_path / "absent").loader, FileSystemLoader)
    assert "Nothing here" in error_page(TEMPLATES_DIR, tmp_path / "absent")


def test_a_template_that_does_not_compile_fails_the_build_and_writes_nothing(
    tmp_path: Path, sources: Path
) -> None:
    compiled = tmp_path / "compiled"
    compile_ahead(compiled, sources)
    shipped = files(compiled)
    (sources / "broken.html").write_text("{% if %}")

    with pytest.raises(TemplateSyntaxError):
        compile_ahead(compiled, sources)

    assert files(compiled) == shipped  # the earlier build stays, and is stale: the sources are rendered
    assert (compiled / SOURCES_FILE).exists()
    assert isinstance(templates_environment(sources, compiled).loader, FileSystemLoader)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
