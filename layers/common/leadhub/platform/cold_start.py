"""Garbage collection paused while a handler module imports: a cold start creates ~300k objects that live
as long as the execution environment, and the collector passing over them while they were created cost
~100 ms. A handler imports this first (pausing the collector) and calls `imports_done()` at its end, which
freezes what exists and resumes collection; a module imported later, for a request, uses `late_imports()`
(as `include_route_modules` does)."""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

gc.disable()


def imports_done() -> None:
    gc.freeze()
    gc.enable()


@contextmanager
def late_imports() -> Iterator[None]:
    """Collection paused while the block imports, and what it created frozen afterwards."""
    gc.disable()
    try:
        yield
    finally:
        imports_done()


def include_route_modules(
    app: ApiGatewayResolver, package: str, names: Iterable[str], included: set[str]
) -> None:
    """Import the modules `names` of `package` (each with a `router`) that are not in `included` yet and
    include their routers into `app`: a handler does this with the first request that needs them, so that
    a cold start pays for the routes and domain code of its own request's section only."""
    for name in names:
        if name not in included:
            with late_imports():
                app.include_router(importlib.import_module(f"{package}.{name}").router)
            included.add(name)
