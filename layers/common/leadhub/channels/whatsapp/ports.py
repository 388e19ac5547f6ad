"""The WhatsApp channel's port: the Graph API calls that connecting a number needs."""

from __future__ import annotations

from typing import Any, Protocol


class GraphApiPort(Protocol):
    def phone_numbers(self, waba_id: str, access_token: str) -> list[dict[str, Any]]: ...

    def subscribe_app(self, waba_id: str, access_token: str) -> None: ...
