"""Typed settings, read from the environment that template.yaml declares and validated at cold start."""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

S = TypeVar("S", bound="BaseSettings")


class BaseSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    default_phone_region: str = Field("US", alias="DEFAULT_PHONE_REGION", pattern=r"^[A-Z]{2}$")


class LeadWebhookSettings(BaseSettings):
    # How long a warm environment may reuse a token lookup: a rotated token stops working within it.
    token_cache_seconds: int = Field(60, alias="TOKEN_CACHE_SECONDS", ge=0, le=60)


class ManagementSettings(BaseSettings):
    kms_key_id: str = Field(alias="KMS_KEY_ID", min_length=1)
    admin_key_parameter: str = Field(alias="ADMIN_KEY_PARAMETER", min_length=1)
    # Base of the webhook URLs we hand out; empty means "the domain the request came in on".
    public_base_url: str = Field("", alias="PUBLIC_BASE_URL")


class SettingsError(RuntimeError):
    pass


def load_settings(model: type[S]) -> S:
    try:
        return model.model_validate(os.environ)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"invalid configuration: {problems}") from None
