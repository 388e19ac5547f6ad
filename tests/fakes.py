"""In-memory implementations of the ports, for unit tests (no network, no mocks of our own code)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.models import Account, ApiKey, TokenOwner
from leadhub.channels.email.integration import ResendRefused
from leadhub.channels.models import Integration
from leadhub.channels.web.ports import RateLimit, VisitorMessageWrite
from leadhub.channels.web.visitor import Visitor
from leadhub.channels.web.widget import Widget
from leadhub.conversations.model_responder import Turn
from leadhub.conversations.models import (
    OUTBOUND_STATUS_RANK,
    Channel,
    Conversation,
    ConversationStatus,
    Message,
    StatusUpdate,
)
from leadhub.conversations.ports import ChannelRoute, CommitOutcome, InboundWrite
from leadhub.conversations.responder_settings import ResponderSettings
from leadhub.dashboard.models import Session, SignInLink
from leadhub.leads.models import Lead
from leadhub.outbound.models import WebhookEndpoint
from leadhub.platform.errors import ProviderUnavailable
from leadhub.platform.paging import Page


def _page(items: list, limit: int, cursor: str | None) -> Page:
    start = int(cursor or 0)
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return Page(chunk, str(start + limit) if more else None)


class InMemoryLeads:
    def __init__(self) -> None:
        self.leads: dict[tuple[str, str], Lead] = {}
        self.audit: list[AuditEntry] = []
        self.lost_races = 0  # how many next replace() calls lose to a concurrent writer

    def insert_new(self, lead: Lead, audit: AuditEntry) -> Lead | None:
        key = (lead.account_id, lead.lead_id)
        if key in self.leads:
            return self.leads[key]
        self.leads[key] = lead
        self.audit.append(audit)
        return None

    def replace(self, lead: Lead, expected_version: int) -> bool:
        key = (lead.account_id, lead.lead_id)
        if self.lost_races:
            self.lost_races -= 1
            current = self.leads[key]
            self.leads[key] = replace(current, version=current.version + 1)
            return False
        if key not in self.leads or self.leads[key].version != expected_version:
            return False
        self.leads[key] = lead
        return True

    def get(self, account_id: str, lead_id: str) -> Lead | None:
        return self.leads.get((account_id, lead_id))

    def list_page(self, account_id: str, limit: int, cursor: str | None) -> Page[Lead]:
        mine = [lead for (acc, _), lead in self.leads.items() if acc == account_id]
        mine.sort(key=lambda lead: (lead.captured_at, lead.lead_id), reverse=True)
        return _page(mine, limit, cursor)


class InMemoryAccounts:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, TokenOwner] = {}
        self.keys: dict[str, ApiKey] = {}
        self.audit: list[AuditEntry] = []
        self.token_lookups = 0

    def create_account(self, account: Account, first_key: ApiKey, audit: list[AuditEntry]) -> None:
        self.accounts[account.account_id] = account
        self.tokens[account.webhook_token_hash] = TokenOwner(account.account_id, account.default_region)
        self.keys[first_key.key_hash] = first_key
        self.audit += audit

    def get_account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    def find_token_owner(self, token_hash: str) -> TokenOwner | None:
        self.token_lookups += 1
        return self.tokens.get(token_hash)

    def replace_webhook_token(
        self, account: Account, new_hash: str, new_ciphertext: bytes, audit: AuditEntry
    ) -> bool:
        stored = self.accounts[account.account_id]
        if stored.webhook_token_hash != account.webhook_token_hash:
            return False
        self.accounts[account.account_id] = replace(
            stored, webhook_token_hash=new_hash, webhook_token_ciphertext=new_ciphertext
        )
        owner = self.tokens.pop(account.webhook_token_hash)
        self.tokens[new_hash] = owner
        self.audit.append(audit)
        return True

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        return self.keys.get(key_hash)

    def add_api_key(self, key: ApiKey, audit: AuditEntry) -> None:
        self.keys[key.key_hash] = key
        self.audit.append(audit)

    def list_api_keys(self, account_id: str) -> list[ApiKey]:
        return [key for key in self.keys.values() if key.account_id == account_id]

    def revoke_api_key(self, account_id: str, key_id: str, audit: AuditEntry) -> bool:
        for key_hash, key in list(self.keys.items()):
            if key.account_id == account_id and key.key_id == key_id:
                del self.keys[key_hash]
                self.audit.append(audit)
                return True
        return False

    def list_audit(self, account_id: str, limit: int, cursor: str | None) -> Page[AuditEntry]:
        mine = [entry for entry in reversed(self.audit) if entry.account_id == account_id]
        return _page(mine, limit, cursor)

    def list_managed_accounts(self, parent_account_id: str, limit: int) -> Page[Account]:
        managed = sorted(
            (a for a in self.accounts.values() if a.parent_account_id == parent_account_id),
            key=lambda a: a.account_id,
        )
        return _page(managed, limit, None)


class ContextBoundCipher:
    """Reversible 'encryption' that, like KMS, refuses to decrypt under a different context."""

    def encrypt(self, plaintext: str, context: Mapping[str, str]) -> bytes:
        return json.dumps({"context": dict(context), "plaintext": plaintext[::-1]}).encode()

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> str:
        sealed = json.loads(ciphertext)
        if sealed["context"] != dict(context):
            raise ValueError("encryption context mismatch")
        return sealed["plaintext"][::-1]


class StaticSecret:
    def __init__(self, value: str | None) -> None:
        self._value = value

    def value(self) -> str | None:
        return self._value


class InMemoryEndpoints:
    def __init__(self) -> None:
        self.endpoints: dict[tuple[str, str], WebhookEndpoint] = {}
        self.audit: list[AuditEntry] = []

    def insert(self, endpoint: WebhookEndpoint, limit: int | None, audit: AuditEntry) -> bool:
        if limit is not None and len(self.list_for_account(endpoint.account_id)) >= limit:
            return False
        self.endpoints[(endpoint.account_id, endpoint.endpoint_id)] = endpoint
        self.audit.append(audit)
        return True

    def get(self, account_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        return self.endpoints.get((account_id, endpoint_id))

    def list_for_account(self, account_id: str) -> list[WebhookEndpoint]:
        return [e for (owner, _), e in sorted(self.endpoints.items()) if owner == account_id]

    def replace(self, endpoint: WebhookEndpoint, expected_version: int) -> bool:
        key = (endpoint.account_id, endpoint.endpoint_id)
        if key not in self.endpoints or self.endpoints[key].version != expected_version:
            return False
        self.endpoints[key] = endpoint
        return True

    def delete(self, account_id: str, endpoint_id: str, audit: AuditEntry) -> bool:
        if self.endpoints.pop((account_id, endpoint_id), None) is None:
            return False
        self.audit.append(audit)
        return True

    def add_audit(self, audit: AuditEntry) -> None:
        self.audit.append(audit)


class StaticResolver:
    """DNS answers by host name; unknown names do not resolve."""

    def __init__(self, answers: Mapping[str, list[str]]) -> None:
        self.answers = dict(answers)
        self.lookups: list[str] = []

    def resolve(self, host: str, port: int) -> list[str]:
        from leadhub.outbound.ports import UnresolvableHost

        self.lookups.append(host)
        if host not in self.answers:
            raise UnresolvableHost(f"{host} does not resolve")
        return list(self.answers[host])


class InMemoryConversations:
    """The ConversationStore over the leads of an InMemoryLeads (a CRM-posted lead is the same lead)."""

    def __init__(self, leads: InMemoryLeads | None = None) -> None:
        self.lead_store = leads or InMemoryLeads()
        self.conversations: dict[tuple[str, str], Conversation] = {}
        self.messages: dict[tuple[str, str], Message] = {}  # (account, message id)
        self.provider_ids: dict[tuple[str, Channel, str], str] = {}  # → message id
        self.dedupe_keys: set[tuple[str, Channel, str]] = set()
        self.replies: dict[tuple[str, str], str] = {}  # (account, inbound message id) → reply id
        self.identities: dict[tuple[str, Channel, str], str] = {}  # (account, channel, key) → lead id
        self.held: dict[tuple[str, Channel, str], StatusUpdate] = {}  # reports on messages not known yet
        self.commits = 0
        self.interfere: list[CommitOutcome] = []  # outcomes forced on the next commits (races)

    def get_lead(self, account_id: str, lead_id: str) -> Lead | None:
        return self.lead_store.get(account_id, lead_id)

    def find_identity(self, account_id: str, channel: Channel, key: str) -> str | None:
        return self.identities.get((account_id, channel, key))

    def commit_inbound(self, write: InboundWrite) -> CommitOutcome:
        self.commits += 1
        if self.interfere:
            return self.interfere.pop(0)
        message = write.message
        account, channel = message.account_id, message.channel
        keys = {(account, channel, k) for k in write.dedupe_keys}
        if keys & self.dedupe_keys or (account, channel, message.provider_message_id) in self.provider_ids:
            return CommitOutcome.DUPLICATE
        current = self.get_lead(account, write.lead.lead_id)
        if (current.version if current else None) != write.lead_expected_version:
            return CommitOutcome.LEAD_CHANGED
        identity = (account, channel, write.identity) if write.identity is not None else None
        if identity in self.identities:
            return CommitOutcome.LEAD_CHANGED
        conversation_key = (account, write.conversation_id)
        if write.new_conversation is None:
            existing = self.conversations.get(conversation_key)
            if existing is None or existing.status is not ConversationStatus.OPEN:
                return CommitOutcome.CONVERSATION_GONE
            self.conversations[conversation_key] = replace(
                existing,
                last_activity_at=write.at,
                message_count=existing.message_count + 1,
                unreachable_at=None,
                unreachable_reason=None,
            )
        else:
            self.conversations[conversation_key] = write.new_conversation
        self.dedupe_keys |= keys
        self.provider_ids[(account, channel, message.provider_message_id)] = message.message_id
        self.messages[(account, message.message_id)] = message
        self.lead_store.leads[(account, write.lead.lead_id)] = write.lead
        if identity is not None:
            self.identities[identity] = write.lead.lead_id
        if write.audit:
            self.lead_store.audit.append(write.audit)
        return CommitOutcome.STORED

    def get_conversation(self, account_id: str, conversation_id: str) -> Conversation | None:
        return self.conversations.get((account_id, conversation_id))

    def find_message(self, account_id: str, channel: Channel, provider_message_id: str) -> Message | None:
        message_id = self.provider_ids.get((account_id, channel, provider_message_id))
        return self.messages.get((account_id, message_id)) if message_id else None

    def hold_status(self, update: StatusUpdate) -> None:
        key = (update.account_id, update.channel, update.provider_message_id)
        held = self.held.get(key)
        if held is None or OUTBOUND_STATUS_RANK[held.status] < OUTBOUND_STATUS_RANK[update.status]:
            self.held[key] = update

    def held_status(self, account_id: str, channel: Channel, provider_message_id: str) -> StatusUpdate | None:
        return self.held.get((account_id, channel, provider_message_id))

    def add_message(self, message: Message) -> None:
        """Store a message directly (e.g. an outbound one, as the conversation engine will)."""
        self.messages[(message.account_id, message.message_id)] = message
        key = (message.account_id, message.channel, message.provider_message_id)
        self.provider_ids[key] = message.message_id

    def existing_reply(self, inbound: Message) -> Message | None:
        reply_id = self.replies.get((inbound.account_id, inbound.message_id))
        return self.messages[(inbound.account_id, reply_id)] if reply_id else None

    def recent_messages(self, account_id: str, conversation_id: str, count: int) -> list[Message]:
        mine = [
            m
            for (acc, _), m in self.messages.items()
            if acc == account_id and m.conversation_id == conversation_id
        ]
        return sorted(mine, key=lambda m: (m.sent_at, m.received_at, m.message_id))[-count:]

    def create_reply(self, reply: Message, inbound: Message) -> Message | None:
        existing = self.replies.get((inbound.account_id, inbound.message_id))
        if existing is not None:
            return self.messages[(reply.account_id, existing)]
        self.replies[(inbound.account_id, inbound.message_id)] = reply.message_id
        self.messages[(reply.account_id, reply.message_id)] = reply
        self._count(reply)
        return None

    def create_outbound(self, message: Message, audit: AuditEntry | None = None) -> str:
        self.messages[(message.account_id, message.message_id)] = message
        self.lead_store.audit += [audit] if audit else []
        self._count(message)
        return message.message_id

    def _count(self, message: Message) -> None:
        key = (message.account_id, message.conversation_id)
        conversation = self.conversations[key]
        self.conversations[key] = replace(
            conversation, message_count=conversation.message_count + 1, last_activity_at=message.received_at
        )

    def get_message(self, account_id: str, conversation_id: str, message_key: str) -> Message | None:
        found = self.messages.get((account_id, message_key))
        return found if found is not None and found.conversation_id == conversation_id else None

    def latest_inbound(self, account_id: str, conversation_id: str) -> Message | None:
        mine = [
            m
            for (acc, _), m in self.messages.items()
            if acc == account_id and m.conversation_id == conversation_id and m.direction.value == "inbound"
        ]
        return max(mine, key=lambda m: (m.sent_at, m.received_at, m.message_id), default=None)

    def close(
        self, conversation: Conversation, lead_holds_it: bool, at: str, audit: AuditEntry | None = None
    ) -> bool:
        key = (conversation.account_id, conversation.conversation_id)
        if self.conversations[key].status is not ConversationStatus.OPEN:
            return False
        self.lead_store.audit += [audit] if audit else []
        self.conversations[key] = replace(
            self.conversations[key], status=ConversationStatus.CLOSED, closed_at=at
        )
        lead = self.get_lead(conversation.account_id, conversation.lead_id)
        if lead_holds_it and lead is not None:
            pointers = {k: v for k, v in lead.open_conversations.items() if v != conversation.conversation_id}
            self.lead_store.leads[(lead.account_id, lead.lead_id)] = replace(
                lead, open_conversations=pointers, version=lead.version + 1
            )
        return True

    def mark_unreachable(self, conversation: Conversation, reason: str, at: str) -> None:
        key = (conversation.account_id, conversation.conversation_id)
        self.conversations[key] = replace(
            self.conversations[key], unreachable_at=at, unreachable_reason=reason
        )

    def set_auto_reply(
        self, conversation: Conversation, enabled: bool, audit: AuditEntry | None = None
    ) -> None:
        key = (conversation.account_id, conversation.conversation_id)
        self.lead_store.audit += [audit] if audit else []
        self.conversations[key] = replace(self.conversations[key], auto_reply=enabled)

    def mark_sent(self, sent: Message, previous: Message) -> bool:
        if not self.replace_message(sent, previous):
            return False
        self.provider_ids[(sent.account_id, sent.channel, sent.provider_message_id)] = sent.message_id
        return True

    def replace_message(self, message: Message, previous: Message) -> bool:
        stored = self.messages.get((message.account_id, message.message_id))
        if stored is None or (stored.status, stored.edited_at) != (previous.status, previous.edited_at):
            return False
        self.messages[(message.account_id, message.message_id)] = message
        return True

    def list_conversations(
        self,
        account_id: str,
        channel: Channel | None,
        status: ConversationStatus | None,
        lead_id: str | None,
        limit: int,
        cursor: str | None,
        bound: int,
    ) -> Page[Conversation]:
        """The cursor is the number of the account's conversations read so far."""
        mine = [c for (acc, _), c in self.conversations.items() if acc == account_id]
        mine.sort(key=lambda c: (c.last_activity_at, c.conversation_id), reverse=True)
        if channel is None and status is None and lead_id is None:
            return _page(mine, limit, cursor)
        start = read = int(cursor or 0)
        found: list[Conversation] = []
        while read < len(mine) and len(found) < limit and read - start < bound:
            c = mine[read]
            read += 1
            if channel in (None, c.channel) and status in (None, c.status) and lead_id in (None, c.lead_id):
                found.append(c)
        return Page(found, str(read) if read < len(mine) else None)

    def list_messages(
        self, account_id: str, conversation_id: str, limit: int, cursor: str | None
    ) -> Page[Message]:
        mine = [
            m
            for (acc, _), m in self.messages.items()
            if acc == account_id and m.conversation_id == conversation_id
        ]
        mine.sort(key=lambda m: (m.sent_at, m.received_at, m.message_id))
        return _page(mine, limit, cursor)


