"""CloudFormation template loading and intrinsic-function evaluation.

`load_template` parses YAML (or JSON) templates with every CloudFormation short tag (``!Ref``,
``!GetAtt a.b``, ``!Sub`` ...) turned into its long ``Fn::`` form, so the rest of the package
only ever sees ``{"Ref": ...}`` / ``{"Fn::X": ...}`` dictionaries. `Template` evaluates
Parameters (defaults or overrides), Conditions and the resource dependency order;
`Evaluator` resolves intrinsics inside any value, asking a `ResourceValues` for what resources
return from ``Ref`` and ``Fn::GetAtt``.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml

from local import settings


class CfnError(ValueError):
    """The template uses something this evaluator cannot make sense of."""


class _NoValue:
    """``AWS::NoValue``: the key or list item holding it disappears."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

PSEUDO_PARAMETERS: dict[str, Any] = {
    "AWS::Region": settings.REGION,
    "AWS::AccountId": settings.ACCOUNT_ID,
    "AWS::StackName": settings.STACK_NAME,
    "AWS::Partition": settings.PARTITION,
    "AWS::URLSuffix": settings.URL_SUFFIX,
    "AWS::StackId": (
        f"arn:{settings.PARTITION}:cloudformation:{settings.REGION}:{settings.ACCOUNT_ID}:"
        f"stack/{settings.STACK_NAME}/00000000-0000-0000-0000-000000000000"
    ),
    "AWS::NotificationARNs": [],
}
AVAILABILITY_ZONES = [f"{settings.REGION}{suffix}" for suffix in "abc"]

# ---------------------------------------------------------------------------------------------
# YAML loading
# ---------------------------------------------------------------------------------------------

_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "Join": "Fn::Join",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "FindInMap": "Fn::FindInMap",
    "GetAZs": "Fn::GetAZs",
    "Base64": "Fn::Base64",
    "ImportValue": "Fn::ImportValue",
    "Cidr": "Fn::Cidr",
    "Transform": "Fn::Transform",
    "ToJsonString": "Fn::ToJsonString",
    "Length": "Fn::Length",
}


class CfnLoader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's short tags; dates stay strings (``Version: 2012-10-17``)."""


CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = _SHORT_TAGS.get(suffix)
    if key is None:
        raise CfnError(f"unknown CloudFormation tag !{suffix} at {node.start_mark}")
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise CfnError(f"unexpected YAML node for !{suffix}")
    if key == "Fn::GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {key: value}


CfnLoader.add_multi_constructor("!", _construct_short_tag)


def load_template_text(text: str) -> dict[str, Any]:
    doc = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise CfnError("not a CloudFormation template: no Resources mapping")
    return doc


