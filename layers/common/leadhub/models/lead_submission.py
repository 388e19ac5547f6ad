"""The lead a webhook caller sends, validated (pydantic). Apart from the stored `Lead` so that functions
which only read or relay leads (fan-out, management API reads) do not import pydantic models for it."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from leadhub.models.phone import to_e164

# Limits a submission must respect (documented in README "Lead webhook").
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_TAGS_PER_REQUEST = 50
MAX_TAG_CHARS = 64
MAX_CUSTOM_FIELDS_PER_REQUEST = 50
MAX_CUSTOM_KEY_CHARS = 64
MAX_CUSTOM_VALUE_CHARS = 1000


def _phone_as_text(value: Any) -> Any:
    # CRMs often send numbers as JSON numbers; bool is an int in Python but never a phone.
    if isinstance(value, int) and not isinstance(value, bool):
        return f"+{value}" if value > 0 else str(value)
    return value


def _tags_as_list(value: Any) -> Any:
    if isinstance(value, str):
        return value.split(",")
    return value


def _blank_as_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def extra_as_text(value: Any) -> str | None:
    """Custom field value: strings as-is, numbers and booleans as their JSON text, anything else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


class LeadSubmission(BaseModel):
    """A lead as posted to the webhook. Validate with `context={"default_region": "US"}`."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, frozen=True)

    phone: Annotated[str, BeforeValidator(_phone_as_text)] = Field(min_length=1)
    name: Annotated[str | None, BeforeValidator(_blank_as_none)] = Field(None, max_length=MAX_NAME_CHARS)
    email: Annotated[str | None, BeforeValidator(_blank_as_none)] = Field(None, max_length=MAX_EMAIL_CHARS)
    tags: Annotated[list[str], BeforeValidator(_tags_as_list)] = Field(default_factory=list)

    @field_validator("phone")
    @classmethod
    def _normalise_phone(cls, value: str, info: ValidationInfo) -> str:
        region = (info.context or {}).get("default_region", "US")
        return to_e164(value, region)

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # Imported here: most leads arrive without an email, and cold start counts.
        from email_validator import EmailNotValidError, validate_email

        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("tags")
    @classmethod
    def _normalise_tags(cls, value: list[str]) -> list[str]:
        tags = list(dict.fromkeys(t.strip() for t in value if t.strip()))
        if len(tags) > MAX_TAGS_PER_REQUEST:
            raise ValueError(f"at most {MAX_TAGS_PER_REQUEST} tags per request")
        too_long = [t for t in tags if len(t) > MAX_TAG_CHARS]
        if too_long:
            raise ValueError(f"tags are at most {MAX_TAG_CHARS} characters")
        return tags

    @property
    def custom_fields(self) -> dict[str, str]:
        """Extra fields worth keeping: non-empty strings, numbers and booleans (as text)."""
        fields = {k: extra_as_text(v) for k, v in (self.model_extra or {}).items()}
        return {k: v.strip() for k, v in fields.items() if v is not None and v.strip()}

    @property
    def ignored_fields(self) -> list[str]:
        """Extra fields we did not store: objects and arrays (null and empty values are simply absent)."""
        return [k for k, v in (self.model_extra or {}).items() if isinstance(v, dict | list)]
