"""POST /webhooks/{source}: a verified, deduplicated event on WebhookQueue, then 2xx."""

import sekisho.coldstart  # first: the collector waits for the init (ready() below)

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sekisho import runtime, snapstart
from sekisho.http import create_resolver
from sekisho.wiring import webhook as wiring
from sekisho.wiring.routes import http_settings

logger = Logger(service="sekisho")  # the library logs under sekisho.*
settings = runtime.settings()
runtime.policy()  # read at cold start: a bad or altered policy fails the deployment, not a request
app = create_resolver(http_settings())  # server to server: no origin is allowed


@app.post("/webhooks/<source>")
def receive(source: str) -> Response:
    receipt = wiring.webhook_service().receive_event(
        source,
        app.current_event.raw_event,
        max_body_bytes=settings.max_body_bytes,
        remaining_ms=app.lambda_context.get_remaining_time_in_millis,
    )
    return Response(status_code=200, content_type="application/json", body=json.dumps(receipt.body))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


# With SnapStart the services are built now, into the snapshot; else by the first request.
snapstart.prepare(wiring.webhook_service, services=wiring.AWS_SERVICES)
sekisho.coldstart.ready()
