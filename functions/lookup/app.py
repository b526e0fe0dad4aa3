"""POST /views/{view}: a declared, filtered, projected slice of one kintone app."""

import sekisho.coldstart  # first: the collector waits for the init (ready() below)

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sekisho import runtime, snapstart
from sekisho.http import client_ip, create_resolver, json_body, verified_claims
from sekisho.lookup import LookupRequest
from sekisho.wiring import lookup as wiring
from sekisho.wiring.routes import http_settings

logger = Logger(service="sekisho")  # the library logs under sekisho.*
settings = runtime.settings()
runtime.policy()  # read at cold start: a bad or altered policy fails the deployment, not a request
app = create_resolver(http_settings())


@app.post("/views/<view>")
def lookup(view: str) -> dict:
    request = LookupRequest(
        view=view,
        body=json_body(app, max_bytes=settings.max_body_bytes),
        client_ip=client_ip(app),
        claims=verified_claims(app),
    )
    return {"records": wiring.lookup_service().lookup(request)}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


# With SnapStart the services are built now, into the snapshot; else by the first request.
snapstart.prepare(wiring.lookup_service, services=wiring.AWS_SERVICES)
sekisho.coldstart.ready()
