"""The SAM view of a template: functions (with ``Globals.Function`` merged) and their events.

Everything here is resolved: intrinsics are evaluated against the provisioned resources, paths
are absolute, and the environment is the one the function sees (before the runner adds the
``AWS_*`` variables).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import settings
from local.cfn import NO_VALUE, CfnError, Evaluator, Template, intrinsic

FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
SUPPORTED_EVENT_TYPES = ("HttpApi", "SQS", "DynamoDB")


@dataclass(frozen=True)
class HttpApiRoute:
    function_id: str
    method: str  # upper case, or "ANY"
    path: str  # "/api/{proxy+}", or "$default" for the catch-all route
    event_name: str = ""


@dataclass(frozen=True)
class SqsEventSource:
    function_id: str
    event_name: str
    queue_arn: str
    batch_size: int = 10
    batching_window_s: float = 0.0
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency; None: Lambda's own scaling


@dataclass(frozen=True)
class StreamEventSource:
    function_id: str
    event_name: str
    stream_arn: str
    batch_size: int = 100
    batching_window_s: float = 0.0
    report_batch_item_failures: bool = False
    starting_position: str = "TRIM_HORIZON"
    maximum_retry_attempts: int = -1  # -1: unlimited
    bisect_on_error: bool = False
    on_failure_arn: str | None = None
    parallelization_factor: int = 1  # concurrent batches per shard


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    function_name: str
    handler: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    runtime: str
    memory_mb: int
    timeout_s: float
    log_group_name: str
    environment: Mapping[str, str]
    http_routes: tuple[HttpApiRoute, ...] = ()
    sqs_sources: tuple[SqsEventSource, ...] = ()
    stream_sources: tuple[StreamEventSource, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def arn(self) -> str:
        return settings.function_arn(self.function_name)

    @property
    def sys_path(self) -> tuple[Path, ...]:
        return (self.code_dir, *self.layer_dirs)


def merge_globals(global_props: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: mappings merge (the function wins), lists concatenate (globals first),
    anything else is replaced by the function's value."""
    merged: dict[str, Any] = dict(global_props)
    for key, value in own.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict) and intrinsic(value) is None:
            merged[key] = merge_globals(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = [*current, *value]
        else:
            merged[key] = value
    return merged


def function_properties(template: Template, logical_id: str) -> dict[str, Any]:
    body = template.resources[logical_id]
    globals_function = template.globals.get("Function") or {}
    return merge_globals(globals_function, body.get("Properties") or {})


def env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise CfnError(f"environment variable values must be strings, got {value!r}")


def function_environment(
    template: Template,
    evaluator: Evaluator,
    props: Mapping[str, Any],
    runner_env: Mapping[str, str],
) -> dict[str, str]:
    """The function's ``Environment.Variables`` with intrinsics resolved. A variable whose template
    value does not reference a resource is overridden by the runner's variable of the same name."""
    variables = (props.get("Environment") or {}).get("Variables") or {}
    env: dict[str, str] = {}
    for name, raw in variables.items():
        if name in runner_env and not template.references_resource(raw):
            env[name] = runner_env[name]
            continue
        value = evaluator.resolve(raw)
        if value is NO_VALUE:
            continue
        env[name] = env_text(value)
    return env


def _layer_dirs(
    template: Template, evaluator: Evaluator, props: Mapping[str, Any], warnings: list[str]
) -> tuple[Path, ...]:
    dirs: list[Path] = []
    for layer in props.get("Layers") or []:
        call = intrinsic(layer)
        target = call[1] if call is not None and call[0] == "Ref" else None
        body = template.resources.get(target) if isinstance(target, str) else None
        if body is None or body.get("Type") not in LAYER_TYPES:
            warnings.append(f"layer {evaluator.resolve(layer)!r} is not a layer of this template; skipped")
            continue
        layer_props = body.get("Properties") or {}
        content = evaluator.resolve(layer_props.get("ContentUri", layer_props.get("Content")))
        if not isinstance(content, str):
            raise CfnError(f"layer {target}: only a local ContentUri directory is supported locally")
        dirs.append((template.base_dir / content).resolve())
    return tuple(dirs)


def _int(value: Any, default: int) -> int:
    return default if value is None else int(value)


def _float(value: Any, default: float) -> float:
    return default if value is None else float(value)


def _reports_failures(props: Mapping[str, Any]) -> bool:
    return "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])


def _bounded(value: Any, default: int, low: int, high: int, what: str) -> int:
    """An integer setting Lambda accepts only within [low, high]: outside it, the deployment would fail."""
    number = _int(value, default)
    if not low <= number <= high:
        raise CfnError(f"{what} must be between {low} and {high}, got {number}")
    return number


def _maximum_concurrency(event_name: str, props: Mapping[str, Any]) -> int | None:
    value = (props.get("ScalingConfig") or {}).get("MaximumConcurrency")
    if value is None:
        return None
    return _bounded(value, 0, 2, 1000, f"event {event_name}: ScalingConfig.MaximumConcurrency")


def build_function_spec(
    template: Template,
    evaluator: Evaluator,
    logical_id: str,
    runner_env: Mapping[str, str],
) -> FunctionSpec:
    props = function_properties(template, logical_id)
    warnings: list[str] = []
    name = evaluator.resolve(props.get("FunctionName")) if "FunctionName" in props else None
    function_name = name if isinstance(name, str) else settings.generated_name(logical_id)
    code_uri = evaluator.resolve(props.get("CodeUri"))
    if not isinstance(code_uri, str):
        raise CfnError(f"{logical_id}: only a local CodeUri directory is supported locally")
    handler = evaluator.resolve_str(props.get("Handler"))
    runtime = str(evaluator.resolve(props.get("Runtime")) or "")
    logging_config = evaluator.resolve(props.get("LoggingConfig")) or {}
    log_group = logging_config.get("LogGroup") or f"/aws/lambda/{function_name}"

    routes: list[HttpApiRoute] = []
    sqs_sources: list[SqsEventSource] = []
    stream_sources: list[StreamEventSource] = []
    for event_name, event in (props.get("Events") or {}).items():
        kind = event.get("Type")
        if kind not in SUPPORTED_EVENT_TYPES:
            warnings.append(f"event {event_name} of type {kind} is not emulated locally")
            continue
        event_props = evaluator.resolve(event.get("Properties") or {})
        if event_props.get("Enabled") is False:
            continue
        if event_props.get("FilterCriteria"):
            warnings.append(f"event {event_name}: FilterCriteria is ignored locally")
        if kind == "HttpApi":
            if "Path" not in event_props:
                routes.append(HttpApiRoute(logical_id, "ANY", "$default", event_name))
                continue
            if str(event_props.get("PayloadFormatVersion", "2.0")) != "2.0":
                warnings.append(f"event {event_name}: only payload format 2.0 is emulated")
            method = str(event_props.get("Method", "ANY")).upper()
            routes.append(
                HttpApiRoute(
                    logical_id,
                    "ANY" if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" else method,
                    str(event_props["Path"]),
                    event_name,
                )
            )
        elif kind == "SQS":
            sqs_sources.append(
                SqsEventSource(
                    function_id=logical_id,
                    event_name=event_name,
                    queue_arn=str(event_props["Queue"]),
                    batch_size=_int(event_props.get("BatchSize"), 10),
                    batching_window_s=_float(event_props.get("MaximumBatchingWindowInSeconds"), 0.0),
                    report_batch_item_failures=_reports_failures(event_props),
                    maximum_concurrency=_maximum_concurrency(event_name, event_props),
                )
            )
        else:
            on_failure = ((event_props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                "Destination"
            )
            stream_sources.append(
                StreamEventSource(
                    function_id=logical_id,
                    event_name=event_name,
                    stream_arn=str(event_props["Stream"]),
                    batch_size=_int(event_props.get("BatchSize"), 100),
                    batching_window_s=_float(event_props.get("MaximumBatchingWindowInSeconds"), 0.0),
                    report_batch_item_failures=_reports_failures(event_props),
                    starting_position=str(event_props.get("StartingPosition", "TRIM_HORIZON")),
                    maximum_retry_attempts=_int(event_props.get("MaximumRetryAttempts"), -1),
                    bisect_on_error=bool(event_props.get("BisectBatchOnFunctionError", False)),
                    on_failure_arn=str(on_failure) if on_failure else None,
                    parallelization_factor=_bounded(
                        event_props.get("ParallelizationFactor"),
                        1,
                        1,
                        10,
                        f"event {event_name}: ParallelizationFactor",
                    ),
                )
            )
            if stream_sources[-1].parallelization_factor > 1:
                warnings.append(f"event {event_name}: shards are read one batch at a time locally")

    return FunctionSpec(
        logical_id=logical_id,
        function_name=function_name,
        handler=handler,
        code_dir=(template.base_dir / code_uri).resolve(),
        layer_dirs=_layer_dirs(template, evaluator, props, warnings),
        runtime=runtime,
        memory_mb=_int(evaluator.resolve(props.get("MemorySize")), 128),
        timeout_s=_float(evaluator.resolve(props.get("Timeout")), 3.0),
        log_group_name=str(log_group),
        environment=function_environment(template, evaluator, props, runner_env),
        http_routes=tuple(routes),
        sqs_sources=tuple(sqs_sources),
        stream_sources=tuple(stream_sources),
        warnings=tuple(warnings),
    )


def running_runtime() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def runtime_note(specs: Mapping[str, FunctionSpec], running: str | None = None) -> str | None:
    """One line saying that functions declaring another Python run on this one (not a problem locally),
    or None when they all declare this one."""
    running = running or running_runtime()
    declared = sorted({spec.runtime for spec in specs.values() if spec.runtime and spec.runtime != running})
    if not declared:
        return None
    return (
        f"note: the functions' runtime on AWS is {', '.join(declared)}; here they run on {running}, "
        f"which is fine for the local stack (only `make build` needs {' and '.join(declared)} installed)"
    )


def function_ids(template: Template) -> list[str]:
    return [lid for lid, body in template.active_resources().items() if body.get("Type") == FUNCTION_TYPE]


def build_function_specs(
    template: Template, evaluator: Evaluator, runner_env: Mapping[str, str]
) -> dict[str, FunctionSpec]:
    return {lid: build_function_spec(template, evaluator, lid, runner_env) for lid in function_ids(template)}
