"""The whole local stack in one object: emulator, provisioned resources, warm function workers,
the HTTP API, queue/stream pollers, and the bootstrap of an admin key and a demo account.

`python -m local` runs it for a person; tests and benchmarks use `LocalStack` directly::

    with LocalStack(StackConfig(port=0)) as stack:
        httpx.post(f"{stack.api_url}/api/webhooks/leads/{stack.demo_account['webhookToken']}", ...)
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import os
import secrets
import select
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import gateway, settings
from local.cfn import Template
from local.emulator import ClientFactory, Emulator
from local.fake_providers import DEFAULT_RECEIVING_DOMAIN, FakeProviders
from local.http_api import ApiServer
from local.provision import ResourceRegistry, provision
from local.sam import FunctionSpec, build_function_specs, runtime_note
from local.workers import FunctionPool, InvokeResult, LogSink, start_pools, worker_environment

LOCAL_SECRETS_METADATA = "Leadhub::LocalSecrets"
ADMIN_KEY_ENV = "LEADHUB_ADMIN_KEY"
DEMO_ACCOUNT = {"name": "Demo account", "plan": "business"}


def generated_secret(env_name: str) -> str:
    """A fresh value of the right shape for a local secret nobody set."""
    if env_name == ADMIN_KEY_ENV:
        return f"lhadm_{secrets.token_urlsafe(32)}"
    if env_name.endswith("WEBHOOK_SECRET"):  # Svix / Standard Webhooks: whsec_ + base64 of the key
        return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(32)


class StackError(RuntimeError):
    """The local stack cannot start; the message says what to do."""


@dataclass
class StackConfig:
    template_path: Path = settings.DEFAULT_TEMPLATE
    port: int = settings.DEFAULT_HTTP_PORT  # 0 = any free port
    emulator_port: int = 0
    concurrency: int = settings.DEFAULT_CONCURRENCY  # warm workers per function, at most
    state_dir: Path | None = settings.DEFAULT_STATE_DIR  # None: write no state file
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    bootstrap_demo_account: bool = True
    # Run loopback fakes of the Graph API, Telegram and Resend and point the stack at them.
    fake_providers: bool = False
    access_log: bool = True
    sink: LogSink = field(default_factory=LogSink)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StackConfig:
        return cls(
            port=settings.env_int(env, "PORT", settings.DEFAULT_HTTP_PORT),
            emulator_port=settings.env_int(env, "EMULATOR_PORT", 0),
            concurrency=settings.env_int(env, "LOCAL_CONCURRENCY", settings.DEFAULT_CONCURRENCY, minimum=1),
            state_dir=Path(env.get("LEADHUB_STATE_DIR") or settings.DEFAULT_STATE_DIR),
            parameter_overrides=parse_parameter_overrides(env.get("LEADHUB_PARAMETERS", "")),
            fake_providers=settings.env_flag(env, "LEADHUB_FAKE_PROVIDERS"),
            env=dict(env),
        )


def parse_parameter_overrides(text: str) -> dict[str, str]:
    """`Name=Value Name2=Value2`, like `sam deploy --parameter-overrides` (values without spaces)."""
    overrides: dict[str, str] = {}
    for pair in text.split():
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise settings.ConfigError(f"LEADHUB_PARAMETERS: expected Name=Value, got {pair!r}")
        overrides[name] = value
    return overrides


class LocalStack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.sink = self.config.sink
        self.fakes: FakeProviders | None = None
        if self.config.fake_providers:
            given = self.config.parameter_overrides
            self.fakes = FakeProviders(given.get("ResendReceivingDomain") or DEFAULT_RECEIVING_DOMAIN)
            # What the user set explicitly wins over the fakes' addresses.
            self.config.parameter_overrides = {**self.fakes.parameters(), **given}
        self.template = Template.from_file(self.config.template_path, self.config.parameter_overrides)
        self.emulator = Emulator(self.config.emulator_port, self.sink)
        self.api: ApiServer | None = None
        self.clients: ClientFactory | None = None
        self.registry: ResourceRegistry | None = None
        self.specs: dict[str, FunctionSpec] = {}
        self.pools: dict[str, FunctionPool] = {}
        self.consumers: subprocess.Popen[bytes] | None = None
        self.local_secrets: dict[str, str] = {}
        self.demo_account: dict[str, str] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        """Start everything and return the ready document (also written to the state file)."""
        started = time.monotonic()
        try:
            self.api = self._bind_api()
            self.emulator.spawn()  # moto imports while we read the template
            emulator_url = self.emulator.wait_ready()
            self.clients = ClientFactory(emulator_url)
            self.registry = provision(self.template, self.clients, self.api.url)
            self.local_secrets = self._store_local_secrets()
            if self.fakes is not None:
                self.fakes.attach(self.api.url, self.local_secrets)
            self.specs = build_function_specs(self.template, self.registry.evaluator, self.config.env)
            note = runtime_note(self.specs)
            if note is not None:
                self.sink.write("local", note)
            for spec in self.specs.values():
                for warning in spec.warnings:
                    self.sink.write("local", f"{spec.logical_id}: {warning}")
            envs = {
                lid: worker_environment(spec, emulator_url=emulator_url, api_url=self.api.url)
                for lid, spec in self.specs.items()
            }
            compile_templates_ahead(self.specs.values())
            self.pools = start_pools(self.specs, envs, self.sink, self.config.concurrency)
            if any(spec.sqs_sources or spec.stream_sources for spec in self.specs.values()):
                self.consumers = self._start_consumers(emulator_url)
            self.api.router = gateway.Router(
                gateway.Route(route.method, route.path, route.function_id)
                for spec in self.specs.values()
                for route in spec.http_routes
            )
            self.api.invoker = self.invoke
            self.api.functions = {
                name: lid for lid, spec in self.specs.items() for name in (lid, spec.function_name)
            }
            self.api.start()
            if self.config.bootstrap_demo_account:
                self.demo_account = self._create_demo_account()
        except BaseException:
            self.stop()
            raise
        ready = self.ready_document()
        self._write_state(ready)
        self.sink.write("local", f"ready in {time.monotonic() - started:.1f}s")
        return ready

    def stop(self) -> None:
        """Stop in reverse order; safe to call more than once and after a failed start."""
        if self.api is not None:
            self.api.stop()
            self.api = None
        self._stop_consumers()
        for pool in self.pools.values():
            pool.close()
        self.pools = {}
        self.emulator.stop()
        if self.fakes is not None:
            self.fakes.close()
            self.fakes = None

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- use --------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        if self.api is None:
            raise StackError("the local stack is not running")
        return self.api.url

    @property
    def admin_key(self) -> str:
        return self.local_secrets[ADMIN_KEY_ENV]

    def invoke(self, function_id: str, event: dict[str, Any], request_id: str | None = None) -> InvokeResult:
        pool = self.pools.get(function_id)
        if pool is None:
            raise StackError(f"no function {function_id!r} in the template; have {sorted(self.pools)}")
        return pool.invoke(event, request_id)

    def ready_document(self) -> dict[str, Any]:
        return {
            "ready": True,
            "api": self.api_url,
            "adminKey": self.admin_key,
            "demoAccount": self.demo_account,
            # Provider secrets as this stack uses them (set or generated), to sign test webhooks with.
            "localSecrets": {k: v for k, v in self.local_secrets.items() if k != ADMIN_KEY_ENV},
            **({"fakeProviders": self.fakes.describe()} if self.fakes else {}),
            "emulator": self.emulator.url,
            "pid": os.getpid(),
        }

    # -- steps ------------------------------------------------------------------------------

    def _bind_api(self) -> ApiServer:
        try:
            return ApiServer(
                None, None, port=self.config.port, sink=self.sink, access_log=self.config.access_log
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StackError(
                    f"port {self.config.port} on {settings.LOOPBACK} is in use "
                    "(another local stack?); stop it or choose another with PORT=3001"
                ) from None
            raise

    def _start_consumers(self, emulator_url: str, timeout: float = 90.0) -> subprocess.Popen[bytes]:
        """The queue and stream pollers with their functions' workers, in a process of their own
        (see `local.consumers`); it stops when this process closes its stdin or dies."""
        assert self.registry is not None and self.api is not None
        process = subprocess.Popen(
            [sys.executable, "-m", "local.consumers"],
            cwd=settings.REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None
        self.sink.forward_raw(process.stderr)
        config = {
            "template": str(self.template.path),
            "parameters": dict(self.config.parameter_overrides),
            "registry": self.registry.snapshot(),
            "env": dict(self.config.env),
            "emulator": emulator_url,
            "api": self.api.url,
            "concurrency": self.config.concurrency,
        }
        process.stdin.write(json.dumps(config).encode() + b"\n")
        process.stdin.flush()
        readable, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if readable else b""
        if not line or not json.loads(line).get("ready"):
            process.kill()
            raise StackError(f"the queue and stream consumers did not start (exit code {process.poll()})")
        process.stdout.close()
        return process

    def _stop_consumers(self, timeout: float = 10.0) -> None:
        process, self.consumers = self.consumers, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _store_local_secrets(self) -> dict[str, str]:
        """Secrets that live in SSM on AWS, taken from same-named env vars (or generated)."""
        assert self.clients is not None
        declared: Mapping[str, str] = self.template.metadata.get(LOCAL_SECRETS_METADATA) or {}
        ssm = self.clients.client("ssm")
        values: dict[str, str] = {}
        for env_name, parameter in declared.items():
            name = self.template.parameters.get(parameter, parameter)
            value = self.config.env.get(env_name) or generated_secret(env_name)
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
            values[env_name] = value
        if ADMIN_KEY_ENV not in values:
            raise StackError(f"template.yaml Metadata {LOCAL_SECRETS_METADATA} must declare {ADMIN_KEY_ENV}")
        return values

    def _create_demo_account(self) -> dict[str, str]:
        status, body = self.request(
            "POST", "/api/admin/accounts", DEMO_ACCOUNT, headers={"X-Admin-Key": self.admin_key}
        )
        if status != 201:
            raise StackError(f"creating the demo account failed: HTTP {status} {body}")
        return {key: body[key] for key in ("accountId", "apiKey", "webhookToken", "webhookUrl")}

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> tuple[int, Any]:
        """One JSON request to the local API (stdlib only, for bootstrap and scripts)."""
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(  # noqa: S310 - always our own loopback URL
            self.api_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            with contextlib.suppress(ValueError):
                return exc.code, json.loads(raw)
            return exc.code, raw.decode("utf-8", "replace")

    def _write_state(self, ready: Mapping[str, Any]) -> None:
        state_dir = self.config.state_dir
        if state_dir is None:
            return
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / settings.STATE_FILE_NAME
        # Holds the admin key: readable by the owner only.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(ready, handle, indent=2)
            handle.write("\n")


def compile_templates_ahead(specs: Iterable[FunctionSpec]) -> None:
    """What the layer's build adds to the package it copies (layers/common/Makefile): the dashboard's
    templates compiled to Python, by the layer's own code (in a process of its own: the stack does not
    import the layer)."""
    for layer_dir in sorted({d for spec in specs for d in spec.layer_dirs}):
        if not (layer_dir / "leadhub" / "dashboard" / "rendering.py").is_file():
            continue
        command = [sys.executable, "-B", "-m", "leadhub.dashboard.rendering"]
        done = subprocess.run(command, cwd=layer_dir, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StackError(f"compiling the dashboard's templates failed:\n{done.stderr}")


def ready_hints(ready: Mapping[str, Any], state_file: Path | None) -> str:
    """What `python -m local` prints below the ready line for a person: where things are, and commands
    to paste (shell comments, so the output can be pasted whole)."""
    api = ready["api"]
    account = ready.get("demoAccount") or {}
    lines = [f"# Leadhub runs at {api} (API docs: {api}/api/docs)."]
    if state_file is not None:
        lines.append(f"# The JSON line above is also in {_shown(state_file)} (it holds the admin key).")
    if account:
        url = account.get("webhookUrl") or f"{api}/api/webhooks/leads/{account.get('webhookToken')}"
        lines += [
            "# Post a lead to the demo account:",
            f"curl -sS -X POST '{url}' -H 'Content-Type: application/json' "
            '-d \'{"name": "Ada Lovelace", "phone": "+14155552671", "email": "ada@example.com"}\'',
            "# Its leads (demoAccount.apiKey):",
            f"curl -sS '{api}/api/leads' -H 'X-API-Key: {account.get('apiKey')}'",
        ]
    fakes = ready.get("fakeProviders")
    if fakes:
        lines += [
            '# Fake providers run (fakeProviders above): connect a channel as README\'s "Messaging channels"',
            "# shows, then have someone write through its simulate URL. Once Telegram is connected, the",
            "# webhook Leadhub registered and its secret token (X-Telegram-Bot-Api-Secret-Token):",
            f"curl -sS '{fakes['telegram']['webhooks']}'",
        ]
    else:
        lines.append(
            "# LEADHUB_FAKE_PROVIDERS=1 also runs fakes of WhatsApp, Telegram and Resend to try the channels."
        )
    return "\n".join(lines)


def _shown(path: Path) -> str:
    """`path` relative to the current directory when it is inside it (shorter to read and paste)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
