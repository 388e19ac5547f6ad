"""A webhook receiver for trying outbound webhooks on the local stack (dev only).

    python -m local.webhook_receiver --port 4000 [--secret whsec_...] [--status 200]

Answers the verification handshake, prints one line per delivery (event, webhook-id and, with
--secret, whether the `standardwebhooks` library accepts the signature) and answers every delivery
with --status (e.g. 503 to watch the retries, 410 to see the endpoint disabled), or with the status a
URL's `?status=` names: one receiver serves a healthy and a failing endpoint
(`http://127.0.0.1:4000/hooks?status=503`), without a restart.
"""

from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.loopback_server import LoopbackHTTPServer


def signature_check(secret: str | None, body: bytes, headers: dict[str, str]) -> str:
    if not secret:
        return "not checked (pass --secret)"
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError as exc:
        return f"INVALID ({exc})"
    return "valid (standardwebhooks)"


def make_handler(secret: str | None, status: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, code: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                payload = json.loads(body)
            except ValueError:
                payload = {}
            event = payload.get("event", "?") if isinstance(payload, dict) else "?"
            check = signature_check(secret, body, headers)
            print(f"{event:<22} webhook-id={headers.get('webhook-id')} signature={check}", flush=True)
            if event == "webhook.verify":
                self._answer(
                    200, json.dumps({"verifyToken": payload["verifyToken"]}).encode(), "application/json"
                )
            else:
                print(f"  {body.decode('utf-8', 'replace')}", flush=True)
                self._answer(self._status(), b"received")

        def _status(self) -> int:
            asked = parse_qs(urlsplit(self.path).query).get("status", [""])[-1]
            return int(asked) if asked.isdigit() and 200 <= int(asked) <= 599 else status

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.webhook_receiver", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--port", type=int, default=4000)
    parser.add_argument("--secret", help="the endpoint's whsec_ secret, to check signatures")
    parser.add_argument("--status", type=int, default=200, help="answer deliveries with this status")
    args = parser.parse_args(argv)
    server = LoopbackHTTPServer(("127.0.0.1", args.port), make_handler(args.secret, args.status))
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/hooks (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
