"""Garbage collection paused while a handler module imports: a cold start creates ~300k objects that live
as long as the execution environment, and the collector passing over them while they were created cost
~100 ms. A handler imports this first (pausing the collector) and calls `imports_done()` at its end, which
freezes what exists and resumes collection; a module imported later, for a request, uses `late_imports()`."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

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
