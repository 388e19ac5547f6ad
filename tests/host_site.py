"""A customer's website on loopback for the widget's browser tests and benchmark: the README's example
page (examples/widget.html, its placeholders filled with the stack's URL and the widget's key) served on
a port of its own. http://localhost:{port} and http://127.0.0.1:{port} are two origins of one server."""

from __future__ import annotations

from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

from local.loopback_server import LoopbackHTTPServer

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PAGE = REPO_ROOT / "examples" / "widget.html"


class HostSite:
    def __init__(self, directory: Path) -> None:
        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.directory = directory
        self._server = LoopbackHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(directory)))
        self._server.serve_in_background()
        self.port = self._server.server_address[1]
        self.origin = f"http://localhost:{self.port}"
        self.other_origin = f"http://127.0.0.1:{self.port}"

    def publish(self, api: str, widget_key: str, name: str = "index.html") -> str:
        """The example page for this widget at /{name}; its path."""
        page = EXAMPLE_PAGE.read_text().replace("LEADHUB_API", api).replace("LEADHUB_WIDGET_KEY", widget_key)
        (self.directory / name).write_text(page)
        return f"/{name}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