def load_template(path: Path | str) -> dict[str, Any]:
    return load_template_text(Path(path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Template-level evaluation: parameters, conditions, dependencies
# ---------------------------------------------------------------------------------------------


class ResourceValues(Protocol):
    """What resources return from ``Ref`` and ``Fn::GetAtt`` (the provisioner fills this in)."""

    def ref(self, logical_id: str) -> Any: ...

    def get_att(self, logical_id: str, attribute: str) -> Any: ...


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def intrinsic(value: Any) -> tuple[str, Any] | None:
    """``("Ref", arg)`` / ``("Fn::X", arg)`` when *value* is an intrinsic function call."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
            return key, arg
    return None


def _sub_parts(arg: Any) -> tuple[str, Mapping[str, Any]]:
    if isinstance(arg, str):
        return arg, {}
    if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
        return arg[0], arg[1]
    raise CfnError(f"Fn::Sub takes a string or [string, {{variables}}], got {arg!r}")


def _sub_variable_names(template: str) -> Iterator[str]:
    for match in _SUB_VARIABLE.finditer(template):
        name = match.group(1).strip()
        if not name.startswith("!"):
            yield name


def referenced_names(value: Any) -> set[str]:
    """Logical ids / parameter names that *value* references (pseudo parameters excluded)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        call = intrinsic(node)
        if call is not None:
            key, arg = call
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
                return
            if key == "Fn::GetAtt":
                target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0] if arg else None
                if isinstance(target, str):
                    found.add(target)
                walk(arg)
                return
            if key == "Fn::Sub":
                template, variables = _sub_parts(arg)
                for name in _sub_variable_names(template):
                    if name not in variables:
                        found.add(name.split(".", 1)[0] if "." in name else name)
                walk(dict(variables))
                return
            walk(arg)
            return
        if isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(value)
    return {name for name in found if not name.startswith("AWS::")}


class Template:
    """A parsed template with its parameters and conditions evaluated."""

    def __init__(
        self,
        doc: Mapping[str, Any],
        *,
        path: Path | None = None,
        parameter_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.doc = doc
        self.path = path
        self.base_dir = path.parent if path is not None else Path.cwd()
        self.resources: dict[str, dict[str, Any]] = dict(doc.get("Resources") or {})
        self.metadata: dict[str, Any] = dict(doc.get("Metadata") or {})
        self.globals: dict[str, Any] = dict(doc.get("Globals") or {})
        self.mappings: dict[str, Any] = dict(doc.get("Mappings") or {})
        self._condition_defs: dict[str, Any] = dict(doc.get("Conditions") or {})
        self._condition_cache: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self.parameters = self._evaluate_parameters(parameter_overrides or {})

    @classmethod
    def from_file(cls, path: Path | str, parameter_overrides: Mapping[str, Any] | None = None) -> Template:
        path = Path(path).resolve()
        return cls(load_template(path), path=path, parameter_overrides=parameter_overrides)

    def _evaluate_parameters(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        declared: Mapping[str, Any] = self.doc.get("Parameters") or {}
        unknown = set(overrides) - set(declared)
        if unknown:
            raise CfnError(f"parameter overrides for undeclared parameters: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in overrides:
                value = overrides[name]
            elif isinstance(spec, dict) and "Default" in spec:
                value = spec["Default"]
            else:
                raise CfnError(f"parameter {name} has no Default and no override")
            kind = str(spec.get("Type", "String")) if isinstance(spec, dict) else "String"
            if (kind.startswith("List<") or kind == "CommaDelimitedList") and isinstance(value, str):
                value = [part.strip() for part in value.split(",")] if value else []
            values[name] = value
        return values

    def condition(self, name: str) -> bool:
        if name in self._condition_cache:
            return self._condition_cache[name]
        if name not in self._condition_defs:
            raise CfnError(f"unknown condition {name!r}")
        if name in self._evaluating:
            raise CfnError(f"condition {name!r} refers to itself")
        self._evaluating.add(name)
        try:
            result = Evaluator(self, None).condition_expression(self._condition_defs[name])
        finally:
            self._evaluating.discard(name)
        self._condition_cache[name] = result
        return result

    def is_parameter_or_pseudo(self, name: str) -> bool:
        return name in self.parameters or name in PSEUDO_PARAMETERS or name == "AWS::NoValue"

    def references_resource(self, value: Any) -> bool:
        """Whether *value* refers to a resource (or a SAM-generated one) rather than only to
        parameters, pseudo parameters and literals."""
        return any(not self.is_parameter_or_pseudo(name) for name in referenced_names(value))

    def active_resources(self) -> dict[str, dict[str, Any]]:
        """Resources whose ``Condition`` (if any) holds, in template order."""
        active: dict[str, dict[str, Any]] = {}
        for logical_id, body in self.resources.items():
            if not isinstance(body, dict):
                raise CfnError(f"resource {logical_id} is not a mapping")
            condition = body.get("Condition")
            if condition is not None and not self.condition(condition):
                continue
            active[logical_id] = body
        return active

    def dependencies(self, logical_id: str) -> set[str]:
        body = self.resources[logical_id]
        names = referenced_names({k: v for k, v in body.items() if k not in ("DependsOn", "Condition")})
        depends_on = body.get("DependsOn") or []
        names.update([depends_on] if isinstance(depends_on, str) else depends_on)
        names.discard(logical_id)
        return {name for name in names if name in self.resources}

    def creation_order(self) -> list[str]:
        """Active resources so that each comes after everything it references (template order
        otherwise)."""
        active = self.active_resources()
        pending = {lid: self.dependencies(lid) & active.keys() for lid in active}
        order: list[str] = []
        done: set[str] = set()
        while pending:
            ready = next((lid for lid, deps in pending.items() if deps <= done), None)
            if ready is None:
                raise CfnError(f"circular dependency between resources {sorted(pending)}")
            order.append(ready)
            done.add(ready)
            del pending[ready]
        return order


def _scalar_text(value: Any) -> str:
    if value is NO_VALUE:
        raise CfnError("AWS::NoValue cannot be used as a string")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise CfnError(f"expected a string, got {value!r}")


class Evaluator:
    """Resolves intrinsic functions against a template and the resources' values."""

    def __init__(self, template: Template, values: ResourceValues | None) -> None:
        self.template = template
        self.values = values

    def resolve(self, value: Any) -> Any:
        call = intrinsic(value)
        if call is not None:
            key, arg = call
            return self._ref(arg) if key == "Ref" else self._function(key, arg)
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                resolved = self.resolve(item)
                if resolved is not NO_VALUE:
                    out[key] = resolved
            return out
        if isinstance(value, list):
            return [r for r in (self.resolve(item) for item in value) if r is not NO_VALUE]
        return value

    def resolve_str(self, value: Any) -> str:
        return _scalar_text(self.resolve(value))

    # -- conditions -----------------------------------------------------------------------

    def condition_expression(self, expr: Any) -> bool:
        if isinstance(expr, dict) and len(expr) == 1:
            ((key, arg),) = expr.items()
            if key == "Condition" and isinstance(arg, str):
                return self.template.condition(arg)
            if key == "Fn::Equals":
                left, right = self._args(key, arg, 2)
                return _equals(self.resolve(left), self.resolve(right))
            if key == "Fn::Not":
                (inner,) = self._args(key, arg, 1)
                return not self.condition_expression(inner)
            if key == "Fn::And":
                return all(self.condition_expression(item) for item in self._list(key, arg))
            if key == "Fn::Or":
                return any(self.condition_expression(item) for item in self._list(key, arg))
        if isinstance(expr, bool):
            return expr
        if isinstance(expr, str) and expr.lower() in ("true", "false"):
            return expr.lower() == "true"
        raise CfnError(f"not a condition expression: {expr!r}")

    # -- Ref / GetAtt ---------------------------------------------------------------------

    def _ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise CfnError(f"Ref takes a name, got {name!r}")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.template.parameters:
            return self.template.parameters[name]
        if self.values is None:
            raise CfnError(f"Ref {name}: only parameters can be referenced here")
        return self.values.ref(name)

    def _get_att(self, arg: Any) -> Any:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        if not isinstance(arg, list) or len(arg) != 2:
            raise CfnError(f"Fn::GetAtt takes [LogicalId, Attribute], got {arg!r}")
        logical_id, attribute = arg[0], self.resolve(arg[1])
        if not isinstance(logical_id, str) or not isinstance(attribute, str):
            raise CfnError(f"Fn::GetAtt takes [LogicalId, Attribute], got {arg!r}")
        if self.values is None:
            raise CfnError(f"Fn::GetAtt {logical_id}.{attribute}: resources cannot be referenced here")
        return self.values.get_att(logical_id, attribute)

    # -- functions ------------------------------------------------------------------------

    @staticmethod
    def _list(key: str, arg: Any) -> list[Any]:
        if not isinstance(arg, list):
            raise CfnError(f"{key} takes a list, got {arg!r}")
        return arg

    def _args(self, key: str, arg: Any, count: int) -> list[Any]:
        items = self._list(key, arg)
        if len(items) != count:
            raise CfnError(f"{key} takes {count} arguments, got {arg!r}")
        return items

    def _function(self, key: str, arg: Any) -> Any:
        if key == "Fn::GetAtt":
            return self._get_att(arg)
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::If":
            name, when_true, when_false = self._args(key, arg, 3)
            return self.resolve(when_true if self.template.condition(name) else when_false)
        if key in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"):
            return self.condition_expression({key: arg})
        if key == "Fn::Join":
            delimiter, items = self._args(key, arg, 2)
            parts = self.resolve(items)
            if not isinstance(parts, list):
                raise CfnError(f"Fn::Join needs a list, got {parts!r}")
            return _scalar_text(self.resolve(delimiter)).join(_scalar_text(p) for p in parts)
        if key == "Fn::Select":
            index, items = self._args(key, arg, 2)
            resolved = self.resolve(items)
            position = int(self.resolve(index))
            if not isinstance(resolved, list) or not 0 <= position < len(resolved):
                raise CfnError(f"Fn::Select index {position} out of range for {resolved!r}")
            return resolved[position]
        if key == "Fn::Split":
            delimiter, text = self._args(key, arg, 2)
            return self.resolve_str(text).split(self.resolve_str(delimiter))
        if key == "Fn::FindInMap":
            return self._find_in_map(self._list(key, arg))
        if key == "Fn::GetAZs":
            return list(AVAILABILITY_ZONES)
        if key == "Fn::Base64":
            return base64.b64encode(self.resolve_str(arg).encode()).decode()
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(arg), separators=(",", ":"))
        if key == "Fn::Length":
            items = self.resolve(arg)
            if not isinstance(items, list):
                raise CfnError(f"Fn::Length needs a list, got {items!r}")
            return len(items)
        if key == "Fn::ImportValue":
            # No other stacks exist locally; a stable placeholder keeps the template usable.
            return f"{settings.STACK_NAME}-import-{self.resolve_str(arg)}"
        if key == "Fn::Cidr":
            block, count, bits = (self.resolve(item) for item in self._args(key, arg, 3))
            network = ipaddress.ip_network(_scalar_text(block), strict=False)
            subnets = network.subnets(new_prefix=network.max_prefixlen - int(bits))
            return [str(subnet) for _, subnet in zip(range(int(count)), subnets, strict=False)]
        raise CfnError(f"unsupported intrinsic function {key}")

    def _find_in_map(self, args: list[Any]) -> Any:
        if len(args) not in (3, 4):
            raise CfnError(f"Fn::FindInMap takes 3 arguments (+ DefaultValue), got {args!r}")
        names = [self.resolve_str(item) for item in args[:3]]
        try:
            return self.template.mappings[names[0]][names[1]][names[2]]
        except (KeyError, TypeError):
            if len(args) == 4 and isinstance(args[3], dict) and "DefaultValue" in args[3]:
                return self.resolve(args[3]["DefaultValue"])
            raise CfnError(f"Fn::FindInMap: no {'/'.join(names)} in Mappings") from None

    def _sub(self, arg: Any) -> str:
        template, raw_variables = _sub_parts(arg)
        variables = {name: self.resolve(value) for name, value in raw_variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            name = name.strip()
            if name in variables:
                return _scalar_text(variables[name])
            if self.template.is_parameter_or_pseudo(name) or "." not in name:
                return _scalar_text(self._ref(name))
            logical_id, attribute = name.split(".", 1)
            return _scalar_text(self._get_att([logical_id, attribute]))

        return _SUB_VARIABLE.sub(replace, template)


def _equals(left: Any, right: Any) -> bool:
    if isinstance(left, list) or isinstance(right, list):
        return left == right
    return _scalar_text(left) == _scalar_text(right)
