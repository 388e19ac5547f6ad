"""local.cfn: short-tag loading, intrinsic evaluation, parameters, conditions and dependency order."""

from __future__ import annotations

import re
from typing import Any

import pytest

from local import settings
from local.cfn import (
    AVAILABILITY_ZONES,
    NO_VALUE,
    CfnError,
    Evaluator,
    Template,
    load_template_text,
    referenced_names,
)


class FakeValues:
    """ResourceValues with fixed answers, recording what was asked."""

    def __init__(self) -> None:
        self.refs = {"Table": "my-table", "Queue": "https://queue/q"}
        self.attrs = {("Table", "Arn"): "arn:table", ("Table", "StreamArn"): "arn:table/stream"}
        self.asked: list[tuple[str, ...]] = []

    def ref(self, logical_id: str) -> Any:
        self.asked.append((logical_id,))
        if logical_id not in self.refs:
            raise CfnError(f"no resource {logical_id}")
        return self.refs[logical_id]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        self.asked.append((logical_id, attribute))
        if (logical_id, attribute) not in self.attrs:
            raise CfnError(f"no attribute {logical_id}.{attribute}")
        return self.attrs[(logical_id, attribute)]


BASE = """
Parameters:
  Stage: {Type: String, Default: dev}
  Retention: {Type: Number, Default: 30}
  Names: {Type: CommaDelimitedList, Default: "a, b,c"}
  Empty: {Type: CommaDelimitedList, Default: ""}
  Topic: {Type: String, Default: ""}
Mappings:
  Sizes:
    dev: {Memory: 128}
    prod: {Memory: 1024}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  HasTopic: !Not [!Equals [!Ref Topic, ""]]
  ProdWithTopic: !And [!Condition IsProd, !Condition HasTopic]
  ProdOrTopic: !Or [!Condition IsProd, !Condition HasTopic]
  ThirtyDays: !Equals [!Ref Retention, "30"]
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Queue: {Type: AWS::SQS::Queue}
"""


def make(extra: str = "", **overrides: Any) -> tuple[Template, Evaluator, FakeValues]:
    template = Template(load_template_text(BASE + extra), parameter_overrides=overrides)
    values = FakeValues()
    return template, Evaluator(template, values), values


def resolve(expr_yaml: str, **overrides: Any) -> Any:
    """Resolve `Value: <expr_yaml>` loaded with the short tags."""
    _, evaluator, _ = make(**overrides)
    doc = load_template_text(f"Resources: {{}}\nValue: {expr_yaml}\n")
    return evaluator.resolve(doc["Value"])


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def test_short_tags_load_into_their_long_form() -> None:
    doc = load_template_text(
        """
Resources: {}
Values:
  ref: !Ref Table
  getatt_dotted: !GetAtt Table.StreamArn
  getatt_dotted_attribute: !GetAtt Api.Outputs.Url
  getatt_list: !GetAtt [Table, Arn]
  sub_string: !Sub "${Table}-x"
  sub_list: !Sub ["${A}", {A: !Ref Stage}]
  if: !If [IsProd, 1, 2]
  equals: !Equals [a, b]
  not: !Not [!Condition IsProd]
  and: !And [!Condition A, !Condition B]
  or: !Or [!Condition A, !Condition B]
  select: !Select [0, !GetAZs ""]
  join: !Join ["-", [a, b]]
  split: !Split [",", "a,b"]
  findinmap: !FindInMap [M, K, V]
  base64: !Base64 text
  importvalue: !ImportValue other
  cidr: !Cidr ["10.0.0.0/16", 2, 8]
  length: !Length [1, 2]
  tojson: !ToJsonString {a: 1}
"""
    )
    assert doc["Values"] == {
        "ref": {"Ref": "Table"},
        "getatt_dotted": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "getatt_dotted_attribute": {"Fn::GetAtt": ["Api", "Outputs.Url"]},
        "getatt_list": {"Fn::GetAtt": ["Table", "Arn"]},
        "sub_string": {"Fn::Sub": "${Table}-x"},
        "sub_list": {"Fn::Sub": ["${A}", {"A": {"Ref": "Stage"}}]},
        "if": {"Fn::If": ["IsProd", 1, 2]},
        "equals": {"Fn::Equals": ["a", "b"]},
        "not": {"Fn::Not": [{"Condition": "IsProd"}]},
        "and": {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]},
        "or": {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]},
        "select": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "join": {"Fn::Join": ["-", ["a", "b"]]},
        "split": {"Fn::Split": [",", "a,b"]},
        "findinmap": {"Fn::FindInMap": ["M", "K", "V"]},
        "base64": {"Fn::Base64": "text"},
        "importvalue": {"Fn::ImportValue": "other"},
        "cidr": {"Fn::Cidr": ["10.0.0.0/16", 2, 8]},
        "length": {"Fn::Length": [1, 2]},
        "tojson": {"Fn::ToJsonString": {"a": 1}},
    }


