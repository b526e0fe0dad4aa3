"""POST /forms/{form}: a form submission becomes one kintone record, exactly once;
GET /forms/{form} (its public facts: seats left), GET /forms/{form}/receipts/{receipt}
(what became of a submission) and POST /forms/{form}/uploads (a presigned S3 POST for a
file too large for the JSON body)."""

import sekisho.coldstart  # first: the collector waits for the init (ready() below)

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sekisho import runtime, snapstart
from sekisho.entries.facts import MAX_AGE_SECONDS as FACTS_MAX_AGE_SECONDS
from sekisho.http import client_ip, create_resolver, json_body
from sekisho.intake.request import IntakeRequest
from sekisho.wiring import intake as wiring

logger = Logger(service="sekisho")  # the library logs under sekisho.*
settings = runtime.settings()
runtime.policy()  # read at cold start: a bad or altered policy fails the deployment, not a request
app = create_resolver(wiring.intake_http_settings())


@app.post("/forms/<form>")
def submit(form: str) -> Response:
    headers = app.current_event.headers
    result = wiring.intake_service().submit(
        IntakeRequest(
            form=form,
            body=json_body(app, max_bytes=settings.max_body_bytes),
            client_ip=client_ip(app),
            idempotency_key=headers.get("idempotency-key"),
            captcha_token=headers.get("x-captcha-token"),
            accept_language=headers.get("accept-language"),
            remaining_ms=app.lambda_context.get_remaining_time_in_millis,
        )
    )
    return Response(
        status_code=result.status_code, content_type="application/json", body=result.body()
    )


@app.get("/forms/<form>")
def facts(form: str) -> Response:
    return Response(
        status_code=200,
        content_type="application/json",
        body=wiring.form_facts().facts(form),
        headers={"Cache-Control": f"public, max-age={FACTS_MAX_AGE_SECONDS}"},
    )


@app.get("/forms/<form>/receipts/<receipt>")
def receipt_status(form: str, receipt: str) -> Response:
    return Response(
        status_code=200,
        content_type="application/json",
        body=wiring.receipt_status().status(form, receipt, client_ip(app)),
        headers={"Cache-Control": "no-store"},
    )


@app.post("/forms/<form>/uploads")
def upload(form: str) -> Response:
    grant = wiring.upload_service().grant(
        IntakeRequest(
            form=form,
            body=json_body(app, max_bytes=settings.max_body_bytes),
            client_ip=client_ip(app),
        )
    )
    return Response(status_code=201, content_type="application/json", body=grant.body())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


# With SnapStart the services are built now, into the snapshot; else by the first request.
snapstart.prepare(wiring.intake_service, services=wiring.AWS_SERVICES)
sekisho.coldstart.ready()
