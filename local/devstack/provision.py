"""The template's AWS resources, made in moto, and what `!Ref`/`!GetAtt` yield for them.

A resource's local physical name is the name its properties give it (TableName, Name, ...)
or else its logical id, so `!Ref GuardTable` is `GuardTable` locally; a bucket's is the
logical id in lower case (S3 names allow no capitals), so `!Ref AttachmentBucket` is
`attachmentbucket`.

Secrets are named as the template names them: each declared name under the stack's secret
name prefix (SecretNamePrefix, else the stack name: `sekisho-local/sekisho/...` here), the
prefix the template also gives every function as SEKISHO_SECRET_PREFIX.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from typing import Any

from sekisho.secrets.names import full_name

from .cfn import ACCOUNT_ID, REGION, STACK_NAME, Resolver, resources
from .errors import TemplateError
from .sam import API_TYPE, IMPLICIT_API, api_id

TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")
SECRET_TYPE = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type
_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::IAM::Role": "RoleName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SSM::Parameter": "Name",
    "AWS::SES::ConfigurationSet": "Name",
}
# The template's parameter and condition that make the stack's secret name prefix.
PREFIX_PARAMETER = "SecretNamePrefix"
PREFIX_CONDITION = "HasSecretNamePrefix"
# The prefix of template.yaml's secrets on the local stack (no SecretNamePrefix: the stack
# name), which the local helpers (`devstack env`, `send`, `retire-token`) assume.
LOCAL_SECRET_PREFIX = STACK_NAME
_SIMPLE_TABLE_TYPES = {"String": "S", "Number": "N", "Binary": "B"}
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")


def arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"


def physical_name(logical_id: str, resource: Mapping[str, Any], resolver: Resolver) -> str:
    properties = resource.get("Properties") or {}
    name = resolver.resolve(properties.get(_NAME_PROPERTY.get(resource.get("Type", ""), "")))
    if name:
        return str(name)
    if resource.get("Type") == "AWS::SQS::Queue" and properties.get("FifoQueue"):
        return f"{logical_id}.fifo"
    if resource.get("Type") == "AWS::S3::Bucket":
        return logical_id.lower()
    return logical_id


def register_resources(template: Mapping[str, Any], resolver: Resolver, moto_url: str) -> None:
    """Teach the resolver each resource's Ref value and the attributes a template may read."""
    for logical_id, resource in template["Resources"].items():
        kind = str(resource.get("Type", ""))
        name = physical_name(logical_id, resource, resolver)
        service = kind.split("::")[1].lower() if kind.count("::") == 2 else "unknown"
        ref, attributes = name, {"Arn": arn(service, name)}
        if kind in TABLE_TYPES:
            table_arn = arn("dynamodb", f"table/{name}")
            attributes = {"Arn": table_arn, "StreamArn": f"{table_arn}/stream/1970-01-01T00:00:00"}
        elif kind == "AWS::SQS::Queue":
            ref = f"{moto_url}/{ACCOUNT_ID}/{name}"
            attributes = {"Arn": arn("sqs", name), "QueueName": name, "QueueUrl": ref}
        elif kind == "AWS::SNS::Topic":
            ref = arn("sns", name)
            attributes = {"TopicArn": ref, "TopicName": name}
        elif kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            attributes = {"Arn": arn("lambda", f"function:{name}")}
        elif kind == "AWS::Serverless::LayerVersion":
            ref = arn("lambda", f"layer:{name}:1")
        elif kind == API_TYPE:
            ref = api_id(logical_id)
        elif kind == SECRET_TYPE:
            # Replaced by the real ARN once the secret exists in moto.
            ref = arn("secretsmanager", f"secret:{name}")
            attributes = {"Id": ref}
        elif kind == "AWS::IAM::Role":
            attributes = {"Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"}
        elif kind == "AWS::S3::Bucket":
            attributes = {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
            }
        resolver.refs[logical_id] = ref
        resolver.attributes[logical_id] = attributes
    resolver.refs.setdefault(IMPLICIT_API, api_id(IMPLICIT_API))


def secret_prefix(template: Mapping[str, Any], resolver: Resolver) -> str:
    """The prefix the template puts before each declared secret name: SecretNamePrefix,
    else the stack's name; "" for a template without the parameter (no prefix)."""
    if PREFIX_PARAMETER not in (template.get("Parameters") or {}):
        return ""
    return str(
        resolver.resolve(
            {"Fn::If": [PREFIX_CONDITION, {"Ref": PREFIX_PARAMETER}, {"Ref": "AWS::StackName"}]}
        )
    )


def local_secret_name(declared: str, prefix: str = LOCAL_SECRET_PREFIX) -> str:
    """The name the local stack's Secrets Manager (moto) keeps a declared secret under."""
    return full_name(declared, prefix)


def _ints(value: Mapping[str, Any]) -> dict[str, int]:
    return {key: int(item) for key, item in value.items()}


