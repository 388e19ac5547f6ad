"""Generate the layer's botocore data bundle (`leadhub/platform/adapters/botocore_data/`): the service
models of the operations the adapters call, and botocore's shared data files, taken from the installed
botocore (pinned in layers/common/requirements.txt).

Why: creating the first client of a cold start made botocore list all ~440 service directories of its
data path and parse models of every operation (SSM's 154, DynamoDB's 62) plus the 1.2 MB endpoints.json;
that cost more than the handlers' own code. With the bundle as the only data path it reads a few small
files. An adapter calling an operation that is not listed here fails loudly (the client has no such
method): add it to OPERATIONS and run `make botocore-data`. tests/unit/test_botocore_data.py checks the
bundle is what this script makes from the installed botocore, and that every operation the adapters'
code calls (`called_operations`, a scan of their source) is in it.

Usage: python -m tools.botocore_data [OUTPUT_DIR]
"""

from __future__ import annotations

import ast
import gzip
import json
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import botocore
from botocore import xform_name

OPERATIONS: dict[str, tuple[str, ...]] = {
    "dynamodb": ("BatchGetItem", "GetItem", "PutItem", "Query", "TransactWriteItems", "UpdateItem"),
    "sqs": ("ChangeMessageVisibility", "SendMessage", "SendMessageBatch"),
    "kms": ("Decrypt", "Encrypt"),
    "ssm": ("GetParameter",),
    "bedrock-runtime": ("Converse",),
}
SHARED_FILES = ("_retry.json", "partitions.json", "sdk-default-configuration.json")
BUNDLE = Path(__file__).resolve().parent.parent / "layers/common/leadhub/platform/adapters/botocore_data"
_DOCS = frozenset({"documentation", "documentationUrl"})


def generate(output: Path, source: Path | None = None) -> None:
    """Write the bundle to `output` (replacing what is there) from botocore's data directory."""
    source = source or Path(botocore.__file__).parent / "data"
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    for name in SHARED_FILES:
        _write(output / name, _load(source / name))
    _write(output / "endpoints.json", _endpoints(_load(source / "endpoints.json")))
    for service, operations in OPERATIONS.items():
        version_dir = max((source / service).iterdir())  # api versions are dates: the latest sorts last
        target = output / service / version_dir.name
        _write(target / "service-2.json", _service_model(_load(version_dir / "service-2.json"), operations))
        rules = _load(version_dir / "endpoint-rule-set-1.json")
        _write(target / "endpoint-rule-set-1.json", _without_docs(rules))


def called_operations(sources: Iterable[Path], source: Path | None = None) -> set[tuple[str, str]]:
    """The (service, Operation) pairs that `sources` call on a client of a bundled service: every method
    call `x.some_name(...)` whose name is an operation of one of those services in botocore's full models
    (`get_item` is DynamoDB's GetItem). A name that is an operation of several services counts for each."""
    source = source or Path(botocore.__file__).parent / "data"
    by_method: dict[str, list[tuple[str, str]]] = {}
    for service in OPERATIONS:
        version_dir = max((source / service).iterdir())
        for operation in _load(version_dir / "service-2.json")["operations"]:
            by_method.setdefault(xform_name(operation), []).append((service, operation))
    called: set[tuple[str, str]] = set()
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                called.update(by_method.get(node.func.attr, ()))
    return called


def _service_model(model: dict[str, Any], operations: tuple[str, ...]) -> dict[str, Any]:
    """The model with only `operations` and the shapes they reach; documentation dropped."""
    kept = {name: _drop_docs(model["operations"][name]) for name in operations}
    roots = [op[part]["shape"] for op in kept.values() for part in ("input", "output") if part in op]
    roots += [error["shape"] for op in kept.values() for error in op.get("errors", ())]
    shapes: dict[str, Any] = {}
    while roots:
        name = roots.pop()
        if name in shapes:
            continue
        shape = shapes[name] = _drop_docs(model["shapes"][name])
        if "members" in shape:
            shape["members"] = {member: _drop_docs(ref) for member, ref in shape["members"].items()}
            roots += [ref["shape"] for ref in shape["members"].values()]
        roots += [shape[part]["shape"] for part in ("member", "key", "value") if part in shape]
    return {"version": model["version"], "metadata": model["metadata"], "operations": kept, "shapes": shapes}


def _endpoints(endpoints: dict[str, Any]) -> dict[str, Any]:
    """Every partition, with only the bundled services' entries."""
    for partition in endpoints["partitions"]:
        partition["services"] = {k: v for k, v in partition["services"].items() if k in OPERATIONS}
    return endpoints


def _drop_docs(definition: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in definition.items() if key not in _DOCS}


def _without_docs(value: Any) -> Any:
    """An endpoint rule set without its documentation strings (no rule or parameter is named so)."""
    if isinstance(value, dict):
        return {key: _without_docs(item) for key, item in value.items() if key not in _DOCS}
    if isinstance(value, list):
        return [_without_docs(item) for item in value]
    return value


def _load(path: Path) -> Any:
    if path.exists():
        return json.loads(path.read_bytes())
    return json.loads(gzip.decompress(path.with_name(path.name + ".gz").read_bytes()))


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else BUNDLE
    generate(target)
    print(f"botocore {botocore.__version__} data for {', '.join(OPERATIONS)} written to {target}")
