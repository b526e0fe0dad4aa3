"""A Lambda execution environment in a spawned process: one handler, one event at a time.

Every worker process imports this module, so it keeps to the standard library: a worker
starts like a cold Lambda container, without loading moto or the router.

The protocol over the Pipe: the worker first sends ("ready", None) or ("init_error", info);
then for each ("invoke", event, request_id, deadline_ms) it sends ("result", json_text) or
("error", info). ("stop",) or a closed pipe ends it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from . import profiling
from .emf_log import EmfTee


@dataclass(frozen=True)
class WorkerConfig:
    logical_id: str
    handler_file: Path
    handler_attr: str
    # The function's code first, then its layers: /var/task and /opt/python in Lambda.
    import_paths: tuple[str, ...]
    # The whole environment of the process, as Lambda would set it.
    environment: dict[str, str]
    invoked_function_arn: str
    # Top-level modules of this machine that Lambda would not have (layer_modules.py).
    refused_modules: tuple[str, ...] = ()
    # Where the EMF lines the function prints are kept for `make metrics` (emf_log.py).
    metrics_log: str | None = None


class LambdaContext:
    """The context object of the Python runtime; like the runtime, it reads the environment."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        # NOTE: a string, as the real runtime passes it.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _describe(exc: BaseException) -> dict[str, Any]:
    return {"errorType": type(exc).__name__, "errorMessage": str(exc)}


def _log_error(exc: BaseException) -> None:
    # What the runtime writes to CloudWatch for an unhandled error; here, the terminal.
    lines = traceback.format_exception(exc)
    print(f"[ERROR] {type(exc).__name__}: {exc}\n{''.join(lines)}", file=sys.stderr, flush=True)


def load_handler(config: WorkerConfig) -> Callable[[Any, Any], Any]:
    # A unique module name: two functions may both have an app.py.
    name = f"devstack_function_{config.logical_id}"
    spec = importlib.util.spec_from_file_location(name, config.handler_file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {config.handler_file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    handler = getattr(module, config.handler_attr)
    if not callable(handler):
        raise TypeError(f"{config.handler_attr} in {config.handler_file} is not callable")
    return handler


def _enter_sandbox(config: WorkerConfig) -> None:
    # Ctrl-C reaches the whole process group; the dev stack stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update(config.environment)
    if hasattr(time, "tzset"):
        time.tzset()
    sys.path[:0] = [path for path in config.import_paths if path not in sys.path]
    if config.metrics_log is not None:
        # Before the handler loads: its Powertools Logger keeps the stdout it finds.
        sys.stdout = EmfTee(sys.stdout, config.metrics_log)  # type: ignore[assignment]
    if config.refused_modules:
        from .layer_modules import refuse_unshipped  # noqa: PLC0415

        refuse_unshipped(config.refused_modules)


def serve(conn: Connection, config: WorkerConfig) -> None:
    """The worker process's main function."""
    # Read before the sandbox replaces the environment; a no-op unless switched on.
    profiling.install(config.logical_id)
    try:
        _serve(conn, config)
    finally:
        profiling.dump()


def _serve(conn: Connection, config: WorkerConfig) -> None:
    _enter_sandbox(config)
    try:
        handler = load_handler(config)
    except Exception as exc:
        _log_error(exc)
        conn.send(("init_error", _describe(exc)))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return  # the dev stack is gone
        if message[0] != "invoke":
            return
        _, event, request_id, deadline_ms = message
        context = LambdaContext(request_id, deadline_ms, config.invoked_function_arn)
        try:
            # Lambda serialises the result to JSON; what cannot be serialised is an error.
            result = json.dumps(handler(event, context))
        except Exception as exc:
            _log_error(exc)
            conn.send(("error", _describe(exc)))
        else:
            conn.send(("result", result))