def test_long_form_json_templates_load_unchanged() -> None:
    doc = load_template_text('{"Resources": {"T": {"Type": "X", "Properties": {"N": {"Ref": "P"}}}}}')
    assert doc["Resources"]["T"]["Properties"]["N"] == {"Ref": "P"}


def test_dates_stay_strings() -> None:
    doc = load_template_text("Resources: {}\nVersion: 2012-10-17\n")
    assert doc["Version"] == "2012-10-17"


def test_unknown_short_tag_is_rejected() -> None:
    with pytest.raises(CfnError, match="!Bogus"):
        load_template_text("Resources:\n  A: !Bogus x\n")


@pytest.mark.parametrize("text", ["just a string", "[1, 2]", "Parameters: {}", "Resources: [a]"])
def test_documents_without_a_resources_mapping_are_rejected(text: str) -> None:
    with pytest.raises(CfnError, match="no Resources"):
        load_template_text(text)


# ---------------------------------------------------------------------------------------------
# Evaluator
# ---------------------------------------------------------------------------------------------


def test_ref_resolves_resources_parameters_and_pseudo_parameters() -> None:
    _, evaluator, values = make()
    assert evaluator.resolve({"Ref": "Table"}) == "my-table"
    assert evaluator.resolve({"Ref": "Stage"}) == "dev"
    assert evaluator.resolve({"Ref": "AWS::Region"}) == settings.REGION == "us-east-1"
    assert evaluator.resolve({"Ref": "AWS::AccountId"}) == settings.ACCOUNT_ID
    assert evaluator.resolve({"Ref": "AWS::StackName"}) == settings.STACK_NAME
    assert evaluator.resolve({"Ref": "AWS::Partition"}) == "aws"
    assert evaluator.resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"
    assert evaluator.resolve({"Ref": "AWS::StackId"}).startswith(
        f"arn:aws:cloudformation:us-east-1:{settings.ACCOUNT_ID}:stack/{settings.STACK_NAME}/"
    )
    # Only the resource went to the ResourceValues.
    assert values.asked == [("Table",)]


def test_get_att_in_both_forms_asks_the_resource_values() -> None:
    _, evaluator, values = make()
    assert evaluator.resolve({"Fn::GetAtt": ["Table", "Arn"]}) == "arn:table"
    assert evaluator.resolve({"Fn::GetAtt": "Table.StreamArn"}) == "arn:table/stream"
    assert resolve("!GetAtt Table.Arn") == "arn:table"
    assert resolve("!GetAtt [Table, StreamArn]") == "arn:table/stream"
    assert values.asked == [("Table", "Arn"), ("Table", "StreamArn")]


def test_get_att_attribute_may_itself_be_an_intrinsic() -> None:
    assert resolve('!GetAtt [Table, !Join ["", [Stream, Arn]]]') == "arn:table/stream"


