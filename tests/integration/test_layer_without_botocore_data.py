"""The built layer leaves out botocore's own data directory (layers/common/Makefile, target `prune`), and
every client the adapters create still works from the layer's model bundle.

The layer's package set is laid out as `sam build` lays it out (`python/` with botocore and leadhub; the
botocore here is the layer's pinned version, tests/unit/test_botocore_data.py checks that), pruned by
the layer Makefile's own rule, then used by a separate interpreter that sees that botocore first: it
creates a client of every service tools/botocore_data.py lists and calls an operation against the
emulator (and the Bedrock runtime's loopback fake)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore
import pytest

from local import settings
from local.emulator import ClientFactory, Emulator
from local.fake_providers import FakeBedrockRuntime
from tools.botocore_data import OPERATIONS

REPO = Path(__file__).resolve().parents[2]
LAYER_DIR = REPO / "layers" / "common"

# Runs in the layer's interpreter: nothing from the repository or the tests is importable there.
LAYER_SCRIPT = r"""
import json, sys
from pathlib import Path

import botocore, leadhub
from leadhub.platform.adapters import aws_clients as aws

given = json.loads(sys.argv[1])
done = {}
ddb = aws.client("dynamodb")
ddb.put_item(TableName=given["table"], Item={"pk": {"S": "p"}, "sk": {"S": "s"}, "v": {"S": "stored"}})
item = ddb.get_item(TableName=given["table"], Key={"pk": {"S": "p"}, "sk": {"S": "s"}})["Item"]
done["dynamodb"] = item["v"]["S"]
sqs = aws.client("sqs")
done["sqs"] = bool(sqs.send_message(QueueUrl=given["queue"], MessageBody="job")["MessageId"])
kms = aws.client("kms")
blob = kms.encrypt(KeyId=given["key"], Plaintext=b"secret")["CiphertextBlob"]
done["kms"] = kms.decrypt(CiphertextBlob=blob)["Plaintext"].decode()
ssm = aws.client("ssm")
done["ssm"] = ssm.get_parameter(Name=given["parameter"], WithDecryption=True)["Parameter"]["Value"]
bedrock = aws.new_client("bedrock-runtime", aws.Config(), given["bedrock"])
answer = bedrock.converse(modelId="m", messages=[{"role": "user", "content": [{"text": "hi"}]}])
done["bedrock-runtime"] = answer["output"]["message"]["content"][0]["text"]
print(json.dumps({
    "botocore": botocore.__file__,
    "leadhub": leadhub.__file__,
    "botocoreData": (Path(botocore.__file__).parent / "data").exists(),
    "done": done,
}))
"""


@pytest.fixture(scope="module")
def layer_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer's `python/` directory with botocore and leadhub, pruned by the layer Makefile."""
    if shutil.which("make") is None:
        pytest.skip("needs make")
    site = tmp_path_factory.mktemp("layer") / "python"
    shutil.copytree(Path(botocore.__file__).parent, site / "botocore")
    shutil.copytree(
        LAYER_DIR / "leadhub", site / "leadhub", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    assert (site / "botocore" / "data").is_dir()  # what sam build's pip install brings
    subprocess.run(
        ["make", "-s", "-f", str(LAYER_DIR / "Makefile"), "prune", f"SITE={site}"], check=True, timeout=60
    )
    return site


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    running = Emulator(0)
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture(scope="module")
def bedrock() -> Iterator[FakeBedrockRuntime]:
    fake = FakeBedrockRuntime()
    yield fake
    fake.close()


def _resources(emulator_url: str) -> dict[str, str]:
    clients = ClientFactory(emulator_url)
    clients.client("dynamodb").create_table(
        TableName="layer-check",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    queue = clients.client("sqs").create_queue(QueueName="layer-check")["QueueUrl"]
    key = clients.client("kms").create_key()["KeyMetadata"]["KeyId"]
    clients.client("ssm").put_parameter(Name="/layer/check", Value="from-ssm", Type="SecureString")
    return {"table": "layer-check", "queue": queue, "key": key, "parameter": "/layer/check"}


def _layer_environment(site: Path, emulator_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(site),  # before site-packages: the layer's botocore, as on Lambda (/opt/python)
        "AWS_ENDPOINT_URL": emulator_url,
        "AWS_DEFAULT_REGION": settings.REGION,
        **settings.fake_credentials_env(),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def test_the_layer_makefile_prunes_botocore_data_and_keeps_the_bundle(layer_site: Path) -> None:
    assert not (layer_site / "botocore" / "data").exists()
    assert (layer_site / "botocore" / "__init__.py").is_file()
    bundle = layer_site / "leadhub" / "platform" / "adapters" / "botocore_data"
    assert {path.name for path in bundle.iterdir() if path.is_dir()} == set(OPERATIONS)


def test_every_client_the_adapters_create_works_without_botocore_data(
    layer_site: Path, emulator: str, bedrock: FakeBedrockRuntime, tmp_path: Path
) -> None:
    given: dict[str, Any] = {**_resources(emulator), "bedrock": bedrock.url}
    run = subprocess.run(
        [sys.executable, "-P", "-c", LAYER_SCRIPT, json.dumps(given)],
        cwd=tmp_path,
        env=_layer_environment(layer_site, emulator),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)

    assert Path(result["botocore"]).is_relative_to(layer_site)
    assert Path(result["leadhub"]).is_relative_to(layer_site)
    assert result["botocoreData"] is False
    assert set(result["done"]) == set(OPERATIONS)  # a service added to the bundle must be exercised here
    assert result["done"] == {
        "dynamodb": "stored",
        "sqs": True,
        "kms": "secret",
        "ssm": "from-ssm",
        "bedrock-runtime": "(m) You wrote: hi",
    }