@dataclass
class Claim:
    account_id: str
    at: str
    pending: bool


class InMemoryIntegrations:
    """Integrations with their routes and claims, each held by one account at a time (as the table's
    conditional writes keep them)."""

    def __init__(self) -> None:
        self.integrations: dict[tuple[str, Channel], Integration] = {}
        self.routes: dict[tuple[Channel, str], str] = {}
        self.claims: dict[tuple[Channel, str], Claim] = {}
        self.audit: list[AuditEntry] = []

    def get(self, account_id: str, channel: Channel) -> Integration | None:
        return self.integrations.get((account_id, channel))

    def save(self, integration: Integration, previous: Integration | None, audit: AuditEntry) -> bool:
        channel, me = integration.channel, integration.account_id
        route = (channel, integration.route_key)
        claim = (channel, integration.claim_key) if integration.claim_key is not None else None
        if self.routes.get(route, me) != me or (
            claim is not None and claim in self.claims and self.claims[claim].account_id != me
        ):
            return False
        if previous is not None:
            self._release(previous)
        self.integrations[(me, channel)] = integration
        self.routes[route] = me
        if claim is not None:
            self.claims[claim] = Claim(me, integration.connected_at, pending=False)
        self.audit.append(audit)
        return True

    def delete(self, integration: Integration, audit: AuditEntry) -> None:
        self.integrations.pop((integration.account_id, integration.channel), None)
        self._release(integration)
        self.audit.append(audit)

    def claim(self, channel: Channel, key: str, account_id: str, at: str, abandoned_before: str) -> bool:
        held = self.claims.get((channel, key))
        if held is not None and held.account_id != account_id:
            if not (held.pending and held.at < abandoned_before):
                return False
            held = None
        self.claims[(channel, key)] = Claim(account_id, at, pending=held.pending if held else True)
        return True

    def release(self, channel: Channel, key: str, account_id: str) -> None:
        held = self.claims.get((channel, key))
        if held is not None and held.account_id == account_id:
            del self.claims[(channel, key)]

    def _release(self, integration: Integration) -> None:
        if self.routes.get((integration.channel, integration.route_key)) == integration.account_id:
            del self.routes[(integration.channel, integration.route_key)]
        if integration.claim_key is not None:
            self.release(integration.channel, integration.claim_key, integration.account_id)


