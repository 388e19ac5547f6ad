"""The queue and stream consumers in a process of their own.

Pollers parse every batch they read (botocore) and ship it to a function; in the gateway's process
that work competed for the GIL with the HTTP threads and doubled the API's latency under load. The
runner starts `python -m local.consumers`, writes one JSON line (template, resolved resources,
environment, URLs) to its stdin, and keeps the pipe open: EOF — the runner stopping or dying — stops
the consumers. Stdout carries one `{"ready": true}` line; logs go to stderr.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

from local.cfn import Template
from local.emulator import ClientFactory
from local.pollers import build_pollers, stop_pollers
from local.provision import ResourceRegistry
from local.sam import build_function_specs
from local.workers import InvokeResult, LogSink, start_pools, worker_environment


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides when the consumers stop
    config: dict[str, Any] = json.loads(sys.stdin.readline())
    template = Template.from_file(Path(config["template"]), config["parameters"])
    registry = ResourceRegistry.restore(template, config["registry"], config["api"])
    specs = {
        lid: spec
        for lid, spec in build_function_specs(template, registry.evaluator, config["env"]).items()
        if spec.sqs_sources or spec.stream_sources
    }
    sink = LogSink()
    envs = {
        lid: worker_environment(spec, emulator_url=config["emulator"], api_url=config["api"])
        for lid, spec in specs.items()
    }
    pools = start_pools(specs, envs, sink, int(config["concurrency"]))

    def invoke(function_id: str, event: dict[str, Any], request_id: str | None = None) -> InvokeResult:
        return pools[function_id].invoke(event, request_id)

    pollers = build_pollers(specs, ClientFactory(config["emulator"]), invoke, sink)
    for poller in pollers:
        poller.start()
    sys.stdout.write(json.dumps({"ready": True, "pollers": len(pollers)}) + "\n")
    sys.stdout.flush()
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        stop_pollers(pollers)
        for pool in pools.values():
            pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
