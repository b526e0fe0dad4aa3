"""The template's S3 buckets, made in moto with the settings that shape what a function sees.

CloudFormation spells some bucket settings differently from the S3 API (a lifecycle rule's
`ExpirationInDays` is the API's `Expiration.Days`); they are translated here so a test can
read them back as S3 reports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ParamValidationError

from .cfn import REGION, Resolver, resources
from .errors import TemplateError

log = logging.getLogger(__name__)

BUCKET_TYPE = "AWS::S3::Bucket"
# Accepted and not reproduced: none of them changes what a function reading and writing
# objects observes.
_NOT_EMULATED = (
    "AccelerateConfiguration",
    "AnalyticsConfigurations",
    "IntelligentTieringConfigurations",
    "InventoryConfigurations",
    "LoggingConfiguration",
    "MetricsConfigurations",
    "ObjectLockConfiguration",
    "ObjectLockEnabled",
    "ReplicationConfiguration",
)
_RULE_FILTERS = ("Prefix", "TagFilters", "ObjectSizeGreaterThan", "ObjectSizeLessThan")
_EXPIRATION = {
    "ExpirationInDays": "Days",
    "ExpirationDate": "Date",
    "ExpiredObjectDeleteMarker": "ExpiredObjectDeleteMarker",
}
_TRANSITION = {"StorageClass": "StorageClass", "TransitionInDays": "Days", "TransitionDate": "Date"}
_NONCURRENT_TRANSITION = {
    "StorageClass": "StorageClass",
    "TransitionInDays": "NoncurrentDays",
    "NewerNoncurrentVersions": "NewerNoncurrentVersions",
}
_ENCRYPTION_RULE = {
    "ServerSideEncryptionByDefault": "ApplyServerSideEncryptionByDefault",
    "BucketKeyEnabled": "BucketKeyEnabled",
}
_CORS_RULE = {
    "AllowedHeaders": "AllowedHeaders",
    "AllowedMethods": "AllowedMethods",
    "AllowedOrigins": "AllowedOrigins",
    "ExposedHeaders": "ExposeHeaders",
    "Id": "ID",
    "MaxAge": "MaxAgeSeconds",
}


def _renamed(entry: Mapping[str, Any], names: Mapping[str, str], where: str) -> dict[str, Any]:
    unknown = set(entry) - set(names)
    if unknown:
        raise TemplateError(f"{where}: {', '.join(sorted(unknown))} not emulated locally")
    return {names[key]: value for key, value in entry.items()}


def _rule_filter(rule: Mapping[str, Any]) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    if "Prefix" in rule:
        parts["Prefix"] = rule["Prefix"]
    for key in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        if key in rule:
            parts[key] = int(rule[key])
    tags = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in rule.get("TagFilters") or []]
    if len(parts) + len(tags) > 1:
        return {"And": {**parts, **({"Tags": tags} if tags else {})}}
    if tags:
        return {"Tag": tags[0]}
    return parts or {"Prefix": ""}


def lifecycle_rule(rule: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A CloudFormation lifecycle rule as PutBucketLifecycleConfiguration takes it."""
    rest = dict(rule)
    translated: dict[str, Any] = {"Status": rest.pop("Status"), "Filter": _rule_filter(rest)}
    for key in _RULE_FILTERS:
        rest.pop(key, None)
    expiration = {api: rest.pop(cfn) for cfn, api in _EXPIRATION.items() if cfn in rest}
    if expiration:
        translated["Expiration"] = expiration
    if "Id" in rest:
        translated["ID"] = rest.pop("Id")
    if "AbortIncompleteMultipartUpload" in rest:
        translated["AbortIncompleteMultipartUpload"] = rest.pop("AbortIncompleteMultipartUpload")
    if "NoncurrentVersionExpirationInDays" in rest:
        days = int(rest.pop("NoncurrentVersionExpirationInDays"))
        translated["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}
    if "NoncurrentVersionExpiration" in rest:
        translated["NoncurrentVersionExpiration"] = rest.pop("NoncurrentVersionExpiration")
    transitions = [*rest.pop("Transitions", []), *filter(None, [rest.pop("Transition", None)])]
    if transitions:
        translated["Transitions"] = [_renamed(item, _TRANSITION, where) for item in transitions]
    if "NoncurrentVersionTransitions" in rest:
        translated["NoncurrentVersionTransitions"] = [
            _renamed(item, _NONCURRENT_TRANSITION, where)
            for item in rest.pop("NoncurrentVersionTransitions")
        ]
    if rest:
        raise TemplateError(f"{where}: lifecycle {', '.join(sorted(rest))} not emulated locally")
    return translated


def configure_bucket(s3: Any, name: str, properties: Mapping[str, Any], where: str) -> None:
    """Everything but the bucket itself: each setting is one S3 API call."""
    calls: dict[str, Callable[[Any], Any]] = {
        "BucketEncryption": lambda value: s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    _renamed(rule, _ENCRYPTION_RULE, where)
                    for rule in value["ServerSideEncryptionConfiguration"]
                ]
            },
        ),
        "PublicAccessBlockConfiguration": lambda value: s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=value
        ),
        "OwnershipControls": lambda value: s3.put_bucket_ownership_controls(
            Bucket=name, OwnershipControls=value
        ),
        "VersioningConfiguration": lambda value: s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": value["Status"]}
        ),
        "LifecycleConfiguration": lambda value: s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={
                "Rules": [lifecycle_rule(rule, where) for rule in value["Rules"]]
            },
        ),
        "CorsConfiguration": lambda value: s3.put_bucket_cors(
            Bucket=name,
            CORSConfiguration={
                "CORSRules": [_renamed(rule, _CORS_RULE, where) for rule in value["CorsRules"]]
            },
        ),
        "Tags": lambda value: s3.put_bucket_tagging(
            Bucket=name,
            Tagging={"TagSet": [{"Key": tag["Key"], "Value": str(tag["Value"])} for tag in value]},
        ),
    }
    for key, value in properties.items():
        if key in calls:
            try:
                calls[key](value)
            except (KeyError, TypeError, ParamValidationError) as exc:
                raise TemplateError(f"{where}: {key} is malformed ({exc})") from exc
        elif key in _NOT_EMULATED:
            log.info("%s: %s is not emulated locally", where, key)
        elif key != "BucketName":
            # Notifications above all: a function that never hears of an upload is a bug
            # the local stack would hide.
            raise TemplateError(f"{where}: {key} is not emulated locally")


def create_buckets(s3: Any, template: Mapping[str, Any], resolver: Resolver) -> list[str]:
    names = []
    for logical_id, raw in resources(template, resolver, BUCKET_TYPE):
        properties = resolver.resolve(raw)
        name = str(resolver.refs[logical_id])
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        configure_bucket(s3, name, properties, logical_id)
        names.append(name)
    return names
