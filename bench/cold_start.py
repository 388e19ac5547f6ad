"""Cold start per function: a fresh Python process imports the handler module and serves its first request
against the local emulator. Prints one JSON document (progress on stderr).

For every function there is a realistic first request (lead webhook: a new lead posted with a valid token;
dashboard: the overview page with a session's cookie;
channel webhooks (_common.CHANNELS: WhatsApp, Telegram): a new person's text message for a connected
account, signed or with the account's secret token, stored; management API: GET /api/accounts/current with
a valid key; event fan-out: a stream batch with one new lead's INSERT record, turned into one delivery job
for the account's endpoint; delivery worker: an SQS batch with one delivery job to a loopback endpoint
answering 200; conversation worker: an SQS FIFO batch with one reply job for a stored WhatsApp text that the
account's keyword automation answers, the reply sent to a loopback Graph API fake; email content: an SQS
batch with one content job for a stored inbound email, fetched from a loopback Resend fake). Each first
request's outcome is checked, not only its status. Two references make the same first DynamoDB call
(GetItem of the webhook token) in the same run:
  floor - bench/references/floor: import boto3, create the one client, call it;
  idiom - bench/references/idiom: the call as `sam init` writes a Powertools handler (Logger, Tracer,
          Metrics, APIGatewayRestResolver with validation, a boto3 resource), invoked with a REST event.
Targets (issue 15's limits): every webhook function total <= floor + 150 ms; every function total <=
0.9 x idiom (medians).
(The fan-out and the workers are queue and stream consumers, not webhooks: only the idiom target applies.)

Usage: python bench/cold_start.py [--runs 7] [--warmup 1] [--verbose]
"""

from __future__ import annotations

# The child process (`--child`) runs with nothing but these stdlib modules loaded before it times the
# handler import; everything the parent needs is imported inside its functions.
import importlib
import json
import os
import sys
import time
from typing import Any

WEBHOOK_BUDGET_OVER_FLOOR_MS = 150.0
IDIOM_RATIO = 0.9
FAKE_TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


# -- child: one cold start ---------------------------------------------------------------------------


class _LambdaContext:
    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 1024
        self.aws_request_id = "00000000-0000-4000-8000-000000000000"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + 10

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def child_main() -> None:
    """Read {sys_path, handler, event, verbose} from stdin; time the import and the first invocation."""
    started = time.monotonic()
    spec = json.loads(sys.stdin.read())
    result_stream = os.fdopen(os.dup(1), "w")
    # What the handler prints (logs, EMF metrics) must not mix with the result.
    os.dup2(2 if spec["verbose"] else os.open(os.devnull, os.O_WRONLY), 1)
    sys.path[0:0] = spec["sys_path"]
    module_name, _, attr = spec["handler"].rpartition(".")

    profiler = None
    if spec.get("profile"):
        import cProfile  # only when asked: it slows everything it watches

        profiler = cProfile.Profile()
        profiler.enable()
    cpu_before = time.process_time()
    before_import = time.perf_counter()
    module = importlib.import_module(module_name)
    after_import = time.perf_counter()
    cpu_after_import = time.process_time()
    response = getattr(module, attr)(spec["event"], _LambdaContext(os.environ["AWS_LAMBDA_FUNCTION_NAME"]))
    after_request = time.perf_counter()
    cpu_after_request = time.process_time()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(spec["profile"])

    sys.stdout.flush()
    json.dump(
        {
            "started_monotonic": started,
            "import_ms": (after_import - before_import) * 1000,
            "first_request_ms": (after_request - after_import) * 1000,
            "cpu_import_ms": (cpu_after_import - cpu_before) * 1000,
            "cpu_first_request_ms": (cpu_after_request - cpu_after_import) * 1000,
            "status": response.get("statusCode") if isinstance(response, dict) else None,
            "batch_item_failures": response.get("batchItemFailures") if isinstance(response, dict) else None,
            "body": response.get("body") if isinstance(response, dict) else None,
        },
        result_stream,
    )
    result_stream.close()


# -- parent -------------------------------------------------------------------------------------------


