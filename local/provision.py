"""Create a template's resources in the emulator, in dependency order, and remember what each one
returns from ``Ref`` and ``Fn::GetAtt``.

Created for real: DynamoDB tables (and ``AWS::Serverless::SimpleTable``), SQS queues, KMS keys and
aliases, SSM parameters, SNS topics and subscriptions. Functions, layers and HTTP APIs only get
their (deterministic) names; everything else (log groups, alarms, IAM, ...) gets a placeholder
name/ARN so that templates referencing them still resolve.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from local import settings
from local.cfn import CfnError, Evaluator, Template
from local.emulator import ClientFactory
from local.gateway import fake_api_id

_REGION, _ACCOUNT, _PARTITION = settings.REGION, settings.ACCOUNT_ID, settings.PARTITION


def _bool_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def is_fifo(props: Mapping[str, Any]) -> bool:
    return _bool_text(props.get("FifoQueue", False)) == "true"


def queue_name(logical_id: str, props: Mapping[str, Any]) -> str:
    """The emulator's name of the template's queue `logical_id` (its `QueueName`, or a generated one)."""
    return props.get("QueueName") or settings.generated_name(logical_id) + (".fifo" if is_fifo(props) else "")


class ResourceRegistry:
    """`ResourceValues` for a template: provisioned values where known, placeholders otherwise."""

    CREATED_TYPES = (
        "AWS::DynamoDB::Table",
        "AWS::Serverless::SimpleTable",
        "AWS::SQS::Queue",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
        "AWS::SSM::Parameter",
        "AWS::SNS::Topic",
        "AWS::SNS::Subscription",
    )

    def __init__(self, template: Template, api_url: str | None = None) -> None:
        self.template = template
        self.api_url = api_url
        self.refs: dict[str, Any] = {}
        self.attrs: dict[str, dict[str, Any]] = {}
        self.evaluator = Evaluator(template, self)

    def set(self, logical_id: str, ref: Any, **attrs: Any) -> None:
        self.refs[logical_id] = ref
        self.attrs[logical_id] = attrs

    def _type(self, logical_id: str) -> str | None:
        body = self.template.resources.get(logical_id)
        return body.get("Type") if isinstance(body, dict) else None

    def _props(self, logical_id: str) -> dict[str, Any]:
        body = self.template.resources.get(logical_id) or {}
        return dict(body.get("Properties") or {})

    def _name(self, logical_id: str, *keys: str) -> str:
        props = self._props(logical_id)
        for key in keys:
            if key in props:
                value = self.evaluator.resolve(props[key])
                if isinstance(value, str):
                    return value
        return settings.generated_name(logical_id)

    def ref(self, logical_id: str) -> Any:
        if logical_id in self.refs:
            return self.refs[logical_id]
        kind = self._type(logical_id)
        if kind in self.CREATED_TYPES:
            raise CfnError(f"{logical_id} is referenced before it was created")
        if kind == "AWS::Serverless::Function":
            return self._name(logical_id, "FunctionName")
        if kind in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            name = self._name(logical_id, "LayerName")
            return f"arn:{_PARTITION}:lambda:{_REGION}:{_ACCOUNT}:layer:{name}:1"
        if kind in ("AWS::Serverless::HttpApi", "AWS::Serverless::Api", "AWS::ApiGatewayV2::Api"):
            return fake_api_id(logical_id)
        if kind == "AWS::Logs::LogGroup":
            return self._name(logical_id, "LogGroupName")
        return self._name(logical_id, "Name")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        known = self.attrs.get(logical_id)
        if known is not None and attribute in known:
            return known[attribute]
        kind = self._type(logical_id) or "AWS::Unknown::Resource"
        if kind in self.CREATED_TYPES:
            if logical_id not in self.refs:
                raise CfnError(f"{logical_id}.{attribute} is referenced before {logical_id} was created")
            raise CfnError(f"{logical_id} ({kind}) has no attribute {attribute} locally")
        ref = self.ref(logical_id)
        if kind == "AWS::Serverless::Function" and attribute == "Arn":
            return settings.function_arn(ref)
        if kind.endswith("HttpApi") and attribute == "ApiEndpoint":
            return self.api_url or f"https://{ref}.execute-api.{_REGION}.{settings.URL_SUFFIX}"
        if attribute == "Arn":
            return placeholder_arn(kind, str(ref))
        return f"{ref}-{attribute}"

    def snapshot(self) -> dict[str, Any]:
        return {"refs": self.refs, "attrs": self.attrs}

    @classmethod
    def restore(
        cls, template: Template, data: Mapping[str, Any], api_url: str | None = None
    ) -> ResourceRegistry:
        registry = cls(template, api_url)
        registry.refs = dict(data.get("refs") or {})
        registry.attrs = {k: dict(v) for k, v in (data.get("attrs") or {}).items()}
        return registry


def placeholder_arn(kind: str, name: str) -> str:
    parts = kind.split("::")
    service = parts[1].lower() if len(parts) > 2 else "unknown"
    resource = parts[-1].lower()
    if kind == "AWS::Logs::LogGroup":
        return f"arn:{_PARTITION}:logs:{_REGION}:{_ACCOUNT}:log-group:{name}:*"
    if service == "iam":
        return f"arn:{_PARTITION}:iam::{_ACCOUNT}:{resource}/{name}"
    return f"arn:{_PARTITION}:{service}:{_REGION}:{_ACCOUNT}:{resource}/{name}"


Creator = Callable[["Provisioner", str, dict[str, Any]], None]


class Provisioner:
    def __init__(self, template: Template, clients: ClientFactory, registry: ResourceRegistry) -> None:
        self.template = template
        self.clients = clients
        self.registry = registry
        self.evaluator = registry.evaluator

    def provision(self) -> ResourceRegistry:
        for logical_id in self.template.creation_order():
            kind = self.template.resources[logical_id].get("Type", "")
            creator = CREATORS.get(kind)
            if creator is None:
                continue
            props = self.evaluator.resolve(self.template.resources[logical_id].get("Properties") or {})
            try:
                creator(self, logical_id, props)
            except CfnError:
                raise
            except Exception as exc:
                raise CfnError(f"creating {logical_id} ({kind}) in the emulator failed: {exc}") from exc
        return self.registry

    # -- DynamoDB ---------------------------------------------------------------------------

    def _create_table(self, logical_id: str, kwargs: dict[str, Any], props: Mapping[str, Any]) -> None:
        ddb = self.clients.client("dynamodb")
        ddb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled") in (True, "true") and ttl.get("AttributeName"):
            ddb.update_time_to_live(
                TableName=kwargs["TableName"],
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        table = ddb.describe_table(TableName=kwargs["TableName"])["Table"]
        attrs = {"Arn": table["TableArn"]}
        if table.get("LatestStreamArn"):
            attrs["StreamArn"] = table["LatestStreamArn"]
        self.registry.set(logical_id, kwargs["TableName"], **attrs)

    def table(self, logical_id: str, props: dict[str, Any]) -> None:
        kwargs: dict[str, Any] = {
            "TableName": props.get("TableName") or settings.generated_name(logical_id),
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
        }
        billing = props.get("BillingMode", "PROVISIONED")
        kwargs["BillingMode"] = billing
        if billing == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
        indexes = []
        for index in props.get("GlobalSecondaryIndexes") or []:
            gsi = {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
            if billing == "PROVISIONED":
                gsi["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
            indexes.append(gsi)
        if indexes:
            kwargs["GlobalSecondaryIndexes"] = indexes
        local_indexes = [
            {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
            for index in props.get("LocalSecondaryIndexes") or []
        ]
        if local_indexes:
            kwargs["LocalSecondaryIndexes"] = local_indexes
        stream = props.get("StreamSpecification") or {}
        if stream.get("StreamViewType"):
            kwargs["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        if props.get("Tags"):
            kwargs["Tags"] = props["Tags"]
        self._create_table(logical_id, kwargs, props)

    def simple_table(self, logical_id: str, props: dict[str, Any]) -> None:
        key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
        kind = {"String": "S", "Number": "N", "Binary": "B"}[key.get("Type", "String")]
        kwargs: dict[str, Any] = {
            "TableName": props.get("TableName") or settings.generated_name(logical_id),
            "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": kind}],
        }
        if props.get("ProvisionedThroughput"):
            kwargs["BillingMode"] = "PROVISIONED"
            kwargs["ProvisionedThroughput"] = _throughput(props["ProvisionedThroughput"])
        else:
            kwargs["BillingMode"] = "PAY_PER_REQUEST"
        self._create_table(logical_id, kwargs, props)

    # -- SQS --------------------------------------------------------------------------------

    QUEUE_ATTRIBUTES = (
        "VisibilityTimeout",
        "MessageRetentionPeriod",
        "DelaySeconds",
        "ReceiveMessageWaitTimeSeconds",
        "MaximumMessageSize",
        "RedrivePolicy",
        "RedriveAllowPolicy",
        "FifoQueue",
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "FifoThroughputLimit",
        "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds",
        "SqsManagedSseEnabled",
    )

    def queue(self, logical_id: str, props: dict[str, Any]) -> None:
        fifo = is_fifo(props)
        name = queue_name(logical_id, props)
        attributes = {key: _bool_text(props[key]) for key in self.QUEUE_ATTRIBUTES if key in props}
        if not fifo:
            attributes.pop("FifoQueue", None)
        kwargs: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
        if props.get("Tags"):
            kwargs["tags"] = {tag["Key"]: str(tag["Value"]) for tag in props["Tags"]}
        sqs = self.clients.client("sqs")
        url = sqs.create_queue(**kwargs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.registry.set(logical_id, url, Arn=arn, QueueName=name, QueueUrl=url)

    # -- KMS --------------------------------------------------------------------------------

    def kms_key(self, logical_id: str, props: dict[str, Any]) -> None:
        kwargs: dict[str, Any] = {}
        for key in ("Description", "KeyUsage", "KeySpec", "MultiRegion"):
            if key in props:
                kwargs[key] = props[key]
        if "KeyPolicy" in props:
            policy = props["KeyPolicy"]
            kwargs["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
        kms = self.clients.client("kms")
        meta = kms.create_key(**kwargs)["KeyMetadata"]
        if props.get("EnableKeyRotation") in (True, "true"):
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        if props.get("Enabled") in (False, "false"):
            kms.disable_key(KeyId=meta["KeyId"])
        self.registry.set(logical_id, meta["KeyId"], Arn=meta["Arn"], KeyId=meta["KeyId"])

    def kms_alias(self, logical_id: str, props: dict[str, Any]) -> None:
        self.clients.client("kms").create_alias(
            AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"]
        )
        self.registry.set(logical_id, props["AliasName"])

    # -- SSM / SNS --------------------------------------------------------------------------

    def ssm_parameter(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("Name") or settings.generated_name(logical_id)
        kwargs: dict[str, Any] = {
            "Name": name,
            "Value": str(props["Value"]),
            "Type": props.get("Type", "String"),
        }
        for key in ("Description", "AllowedPattern", "Tier", "DataType"):
            if key in props:
                kwargs[key] = props[key]
        self.clients.client("ssm").put_parameter(Overwrite=True, **kwargs)
        self.registry.set(logical_id, name, Type=kwargs["Type"], Value=kwargs["Value"])

    def sns_topic(self, logical_id: str, props: dict[str, Any]) -> None:
        fifo = _bool_text(props.get("FifoTopic", False)) == "true"
        name = props.get("TopicName") or settings.generated_name(logical_id) + (".fifo" if fifo else "")
        attributes = {
            key: _bool_text(props[key])
            for key in ("DisplayName", "FifoTopic", "ContentBasedDeduplication")
            if key in props
        }
        sns = self.clients.client("sns")
        arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        for subscription in props.get("Subscription") or []:
            sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
        self.registry.set(logical_id, arn, TopicArn=arn, TopicName=name)

    def sns_subscription(self, logical_id: str, props: dict[str, Any]) -> None:
        attributes = {
            key: _bool_text(props[key])
            for key in ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy")
            if key in props
        }
        arn = self.clients.client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        self.registry.set(logical_id, arn)


def _throughput(value: Any) -> dict[str, int]:
    value = value or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    return {
        "ReadCapacityUnits": int(value["ReadCapacityUnits"]),
        "WriteCapacityUnits": int(value["WriteCapacityUnits"]),
    }


CREATORS: dict[str, Creator] = {
    "AWS::DynamoDB::Table": Provisioner.table,
    "AWS::Serverless::SimpleTable": Provisioner.simple_table,
    "AWS::SQS::Queue": Provisioner.queue,
    "AWS::KMS::Key": Provisioner.kms_key,
    "AWS::KMS::Alias": Provisioner.kms_alias,
    "AWS::SSM::Parameter": Provisioner.ssm_parameter,
    "AWS::SNS::Topic": Provisioner.sns_topic,
    "AWS::SNS::Subscription": Provisioner.sns_subscription,
}


def provision(template: Template, clients: ClientFactory, api_url: str | None = None) -> ResourceRegistry:
    return Provisioner(template, clients, ResourceRegistry(template, api_url)).provision()
