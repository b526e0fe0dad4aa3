"""What the local stack takes from the SAM resources: functions, their APIs, routes and queues."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cfn import Resolver, merge_globals, resources
from .errors import TemplateError

log = logging.getLogger(__name__)

FUNCTION_TYPES = ("AWS::Serverless::Function",)
LAYER_TYPE = "AWS::Serverless::LayerVersion"
API_TYPE = "AWS::Serverless::Api"
# SAM's name for the API it creates for Api events without a RestApiId, and its stage.
IMPLICIT_API = "ServerlessRestApi"
IMPLICIT_STAGE = "Prod"
_API_PROPERTIES = ("StageName", "BinaryMediaTypes", "GatewayResponses", "Policy")
# Lambda's defaults when neither the function nor Globals say otherwise.
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY_MB = 128
# Lambda's SQS event source mapping: at most 10 messages a batch unless a batching window
# lets it gather more; locally one poller per mapping, by default one batch at a time.
SQS_DEFAULT_BATCH_SIZE = 10
SQS_MAX_BATCH_WITHOUT_WINDOW = 10
SQS_MAX_BATCH_WITH_WINDOW = 10_000
SQS_MAX_WINDOW_SECONDS = 300
DEFAULT_PUMP_CONCURRENCY = 1
# The event types this module turns into something that runs.
_RUN_EVENT_TYPES = ("Api", "SQS")


def api_id(logical_id: str) -> str:
    # Stable across restarts, shaped like API Gateway's ten-character ids.
    return hashlib.sha256(logical_id.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class GatewayResponse:
    """One entry of an Api's GatewayResponses: API Gateway's own answers, customised."""

    status: int | None
    headers: Mapping[str, str]  # header name -> mapping expression ("'literal'", ...)
    templates: Mapping[str, str]  # content type -> body template


@dataclass(frozen=True)
class ApiSpec:
    logical_id: str
    stage: str
    binary_media_types: tuple[str, ...]
    gateway_responses: Mapping[str, GatewayResponse]
    policy: Mapping[str, Any] | None = None  # the resource policy, intrinsics resolved

    @property
    def api_id(self) -> str:
        return api_id(self.logical_id)


@dataclass(frozen=True)
class Route:
    api: ApiSpec
    path: str  # the template's resource path, e.g. /views/{view}
    method: str  # upper case; ANY matches every method
    function: str  # logical id


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    runtime: str
    timeout: float
    memory_mb: int
    layer_dirs: tuple[Path, ...]
    environment: Mapping[str, str]  # as the template declares it, intrinsics resolved
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions

    @property
    def module_file(self) -> Path:
        module = self.handler.rsplit(".", 1)[0]
        return self.code_dir.joinpath(*module.split(".")).with_suffix(".py")

    @property
    def handler_attr(self) -> str:
        return self.handler.rsplit(".", 1)[1]


def function_properties(template: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    defaults = ((template.get("Globals") or {}).get("Function")) or {}
    return merge_globals(dict(defaults), dict(own))


def functions(
    template: Mapping[str, Any],
    resolver: Resolver,
    template_dir: Path,
    only: Collection[str] | None = None,
) -> list[FunctionSpec]:
    specs = []
    for logical_id, own in resources(template, resolver, *FUNCTION_TYPES):
        if only is not None and logical_id not in only:
            continue
        raw = function_properties(template, own)
        if raw.get("PackageType", "Zip") != "Zip" or "InlineCode" in raw:
            raise TemplateError(f"{logical_id}: only zip functions with a CodeUri run locally")
        code_uri = resolver.resolve(raw.get("CodeUri"))
        handler = resolver.resolve(raw.get("Handler"))
        if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
            raise TemplateError(
                f"{logical_id}: needs a local CodeUri and a module.function Handler"
            )
        variables = resolver.resolve((raw.get("Environment") or {}).get("Variables") or {})
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                name=str(resolver.resolve(raw.get("FunctionName")) or logical_id),
                code_dir=(template_dir / code_uri).resolve(),
                handler=handler,
                runtime=str(resolver.resolve(raw.get("Runtime")) or ""),
                timeout=float(resolver.resolve(raw.get("Timeout")) or DEFAULT_TIMEOUT),
                memory_mb=int(resolver.resolve(raw.get("MemorySize")) or DEFAULT_MEMORY_MB),
                layer_dirs=_layer_dirs(template, resolver, raw.get("Layers") or [], template_dir),
                environment={name: _env_value(value) for name, value in variables.items()},
                reserved_concurrency=_optional_int(
                    resolver.resolve(raw.get("ReservedConcurrentExecutions"))
                ),
            )
        )
    return specs


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _env_value(value: Any) -> str:
    # CloudFormation stringifies environment values; true/false are written in lower case.
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        raise TemplateError(f"an environment value resolved to a {type(value).__name__}")
    return str(value)


def _layer_dirs(
    template: Mapping[str, Any], resolver: Resolver, layers: list[Any], template_dir: Path
) -> tuple[Path, ...]:
    """The ContentUri of each layer the template builds: what Lambda mounts as /opt/python."""
    dirs = []
    own_layers = dict(resources(template, resolver, LAYER_TYPE))
    for layer in layers:
        name = layer.get("Ref") if isinstance(layer, dict) else None
        if name in own_layers:
            dirs.append((template_dir / str(own_layers[name].get("ContentUri", ""))).resolve())
        else:
            # A published layer (an ARN) is not fetched: its packages come from the venv.
            log.debug("layer %r is not built by this template; using the venv instead", layer)
    return tuple(dirs)


def apis(template: Mapping[str, Any], resolver: Resolver) -> dict[str, ApiSpec]:
    defaults = ((template.get("Globals") or {}).get("Api")) or {}
    declared = dict(resources(template, resolver, API_TYPE))
    specs = {}
    for logical_id in [IMPLICIT_API, *declared]:
        merged = merge_globals(dict(defaults), declared.get(logical_id, {}))
        # Only what the router uses is resolved: logging, throttling and the like are AWS's.
        raw = {key: resolver.resolve(merged.get(key)) for key in _API_PROPERTIES}
        specs[logical_id] = ApiSpec(
            logical_id=logical_id,
            stage=str(raw.get("StageName") or IMPLICIT_STAGE),
            binary_media_types=tuple(
                str(media_type).replace("~1", "/").lower()
                for media_type in raw.get("BinaryMediaTypes") or []
            ),
            gateway_responses={
                str(kind): _gateway_response(kind, entry)
                for kind, entry in (raw.get("GatewayResponses") or {}).items()
            },
            policy=raw.get("Policy") or None,
        )
    return specs


def _gateway_response(kind: str, entry: Mapping[str, Any]) -> GatewayResponse:
    if not isinstance(entry, Mapping):
        raise TemplateError(f"GatewayResponses.{kind} must be a mapping")
    status = entry.get("StatusCode")
    parameters = entry.get("ResponseParameters") or {}
    return GatewayResponse(
        status=int(status) if status is not None else None,
        headers={str(k): str(v) for k, v in (parameters.get("Headers") or {}).items()},
        templates={str(k): str(v) for k, v in (entry.get("ResponseTemplates") or {}).items()},
    )


def routes(
    template: Mapping[str, Any], resolver: Resolver, api_specs: Mapping[str, ApiSpec]
) -> list[Route]:
    found = []
    for logical_id, own in resources(template, resolver, *FUNCTION_TYPES):
        for event_name, event in (own.get("Events") or {}).items():
            if event.get("Type") not in _RUN_EVENT_TYPES:
                log.info(
                    "%s: %s event %s is not run locally", logical_id, event.get("Type"), event_name
                )
            if event.get("Type") != "Api":
                continue
            properties = event.get("Properties") or {}
            api_ref = properties.get("RestApiId") or IMPLICIT_API
            api_id = api_ref.get("Ref") if isinstance(api_ref, dict) else api_ref
            if api_id not in api_specs:
                raise TemplateError(f"{logical_id}.{event_name}: RestApiId {api_ref!r} is unknown")
            path = str(resolver.resolve(properties.get("Path", "")))
            if not path.startswith("/"):
                raise TemplateError(f"{logical_id}.{event_name}: Path must start with /")
            method = str(resolver.resolve(properties.get("Method", ""))).upper()
            found.append(Route(api_specs[api_id], path, method, logical_id))
    return found


@dataclass(frozen=True)
class SqsSource:
    """An SQS event of a function: what Lambda's event source mapping would poll, and how."""

    function: str  # logical id
    event: str  # the event's name in the template
    queue_arn: str
    batch_size: int
    window: float  # MaximumBatchingWindowInSeconds
    report_failures: bool  # FunctionResponseTypes has ReportBatchItemFailures
    concurrency: int  # batches in flight at once

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[-1]