class InMemoryRoutes:
    def __init__(self, routes: dict[tuple[Channel, str], str] | None = None) -> None:
        self.routes = dict(routes or {})
        self.lookups = 0

    def find_route(self, channel: Channel, key: str) -> ChannelRoute | None:
        self.lookups += 1
        account_id = self.routes.get((channel, key))
        return ChannelRoute(channel, key, account_id, {}) if account_id else None


class FixedResponder:
    """Every account answers with these responder settings (rules, auto-reply on, by default)."""

    def __init__(self, settings: ResponderSettings | None = None) -> None:
        self.settings = settings

    def get(self, account_id: str) -> ResponderSettings:
        return (
            replace(self.settings, account_id=account_id) if self.settings else ResponderSettings(account_id)
        )


class ScriptedModel:
    """A language model that answers from a script (or fails), recording what it was asked."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, str, list[Turn], int]] = []

    def reply(self, model_id: str, system_prompt: str, turns: Sequence[Turn], max_tokens: int) -> str:
        self.asked.append((model_id, system_prompt, list(turns), max_tokens))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class InMemoryResendDomains:
    """Resend's domains as the email integration sees them through its port: created with what was asked,
    checked later (`verify` leaves them `pending` until `finish_checking`). `refuse` and `unavailable`
    name the port methods that fail (ResendRefused with a status, ProviderUnavailable)."""

    def __init__(self) -> None:
        self.domains: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.refuse: dict[str, int] = {}
        self.unavailable: set[str] = set()

    def add(self, name: str, *, receiving: bool, status: str = "not_started") -> dict[str, Any]:
        domain_id = f"dom_{len(self.domains) + 1}"
        kinds = ["SPF", "DKIM"] + (["Receiving"] if receiving else [])
        self.domains[domain_id] = {
            "id": domain_id,
            "name": name,
            "status": status,
            "capabilities": {"sending": "enabled", "receiving": "enabled" if receiving else "disabled"},
            "records": [{"record": kind, "type": "MX", "status": status} for kind in kinds],
        }
        return self.domains[domain_id]

    def create_domain(self, name: str) -> dict[str, Any]:
        self._called("create_domain", name)
        if any(d["name"] == name for d in self.domains.values()):
            raise ResendRefused(f"{name} has been registered already", status=403)
        return dict(self.add(name, receiving=True))

    def find_domain(self, name: str) -> dict[str, Any] | None:
        self._called("find_domain", name)
        found = next((d for d in self.domains.values() if d["name"] == name), None)
        return {k: found[k] for k in ("id", "name", "status")} if found else None

    def enable_sending_and_receiving(self, domain_id: str) -> None:
        domain = self._domain("enable_sending_and_receiving", domain_id)
        if domain["capabilities"]["receiving"] != "enabled":
            domain["records"].append({"record": "Receiving", "type": "MX", "status": "not_started"})
        domain["capabilities"] = {"sending": "enabled", "receiving": "enabled"}

    def verify_domain(self, domain_id: str) -> None:
        domain = self._domain("verify_domain", domain_id)
        domain["status"] = "pending"
        for record in domain["records"]:
            record["status"] = "pending"

    def finish_checking(self, domain_id: str, status: str = "verified") -> None:
        self.domains[domain_id]["status"] = status
        for record in self.domains[domain_id]["records"]:
            record["status"] = status

    def get_domain(self, domain_id: str) -> dict[str, Any]:
        return json.loads(json.dumps(self._domain("get_domain", domain_id)))

    def _domain(self, method: str, domain_id: str) -> dict[str, Any]:
        self._called(method, domain_id)
        if domain_id not in self.domains:
            raise ResendRefused("Domain not found", status=404)
        return self.domains[domain_id]

    def _called(self, method: str, argument: str) -> None:
        self.calls.append((method, argument))
        if method in self.unavailable:
            raise ProviderUnavailable("The Resend API answered HTTP 503; try again later")
        if method in self.refuse:
            raise ResendRefused(f"{method} refused", status=self.refuse[method])


@dataclass
class EndpointPorts:
    """What the endpoint functions talk to, and their configuration, for tests to pass along."""

    endpoints: InMemoryEndpoints
    accounts: InMemoryAccounts
    cipher: ContextBoundCipher
    resolver: Any
    verifier: Any
    allow_private_targets: bool = False
    secret_overlap: timedelta = timedelta(hours=24)

    def managing(self) -> dict[str, Any]:
        """The keywords of create_endpoint and update_endpoint."""
        return {
            "endpoints": self.endpoints,
            "accounts": self.accounts,
            "cipher": self.cipher,
            "resolver": self.resolver,
            "verifier": self.verifier,
            "allow_private_targets": self.allow_private_targets,
        }


class InMemorySessions:
    """Dashboard sessions; like the table, a key's session is touched only while the key exists."""

    def __init__(self, accounts: InMemoryAccounts) -> None:
        self.accounts = accounts
        self.sessions: dict[str, Session] = {}
        self.audit = accounts.audit
        self.touches = 0

    def create(self, session: Session, audit: AuditEntry) -> None:
        self.sessions[session.session_hash] = session
        self.audit.append(audit)

    def get(self, session_hash: str) -> Session | None:
        return self.sessions.get(session_hash)

    def touch(self, session: Session, at: str) -> bool:
        self.touches += 1
        key_alive = session.key_id is None or any(
            k.key_id == session.key_id for k in self.accounts.list_api_keys(session.account_id)
        )
        if session.session_hash not in self.sessions or not key_alive:
            return False
        self.sessions[session.session_hash] = replace(session, last_seen_at=at)
        return True

    def end(self, session: Session, audit: AuditEntry) -> bool:
        if self.sessions.pop(session.session_hash, None) is None:
            return False
        self.audit.append(audit)
        return True


