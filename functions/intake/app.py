"""POST /forms/{form}: a form submission becomes one kintone record, exactly once."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sekisho import runtime
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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
