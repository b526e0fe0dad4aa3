"""IntakeQueue -> kintone: each queued submission becomes its record, exactly once."""

import sekisho.coldstart  # first: the collector waits for the init (ready() below)

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from sekisho import runtime, snapstart
from sekisho.wiring import deliver as wiring

logger = Logger(service="sekisho")  # the library logs under sekisho.*
runtime.settings()
runtime.policy()  # read at cold start: a bad or altered policy fails the deployment, not a batch
# Every failed record is reported back (ReportBatchItemFailures), even when all failed:
# the deliverer has already pushed each one's visibility out with its backoff.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    try:
        return process_partial_response(
            event=event,
            record_handler=wiring.deliver_service().deliver_record,
            processor=processor,
            context=context,
        )
    finally:
        # Before the answer names the failed records: their backoff, in batches of ten.
        wiring.visibility().flush()


# With SnapStart the services are built now, into the snapshot; else by the first request.
snapstart.prepare(wiring.deliver_service, wiring.visibility, services=wiring.AWS_SERVICES)
sekisho.coldstart.ready()