@pytest.mark.parametrize("arg", [["Table"], ["Table", "Arn", "More"], "Table", 3])
def test_malformed_get_att_is_rejected(arg: Any) -> None:
    _, evaluator, _ = make()
    with pytest.raises(CfnError):
        evaluator.resolve({"Fn::GetAtt": arg})


def test_sub_string_form_resolves_parameters_pseudo_resources_and_attributes() -> None:
    assert (
        resolve('!Sub "${AWS::Region}/${Stage}/${Table}/${Table.Arn}/${ Stage }"')
        == "us-east-1/dev/my-table/arn:table/dev"
    )


def test_sub_list_form_variables_shadow_and_resolve_intrinsics() -> None:
    value = resolve('!Sub ["${Stage}-${Name}-${AWS::AccountId}", {Stage: override, Name: !Ref Table}]')
    assert value == f"override-my-table-{settings.ACCOUNT_ID}"


def test_sub_escaped_variables_stay_literal() -> None:
    assert resolve('!Sub "${!Literal}-${Stage}"') == "${Literal}-dev"


def test_sub_renders_numbers_and_booleans_as_cloudformation_does() -> None:
    assert resolve('!Sub ["${N}-${B}", {N: 5, B: true}]') == "5-true"


@pytest.mark.parametrize("arg", [["only template"], [1, {}], 7])
def test_malformed_sub_is_rejected(arg: Any) -> None:
    _, evaluator, _ = make()
    with pytest.raises(CfnError, match="Fn::Sub"):
        evaluator.resolve({"Fn::Sub": arg})


def test_if_picks_a_branch_by_condition() -> None:
    assert resolve("!If [IsProd, big, small]") == "small"
    assert resolve("!If [IsProd, big, small]", Stage="prod") == "big"
    assert resolve("!If [IsDev, !Ref Table, none]") == "my-table"


def test_no_value_drops_keys_and_list_items() -> None:
    value = resolve("{keep: 1, drop: !Ref AWS::NoValue, maybe: !If [IsProd, x, !Ref AWS::NoValue]}")
    assert value == {"keep": 1}
    assert resolve("[a, !Ref AWS::NoValue, !If [IsDev, b, c]]") == ["a", "b"]
    assert resolve("!Ref AWS::NoValue") is NO_VALUE


def test_no_value_cannot_be_used_as_text() -> None:
    with pytest.raises(CfnError, match="NoValue"):
        resolve('!Sub ["${X}", {X: !Ref AWS::NoValue}]')


def test_condition_functions_evaluate_to_booleans() -> None:
    assert resolve("!Equals [!Ref Stage, dev]") is True
    assert resolve("!Equals [!Ref Stage, prod]") is False
    assert resolve("!Not [!Equals [a, a]]") is False
    assert resolve("!And [!Equals [a, a], !Condition IsDev]") is True
    assert resolve("!Or [!Equals [a, b], !Condition IsProd]") is False
    # Numbers compare as their text, lists as lists.
    assert resolve('!Equals [30, "30"]') is True
    assert resolve("!Equals [!Ref Names, [a, b, c]]") is True


def test_join_select_split() -> None:
    assert resolve('!Join ["-", [a, !Ref Stage, 3]]') == "a-dev-3"
    assert resolve('!Join ["", []]') == ""
    assert resolve('!Select [1, !Split [",", "x,y,z"]]') == "y"
    assert resolve('!Select ["2", [a, b, c]]') == "c"
    assert resolve("!Select [0, !Ref Names]") == "a"
    assert resolve('!Split ["/", !Sub "${Stage}/x"]') == ["dev", "x"]


@pytest.mark.parametrize("expr", ["!Select [3, [a, b, c]]", "!Select [-1, [a]]", "!Select [0, notalist]"])
def test_select_out_of_range_is_rejected(expr: str) -> None:
    with pytest.raises(CfnError, match="Fn::Select"):
        resolve(expr)


