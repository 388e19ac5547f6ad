"""The outbound capability's ports: endpoints, the delivery log and queue, which agency manages an
account, and the network (DNS and the HTTP sender), with the values they carry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from leadhub.accounts.audit import AuditEntry
    from leadhub.outbound.models import Attempt, Delivery, DeliveryJob, DeliveryStatus, WebhookEndpoint
    from leadhub.platform.paging import Page

MAX_SNIPPET_BYTES = 1024  # of a response body, kept with its attempt
DEFAULT_PORTS: Mapping[str, int] = {"https": 443, "http": 80}


class EndpointRepository(Protocol):
    def insert(self, endpoint: WebhookEndpoint, limit: int | None, audit: AuditEntry) -> bool:
        """Store a new endpoint unless the account already has `limit` endpoints (None: no limit)."""

    def get(self, account_id: str, endpoint_id: str) -> WebhookEndpoint | None: ...

    def list_for_account(self, account_id: str) -> list[WebhookEndpoint]:
        """Oldest first."""

    def replace(self, endpoint: WebhookEndpoint, expected_version: int) -> bool:
        """Overwrite the endpoint if its stored version is still `expected_version`."""

    def delete(self, account_id: str, endpoint_id: str, audit: AuditEntry) -> bool:
        """False when there was no such endpoint."""

    def add_audit(self, audit: AuditEntry) -> None: ...


class DeliveryLog(Protocol):
    """Deliveries (one event to one endpoint) and their attempts."""

    def create_if_new(self, delivery: Delivery) -> bool:
        """Store a new delivery record; True if it must be enqueued (new, or stored but never enqueued)."""

    def mark_enqueued(self, deliveries: Sequence[Delivery]) -> None: ...

    def get(self, account_id: str, delivery_id: str) -> Delivery | None: ...

    def save(self, delivery: Delivery) -> None: ...

    def record_attempt(self, delivery: Delivery, attempt: Attempt) -> Delivery:
        """Log the attempt and store the updated delivery together."""

    def attempts(self, delivery_id: str) -> list[Attempt]: ...

    def list_for_endpoint(self, endpoint_id: str, limit: int, cursor: str | None) -> Page[Delivery]: ...

    def recoverable_since(
        self, endpoint_id: str, since: datetime, statuses: frozenset[DeliveryStatus]
    ) -> list[Delivery]:
        """The endpoint's deliveries created since `since` whose status is one of `statuses`."""


class DeliveryQueue(Protocol):
    def send(self, jobs: Sequence[DeliveryJob]) -> list[str]:
        """Enqueue; returns the delivery ids that could not be sent."""

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Make a received job's message visible again (for its next attempt) after `seconds`."""


class DeliveryBatchReader(Protocol):
    def read(
        self, delivery_keys: Sequence[tuple[str, str]], endpoint_keys: Sequence[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], Delivery], dict[tuple[str, str], WebhookEndpoint]]:
        """The stored deliveries and endpoints among the (account id, id) keys, read together; missing
        ones are left out."""


class ParentLookup(Protocol):
    def parent_of(self, account_id: str) -> str | None:
        """The agency account that manages `account_id`, if any."""


class UnresolvableHost(Exception):
    """The resolver could not turn the host name into addresses (no such name, DNS failure, timeout)."""


class Resolver(Protocol):
    def resolve(self, host: str, port: int) -> list[str]:
        """Every address (as a string) `host` resolves to; raises UnresolvableHost on failure."""


@dataclass(frozen=True, slots=True)
class SafeTarget:
    """A checked webhook target. Connect only to `addresses` (all checked), with Host/SNI = `host`."""

    url: str  # normalised: lower-case scheme and host, IDNA host, no default port, no fragment
    scheme: str
    host: str  # lower-case ASCII (IDNA) name without trailing dot, or a canonical IP literal (no brackets)
    port: int
    path_and_query: str
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        """The Host header value: the host, bracketed when IPv6, with the port unless it is the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS.get(self.scheme) == self.port else f"{host}:{self.port}"


class HttpErrorClass(StrEnum):
    """Why an attempt got no HTTP status; recorded in the delivery log."""

    BLOCKED_ADDRESS = "blocked_address"  # the host now resolves to a non-public address: not connected
    DNS_ERROR = "dns_error"
    CONNECT_ERROR = "connect_error"
    TLS_ERROR = "tls_error"
    TIMEOUT = "timeout"
    RESET = "reset"
    PROTOCOL_ERROR = "protocol_error"
    NETWORK_ERROR = "network_error"


@dataclass(frozen=True, slots=True)
class HttpOutcome:
    """What one POST attempt produced: a status (any, redirects are not followed) or an error class."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-cased names
    body_snippet: bytes = b""  # at most MAX_SNIPPET_BYTES
    duration_ms: float = 0.0
    error_class: str | None = None  # an HttpErrorClass value when status is None
    error_detail: str | None = None  # short, customer-facing
    remote_address: str | None = None  # the checked address the request went to

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class HttpPost(Protocol):
    def post(
        self, target: SafeTarget, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> HttpOutcome:
        """POST `body` to `target`, connecting only to its checked addresses (check it right before: a
        fresh DNS answer at every send); never raises for network failures."""
