"""Constants and environment knobs shared by the local stack's modules."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "leadhub-local"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
LOOPBACK = "127.0.0.1"

# Credentials the emulator accepts; never real ones.
FAKE_ACCESS_KEY = "testing"
FAKE_SECRET_KEY = "testing"  # noqa: S105 - the emulator's well-known dummy secret

DEFAULT_HTTP_PORT = 3000
DEFAULT_CONCURRENCY = 4

# The package lives at <repo>/local, so the repository root is its parent.
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_STATE_DIR = REPO_ROOT / ".leadhub"
STATE_FILE_NAME = "local.json"
RESOURCES_FILE_NAME = "resources.json"


class ConfigError(ValueError):
    """A bad environment variable or command-line value."""


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def env_flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def generated_name(logical_id: str) -> str:
    """The deterministic physical name given to a resource that names none itself."""
    return f"{STACK_NAME}-{logical_id}"


def function_arn(function_name: str) -> str:
    return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"


def fake_credentials_env() -> dict[str, str]:
    """Environment that points AWS SDKs at fake credentials and away from the user's AWS config."""
    return {
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # Never read ~/.aws: a profile there must not redirect or sign local calls.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
