"""The script customers embed (GET /widget.js): our own vanilla JavaScript with its stylesheet inlined
(the widget draws itself in a shadow root, so the host page's CSS cannot reach it), and its gzip form."""

from __future__ import annotations

import gzip
import json

CSS_PLACEHOLDER = '"__LEADHUB_WIDGET_CSS__"'
MAX_COMPRESSED_BYTES = 30 * 1024


def widget_script(javascript: str, css: str) -> str:
    """widget.js with widget.css in place of its placeholder."""
    if javascript.count(CSS_PLACEHOLDER) != 1:
        raise ValueError(f"widget.js must hold {CSS_PLACEHOLDER} exactly once")
    return javascript.replace(CSS_PLACEHOLDER, json.dumps(" ".join(css.split())))


def compressed(script: str) -> bytes:
    # mtime=0: the same script always compresses to the same bytes.
    return gzip.compress(script.encode(), compresslevel=9, mtime=0)