class InMemorySignInLinks:
    def __init__(self, sessions: InMemorySessions) -> None:
        self.sessions = sessions
        self.links: dict[str, SignInLink] = {}

    def add(self, link: SignInLink, audit: Sequence[AuditEntry]) -> None:
        self.links[link.link_hash] = link
        self.sessions.audit.extend(audit)

    def get(self, link_hash: str) -> SignInLink | None:
        return self.links.get(link_hash)

    def consume(self, link: SignInLink, session: Session, audit: AuditEntry, at: str) -> bool:
        stored = self.links.get(link.link_hash)
        if stored is None or stored.used_at is not None or stored.expires_at <= at:
            return False
        self.links[link.link_hash] = replace(stored, used_at=at)
        self.sessions.create(session, audit)
        return True


class InMemoryFailedSignIns:
    def __init__(self) -> None:
        self.windows: dict[tuple[str, int], int] = {}

    def count(self, source: str, window: int) -> int:
        return self.windows.get((source, window), 0)

    def add(self, source: str, window: int, expires_at: int) -> None:
        self.windows[(source, window)] = self.windows.get((source, window), 0) + 1


# -- the web channel (widget) -------------------------------------------------------------------


class InMemoryWidgets:
    """Widgets by account, found by their key's hash, replaced only at the version they were read."""

    def __init__(self) -> None:
        self.widgets: dict[str, Widget] = {}
        self.audit: list[AuditEntry] = []
        self.lookups = 0
        self.lost_races = 0  # how many next saves lose to a concurrent writer

    def get(self, account_id: str) -> Widget | None:
        return self.widgets.get(account_id)

    def save(self, widget: Widget, previous: Widget | None, audit: AuditEntry) -> bool:
        if self.lost_races:
            self.lost_races -= 1
            return False
        current = self.widgets.get(widget.account_id)
        if (current.version if current else None) != (previous.version if previous else None):
            return False
        self.widgets[widget.account_id] = widget
        self.audit.append(audit)
        return True

    def find_by_key_hash(self, key_hash: str) -> Widget | None:
        from leadhub.platform.ids import token_hash

        self.lookups += 1
        return next((w for w in self.widgets.values() if token_hash(w.widget_key) == key_hash), None)


