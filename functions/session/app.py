"""Signed-in visitors: sign in by a mailed code, list one's own records, correct and
cancel one's own entries, sign out."""

import sekisho.coldstart  # first: the collector waits for the init (ready() below)

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sekisho import runtime, snapstart
from sekisho.errors import ValidationFailed
from sekisho.http import client_ip, create_resolver, json_body
from sekisho.sessions.caller import Credentials, cleared_cookie, credentials, session_cookie
from sekisho.wiring import session as wiring

if TYPE_CHECKING:
    from sekisho.sessions.entries import EntryRequest

logger = Logger(service="sekisho")  # the library logs under sekisho.*
settings = runtime.settings()
runtime.policy()  # read at cold start: a bad or altered policy fails the deployment, not a request
app = create_resolver(wiring.session_http_settings())


def _body() -> dict:
    return json_body(app, max_bytes=settings.max_body_bytes)


def _caller() -> Credentials:
    return credentials(app.current_event.headers)


@app.post("/sessions/<realm>/code")
def request_code(realm: str) -> Response:
    answer = wiring.session_routes().sign_in.request_code(realm, _body(), client_ip(app))
    return Response(status_code=202, content_type="application/json", body=answer)


@app.post("/sessions/<realm>")
def sign_in(realm: str) -> Response:
    signed = wiring.session_routes().sign_in.sign_in(realm, _body(), client_ip(app))
    return Response(
        status_code=201,
        content_type="application/json",
        body={"token": signed.token, "expires_in": signed.expires_in},
        headers={"Set-Cookie": session_cookie(signed.token, signed.expires_in)},
    )


@app.delete("/sessions/<realm>")
def sign_out(realm: str) -> Response:
    wiring.session_routes().sign_in.sign_out(realm, _caller())
    return Response(status_code=204, headers={"Set-Cookie": cleared_cookie()})


@app.post("/views/<view>")
def session_view(view: str) -> dict:
    return wiring.session_routes().views.page(view, _body(), _caller(), client_ip(app))


@app.get("/views/<view>/files/<ticket>")
def download(view: str, ticket: str) -> Response:
    headers = app.current_event.headers
    answer = wiring.session_routes().files.download(
        view, ticket, _caller(), client_ip(app), headers.get("range")
    )
    return Response(
        status_code=answer.status,
        content_type=answer.headers.pop("Content-Type"),
        body=answer.content,
        headers=answer.headers,
    )


def _entry(form: str, ref: str) -> "EntryRequest":
    # Loaded with the first correction or cancel, as its service (wiring.SessionRoutes).
    from sekisho.sessions.entries import EntryRequest  # noqa: PLC0415

    return EntryRequest(
        form=form,
        ref=ref,
        if_match=app.current_event.headers.get("if-match"),
        caller=_caller(),
        client_ip=client_ip(app),
    )


@app.patch("/forms/<form>/entries/<ref>")
def correct(form: str, ref: str) -> dict:
    return wiring.session_routes().entries.correct(_entry(form, ref), _body())


@app.post("/forms/<form>/entries/<ref>/cancel")
def cancel(form: str, ref: str) -> dict:
    if app.current_event.body and _body():
        raise ValidationFailed("a cancel takes no body, or {}")
    return wiring.session_routes().entries.cancel(_entry(form, ref))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


# With SnapStart the services are built now, into the snapshot; else by the first request.
snapstart.prepare(wiring.prepared, services=wiring.AWS_SERVICES)
sekisho.coldstart.ready()
