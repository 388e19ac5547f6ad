"""The layer's botocore data bundle: made by tools/botocore_data.py from the pinned botocore, enough for
every client the adapters create (no network: clients are created, never called), and holding every
operation the adapters' code calls."""

from __future__ import annotations

import re
from pathlib import Path

import botocore
import botocore.session
import pytest
from botocore import xform_name
from botocore.exceptions import UnknownServiceError

from leadhub.platform.adapters import aws_clients as aws
from tools.botocore_data import BUNDLE, OPERATIONS, called_operations, generate

REPO = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_bundle_is_what_the_generator_makes_from_the_installed_botocore(tmp_path: Path) -> None:
    generate(tmp_path / "bundle")

    assert _tree(BUNDLE) == _tree(tmp_path / "bundle"), "run `make botocore-data` and commit the result"


def test_installed_botocore_is_the_layers_pinned_version() -> None:
    requirements = (REPO / "layers" / "common" / "requirements.txt").read_text()

    assert re.search(r"^botocore==(\S+)$", requirements, re.MULTILINE)[1] == botocore.__version__  # type: ignore[index]


@pytest.fixture
def fresh_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setattr(aws, "_session", None)
    monkeypatch.setattr(aws, "_clients", {})


@pytest.mark.usefixtures("fresh_clients")
@pytest.mark.parametrize("service", sorted(OPERATIONS))
def test_clients_from_the_bundle_have_exactly_the_listed_operations(service: str) -> None:
    client = aws.client(service)

    assert client.meta.service_model.operation_names == sorted(OPERATIONS[service])
    assert all(callable(getattr(client, xform_name(name))) for name in OPERATIONS[service])
    assert client.meta.region_name == "eu-west-1"


@pytest.mark.usefixtures("fresh_clients")
def test_a_service_outside_the_bundle_is_refused_by_name() -> None:
    with pytest.raises(UnknownServiceError, match="s3"):
        aws.client("s3")


@pytest.mark.usefixtures("fresh_clients")
def test_endpoints_resolve_from_the_bundle_as_from_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    reference = botocore.session.get_session()

    for service in OPERATIONS:
        ours = aws.new_client(service, aws.Config())
        theirs = reference.create_client(service, region_name="eu-west-1")
        assert ours.meta.endpoint_url == theirs.meta.endpoint_url


def _adapter_sources() -> list[Path]:
    return sorted(p for p in (REPO / "layers/common/leadhub").rglob("*.py") if "adapters" in p.parts)


def test_every_operation_the_adapters_call_is_in_the_bundle() -> None:
    called = called_operations(_adapter_sources())

    missing = sorted(
        f"{service} {operation}" for service, operation in called if operation not in OPERATIONS[service]
    )
    assert not missing, (
        f"add these to tools/botocore_data.py OPERATIONS and run `make botocore-data`: {missing}"
    )
    # The scan sees the calls it is there for (one per service at least), not nothing.
    assert {service for service, _ in called} == set(OPERATIONS)


def test_the_scan_names_an_operation_the_bundle_lacks(tmp_path: Path) -> None:
    adapter = tmp_path / "dynamodb_things.py"
    adapter.write_text(
        "def forget(self, key):\n"
        "    self._db.delete_item(TableName=self._table, Key=key)\n"
        "    client('kms').list_keys()\n"
        "    self._inner.get(key)\n"
    )

    assert called_operations([adapter]) == {("dynamodb", "DeleteItem"), ("kms", "ListKeys")}
