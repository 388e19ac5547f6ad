"""`python -m local` (what `make run` runs): start the local stack and serve until Ctrl-C.

Stdout carries the ready line (JSON), then hints for a person (shell comments and curls to paste);
everything else (function logs, access lines) goes to stderr, so scripts can read the first stdout line.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

from local.settings import STATE_FILE_NAME, ConfigError
from local.stack import LocalStack, StackConfig, StackError, ready_hints


def main() -> int:
    try:
        config = StackConfig.from_env(os.environ)
    except ConfigError as exc:
        sys.stderr.write(f"leadhub local: {exc}\n")
        return 2
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stopping.set())
    parent = os.getppid()

    stack = LocalStack(config)
    try:
        ready = stack.start()
    except StackError as exc:
        sys.stderr.write(f"leadhub local: {exc}\n")
        return 1
    sys.stdout.write(json.dumps(ready) + "\n")
    state_file = config.state_dir / STATE_FILE_NAME if config.state_dir is not None else None
    sys.stdout.write(ready_hints(ready, state_file) + "\n")
    sys.stdout.flush()
    try:
        # Also stop when whoever started us is gone (a killed test run or script must not leave a
        # stack behind).
        while not stopping.wait(0.5) and os.getppid() == parent:
            pass
    finally:
        sys.stderr.write("leadhub local: stopping\n")
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
