"""Customers' webhook endpoints on loopback, in a process of their own: `count` HTTP servers on
127.0.0.1 answering every POST with 200 after `delay` seconds. Prints one JSON line with their ports,
then serves until its stdin closes (the benchmark holds the other end).

A benchmark that runs a handler in its own process starts its receivers here, so that they do not
compete with the handler's threads for one interpreter (a real endpoint is on another machine).

Usage: python bench/loopback_receivers.py --count 10 --delay 0.1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from local.loopback_server import LoopbackHTTPServer


def receiver_server(delay_s: float, on_request: Callable[[], None] = lambda: None) -> LoopbackHTTPServer:
    """A started HTTP server on 127.0.0.1 (a free port) answering every POST with 200 after `delay_s`,
    calling `on_request` for each."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if delay_s:
                time.sleep(delay_s)
            on_request()
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
    server.serve_in_background()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    servers = [receiver_server(args.delay) for _ in range(args.count)]
    print(json.dumps({"ports": [s.server_address[1] for s in servers]}), flush=True)
    sys.stdin.read()  # until the benchmark exits


if __name__ == "__main__":
    main()