def rest_event(resource: str, path: str, path_parameters: dict[str, str]) -> dict:
    """An API Gateway REST (payload 1.0) GET event, as the idiom's APIGatewayRestResolver expects."""
    headers = {"Host": "id.execute-api.us-east-1.amazonaws.com", "User-Agent": "curl/8.5.0"}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "httpMethod": "GET",
            "path": f"/Prod{path}",
            "protocol": "HTTP/1.1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "resourcePath": resource,
            "stage": "Prod",
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "curl/8.5.0"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def new_lead_stream_event(stack: Any, account_id: str, phone: str) -> dict:
    """Lambda's stream event for a new lead (as the lead webhook stores it): one INSERT record."""
    from leadhub.leads.adapters.dynamodb_leads import DynamoLeadRepository, lead_key
    from leadhub.leads.leads import upsert_lead
    from leadhub.leads.submission import validate_submission
    from leadhub.platform.timestamps import utc_now
    from local.pollers import stream_event

    submission = validate_submission(
        {"phone": phone, "name": "Ada Lovelace", "email": "ada@example.com", "tags": ["bench"]}, "US"
    )
    leads = DynamoLeadRepository(stack.table_name, clients=stack.clients.client)
    lead = upsert_lead(account_id, submission, leads=leads, now=utc_now(), source="webhook").lead
    key = lead_key(account_id, lead.lead_id)
    item = stack.clients.client("dynamodb").get_item(TableName=stack.table_name, Key=key, ConsistentRead=True)
    record = {
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": time.time(),
            "Keys": key,
            "NewImage": item["Item"],
            "SequenceNumber": str(time.monotonic_ns()),
            "SizeBytes": 512,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    stream_arn = stack.clients.client("dynamodb").describe_table(TableName=stack.table_name)["Table"][
        "LatestStreamArn"
    ]
    return stream_event([record], stream_arn)


def dashboard_overview_event(stack: Any, account: Any) -> dict:
    """events/dashboard/overview-signed-out.json with the cookie of a session just opened with the account's
    key (as POST /login opens it): the overview renders (webhook URL, counts, latest leads)."""
    from _common import EVENTS_DIR

    from leadhub.accounts.adapters.dynamodb_accounts import DynamoAccountRepository
    from leadhub.dashboard.adapters.dynamodb_dashboard import DynamoFailedSignIns, DynamoSessions
    from leadhub.dashboard.sessions import sign_in_with_key
    from leadhub.platform.timestamps import utc_now

    clients = stack.clients.client
    opened = sign_in_with_key(
        account.api_key,
        "203.0.113.10",
        accounts=DynamoAccountRepository(stack.table_name, clients=clients),
        sessions=DynamoSessions(stack.table_name, clients=clients),
        failures=DynamoFailedSignIns(stack.table_name, clients=clients),
        now=utc_now(),
    )
    event = json.loads((EVENTS_DIR / "dashboard" / "overview-signed-out.json").read_text())
    event["cookies"] = [
        f"lh_session={opened.token}"
    ]  # the local stack's cookie (SESSION_COOKIE_SECURE=false)
    return event


def delivery_job_event(stack: Any, endpoint: Any) -> dict:
    """The sample SQS event events/delivery_worker/first-attempt.json carrying a fresh delivery job for
    `endpoint`, whose delivery record is stored as the fan-out stores it."""
    from _common import EVENTS_DIR

    from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
    from leadhub.outbound.models import Delivery, DeliveryJob, delivery_id_for
    from leadhub.platform.ids import sortable_id
    from leadhub.platform.timestamps import to_iso, utc_now

    event = json.loads((EVENTS_DIR / "delivery_worker" / "first-attempt.json").read_text())
    record = event["Records"][0]
    envelope = json.loads(record["body"])["envelope"]
    event_id, now = sortable_id("evt"), to_iso(utc_now())
    envelope |= {"id": event_id, "timestamp": now, "accountId": endpoint.account_id}
    delivery_id = delivery_id_for(event_id, endpoint.endpoint_id)
    owner = endpoint.account_id
    DynamoDeliveryLog(stack.table_name, clients=stack.clients.client).create_if_new(
        Delivery(
            owner, delivery_id, endpoint.endpoint_id, event_id, "lead.created", owner, now, now, envelope
        )
    )
    record["body"] = DeliveryJob(delivery_id, owner, endpoint.endpoint_id, envelope).to_message()
    return event


class ConversationReplies:
    """The conversation worker's first requests: each a new person's WhatsApp text, stored as the webhook
    stores it, to a number connected to an account whose keyword automation answers it; the worker sends
    the reply to a loopback fake of the Graph API (local/fake_providers.py)."""

    KEYWORD = "price"
    TEXT = "Hi! What is the price of the 2-bedroom flat?"
    REPLY = "Thanks for asking! Our price list: https://example.com/prices"

    def __init__(self, stack: Any) -> None:
        from _common import whatsapp_channel

        from leadhub.conversations.adapters.dynamodb_automations import DynamoAutomations
        from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
        from leadhub.conversations.adapters.dynamodb_routes import DynamoRoutes
        from leadhub.conversations.automation_rules import AutomationKind
        from leadhub.conversations.automations import create_automation
        from leadhub.platform.timestamps import utc_now
        from local.fake_providers import FakeGraphApi

        account = stack.create_account("Bench Replies")
        self.account_id = account.account_id
        self.channel = whatsapp_channel(stack, account)
        self.graph = FakeGraphApi(
            self.channel.waba_id, self.channel.phone_number_id, self.channel.access_token
        )
        self.env = {"GRAPH_API_BASE_URL": self.graph.base_url}
        self.store = DynamoConversationStore(stack.table_name, clients=stack.clients.client)
        self.routes = DynamoRoutes(stack.table_name, clients=stack.clients.client)
        automations = DynamoAutomations(stack.table_name, clients=stack.clients.client)
        create_automation(
            self.account_id,
            AutomationKind.KEYWORD,
            self.KEYWORD,
            self.REPLY,
            enabled=True,
            store=automations,
            actor="bench",
            now=utc_now(),
        )
        self.senders: list[str] = []

    def event(self) -> dict:
        """events/conversation_worker/reply-job.json carrying the reply job the fan-out derives for a newly
        stored inbound message."""
        from _common import EVENTS_DIR, META_APP_SECRET

        from leadhub.channels.whatsapp.notifications import receive_whatsapp
        from leadhub.conversations.jobs import reply_job_for
        from leadhub.conversations.models import Channel
        from leadhub.platform.timestamps import utc_now

        sender, provider_id = self.channel.new_sender(), self.channel.new_message_id()
        request = self.channel.text_event(sender, provider_id, self.TEXT)
        receipt = receive_whatsapp(
            request["body"].encode(),
            request["headers"]["x-hub-signature-256"],
            app_secret=META_APP_SECRET,
            skip_signature_check=False,
            routes=self.routes,
            store=self.store,
            now=utc_now(),
        )
        assert receipt.stored == 1, receipt
        inbound = self.store.find_message(self.account_id, Channel.WHATSAPP, provider_id)
        job = reply_job_for(None, inbound)
        assert inbound is not None and job is not None
        self.senders.append(sender)
        event = json.loads((EVENTS_DIR / "conversation_worker" / "reply-job.json").read_text())
        record = event["Records"][0]
        record["body"] = json.dumps(job.to_message())
        record["attributes"] |= {
            "MessageGroupId": job.conversation_id,
            "MessageDeduplicationId": inbound.message_id,
        }
        return event

    def verify(self) -> str | None:
        """The Graph API fake got the automation's reply to the latest sender (and one per run)."""
        sent = list(self.graph.sent)
        expected = {"to": self.senders[-1], "text": {"body": self.REPLY}}
        if len(sent) != len(self.senders) or {k: sent[-1].get(k) for k in expected} != expected:
            return f"expected the reply {expected} as send #{len(self.senders)}, the fake got {sent[-1:]}"
        return None


class WidgetVisitors:
    """The website widget's first request: a new visitor's message (both tokens signed with the widget
    secret kept in the emulator's SSM) from an allowed origin to an enabled widget."""

    ORIGIN = "https://shop.example"

    def __init__(self, stack: Any) -> None:
        import secrets

        from leadhub.accounts.adapters.dynamodb_accounts import DynamoAccountRepository
        from leadhub.channels.web.adapters.dynamodb_widget import DynamoWidgets
        from leadhub.channels.web.configuration import save_widget
        from leadhub.channels.web.widget import WidgetSettings
        from leadhub.platform.timestamps import utc_now

        account = stack.create_account("Bench Shop")
        self.secret = secrets.token_urlsafe(32)
        parameter = stack.specs["WidgetFunction"].environment["WIDGET_SECRET_PARAMETER"]
        stack.clients.client("ssm").put_parameter(
            Name=parameter, Value=self.secret, Type="SecureString", Overwrite=True
        )
        self.widget = save_widget(
            account.account_id,
            WidgetSettings(enabled=True, allowed_origins=(self.ORIGIN,)),
            widgets=DynamoWidgets(stack.table_name, clients=stack.clients.client),
            accounts=DynamoAccountRepository(stack.table_name, clients=stack.clients.client),
            actor="bench",
            source="api",
            now=utc_now(),
        )

    def event(self) -> dict:
        from _common import http_api_event

        from leadhub.channels.web import tokens
        from leadhub.platform.timestamps import utc_now

        account_id, visitor = self.widget.account_id, tokens.new_visitor_id()
        headers = {
            "origin": self.ORIGIN,
            "x-leadhub-visitor": tokens.visitor_token(self.secret, account_id, visitor),
            "x-leadhub-page": tokens.page_token(self.secret, account_id, visitor, utc_now()),
        }
        body = json.dumps({"clientMessageId": "m1", "text": "What is the price?"}).encode()
        event = http_api_event("POST /widget/v1/{widgetKey}/{action}", headers, body)
        path = f"/widget/v1/{self.widget.widget_key}/messages"
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["pathParameters"] = {"widgetKey": self.widget.widget_key, "action": "messages"}
        return event


class EmailContents:
    """The email content worker's first requests: each an inbound email stored as the email webhook stores
    it (awaiting its content); the worker fetches it from a loopback fake of Resend's API and stores its
    text."""

    CONTENT = "received-email-get-response-docs.json"  # html only: the worker extracts the text
    TEXT = "Congrats on sending your first email!"

    def __init__(self, stack: Any) -> None:
        import secrets

        from _common import SAMPLES_DIR, email_channel

        from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
        from leadhub.conversations.adapters.dynamodb_routes import DynamoRoutes
        from local.fake_providers import FakeResendApi

        account = stack.create_account("Bench Mail")
        self.account_id = account.account_id
        self.channel = email_channel(stack, account)
        api_key = f"re_{secrets.token_urlsafe(24)}"
        parameter = stack.specs["EmailContentFunction"].environment["RESEND_API_KEY_PARAMETER"]
        stack.clients.client("ssm").put_parameter(
            Name=parameter, Value=api_key, Type="SecureString", Overwrite=True
        )
        self.resend = FakeResendApi(api_key)
        self.env = {"RESEND_API_BASE_URL": self.resend.url}
        self.content = json.loads((SAMPLES_DIR / "resend" / self.CONTENT).read_text())
        self.store = DynamoConversationStore(stack.table_name, clients=stack.clients.client)
        self.routes = DynamoRoutes(stack.table_name, clients=stack.clients.client)
        self.email_ids: list[str] = []

    def event(self) -> dict:
        """events/email_content/content-job.json carrying the content job the fan-out derives for a newly
        stored inbound email."""
        from _common import EVENTS_DIR, RESEND_WEBHOOK_SECRET

        from leadhub.channels.email.inbound import receive_email_event
        from leadhub.conversations.jobs import content_job_for
        from leadhub.conversations.models import Channel
        from leadhub.platform.timestamps import utc_now

        email_id = self.channel.new_message_id()
        request = self.channel.text_event(self.channel.new_sender(), email_id)
        receipt = receive_email_event(
            request["body"].encode(),
            request["headers"],
            webhook_secret=RESEND_WEBHOOK_SECRET,
            receiving_domain="",
            routes=self.routes,
            store=self.store,
            now=utc_now(),
        )
        assert receipt.outcome == "stored", receipt
        job = content_job_for(None, self.store.find_message(self.account_id, Channel.EMAIL, email_id))
        assert job is not None
        self.resend.emails[email_id] = {**self.content, "id": email_id}
        self.email_ids.append(email_id)
        event = json.loads((EVENTS_DIR / "email_content" / "content-job.json").read_text())
        event["Records"][0]["body"] = json.dumps(job.to_message())
        return event

    def verify(self) -> str | None:
        """The latest email's message now holds the text of the content fetched from the fake."""
        from leadhub.conversations.models import Channel

        message = self.store.find_message(self.account_id, Channel.EMAIL, self.email_ids[-1])
        stored = (message.status, message.text) if message is not None else None
        if stored != ("received", self.TEXT):
            return f"expected the message completed with {self.TEXT!r}, found {stored}"
        return None


def main() -> None:
    import argparse
    import random
    import subprocess
    import tempfile
    from pathlib import Path

    from _common import (
        CHANNELS,
        LAYER_DIR,
        REPO_ROOT,
        LoopbackReceiver,
        emit,
        isolated_site,
        lead_event,
        load_event,
        local_stack,
        log,
        requirements_file,
        summary,
    )

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="measured cold starts per subject (>= 5)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded rounds (fill the bytecode cache)")
    parser.add_argument("--verbose", action="store_true", help="show the handlers' output on stderr")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="after the measured rounds, one more cold start per subject under cProfile into DIR/<name>.prof",
    )
    args = parser.parse_args()
    load_before = round(os.getloadavg()[0], 2)

    with local_stack() as stack, tempfile.TemporaryDirectory(prefix="leadhub-bench-") as scratch:
        pycache = str(Path(scratch) / "pycache")
        # What each child can import, as on Lambda: the runtime's boto3 plus the function's own packages.
        sites = {
            name: str(isolated_site([*requirements, "boto3"], Path(scratch) / f"site-{name}"))
            for name, requirements in {
                "functions": requirements_file(LAYER_DIR / "requirements.txt"),
                "floor": [],
                "idiom": ["aws-lambda-powertools[tracer]", "pydantic"],  # hello-pt + validation
            }.items()
        }
        account = stack.create_account()
        phones = (f"+1415555{n:04d}" for n in random.Random().sample(range(10_000), 10_000))

        def environment(function_id: str, **overrides: str) -> dict[str, str]:
            env = stack.environment(function_id)
            # Bytecode is cached (as pip leaves site-packages) in a private directory, filled by the warm-up.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = pycache
            env["_X_AMZN_TRACE_ID"] = FAKE_TRACE_ID  # what Lambda sets when tracing is active
            env.update(overrides)
            return env

        def reference(name: str) -> dict:
            code_dir = REPO_ROOT / "bench" / "references" / name
            env = environment(
                "LeadWebhookFunction",
                AWS_LAMBDA_FUNCTION_NAME=f"bench-{name}",
                LAMBDA_TASK_ROOT=str(code_dir),
                _HANDLER="app.lambda_handler",
                POWERTOOLS_SERVICE_NAME="bench",
            )
            return {"sys_path": [str(code_dir), sites[name]], "handler": "app.lambda_handler", "env": env}

        token = account.webhook_token

        def channel_subject(channel: Any) -> dict:
            return {
                "kind": "webhook",
                "request": channel.first_request,
                "expect": {"status": 200},
                "expect_outcome": "stored",
                "outcome": channel.outcome,
                "event": lambda: channel.text_event(channel.new_sender(), channel.new_message_id()),
                "env_overrides": dict(channel.env),
            }

        subjects: dict[str, dict] = {
            "LeadWebhookFunction": {
                "kind": "webhook",
                "request": "POST /api/webhooks/leads/{token}: new lead (events/lead_webhook/new-lead.json)",
                "expect": {"status": 201},
                "event": lambda: lead_event(account, next(phones)),
            },
            **{
                function_id: channel_subject(connect(stack, account))
                for function_id, connect in CHANNELS.items()
            },
            "ManagementApiFunction": {
                "kind": "api",
                "request": "GET /api/accounts/current (events/management_api/get-current-account.json)",
                "expect": {"status": 200},
                "event": lambda: load_event("management_api/get-current-account.json", account),
            },
        }
        subjects["DashboardFunction"] = {
            "kind": "page",
            "request": "GET / signed in: the overview (events/dashboard/overview-signed-out.json, a session)",
            "expect": {"status": 200},
            "event": lambda: dashboard_overview_event(stack, account),
        }
        receiver = LoopbackReceiver()
        endpoint = stack.create_endpoint(account.account_id, receiver.url)
        subjects["EventFanoutFunction"] = {
            "kind": "stream consumer",
            "request": "stream batch: one new lead (INSERT) -> one delivery job for the account's endpoint",
            "expect": {"batch_item_failures": []},
            "event": lambda: new_lead_stream_event(stack, account.account_id, next(phones)),
        }
        subjects["DeliveryWorkerFunction"] = {
            "kind": "queue consumer",
            "request": "SQS batch: one delivery job (events/delivery_worker/first-attempt.json) -> POST 200",
            "expect": {"batch_item_failures": []},
            "event": lambda: delivery_job_event(stack, endpoint),
            # The local stack's setting: the loopback receiver is a private address.
            "env_overrides": {"ALLOW_PRIVATE_WEBHOOK_TARGETS": "true"},
        }

        def consumer_of_a_fake(request: str, source: ConversationReplies | EmailContents) -> dict:
            """A queue consumer whose first request calls a provider fake: `source` makes its events,
            checks what the fake received and points the function at it."""
            return {
                "kind": "queue consumer",
                "request": request,
                "expect": {"batch_item_failures": []},
                "event": source.event,
                "verify": source.verify,
                "env_overrides": source.env,
            }

        replies, contents = ConversationReplies(stack), EmailContents(stack)
        subjects["ConversationWorkerFunction"] = consumer_of_a_fake(
            "SQS FIFO batch: one reply job (events/conversation_worker/reply-job.json) for a new "
            "WhatsApp text matching the account's keyword automation -> reply sent to the Graph API fake",
            replies,
        )
        subjects["EmailContentFunction"] = consumer_of_a_fake(
            "SQS batch: one content job (events/email_content/content-job.json) for a stored "
            "inbound email -> fetched from the Resend fake, its text stored",
            contents,
        )
        subjects["WidgetFunction"] = {
            "kind": "api",
            "request": "POST /widget/v1/{widgetKey}/messages: a new visitor's first message (201)",
            "expect": {"status": 201},
            "event": WidgetVisitors(stack).event,
        }
        for function_id, subject in subjects.items():
            spec = stack.specs[function_id]
            subject.update(sys_path=[*stack.sys_path(function_id), sites["functions"]], handler=spec.handler)
            subject["env"] = environment(function_id, **subject.get("env_overrides", {}))
        unmeasured = sorted(set(stack.specs) - set(subjects))
        references = {
            "floor": {
                **reference("floor"),
                "request": "GetItem WEBHOOKTOKEN#<sha256> via boto3.client (payload 2.0 event)",
                "expect": {"status": 200},
                "event": lambda: load_event("lead_webhook/new-lead.json", account),
            },
            "idiom": {
                **reference("idiom"),
                "request": "GET /webhook-tokens/{token} (REST event) -> Table.get_item",
                "expect": {"status": 200},
                "event": lambda: rest_event(
                    "/webhook-tokens/{token}", f"/webhook-tokens/{token}", {"token": token}
                ),
            },
        }
        everything = {**subjects, **references}
        samples: dict[str, list[dict]] = {name: [] for name in everything}

        def cold_start(name: str, subject: dict, profile: str | None = None) -> dict:
            spec = {
                "sys_path": subject["sys_path"],
                "handler": subject["handler"],
                "event": subject["event"](),
                "verbose": args.verbose,
                "profile": profile,
            }
            spawned = time.monotonic()
            child = subprocess.run(
                # -S: no site-packages but the subject's own (sys_path); -P: not bench/ either.
                [sys.executable, "-S", "-P", str(REPO_ROOT / "bench" / "cold_start.py"), "--child"],
                input=json.dumps(spec),
                capture_output=True,
                text=True,
                env=subject["env"],
                cwd=subject["sys_path"][0],
                timeout=120,
                check=False,
            )
            if child.returncode != 0 or not child.stdout.strip():
                raise SystemExit(f"{name}: the cold-start process failed:\n{child.stderr}")
            if args.verbose:
                sys.stderr.write(child.stderr)
            result = json.loads(child.stdout)
            if any(result[key] != value for key, value in subject["expect"].items()):
                raise SystemExit(f"{name}: expected {subject['expect']}, got {result}\n{child.stderr}")
            problem = subject["verify"]() if "verify" in subject else None
            if problem:
                raise SystemExit(f"{name}: {problem}")
            if "expect_outcome" in subject:
                outcome = subject["outcome"](json.loads(result["body"]))
                if outcome != subject["expect_outcome"]:
                    raise SystemExit(f"{name}: expected {subject['expect_outcome']}, got {outcome}")
            result["interpreter_ms"] = (result.pop("started_monotonic") - spawned) * 1000
            return result

        rounds = args.warmup + args.runs
        for round_number in range(rounds):
            measured = round_number >= args.warmup
            log(f"round {round_number + 1}/{rounds}{'' if measured else ' (warm-up, discarded)'}")
            # Interleaved, so that the machine's noise spreads over every subject alike.
            for name, subject in everything.items():
                result = cold_start(name, subject)
                if measured:
                    samples[name].append(result)
            if not any(Path(pycache).iterdir()):
                raise SystemExit("the children wrote no bytecode cache: is PYTHONDONTWRITEBYTECODE forced?")
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            for name, subject in everything.items():
                cold_start(name, subject, profile=str(Path(args.profile).resolve() / f"{name}.prof"))
            rounds += 1
        if receiver.requests != rounds:
            raise SystemExit(f"the worker's receiver got {receiver.requests} deliveries, expected {rounds}")
        receiver.close()
        replies.graph.close()
        contents.resend.close()

    def figures(name: str) -> dict:
        runs = samples[name]
        return {
            "request": everything[name]["request"],
            "status": runs[0]["status"],
            **({"batch_item_failures": 0} if runs[0]["batch_item_failures"] is not None else {}),
            "import_ms": summary([r["import_ms"] for r in runs]),
            "first_request_ms": summary([r["first_request_ms"] for r in runs]),
            "total_ms": summary([r["import_ms"] + r["first_request_ms"] for r in runs]),
            "cpu_total_ms": summary([r["cpu_import_ms"] + r["cpu_first_request_ms"] for r in runs]),
            "interpreter_start_ms": summary([r["interpreter_ms"] for r in runs]),
        }

    functions = {name: {"kind": subjects[name]["kind"], **figures(name)} for name in subjects}
    refs = {name: figures(name) for name in references}

    def check(metric: str) -> dict:
        floor = refs["floor"][metric]["median"]
        idiom = refs["idiom"][metric]["median"]
        webhooks = {
            name: {
                "ms": f[metric]["median"],
                "limit_ms": round(floor + WEBHOOK_BUDGET_OVER_FLOOR_MS, 1),
                "pass": f[metric]["median"] <= floor + WEBHOOK_BUDGET_OVER_FLOOR_MS,
            }
            for name, f in functions.items()
            if f["kind"] == "webhook"
        }
        every = {
            name: {
                "ms": f[metric]["median"],
                "limit_ms": round(IDIOM_RATIO * idiom, 1),
                "ratio_to_idiom": round(f[metric]["median"] / idiom, 2),
                "pass": f[metric]["median"] <= IDIOM_RATIO * idiom,
            }
            for name, f in functions.items()
        }
        return {
            f"webhook_le_floor_plus_{WEBHOOK_BUDGET_OVER_FLOOR_MS:g}ms": webhooks,
            f"every_function_le_{IDIOM_RATIO:g}x_idiom": every,
            "pass": all(t["pass"] for t in [*webhooks.values(), *every.values()]),
        }

    targets = check("total_ms")
    emit(
        {
            "benchmark": "cold_start",
            "runs": args.runs,
            "statistic": "median (min, max) of the measured runs; total = import + first request, per run",
            "python": sys.version.split()[0],
            "load_average_1min": {"before": load_before, "after": round(os.getloadavg()[0], 2)},
            "functions": functions,
            "references": refs,
            "not_measured": unmeasured,
            "targets": targets,
            # The same checks on CPU time (this process only): far less sensitive to a busy machine.
            "targets_cpu_time": check("cpu_total_ms"),
            "pass": targets["pass"],
        }
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        child_main()
    else:
        main()
