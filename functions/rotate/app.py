"""Secrets Manager -> one rotation step (createSecret, setSecret, testSecret, finishSecret)."""

import sekisho.coldstart  # first: the collector waits for the init (ready() below)

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from sekisho import runtime
from sekisho.rotation.steps import RotationEvent
from sekisho.wiring.rotate import rotator

logger = Logger(service="sekisho")  # the library logs under sekisho.*
runtime.settings()
runtime.policy()  # read at cold start: testSecret needs what each token may do


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    # Secrets Manager ignores the result; it is what `sam local invoke` shows. A failed
    # step raises, which is how Secrets Manager learns that the rotation failed.
    outcome = rotator().handle(RotationEvent.from_event(event))
    return {"step": outcome.step, "secret": outcome.secret, "action": outcome.action}


sekisho.coldstart.ready()
