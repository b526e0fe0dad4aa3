"""Partner systems' signed calls (RFC 9421): POST /views/{partner view} (a partner-only
view, its predicates filled from the partner's claims) and POST /partners/forms/{form}
(a form submission, as the browser's POST /forms/{form} but signed)."""

import sekisho.coldstart  # first: the collector waits for the init (ready() below)

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sekisho import runtime, snapstart
from sekisho.http import client_ip, create_resolver, json_body
from sekisho.partners.event import signed_message
from sekisho.wiring import partner as wiring
from sekisho.wiring.routes import http_settings

logger = Logger(service="sekisho")  # the library logs under sekisho.*
settings = runtime.settings()
runtime.policy()  # read at cold start: a bad or altered policy fails the deployment, not a request
app = create_resolver(http_settings())
# A lookup's body is a few predicates: LookupFunction's limit, not the form's MAX_BODY_BYTES.
VIEW_BODY_BYTES = min(16 * 1024, settings.max_body_bytes)


@app.post("/views/<view>")
def view(view: str) -> dict:
    message = signed_message(app, max_bytes=VIEW_BODY_BYTES)
    records = wiring.partner_routes().view(
        view, message, client_ip(app), lambda: json_body(app, max_bytes=VIEW_BODY_BYTES)
    )
    return {"records": records}


@app.post("/partners/forms/<form>")
def submit(form: str) -> Response:
    message = signed_message(app, max_bytes=settings.max_body_bytes)
    result = wiring.partner_routes().submit(
        form,
        message,
        client_ip(app),
        lambda: json_body(app, max_bytes=settings.max_body_bytes),
        idempotency_key=app.current_event.headers.get("idempotency-key"),
        remaining_ms=app.lambda_context.get_remaining_time_in_millis,
    )
    return Response(
        status_code=result.status_code, content_type="application/json", body=result.body()
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


# With SnapStart the services are built now, into the snapshot; else by the first request.
snapstart.prepare(wiring.prepared, services=wiring.AWS_SERVICES)
sekisho.coldstart.ready()
