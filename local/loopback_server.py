"""The threaded HTTP server of the local stack's loopback peers (fake providers, the webhook receiver)
and of the tests' and benchmarks' receivers."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class LoopbackHTTPServer(ThreadingHTTPServer):
    """Handler threads end with the process, and the listen backlog takes a burst of connections: a
    delivery batch opens up to 10 at once, and with the default backlog (5) the rest waited a second for
    a SYN retransmit."""

    daemon_threads = True
    request_queue_size = 64

    def serve_in_background(self, poll_interval: float = 0.5) -> None:
        threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True
        ).start()
