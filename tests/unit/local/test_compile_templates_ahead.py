"""local.stack.compile_templates_ahead: the local stack compiles the dashboard's templates in the layer it
runs from, as the layer's build does (layers/common/Makefile)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leadhub.dashboard.rendering import COMPILED_DIR, is_current
from local.sam import FunctionSpec
from local.stack import StackError, compile_templates_ahead

LAYER = COMPILED_DIR.parent.parent.parent  # layers/common


def spec(*layer_dirs: Path) -> FunctionSpec:
    return FunctionSpec("F", "f", "app.handler", Path(), layer_dirs, "python3.13", 128, 3.0, "g", {})


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    """A copy of the layer's package, without compiled templates."""
    copy = tmp_path / "common"
    shutil.copytree(LAYER / "leadhub", copy / "leadhub", ignore=shutil.ignore_patterns("templates_compiled"))
    return copy


def test_the_layer_s_templates_are_compiled_by_its_own_code(layer: Path, tmp_path: Path) -> None:
    dashboard = layer / "leadhub" / "dashboard"
    compiled, templates = dashboard / "templates_compiled", dashboard / "templates"
    assert not compiled.exists()

    compile_templates_ahead([spec(layer), spec(layer, tmp_path / "another-layer")])

    assert is_current(compiled, templates)
    assert not (tmp_path / "another-layer").exists()  # a layer without the dashboard is left alone


def test_a_template_that_does_not_compile_stops_the_stack_with_the_reason(layer: Path) -> None:
    (layer / "leadhub/dashboard/templates/broken.html").write_text("{% if %}")

    with pytest.raises(StackError, match="TemplateSyntaxError"):
        compile_templates_ahead([spec(layer)])
