"""The WhatsApp Cloud API webhook body (object → entry → changes → value). Only the envelope is typed
strictly; messages and statuses stay mappings, because Meta adds types faster than any schema: one that
we cannot read is stored as "unsupported", never refused. Unknown fields are ignored.

Frozen dataclasses read by `read_notification` rather than pydantic models: the WhatsApp webhook
validates nothing else, and importing pydantic and building the models cost its every cold start
~100 ms. A body that is not a notification is refused as the models refused it: the first problem in
field order, with its location and pydantic's wording (tests/unit/test_whatsapp_payload.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class WaProfile:
    name: str | None = None
    username: str | None = None  # a user who adopted a WhatsApp username (then maybe no wa_id)


@dataclass(frozen=True, slots=True)
class WaContact:
    wa_id: str | None = None  # the phone number (digits), omitted for some users with a username
    user_id: str | None = None  # the business-scoped user id (BSUID), since April 2026
    profile: WaProfile | None = None


@dataclass(frozen=True, slots=True)
class WaMetadata:
    phone_number_id: str
    display_phone_number: str | None = None


@dataclass(frozen=True, slots=True)
class WaValue:
    metadata: WaMetadata | None = None
    contacts: list[WaContact] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WaChange:
    field: str
    value: WaValue


@dataclass(frozen=True, slots=True)
class WaEntry:
    id: str | None = None
    changes: list[WaChange] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WaNotification:
    object: str
    entry: list[WaEntry] = field(default_factory=list)


class NotANotification(ValueError):
    """The first problem found, where it is (keys and list indexes from the top) and what it is."""

    def __init__(self, location: Path, problem: str) -> None:
        super().__init__(f"{'.'.join(map(str, location)) or 'body'}: {problem}")
        self.location = location
        self.problem = problem


def read_notification(payload: Any) -> WaNotification:
    """The notification in a decoded JSON body; NotANotification otherwise."""
    body = _object(payload, (), "WaNotification")
    return WaNotification(
        object=_required(body, "object", (), _text),
        entry=_optional(body, "entry", (), _list_of(_entry), []),
    )


def _entry(value: Any, at: Path) -> WaEntry:
    entry = _object(value, at, "WaEntry")
    return WaEntry(
        id=_optional(entry, "id", at, _nullable(_text), None),
        changes=_optional(entry, "changes", at, _list_of(_change), []),
    )


def _change(value: Any, at: Path) -> WaChange:
    change = _object(value, at, "WaChange")
    return WaChange(field=_required(change, "field", at, _text), value=_required(change, "value", at, _value))


def _value(value: Any, at: Path) -> WaValue:
    body = _object(value, at, "WaValue")
    return WaValue(
        metadata=_optional(body, "metadata", at, _nullable(_metadata), None),
        contacts=_optional(body, "contacts", at, _list_of(_contact), []),
        messages=_optional(body, "messages", at, _list_of(_mapping), []),
        statuses=_optional(body, "statuses", at, _list_of(_mapping), []),
        errors=_optional(body, "errors", at, _list_of(_mapping), []),
    )


def _metadata(value: Any, at: Path) -> WaMetadata:
    metadata = _object(value, at, "WaMetadata")
    return WaMetadata(
        phone_number_id=_required(metadata, "phone_number_id", at, _text),
        display_phone_number=_optional(metadata, "display_phone_number", at, _nullable(_text), None),
    )


def _contact(value: Any, at: Path) -> WaContact:
    contact = _object(value, at, "WaContact")
    return WaContact(
        wa_id=_optional(contact, "wa_id", at, _nullable(_text), None),
        user_id=_optional(contact, "user_id", at, _nullable(_text), None),
        profile=_optional(contact, "profile", at, _nullable(_profile), None),
    )


def _profile(value: Any, at: Path) -> WaProfile:
    profile = _object(value, at, "WaProfile")
    return WaProfile(
        name=_optional(profile, "name", at, _nullable(_text), None),
        username=_optional(profile, "username", at, _nullable(_text), None),
    )


# -- the readers: each checks one JSON value at `at` ---------------------------------------------------


def _object(value: Any, at: Path, model: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NotANotification(at, f"Input should be a valid dictionary or instance of {model}")
    return value


def _required(body: dict[str, Any], key: str, at: Path, read: Callable[[Any, Path], T]) -> T:
    if key not in body:
        raise NotANotification((*at, key), "Field required")
    return read(body[key], (*at, key))


def _optional(body: dict[str, Any], key: str, at: Path, read: Callable[[Any, Path], T], default: T) -> T:
    return read(body[key], (*at, key)) if key in body else default


def _nullable(read: Callable[[Any, Path], T]) -> Callable[[Any, Path], T | None]:
    return lambda value, at: None if value is None else read(value, at)


def _list_of(read: Callable[[Any, Path], T]) -> Callable[[Any, Path], list[T]]:
    def read_list(value: Any, at: Path) -> list[T]:
        if not isinstance(value, list):
            raise NotANotification(at, "Input should be a valid list")
        return [read(item, (*at, index)) for index, item in enumerate(value)]

    return read_list


def _text(value: Any, at: Path) -> str:
    if not isinstance(value, str):
        raise NotANotification(at, "Input should be a valid string")
    return value


def _mapping(value: Any, at: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NotANotification(at, "Input should be a valid dictionary")
    return value