def table_request(kind: str, name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """CreateTable's arguments for a table resource's (resolved) properties."""
    if kind == "AWS::Serverless::SimpleTable":
        key = properties.get("PrimaryKey") or {"Name": "id", "Type": "String"}
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": key["Name"], "AttributeType": _SIMPLE_TABLE_TYPES[key["Type"]]}
            ],
        }
        throughput = properties.get("ProvisionedThroughput")
        if throughput:
            request.update(BillingMode="PROVISIONED", ProvisionedThroughput=_ints(throughput))
        else:
            request["BillingMode"] = "PAY_PER_REQUEST"
        return request
    request = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    if request["BillingMode"] == "PROVISIONED":
        request["ProvisionedThroughput"] = _ints(properties["ProvisionedThroughput"])
    for indexes in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(indexes):
            request[indexes] = [
                {key: value for key, value in index.items() if key in _INDEX_KEYS}
                for index in properties[indexes]
            ]
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    return request


def create_tables(dynamodb: Any, template: Mapping[str, Any], resolver: Resolver) -> list[str]:
    names = []
    for kind in TABLE_TYPES:
        for logical_id, raw in resources(template, resolver, kind):
            name = str(resolver.refs[logical_id])
            properties = resolver.resolve(raw)
            try:
                dynamodb.create_table(**table_request(kind, name, properties))
            except KeyError as exc:
                raise TemplateError(f"{logical_id}: table property {exc} is missing") from exc
            ttl = properties.get("TimeToLiveSpecification") or {}
            if ttl.get("Enabled"):
                dynamodb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={
                        "Enabled": True,
                        "AttributeName": ttl["AttributeName"],
                    },
                )
            names.append(name)
    return names


def generated_secret(spec: Mapping[str, Any]) -> str:
    """A value shaped by a GenerateSecretString, as Secrets Manager would generate one."""
    alphabet = ""
    for group, exclusion in (
        (string.ascii_lowercase, "ExcludeLowercase"),
        (string.ascii_uppercase, "ExcludeUppercase"),
        (string.digits, "ExcludeNumbers"),
        (string.punctuation, "ExcludePunctuation"),
    ):
        if not spec.get(exclusion):
            alphabet += group
    if spec.get("IncludeSpace"):
        alphabet += " "
    alphabet = "".join(c for c in alphabet if c not in str(spec.get("ExcludeCharacters", "")))
    if not alphabet:
        raise TemplateError("GenerateSecretString excludes every character")
    password = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if "SecretStringTemplate" in spec and "GenerateStringKey" in spec:
        shaped = json.loads(spec["SecretStringTemplate"])
        shaped[spec["GenerateStringKey"]] = password
        return json.dumps(shaped)
    return password


def template_secrets(
    template: Mapping[str, Any], resolver: Resolver
) -> dict[str, tuple[str, str | None]]:
    """name -> (logical id, value); a secret with neither value property stays empty."""
    declared = {}
    for logical_id, raw in resources(template, resolver, SECRET_TYPE):
        properties = resolver.resolve(raw)
        value: str | None = None
        if "SecretString" in properties:
            value = str(properties["SecretString"])
        elif "GenerateSecretString" in properties:
            value = generated_secret(properties["GenerateSecretString"])
        declared[
            physical_name(logical_id, {"Type": SECRET_TYPE, "Properties": properties}, resolver)
        ] = (
            logical_id,
            value,
        )
    return declared


def create_secrets(
    secretsmanager: Any,
    template: Mapping[str, Any],
    resolver: Resolver,
    demo_values: Mapping[str, str],
) -> list[str]:
    """The demo secrets, then any other secret the template declares; the names made in
    moto (each demo secret's declared name under the template's prefix), never values."""
    declared = template_secrets(template, resolver)
    prefix = secret_prefix(template, resolver)
    demo_values = {full_name(name, prefix): value for name, value in demo_values.items()}
    names = []
    for name in [*demo_values, *(n for n in declared if n not in demo_values)]:
        value = demo_values.get(name)
        if value is None:
            value = declared[name][1]
        request: dict[str, Any] = {"Name": name}
        if value is not None:
            request["SecretString"] = value
        created = secretsmanager.create_secret(**request)
        if name in declared:
            logical_id = declared[name][0]
            resolver.refs[logical_id] = created["ARN"]
            resolver.attributes[logical_id] = {"Id": created["ARN"]}
        names.append(name)
    return names


def create_parameters(ssm: Any, template: Mapping[str, Any], resolver: Resolver) -> list[str]:
    """Every AWS::SSM::Parameter of the template, with its value; their names."""
    names = []
    for logical_id, raw in resources(template, resolver, "AWS::SSM::Parameter"):
        properties = resolver.resolve(raw)
        name = physical_name(
            logical_id, {"Type": "AWS::SSM::Parameter", "Properties": raw}, resolver
        )
        ssm.put_parameter(
            Name=name,
            Value=str(properties["Value"]),
            Type=str(properties.get("Type", "String")),
            Overwrite=True,
        )
        names.append(name)
    return names
