"""The email connect request that the management API and the dashboard's channels form both validate."""

from __future__ import annotations

from pydantic import Field, field_validator

from leadhub.platform.header_text import DISPLAY_NAME_RULE, is_display_name
from leadhub.platform.request_models import RequestSchema


class EmailConnectRequest(RequestSchema):
    emailFromAddress: str = Field(
        max_length=254, pattern=r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
    )
    emailFromName: str = Field(min_length=1, max_length=100)

    @field_validator("emailFromName")
    @classmethod
    def _display_name(cls, value: str) -> str:
        # The From header's display name of every mail we send (quoted there as RFC 5322 needs).
        if not is_display_name(value):
            raise ValueError(DISPLAY_NAME_RULE)
        return value
