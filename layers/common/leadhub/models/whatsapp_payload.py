"""The WhatsApp Cloud API webhook body (object → entry → changes → value). Only the envelope is typed
strictly; messages and statuses stay mappings, because Meta adds types faster than any schema: one that
we cannot read is stored as "unsupported", never refused."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WaProfile(_Lenient):
    name: str | None = None


class WaContact(_Lenient):
    wa_id: str | None = None
    user_id: str | None = None
    profile: WaProfile | None = None


class WaMetadata(_Lenient):
    phone_number_id: str
    display_phone_number: str | None = None


class WaValue(_Lenient):
    metadata: WaMetadata | None = None
    contacts: list[WaContact] = []
    messages: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []


class WaChange(_Lenient):
    field: str
    value: WaValue


class WaEntry(_Lenient):
    id: str | None = None
    changes: list[WaChange] = []


class WaNotification(_Lenient):
    object: str
    entry: list[WaEntry] = []
