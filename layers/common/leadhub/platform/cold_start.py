"""Garbage collection paused while a handler module imports.

A cold start creates ~300k objects that live as long as the execution environment (botocore, Powertools,
our modules). With the collector on, it passed over them again and again while they were being created:
~100 ms of every cold start. A handler imports this module before anything else, which pauses the
collector, and calls `imports_done()` at its end: what exists then is frozen (left out of every later
collection) and collection resumes for the requests. Reference counting frees memory throughout.
A module a handler imports later, for the first request that needs it, is imported under
`late_imports()`, which does the same for what that import creates."""

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