def test_join_needs_a_list() -> None:
    with pytest.raises(CfnError, match="Fn::Join"):
        resolve('!Join ["-", !Ref Stage]')


def test_find_in_map_and_its_default_value() -> None:
    assert resolve("!FindInMap [Sizes, !Ref Stage, Memory]") == 128
    assert resolve("!FindInMap [Sizes, prod, Memory]") == 1024
    assert resolve("!FindInMap [Sizes, test, Memory, {DefaultValue: !Ref Retention}]") == 30
    with pytest.raises(CfnError, match="Sizes/test/Memory"):
        resolve("!FindInMap [Sizes, test, Memory]")


def test_other_functions() -> None:
    assert resolve('!GetAZs ""') == AVAILABILITY_ZONES == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert resolve('!Select [0, !GetAZs ""]') == "us-east-1a"
    assert resolve("!Base64 hello") == "aGVsbG8="
    assert resolve("!Length [a, b, !Ref AWS::NoValue]") == 2
    assert resolve("!ToJsonString {a: [1, !Ref Stage]}") == '{"a":[1,"dev"]}'
    assert resolve('!Cidr ["10.0.0.0/16", 2, 8]') == ["10.0.0.0/24", "10.0.1.0/24"]
    assert resolve("!ImportValue shared") == f"{settings.STACK_NAME}-import-shared"


def test_unsupported_function_is_rejected() -> None:
    _, evaluator, _ = make()
    with pytest.raises(CfnError, match="Fn::Nope"):
        evaluator.resolve({"Fn::Nope": 1})


def test_plain_dicts_with_an_fn_like_key_among_others_are_not_calls() -> None:
    _, evaluator, values = make()
    value = {"Ref": "Table", "Other": 1}
    assert evaluator.resolve(value) == value
    assert values.asked == []


def test_without_resource_values_only_parameters_resolve() -> None:
    template, _, _ = make()
    evaluator = Evaluator(template, None)
    assert evaluator.resolve({"Ref": "Stage"}) == "dev"
    with pytest.raises(CfnError, match="only parameters"):
        evaluator.resolve({"Ref": "Table"})
    with pytest.raises(CfnError, match="cannot be referenced"):
        evaluator.resolve({"Fn::GetAtt": ["Table", "Arn"]})


# ---------------------------------------------------------------------------------------------
# Parameters and conditions
# ---------------------------------------------------------------------------------------------


def test_parameters_take_defaults_and_split_comma_delimited_lists() -> None:
    template, _, _ = make()
    assert template.parameters == {
        "Stage": "dev",
        "Retention": 30,
        "Names": ["a", "b", "c"],
        "Empty": [],
        "Topic": "",
    }


def test_parameter_overrides_replace_defaults() -> None:
    template, _, _ = make(Stage="prod", Names="x,y ", Topic="arn:topic")
    assert template.parameters["Stage"] == "prod"
    assert template.parameters["Names"] == ["x", "y"]
    assert template.parameters["Topic"] == "arn:topic"
    assert template.parameters["Retention"] == 30


def test_overrides_for_undeclared_parameters_are_rejected() -> None:
    with pytest.raises(CfnError, match="Stgae"):
        make(Stgae="prod")


def test_parameter_without_default_needs_an_override() -> None:
    text = "Parameters:\n  Key: {Type: String}\nResources: {}\n"
    with pytest.raises(CfnError, match="Key"):
        Template(load_template_text(text))
    assert Template(load_template_text(text), parameter_overrides={"Key": "k"}).parameters == {"Key": "k"}


def test_conditions_follow_parameters() -> None:
    template, _, _ = make()
    assert [
        template.condition(n) for n in ("IsProd", "IsDev", "HasTopic", "ProdWithTopic", "ProdOrTopic")
    ] == [
        False,
        True,
        False,
        False,
        False,
    ]
    assert template.condition("ThirtyDays") is True
    prod, _, _ = make(Stage="prod", Topic="arn:topic")
    assert [prod.condition(n) for n in ("IsProd", "IsDev", "HasTopic", "ProdWithTopic", "ProdOrTopic")] == [
        True,
        False,
        True,
        True,
        True,
    ]


