"""Typed settings, read from the environment that template.yaml declares and validated at cold start."""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

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
    # Local development only: lets endpoints point at http://127.0.0.1 (loopback, nothing else private).
    allow_private_webhook_targets: bool = Field(False, alias="ALLOW_PRIVATE_WEBHOOK_TARGETS")
    # How long a rotated-out endpoint secret keeps signing next to the new one.
    webhook_secret_overlap_hours: float = Field(24, alias="WEBHOOK_SECRET_OVERLAP_HOURS", ge=0, le=24 * 30)
    delivery_queue_url: str = Field(alias="DELIVERY_QUEUE_URL", min_length=1)


class FanoutSettings(BaseSettings):
    delivery_queue_url: str = Field(alias="DELIVERY_QUEUE_URL", min_length=1)


class DeliveryWorkerSettings(BaseSettings):
    kms_key_id: str = Field(alias="KMS_KEY_ID", min_length=1)
    delivery_queue_url: str = Field(alias="DELIVERY_QUEUE_URL", min_length=1)
    # Total time one POST may take (connect, send, answer); the function's timeout must exceed it.
    delivery_timeout_seconds: float = Field(15, alias="DELIVERY_TIMEOUT_SECONDS", gt=0, le=300)
    # Delay before each attempt; the DeliveryQueue's maxReceiveCount must equal the number of entries.
    delivery_retry_schedule: str = Field("0s,5s,5m,30m,2h,5h,10h,10h", alias="DELIVERY_RETRY_SCHEDULE")
    # The DeliveryQueue's maxReceiveCount as the template sets it; when given it must match the schedule.
    delivery_max_attempts: int | None = Field(None, alias="DELIVERY_MAX_ATTEMPTS", ge=1)
    delivery_retry_jitter: float = Field(0.2, alias="DELIVERY_RETRY_JITTER", ge=0, lt=1)
    # An endpoint whose deliveries keep exhausting every attempt for this long is disabled.
    endpoint_auto_disable_hours: float = Field(72, alias="ENDPOINT_AUTO_DISABLE_HOURS", gt=0)
    # Local development only: deliveries may go to http://127.0.0.1 (loopback, nothing else private).
    allow_private_webhook_targets: bool = Field(False, alias="ALLOW_PRIVATE_WEBHOOK_TARGETS")

    @field_validator("delivery_retry_schedule")
    @classmethod
    def _valid_schedule(cls, value: str) -> str:
        from leadhub.domain.retry_schedule import parse_schedule  # only this function needs it

        parse_schedule(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("delivery_max_attempts")
    @classmethod
    def _attempts_match_schedule(cls, value: int | None, info: ValidationInfo) -> int | None:
        from leadhub.domain.retry_schedule import parse_schedule

        schedule = info.data.get("delivery_retry_schedule")  # absent when it was invalid itself
        if value is not None and schedule is not None and value != len(parse_schedule(schedule)):
            # A mismatch gives up early or retries more often than configured: refuse to start.
            raise ValueError(
                f"must equal the number of entries of DELIVERY_RETRY_SCHEDULE "
                f"({len(parse_schedule(schedule))}): it is the delivery queue's maxReceiveCount"
            )
        return value

    @property
    def retry_schedule(self) -> tuple[float, ...]:
        from leadhub.domain.retry_schedule import parse_schedule

        return parse_schedule(self.delivery_retry_schedule)


class SettingsError(RuntimeError):
    pass


def load_settings(model: type[S]) -> S:
    try:
        return model.model_validate(os.environ)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"invalid configuration: {problems}") from None
