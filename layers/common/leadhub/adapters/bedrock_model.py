"""Replies from a model on Amazon Bedrock through the Converse API. The endpoint URL is a setting, so the
tests and the local stack use a loopback fake of the Bedrock runtime."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from leadhub.adapters.aws import new_client
from leadhub.domain.responders import ModelFailed, Turn

CONNECT_TIMEOUT_S = 3
# One quick retry (throttling, a dropped connection); every attempt may take the whole read timeout, so
# the worker's Timeout must hold ATTEMPTS * (connect + read) — a test checks it against template.yaml.
ATTEMPTS = 2


class BedrockModel:
    def __init__(self, endpoint_url: str, timeout_seconds: float) -> None:
        self._endpoint_url = endpoint_url or None
        self._config = Config(
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=timeout_seconds,
            retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
        )
        self._client: Any = None

    def reply(self, model_id: str, system_prompt: str, turns: Sequence[Turn], max_tokens: int) -> str:
        if self._client is None:  # created on first use: only accounts with a model pay for it
            self._client = new_client("bedrock-runtime", self._config, self._endpoint_url)
        request: dict[str, Any] = {
            "modelId": model_id,
            "messages": [{"role": t.role, "content": [{"text": t.text}]} for t in turns],
            "inferenceConfig": {"maxTokens": max_tokens},
        }
        if system_prompt:
            request["system"] = [{"text": system_prompt}]
        try:
            response = self._client.converse(**request)
        except ClientError as exc:
            raise ModelFailed(f"Bedrock {exc.response.get('Error', {}).get('Code', 'error')}") from None
        except BotoCoreError as exc:
            raise ModelFailed(f"Bedrock unreachable ({type(exc).__name__})") from None
        content = response.get("output", {}).get("message", {}).get("content", [])
        text = "".join(part.get("text", "") for part in content if isinstance(part, dict)).strip()
        if not text:
            raise ModelFailed(f"Bedrock returned no text (stopReason {response.get('stopReason')})")
        return text