def test_unknown_and_self_referencing_conditions_are_rejected() -> None:
    template, _, _ = make()
    with pytest.raises(CfnError, match="unknown condition"):
        template.condition("Nope")
    looping = Template(
        load_template_text("Conditions:\n  A: !Not [!Condition B]\n  B: !Not [!Condition A]\nResources: {}\n")
    )
    with pytest.raises(CfnError, match="refers to itself"):
        looping.condition("A")


def test_conditions_cannot_reference_resources() -> None:
    text = "Conditions:\n  C: !Equals [!Ref T, x]\nResources:\n  T: {Type: AWS::SQS::Queue}\n"
    with pytest.raises(CfnError, match="only parameters"):
        Template(load_template_text(text)).condition("C")


# ---------------------------------------------------------------------------------------------
# Resources: activity, dependency order, references
# ---------------------------------------------------------------------------------------------

ORDERING = """
Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Target: !GetAtt Function.Arn
  Function:
    Type: AWS::Serverless::Function
    DependsOn: Role
    Properties:
      Env: !Sub "${Table}/${Stage}/${AWS::Region}"
  Table:
    Type: AWS::DynamoDB::Table
  Role:
    Type: AWS::IAM::Role
    Properties:
      Extra: !If [IsProd, !Ref ProdOnly, !Ref AWS::NoValue]
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Independent:
    Type: AWS::SQS::Queue
"""


def test_creation_order_puts_dependencies_first_and_keeps_template_order_otherwise() -> None:
    template = Template(load_template_text(ORDERING))
    assert template.dependencies("Function") == {"Table", "Role"}
    assert template.dependencies("Role") == {"ProdOnly"}
    # ProdOnly is inactive in dev: skipped, and Role does not wait for it.
    assert template.creation_order() == ["Table", "Role", "Function", "Alarm", "Independent"]


def test_creation_order_includes_conditional_resources_when_active() -> None:
    template = Template(load_template_text(ORDERING), parameter_overrides={"Stage": "prod"})
    order = template.creation_order()
    assert sorted(order) == sorted(template.resources)
    assert order.index("ProdOnly") < order.index("Role") < order.index("Function") < order.index("Alarm")
    assert order.index("Table") < order.index("Function")


def test_creation_order_rejects_cycles() -> None:
    text = """
Resources:
  A: {Type: X, Properties: {P: !Ref B}}
  B: {Type: X, Properties: {P: !Sub "${C.Arn}"}}
  C: {Type: X, DependsOn: [A]}
  D: {Type: X}
"""
    with pytest.raises(CfnError, match=r"circular dependency.*\['A', 'B', 'C'\]"):
        Template(load_template_text(text)).creation_order()


def test_self_references_are_not_dependencies() -> None:
    text = "Resources:\n  A: {Type: X, Properties: {Name: !Sub '${A}-x'}}\n"
    assert Template(load_template_text(text)).creation_order() == ["A"]