def sqs_sources(template: Mapping[str, Any], resolver: Resolver) -> list[SqsSource]:
    found = []
    for logical_id, own in resources(template, resolver, *FUNCTION_TYPES):
        reserved = _optional_int(
            resolver.resolve(function_properties(template, own).get("ReservedConcurrentExecutions"))
        )
        for event_name, event in (own.get("Events") or {}).items():
            if event.get("Type") != "SQS":
                continue
            where = f"{logical_id}.{event_name}"
            properties = resolver.resolve(event.get("Properties") or {})
            if str(properties.get("Enabled", True)).lower() == "false":
                log.info("%s: the SQS event is disabled", where)
                continue
            found.append(_sqs_source(logical_id, event_name, where, properties, reserved))
    return found


def _sqs_source(
    function: str, event: str, where: str, properties: Mapping[str, Any], reserved: int | None
) -> SqsSource:
    if properties.get("FilterCriteria"):
        # Lambda deletes the messages a filter drops: guessing wrong would lose them.
        raise TemplateError(f"{where}: FilterCriteria is not emulated locally")
    queue = properties.get("Queue")
    if not isinstance(queue, str) or not queue.startswith("arn:aws:sqs:"):
        raise TemplateError(f"{where}: Queue must be a queue ARN (!GetAtt Queue.Arn)")
    window = float(properties.get("MaximumBatchingWindowInSeconds", 0))
    batch_size = int(properties.get("BatchSize", SQS_DEFAULT_BATCH_SIZE))
    largest = SQS_MAX_BATCH_WITH_WINDOW if window > 0 else SQS_MAX_BATCH_WITHOUT_WINDOW
    if not 1 <= batch_size <= largest or not 0 <= window <= SQS_MAX_WINDOW_SECONDS:
        raise TemplateError(
            f"{where}: BatchSize {batch_size} with a {window:g} s batching window is out of "
            "Lambda's range"
        )
    maximum = (properties.get("ScalingConfig") or {}).get("MaximumConcurrency")
    limits = [int(limit) for limit in (maximum, reserved) if limit is not None]
    if any(limit < 1 for limit in limits):
        raise TemplateError(f"{where}: a concurrency of less than 1 would never deliver")
    response_types = properties.get("FunctionResponseTypes") or []
    return SqsSource(
        function=function,
        event=event,
        queue_arn=queue,
        batch_size=batch_size,
        window=window,
        report_failures="ReportBatchItemFailures" in response_types,
        concurrency=min(limits) if limits else DEFAULT_PUMP_CONCURRENCY,
    )
