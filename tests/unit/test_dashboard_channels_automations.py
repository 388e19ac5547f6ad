"""The channels and automations pages without a server: what strangers wrote (bot names, sender names, DNS
values from Resend, automation texts) is shown as text, the largest pages stay within the size budget and
need nothing inline; the views' moves, paging and form fields; the channels view as the API shows it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub.accounts.models import Account, Plan
from leadhub.channels.email.integration import connect_email, verify_email_domain
from leadhub.channels.models import Integration
from leadhub.channels.web.configuration import save_widget
from leadhub.channels.web.widget import Widget, WidgetSettings
from leadhub.conversations.automation_rules import MAX_REPLY_CHARS, Automation, AutomationKind, OpeningHours
from leadhub.conversations.models import Channel
from leadhub.conversations.responder_settings import ResponderSettings
from leadhub.dashboard.automations import (
    PAGE_SIZE,
    automations_view,
    entered_automation,
    entered_responder,
    hours_summary,
    page_number,
    shown_automation,
    timezone_groups,
)
from leadhub.dashboard.channels import ChannelsView, EmailDomain, channels_view
from leadhub.dashboard.http import Form
from leadhub.dashboard.navigation import AUTOMATIONS, CHANNELS
from leadhub.dashboard.rendering import render
from tests.fakes import InMemoryAccounts, InMemoryIntegrations, InMemoryResendDomains, InMemoryWidgets
from tests.unit.test_automations import Store, create
from tests.unit.test_dashboard_pages import MAX_HTML_BYTES, SCRIPT, visit

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
AT = "2026-11-23T09:00:00.000Z"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
HOURS = OpeningHours("Europe/Berlin", ("mon", "tue"), "09:00", "18:00")


def integration(channel: Channel, **settings: str) -> Integration:
    return Integration("acc_1", channel, "route", AT, b"x", settings)


def connected_channels(text: str) -> ChannelsView:
    records = [
        {
            "record": "SPF",
            "name": f"send.{text}",
            "type": "MX",
            "value": text,
            "priority": 10,
            "ttl": "Auto",
            "status": "pending",
        },
        {
            "record": "Receiving",
            "name": text,
            "type": "MX",
            "value": "inbound-mx.resend.com",
            "status": "verified",
        },
    ]
    email = integration(
        Channel.EMAIL,
        emailFromAddress="hello@shop.example",
        emailFromName=text,
        domain="shop.example",
        verificationRequestedAt=AT,
    )
    return ChannelsView(
        whatsapp=integration(
            Channel.WHATSAPP, wabaId="1", phoneNumberId="2", displayPhoneNumber=text, verifiedName=text
        ),
        telegram=integration(
            Channel.TELEGRAM, botUsername=text, webhookUrl="https://x/api/webhooks/telegram"
        ),
        email=EmailDomain(email, "pending", "enabled", AT, records, refresh_error=f"Resend: {text}"),
        meta_webhook_url="https://api.example.com/api/webhooks/meta-whatsapp",
        widget=Widget("acc_1", "lhw_key", WidgetSettings(enabled=True, allowed_origins=(text,)), "GB", AT),
    )


def many_automations(text: str, count: int) -> list[Automation]:
    kinds = [AutomationKind.KEYWORD, AutomationKind.PATTERN]
    found = [
        Automation(
            "acc_1", f"aut_{n:026d}", kinds[n % 2], text * (MAX_REPLY_CHARS // len(text)), AT, match=text
        )
        for n in range(count - 2)
    ]
    found.append(Automation("acc_1", "aut_closed", AutomationKind.OUT_OF_HOURS, text, AT, hours=HOURS))
    return [*found, Automation("acc_1", "aut_hello", AutomationKind.GREETING, text, AT, enabled=False)]


def pages(text: str) -> dict[str, str]:
    channels = {"visit": visit(section=CHANNELS), "title": "Channels"}
    automations = {"visit": visit(section=AUTOMATIONS), "title": "Automations"}
    listed = many_automations(text, 100)
    responder = ResponderSettings("acc_1", system_prompt=text, fallback_reply=text, model_id=text)
    errors = {
        name: text for name in ("match", "reply", "kind", "timezone", "days", "opens", "closes", "body")
    }
    return {
        "channels": render(
            "channels.html",
            view=connected_channels(text),
            notice=text,
            errors={
                "whatsapp": {"wabaId": text, "phoneNumberId": text, "accessToken": text, "body": text},
                "telegram": {"telegramBotToken": text},
                "email": {"emailFromAddress": text, "emailFromName": text},
                "email-verify": {"domain": text},
            },
            entered={"wabaId": text, "phoneNumberId": text, "emailFromAddress": text, "emailFromName": text},
            **channels,
        ),
        "channels-empty": render(
            "channels.html",
            view=ChannelsView(None, None, None, "https://x"),
            notice=None,
            errors={},
            entered={},
            **channels,
        ),
        "disconnect": render(
            "disconnect_channel.html",
            integration=connected_channels(text).telegram,
            label="Telegram",
            **channels,
        ),
        "automations": render(
            "automations.html",
            view=automations_view(listed, responder, 30, 1),
            hours_summary=hours_summary,
            notice=text,
            errors={"modelId": text, "fallbackReply": text, "body": text},
            responder=responder.to_public(),
            **automations,
        ),
        "automations-last-page": render(
            "automations.html",
            view=automations_view(listed, responder, 0, 3),
            hours_summary=hours_summary,
            notice=None,
            errors={},
            responder=responder.to_public(),
            **automations,
        ),
        "automation-new": render(
            "automation_form.html",
            automation=None,
            form=shown_automation(None, {"kind": "out_of_hours", "match": text, "reply": text * 500}),
            timezones=timezone_groups(),
            errors=errors,
            **automations,
        ),
        "automation-edit": render(
            "automation_form.html",
            automation=listed[-2],
            form=shown_automation(listed[-2]),
            timezones=timezone_groups(),
            errors=errors,
            **automations,
        ),
        "automation-delete": render("delete_automation.html", automation=listed[0], **automations),
    }


@pytest.mark.parametrize("name", sorted(pages("x")))
def test_what_strangers_wrote_is_shown_as_text(name: str) -> None:
    html = pages(SCRIPT)[name]
    assert "<script>alert" not in html
    if name not in ("channels-empty", "automations-last-page"):
        assert ESCAPED in html


@pytest.mark.parametrize(("name", "html"), sorted(pages(SCRIPT).items()))
def test_the_largest_pages_stay_small_and_need_nothing_inline(name: str, html: str) -> None:
    assert len(html.encode()) <= MAX_HTML_BYTES, name
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", html, re.IGNORECASE)
    assert not re.search(r"(src|href|action|formaction)=\"(https?:)?//", html)


def test_ids_on_a_page_are_unique() -> None:
    for name, html in pages("x").items():
        ids = re.findall(r'\sid="([^"]+)"', html)
        assert len(ids) == len(set(ids)), name


def test_only_moves_within_a_group_are_offered_a_page_at_a_time() -> None:
    listed = many_automations("x", 100)
    first = automations_view(listed, ResponderSettings("acc_1"), 30, 1)
    second = automations_view(listed, ResponderSettings("acc_1"), 30, 99)  # the last page

    assert (first.pages, len(first.rows), second.page, len(second.rows)) == (3, PAGE_SIZE, 3, 20)
    assert (first.rows[0].can_move_up, first.rows[0].can_move_down) == (False, True)
    assert [r.position for r in second.rows][:1] == [81]
    keywords_last, closed, greeting = second.rows[-3:]
    assert (keywords_last.can_move_up, keywords_last.can_move_down) == (True, False)
    assert not (closed.can_move_up or closed.can_move_down or greeting.can_move_up or greeting.can_move_down)
    empty = automations_view([], ResponderSettings("acc_1"), 30, 3)
    assert (empty.page, empty.pages, empty.rows) == (1, 1, [])


@given(st.one_of(st.text(max_size=12), st.from_regex(r"\A[0-9²٣]{1,6}\Z")), st.integers(0, 200))
def test_any_page_parameter_is_a_page_of_the_list(text: str, count: int) -> None:
    view = automations_view(many_automations("x", count + 2), ResponderSettings("a"), 0, page_number(text))
    assert 1 <= view.page <= view.pages and len(view.rows) <= PAGE_SIZE
    assert view.rows == [] or view.rows[0].position == (view.page - 1) * PAGE_SIZE + 1


@given(
    st.dictionaries(
        st.sampled_from(["kind", "match", "reply", "enabled", "timezone", "days", "opens", "closes", "x"]),
        st.lists(st.text(max_size=20), max_size=3),
    ),
    st.sampled_from(["keyword", "pattern", "greeting", "out_of_hours", "", "other"]),
)
def test_any_automation_form_becomes_a_body_of_the_apis_shape(
    fields: dict[str, list[str]], kind: str
) -> None:
    entered = entered_automation(Form(fields), kind)
    assert set(entered) <= {"match", "reply", "enabled", "hours"}
    assert isinstance(entered["enabled"], bool)
    assert ("hours" in entered) is (kind == "out_of_hours")
    assert "match" in entered or not Form(fields).get("match").strip()


def test_the_forms_fields_become_the_apis_body() -> None:
    form = Form(
        {"match": [""], "reply": ["Hi"], "timezone": ["UTC"], "days": ["mon", "sun"], "opens": ["08:00"]}
    )
    assert entered_automation(form, "keyword") == {"reply": "Hi", "enabled": False, "match": None}
    assert entered_automation(form, "greeting") == {"reply": "Hi", "enabled": False}
    assert entered_automation(form, "out_of_hours")["hours"] == {
        "timezone": "UTC",
        "days": ["mon", "sun"],
        "opens": "08:00",
        "closes": "",
    }
    responder = Form(
        {"responder": ["bedrock"], "autoReply": ["true"], "modelId": [" "], "fallbackReply": ["Sorry"]}
    )
    assert entered_responder(responder) == {
        "responder": "bedrock",
        "autoReply": True,
        "systemPrompt": "",
        "historyMessages": "",
        "maxReplyChars": "",
        "fallbackReply": "Sorry",
    }


def test_every_zone_of_the_picker_is_one_out_of_hours_accepts() -> None:
    groups = dict(timezone_groups())
    assert "Europe/Berlin" in groups["Europe"] and "UTC" in groups["Other"]
    assert sum(len(zones) for zones in groups.values()) > 400
    store = Store()
    for zone in ("Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC"):
        create(store, AutomationKind.OUT_OF_HOURS, hours=OpeningHours(zone, ("mon",), "09:00", "17:00"))
        store.automations.clear()


def test_the_channels_view_shows_what_the_api_shows() -> None:
    domains, store, widgets = InMemoryResendDomains(), InMemoryIntegrations(), InMemoryWidgets()

    def shown() -> ChannelsView:
        return channels_view(
            "acc_1", "https://h", integrations=store, domains=domains, widgets=widgets, now=NOW
        )

    assert shown() == ChannelsView(None, None, None, "https://h/api/webhooks/meta-whatsapp")
    connect_email("acc_1", "a@shop.example", "Shop", domains=domains, integrations=store, actor="k", now=NOW)
    fresh = shown().email
    assert fresh is not None and (fresh.status, fresh.checking, len(fresh.records)) == (
        "not_started",
        False,
        3,
    )
    verify_email_domain("acc_1", domains=domains, integrations=store, actor="k", now=NOW)
    pending = shown().email
    assert pending is not None and pending.checking and pending.verification_requested_at == AT
    domains.unavailable.add("get_domain")
    stale = shown().email
    assert stale is not None and stale.status == "pending" and stale.records == []
    assert stale.refresh_error == "Resend: The Resend API answered HTTP 503; try again later"
    domains.unavailable.clear()
    domains.finish_checking(pending.integration.settings["domainId"])
    assert not shown().email.checking  # type: ignore[union-attr]
    accounts = InMemoryAccounts()
    accounts.accounts["acc_1"] = Account("acc_1", "Shop", Plan.PRO, "GB", AT, "h", b"c")
    saved = save_widget(
        "acc_1", WidgetSettings(), widgets=widgets, accounts=accounts, actor="k", source="api", now=NOW
    )
    assert shown().widget == saved