def test_referenced_names_covers_every_way_of_referring() -> None:
    value = load_template_text(
        """
Resources: {}
V:
  - !Ref A
  - !GetAtt B.Arn
  - !GetAtt [C, Arn]
  - !Sub "${D}-${E.Arn}-${!F}-${AWS::Region}-${Var}"
  - !Sub ["${Var}", {Var: !Ref G}]
  - !If [Cond, !Ref H, literal]
  - {nested: [{deep: !Ref I}]}
  - !Ref AWS::NoValue
"""
    )["V"]
    assert referenced_names(value) == {"A", "B", "C", "D", "E", "Var", "G", "H", "I"}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("literal", False),
        ("42", False),
        ("!Ref Stage", False),
        ("!Ref AWS::Region", False),
        ("!Ref AWS::NoValue", False),
        ('!Sub "${AWS::StackName}-${Stage}-${!Table}"', False),
        ('!Sub ["${X}", {X: !Ref Stage}]', False),
        ("!If [IsProd, a, !Ref Stage]", False),
        ("!Ref Table", True),
        ("!GetAtt Table.Arn", True),
        ('!Sub "${Table.Arn}/index/*"', True),
        ('!Sub ["${X}", {X: !Ref Queue}]', True),
        ("!If [IsProd, !Ref Table, x]", True),
        ("!Ref ServerlessHttpApi", True),  # SAM-generated, not a parameter
    ],
)
def test_references_resource(expr: str, expected: bool) -> None:
    template, _, _ = make()
    value = load_template_text(f"Resources: {{}}\nV: {expr}\n")["V"]
    assert template.references_resource(value) is expected


# ---------------------------------------------------------------------------------------------
# The real template
# ---------------------------------------------------------------------------------------------


def test_the_repository_template_loads_and_its_conditions_evaluate() -> None:
    template = Template.from_file(settings.DEFAULT_TEMPLATE)
    names = list(template.doc["Conditions"])
    assert names  # the template has conditions to check
    assert {name: template.condition(name) for name in names} == {
        "IsProd": False,
        "HasAlarmTopic": False,
        "CapsWidgetConcurrency": True,
    }
    uncapped = Template.from_file(
        settings.DEFAULT_TEMPLATE, parameter_overrides={"WidgetMaxConcurrency": "0"}
    )
    assert uncapped.condition("CapsWidgetConcurrency") is False
    prod = Template.from_file(
        settings.DEFAULT_TEMPLATE, parameter_overrides={"Stage": "prod", "AlarmTopicArn": "arn:topic"}
    )
    assert all(prod.condition(name) for name in names)
    assert template.base_dir == settings.REPO_ROOT
    order = template.creation_order()
    assert sorted(order) == sorted(template.resources)
    assert order.index("SecretsKey") < order.index("SecretsKeyAlias")
    assert order.index("ApiAccessLogGroup") < order.index("HttpApi")
    assert order.index("LeadWebhookLogGroup") < order.index("LeadWebhookFunction")


def test_the_repository_template_drops_alarm_actions_without_a_topic() -> None:
    values = FakeValues()
    for overrides, expected in (({}, None), ({"AlarmTopicArn": "arn:topic"}, ["arn:topic"])):
        template = Template.from_file(settings.DEFAULT_TEMPLATE, parameter_overrides=overrides)
        values.refs["HttpApi"] = "api123"
        props = Evaluator(template, values).resolve(template.resources["Api5xxAlarm"]["Properties"])
        assert props.get("AlarmActions") == expected
        assert props["Dimensions"] == [{"Name": "ApiId", "Value": "api123"}]