class InMemoryVisitors(InMemoryConversations):
    """Visitors and their messages, over the in-memory conversation store (the worker's store)."""

    def __init__(self, leads: InMemoryLeads | None = None) -> None:
        super().__init__(leads)
        self.visitors: dict[tuple[str, str], Visitor] = {}

    def get_visitor(self, account_id: str, visitor_id: str) -> Visitor | None:
        return self.visitors.get((account_id, visitor_id))

    def _version_is(self, visitor: Visitor, expected: int | None) -> bool:
        current = self.visitors.get((visitor.account_id, visitor.visitor_id))
        return (current.version if current else None) == expected

    def commit_visitor_message(self, write: VisitorMessageWrite) -> CommitOutcome:
        self.commits += 1
        if self.interfere:
            return self.interfere.pop(0)
        message = write.message
        if (message.account_id, message.channel, message.provider_message_id) in self.provider_ids:
            return CommitOutcome.DUPLICATE
        if not self._version_is(write.visitor, write.expected_version):
            return CommitOutcome.LEAD_CHANGED
        if write.lead is not None:
            current = self.get_lead(write.lead.account_id, write.lead.lead_id)
            if current is None or current.version != write.lead_expected_version:
                return CommitOutcome.LEAD_CHANGED
        key = (message.account_id, write.conversation_id)
        if write.new_conversation is None:
            existing = self.conversations.get(key)
            if existing is None or existing.status is not ConversationStatus.OPEN:
                return CommitOutcome.CONVERSATION_GONE
            self.conversations[key] = replace(
                existing, last_activity_at=write.at, message_count=existing.message_count + 1
            )
        else:
            self.conversations[key] = write.new_conversation
        self.add_message(message)
        self.visitors[(write.visitor.account_id, write.visitor.visitor_id)] = write.visitor
        if write.lead is not None:
            self.lead_store.leads[(write.lead.account_id, write.lead.lead_id)] = write.lead
        return CommitOutcome.STORED

    def attach_lead(self, visitor: Visitor, expected_version: int | None) -> bool:
        if not self._version_is(visitor, expected_version):
            return False
        self.visitors[(visitor.account_id, visitor.visitor_id)] = visitor
        key = (visitor.account_id, visitor.conversation_id or "")
        if key in self.conversations and visitor.lead_id:
            self.conversations[key] = replace(self.conversations[key], lead_id=visitor.lead_id)
        return True

    def messages_after(
        self, account_id: str, conversation_id: str, position: str | None, limit: int
    ) -> list[tuple[str, Message]]:
        mine = [
            (f"MSG#{m.sent_at}#{m.received_at}#{m.message_id}", m)
            for (acc, _), m in self.messages.items()
            if acc == account_id and m.conversation_id == conversation_id
        ]
        return sorted(item for item in mine if position is None or item[0] > position)[:limit]


class CountingLimiter:
    """Fixed windows as the DynamoDB limiter keeps them: every request counts, refused ones too."""

    def __init__(self) -> None:
        self.hits: dict[tuple[str, str, int], int] = {}

    def take(self, account_id: str, limits: Sequence[RateLimit], now: datetime) -> float | None:
        moment = now.timestamp()
        for limit in limits:
            window = int(moment // limit.window_seconds)
            key = (account_id, limit.key, window)
            self.hits[key] = self.hits.get(key, 0) + 1
            if self.hits[key] > limit.limit:
                return limit.window_seconds - moment % limit.window_seconds
        return None
