"""Reading template.yaml: CloudFormation's short tags, and intrinsic functions resolved locally.

Only what a SAM template of this project can reasonably use is resolved; anything else
fails loudly with the resource it appears in, rather than reaching a function as a dict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import TemplateError

REGION = "ap-northeast-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "sekisho-local"


class _NoValue:
    """What `!Ref AWS::NoValue` yields: the property holding it is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::StackName": STACK_NAME,
    "AWS::StackId": (
        f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/"
        "00000000-0000-0000-0000-000000000000"
    ),
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _TemplateLoader(yaml.SafeLoader):
    """A SafeLoader that turns `!Ref x` into `{"Ref": "x"}`, `!Sub` into `{"Fn::Sub": ...}`."""


def _short_tag(tag: str) -> Callable[[yaml.SafeLoader, yaml.Node], Any]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        if tag in ("Ref", "Condition"):
            return {tag: value}
        if tag == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{tag}": value}

    return construct


for _tag in (
    "Ref", "Condition", "Sub", "GetAtt", "Join", "Select", "Split", "If", "Equals", "And",
    "Or", "Not", "FindInMap", "Base64", "ImportValue", "GetAZs", "Cidr", "Length", "ToJsonString",
):  # fmt: skip
    _TemplateLoader.add_constructor(f"!{_tag}", _short_tag(_tag))


def load_template(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"template {path} has no Resources")
    return data


def is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = str(next(iter(value)))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


@dataclass
class Resolver:
    """Resolves intrinsic functions against local parameter values and resource names.

    `refs` is what `!Ref Resource` yields and `attributes` what `!GetAtt Resource.Attr`
    yields; both fill in as the stack creates resources.
    """

    template: Mapping[str, Any]
    parameters: dict[str, Any]
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _conditions: dict[str, bool] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if is_intrinsic(value):
            ((name, argument),) = value.items()
            return self._intrinsic(name, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definitions = self.template.get("Conditions") or {}
            if name not in definitions:
                raise TemplateError(f"condition {name} is not declared")
            self._conditions[name] = False  # a cycle then reads as false, not as a recursion
            self._conditions[name] = self._truth(definitions[name])
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        if name in (self.template.get("Parameters") or {}):
            raise TemplateError(f"parameter {name} has no default: pass --param {name}=VALUE")
        if name in self.template["Resources"]:
            return name
        raise TemplateError(f"!Ref {name}: no such parameter or resource")

    def get_att(self, name: str, attribute: str) -> Any:
        known = self.attributes.get(name, {})
        if attribute not in known:
            raise TemplateError(f"!GetAtt {name}.{attribute} is not available locally")
        return known[attribute]

    def _truth(self, value: Any) -> bool:
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return resolved
        raise TemplateError(f"condition does not evaluate to true or false: {value!r}")

    def _intrinsic(self, name: str, argument: Any) -> Any:
        handlers: dict[str, Callable[[Any], Any]] = {
            "Ref": lambda arg: self.ref(str(arg)),
            "Condition": lambda arg: self.condition(str(arg)),
            "Fn::Sub": self._sub,
            "Fn::GetAtt": self._get_att,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::And": lambda arg: all(self._truth(item) for item in arg),
            "Fn::Or": lambda arg: any(self._truth(item) for item in arg),
            "Fn::Not": lambda arg: not self._truth(arg[0]),
            "Fn::FindInMap": self._find_in_map,
        }
        if name not in handlers:
            raise TemplateError(f"{name} is not supported by the local stack")
        try:
            return handlers[name](argument)
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise TemplateError(f"cannot resolve {name} {argument!r}: {exc}") from exc

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], self.resolve(argument[1])
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} escapes a dollar-brace
            if name in variables:
                return str(variables[name])
            if "." in name and name not in PSEUDO_PARAMETERS:
                return str(self.get_att(*name.split(".", 1)))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, str(text))

    def _get_att(self, argument: Any) -> Any:
        name, attribute = self.resolve(argument)
        return self.get_att(str(name), str(attribute))

    def _join(self, argument: Any) -> str:
        delimiter, items = argument
        return str(delimiter).join(str(item) for item in self.resolve(items))

    def _select(self, argument: Any) -> Any:
        index, items = self.resolve(argument)
        return items[int(index)]

    def _split(self, argument: Any) -> list[str]:
        delimiter, text = self.resolve(argument)
        return str(text).split(str(delimiter))

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(str(name)) else when_false)

    def _equals(self, argument: Any) -> bool:
        left, right = self.resolve(argument)
        return str(left) == str(right)

    def _find_in_map(self, argument: Any) -> Any:
        mapping, top, second = self.resolve(argument)
        return (self.template.get("Mappings") or {})[mapping][top][second]


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """Each declared parameter's local value: an override, else the template's default."""
    values: dict[str, Any] = {}
    for name, declaration in (template.get("Parameters") or {}).items():
        if name in overrides:
            value: Any = overrides[name]
        elif "Default" in (declaration or {}):
            value = declaration["Default"]
        else:
            continue
        if str((declaration or {}).get("Type", "")).startswith(("CommaDelimitedList", "List<")):
            value = [item.strip() for item in str(value).split(",")]
        values[name] = value
    return values


def resources(
    template: Mapping[str, Any], resolver: Resolver, *types: str
) -> list[tuple[str, dict[str, Any]]]:
    """(logical id, raw properties) of the resources of these types whose Condition holds."""
    found = []
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict) or resource.get("Type") not in types:
            continue
        condition = resource.get("Condition")
        if condition and not resolver.condition(str(condition)):
            continue
        found.append((logical_id, dict(resource.get("Properties") or {})))
    return found


def merge_globals(defaults: Any, own: Any) -> Any:
    """SAM's Globals rule: maps merge, lists add up (globals first), anything else is replaced."""
    if own is None:
        return defaults
    if isinstance(defaults, dict) and isinstance(own, dict):
        if is_intrinsic(defaults) or is_intrinsic(own):
            return own
        merged = dict(defaults)
        for key, value in own.items():
            merged[key] = merge_globals(defaults.get(key), value)
        return merged
    if isinstance(defaults, list) and isinstance(own, list):
        return [*defaults, *own]
    return own