def _dead_letter_queues(resources: dict[str, Any]) -> set[str]:
    """Queues named as a redrive policy's dead-letter target or as an event source's failure destination."""
    found: set[str] = set()

    def visit(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            target = node.get("Fn::GetAtt")
            if key in ("deadLetterTargetArn", "Destination") and isinstance(target, list):
                found.add(target[0])
            for child_key, child in node.items():
                visit(child, child_key)
        elif isinstance(node, list):
            for child in node:
                visit(child, key)

    visit(resources)
    return found


def test_every_dead_letter_queue_of_the_template_has_an_alarm_that_notifies_the_topic() -> None:
    template = Template.from_file(settings.DEFAULT_TEMPLATE, parameter_overrides={"AlarmTopicArn": "arn:t"})
    values = FakeValues()
    dead_letter_queues = _dead_letter_queues(template.resources)
    assert {"DeliveryDLQ", "ConversationDLQ", "EmailContentDLQ", "FanoutFailureQueue"} <= dead_letter_queues
    watched = {}
    for name, resource in template.resources.items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        if props["Namespace"] == "AWS/SQS" and props["MetricName"] == "ApproximateNumberOfMessagesVisible":
            [dimension] = props["Dimensions"]
            watched[dimension["Value"]["Fn::GetAtt"][0]] = name
            actions = Evaluator(template, values).resolve(props["AlarmActions"])
            assert (props["Threshold"], actions) == (1, ["arn:t"]), name
    assert sorted(dead_letter_queues - set(watched)) == []


def test_every_function_has_an_errors_and_a_throttles_alarm_that_notifies_the_topic() -> None:
    template = Template.from_file(settings.DEFAULT_TEMPLATE, parameter_overrides={"AlarmTopicArn": "arn:t"})
    functions = {name for name, r in template.resources.items() if r["Type"] == "AWS::Serverless::Function"}
    watched: dict[str, set[str]] = {}
    for name, resource in template.resources.items():
        props = resource["Properties"]
        if resource["Type"] != "AWS::CloudWatch::Alarm" or props["Namespace"] != "AWS/Lambda":
            continue
        if props["MetricName"] not in ("Errors", "Throttles"):
            continue
        [dimension] = props["Dimensions"]
        assert dimension["Name"] == "FunctionName", name
        watched.setdefault(dimension["Value"]["Ref"], set()).add(props["MetricName"])
        actions = Evaluator(template, FakeValues()).resolve(props["AlarmActions"])
        # Any error or throttle in a minute: none is expected, and a function that fails at start must
        # show within minutes, not when its dead-letter queue fills.
        assert (props["Statistic"], props["Period"], props["EvaluationPeriods"]) == ("Sum", 60, 1), name
        assert (props["Threshold"], props["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold"), name
        assert actions == ["arn:t"], name
    assert watched == {function: {"Errors", "Throttles"} for function in functions}


UNTAGGABLE = {"AWS::KMS::Alias", "AWS::Serverless::LayerVersion"}
TAGGED_BY_GLOBALS = {"AWS::Serverless::Function": "Function", "AWS::Serverless::HttpApi": "HttpApi"}


def test_every_resource_that_can_be_tagged_carries_the_application_and_stage_tags() -> None:
    template = Template.from_file(settings.DEFAULT_TEMPLATE, parameter_overrides={"Stage": "prod"})
    evaluator = Evaluator(template, FakeValues())
    expected = {"application": "leadhub", "stage": "prod"}
    for section in TAGGED_BY_GLOBALS.values():
        settings_ = template.globals[section]
        assert (evaluator.resolve(settings_["Tags"]), settings_["PropagateTags"]) == (expected, True)
    kinds = set()
    for name, resource in template.resources.items():
        kind = resource["Type"]
        kinds.add(kind)
        props = resource.get("Properties") or {}
        if kind in UNTAGGABLE:
            assert "Tags" not in props, name
        elif kind in TAGGED_BY_GLOBALS:
            assert "Tags" not in props, f"{name}: its tags come from Globals"
        else:
            tags = evaluator.resolve(props.get("Tags", []))
            assert {tag["Key"]: tag["Value"] for tag in tags} == expected, name
    assert {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::KMS::Key", "AWS::CloudWatch::Alarm"} <= kinds
    assert kinds >= UNTAGGABLE  # the exceptions are still needed


def test_the_readme_tells_operators_what_to_do_about_every_alarm() -> None:
    template = Template.from_file(settings.DEFAULT_TEMPLATE)
    alarms = {name for name, r in template.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    readme = (settings.REPO_ROOT / "README.md").read_text()
    # The alarms table's first column: one alarm, or several that mean the same for different functions.
    first_cells = re.findall(r"^\| ([^|]*Alarm`[^|]*) \|", readme, re.M)
    documented = {name for cell in first_cells for name in re.findall(r"`(\w+Alarm)`", cell)}
    assert documented == alarms
