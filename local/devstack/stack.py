"""`start()`: the whole bundle on loopback — moto, the kintone emulator, the routed functions,
and the queues pumped into their functions."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from kintone_emulator import server as kintone_server
from kintone_emulator.schema import DEFAULT_SEED
from kintone_emulator.server import RunningEmulator
from sekisho.errors import ConfigurationError
from sekisho.policy.model import Policy
from sekisho.policy.snapshot import write_snapshot
from sekisho.policy.validation.loader import read_policy
from sekisho.secrets.names import prefixed
from sekisho.tokens.declared import DeclaredToken, declared_tokens

from . import profiling
from .aws import Moto
from .buckets import create_buckets
from .cfn import Resolver, load_template, parameter_values
from .demo_secrets import DEFAULT_SECRETS_FILE, load_secrets_file, secret_strings
from .emf_log import FILE_NAME as EMF_FILE_NAME
from .errors import TemplateError
from .kintone_webhooks import (
    KintoneWebhook,
    kintone_webhooks,
    register_kintone_webhooks,
    routed_sources,
)
from .layer_modules import layer_requirements, unshipped_modules
from .mail_identity import MailSender, create_mail_identity, mail_sender
from .pki import Pki, create_pki, partner_subjects
from .pool import FunctionPool
from .provision import (
    arn,
    create_parameters,
    create_secrets,
    create_tables,
    register_resources,
    secret_prefix,
)
from .pump import BatchOutcome, SqsPump
from .queues import QueueInfo, create_queues
from .router import Router, RouterHTTPServer
from .routing import RouteTable, mock_methods
from .sam import (
    IMPLICIT_API,
    ApiSpec,
    FunctionSpec,
    Route,
    SqsSource,
    apis,
    functions,
    routes,
    sqs_sources,
)
from .tls import TlsRouterHTTPServer
from .worker import WorkerConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

# local/devstack/stack.py -> the repository.
DEFAULT_REPO_ROOT = Path(__file__).resolve().parents[2]
# Inherited from the shell so tools resolve; everything else a worker sees is declared.
_INHERITED_VARIABLES = ("PATH", "TMPDIR", "SYSTEMROOT")


class RunningStack:
    """The local stack, serving until `stop()`."""

    def __init__(
        self,
        *,
        router_url: str,
        kintone: RunningEmulator,
        moto_url: str,
        routes: Sequence[Route],
        tables: Sequence[str],
        secret_names: Sequence[str],
        cleanup: ExitStack,
        queues: Sequence[QueueInfo] = (),
        buckets: Sequence[str] = (),
        pumps: Sequence[SqsPump] = (),
        kintone_webhooks: Sequence[KintoneWebhook] = (),
        webhook_sources: Sequence[str] = (),
        kintone_tokens: Sequence[DeclaredToken] = (),
        mail: MailSender | None = None,
        tls_url: str | None = None,
        pki: Pki | None = None,
        pools: Mapping[str, FunctionPool] | None = None,
        metrics_log: Path | None = None,
    ) -> None:
        self.router_url = router_url
        # The EMF lines every worker printed since the start (`make metrics` reads them).
        self.metrics_log = metrics_log
        # The same routes over HTTPS, a client certificate of `pki`'s CA required.
        self.tls_url = tls_url
        self.pki = pki
        self.kintone = kintone
        self.moto_url = moto_url
        self.routes = tuple(routes)
        self.tables = tuple(tables)
        self.secret_names = tuple(secret_names)
        self.queues = tuple(queues)
        self.buckets = tuple(buckets)
        self._pumps = tuple(pumps)
        # The emulator's webhooks into the router (their URLs hold a secret: not kept here).
        self.kintone_webhooks = tuple(kintone_webhooks)
        # The policy's webhook sources that the template routes.
        self.webhook_sources = tuple(webhook_sources)
        # The policy's kintone token secrets and what each may do (names, never values).
        self.kintone_tokens = tuple(kintone_tokens)
        # The SES identity made in moto, and the address the functions send from.
        self.mail = mail
        # Each function's workers, by logical id (a fault rehearsal kills one).
        self.pools = dict(pools or {})
        self._cleanup = cleanup

    @property
    def sqs_sources(self) -> tuple[SqsSource, ...]:
        """Every queue the stack pumps into a function, whether or not it pumps by itself."""
        return tuple(pump.source for pump in self._pumps)

    def queue(self, logical_id: str) -> QueueInfo:
        for queue in self.queues:
            if queue.logical_id == logical_id:
                return queue
        raise KeyError(f"no queue {logical_id} in the template")

    def pump_once(self, function: str, queue: str | None = None) -> BatchOutcome:
        """Receive one batch for `function` (logical id) and deliver it, synchronously.

        `queue` (the queue's name) picks one of several SQS events of the function.
        """
        candidates = [
            pump
            for pump in self._pumps
            if pump.source.function == function and queue in (None, pump.source.queue_name)
        ]
        if len(candidates) != 1:
            raise KeyError(
                f"{function} has {len(candidates)} SQS events"
                + ("" if queue is None else f" on {queue}")
                + "; name exactly one"
            )
        return candidates[0].once()

    def stop(self) -> None:
        self._cleanup.close()

    def __enter__(self) -> RunningStack:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _listening(what: str, host: str, port: int, bind: Callable[[], T]) -> T:
    try:
        return bind()
    except OSError as exc:
        raise OSError(f"{what} cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _url(host: str, port: int, scheme: str = "http") -> str:
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def _metrics_log(state_dir: Path | None, cleanup: ExitStack) -> Path:
    """An empty file for this run's metrics: under `state_dir` when given (`make dev`'s,
    for `make metrics` to find), else in a directory of its own, removed at the stop."""
    if state_dir is None:
        directory = Path(tempfile.mkdtemp(prefix="devstack-metrics-"))
        cleanup.callback(shutil.rmtree, directory, ignore_errors=True)
    else:
        directory = state_dir
        directory.mkdir(parents=True, exist_ok=True)
    path = directory / EMF_FILE_NAME
    path.write_bytes(b"")
    return path


def _pki(state_dir: Path | None, policy: Path, cleanup: ExitStack) -> Pki:
    """The test CA and its certificates: under `state_dir` when given (`make dev`'s, for
    curl to find), else in a directory of their own, removed when the stack stops."""
    if state_dir is None:
        directory = Path(tempfile.mkdtemp(prefix="devstack-pki-"))
        cleanup.callback(shutil.rmtree, directory, ignore_errors=True)
    else:
        directory = state_dir / "pki"
    return create_pki(directory, partner_subjects(policy))


def _run_files(state_dir: str | Path | None, policy: Path, cleanup: ExitStack) -> tuple[Pki, Path]:
    """What a run writes for the commands beside it: the test CA, the metrics' file."""
    directory = Path(state_dir) if state_dir is not None else None
    return _pki(directory, policy, cleanup), _metrics_log(directory, cleanup)


def _tls_listener(host: str, port: int, pki: Pki, cleanup: ExitStack) -> TlsRouterHTTPServer:
    httpd = _listening(
        "the HTTPS router",
        host,
        port,
        lambda: TlsRouterHTTPServer((host, port), pki.server_context()),
    )
    cleanup.callback(httpd.server_close)
    return httpd


def _serve(httpd: RouterHTTPServer, cleanup: ExitStack) -> None:
    serving = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    serving.start()
    cleanup.callback(serving.join, 5)
    cleanup.callback(httpd.shutdown)


def local_parameters(
    declared: Mapping[str, object], kintone_url: str, router_url: str
) -> dict[str, str]:
    """Template parameters whose deployed value makes no sense on this machine."""
    port = router_url.rsplit(":", 1)[1]
    origins = dict.fromkeys([router_url, f"http://127.0.0.1:{port}", f"http://localhost:{port}"])
    values = {"KintoneBaseUrl": kintone_url, "AllowedOrigins": ",".join(origins)}
    return {name: value for name, value in values.items() if name in declared}


def lambda_environment(spec: FunctionSpec, moto: Moto, policy: Path) -> dict[str, str]:
    """A worker's whole environment: Lambda's, then the template's, then the local wiring."""
    environment = {name: os.environ[name] for name in _INHERITED_VARIABLES if name in os.environ}
    environment.update(LANG="en_US.UTF-8", TZ=":UTC")
    environment.update(spec.environment)
    environment.update(moto.environment())
    stream = time.strftime("%Y/%m/%d", time.gmtime()) + "/[$LATEST]" + secrets.token_hex(16)
    environment.update(
        # No profile or credentials file can divert a worker from moto.
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_LAMBDA_FUNCTION_NAME=spec.name,
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(spec.memory_mb),
        AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{spec.name}",
        AWS_LAMBDA_LOG_STREAM_NAME=stream,
        AWS_LAMBDA_INITIALIZATION_TYPE="on-demand",
        LAMBDA_TASK_ROOT=str(spec.code_dir),
        _HANDLER=spec.handler,
        # What `sam local` sets; Powertools' Tracer then stays off instead of seeking X-Ray.
        AWS_SAM_LOCAL="true",
        SEKISHO_POLICY=str(policy),
    )
    if spec.runtime:
        environment["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
    return environment


def _policy(path: Path) -> Policy | None:
    """The policy, for what the stack itself wires from it; None when there is no file (the
    functions then fail loudly at their cold start). A file that does not validate raises
    PolicyError before anything is started: `make build` would not ship it either."""
    if not path.is_file():
        return None
    return read_policy(path)


def _functions_policy(policy_path: Path, policy: Policy | None, cleanup: ExitStack) -> Path:
    """What the functions start from: the policy's reviewed snapshot, as `make build` bundles
    it into the layer; without a policy file, the missing path itself, so each function's
    cold start fails with the policy's own error, as it would in AWS."""
    if policy is None:
        return policy_path
    directory = Path(tempfile.mkdtemp(prefix="devstack-layer-"))
    cleanup.callback(shutil.rmtree, directory, ignore_errors=True)
    return write_snapshot(policy, directory).path


def _refused_modules(spec: FunctionSpec) -> tuple[str, ...]:
    """Modules here that the function's layers and the runtime do not ship: its workers may
    not import them (PartnerFunction's signatures layer is another function's refusal)."""
    requirements = layer_requirements(spec.layer_dirs)
    missing = [path for path in requirements if not path.is_file()]
    if missing or not requirements:
        log.warning("%s: no %s; its workers may import anything installed here",
                    spec.logical_id, missing or "layer")  # fmt: skip
        return ()
    return tuple(sorted(unshipped_modules(*requirements)))


def _kintone_tokens(policy: Policy | None) -> list[DeclaredToken]:
    if policy is None:
        return []
    try:
        return list(declared_tokens(policy).values())
    except ConfigurationError as exc:
        # `sekisho probe` and `sekisho check` say the same; the stack serves regardless.
        log.warning("%s", exc)
        return []


def _default_api(api_specs: Mapping[str, ApiSpec], table: RouteTable) -> ApiSpec:
    """The API whose gateway responses answer requests that match no route."""
    used = list(dict.fromkeys(route.api.logical_id for route in table))
    explicit = [name for name in used if name != IMPLICIT_API]
    return api_specs[(explicit or used or [IMPLICIT_API])[0]]


def _warn_about_runtime(specs: Sequence[FunctionSpec]) -> None:
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for runtime in sorted(
        {spec.runtime for spec in specs if spec.runtime and spec.runtime != here}
    ):
        log.warning("functions declare %s; the local workers run %s", runtime, here)


def pool_sizes(
    table: RouteTable, sources: Sequence[SqsSource], specs: Sequence[FunctionSpec], workers: int
) -> dict[str, int]:
    """Workers per function: `workers` for a routed one, a queue's concurrency for a
    consumer, never more than the function's reserved concurrency."""
    sizes = dict.fromkeys((route.function for route in table), workers)
    consumed: dict[str, int] = {}
    for source in sources:
        consumed[source.function] = consumed.get(source.function, 0) + source.concurrency
    for function, size in consumed.items():
        sizes[function] = max(sizes.get(function, 0), size)
    for spec in specs:
        if spec.logical_id in sizes and spec.reserved_concurrency is not None:
            sizes[spec.logical_id] = max(1, min(sizes[spec.logical_id], spec.reserved_concurrency))
    return sizes


def _serve_functions(
    data: Mapping[str, Any],
    resolver: Resolver,
    *,
    template_dir: Path,
    table: RouteTable,
    sources: Sequence[SqsSource],
    environment: Callable[[FunctionSpec], dict[str, str]],
    workers: int,
    cleanup: ExitStack,
    refuse_unshipped: bool = False,
    metrics_log: Path | None = None,
) -> dict[str, FunctionPool]:
    """A warm pool of workers for every function a route or a queue reaches."""
    # When profiling is switched on, this process counts from here, as its workers do.
    profiling.install("stack")
    wanted = {route.function for route in table} | {source.function for source in sources}
    specs = functions(data, resolver, template_dir, only=wanted)
    _warn_about_runtime(specs)
    sizes = pool_sizes(table, sources, specs, workers)
    pools = {}
    for spec in specs:
        config = WorkerConfig(
            logical_id=spec.logical_id,
            handler_file=spec.module_file,
            handler_attr=spec.handler_attr,
            import_paths=(str(spec.code_dir), *(str(path) for path in spec.layer_dirs)),
            environment=environment(spec),
            invoked_function_arn=arn("lambda", f"function:{spec.name}"),
            refused_modules=_refused_modules(spec) if refuse_unshipped else (),
            metrics_log=None if metrics_log is None else str(metrics_log),
        )
        # A queue's consumer starts with one warm worker and scales out when batches
        # overlap; a routed function starts all of its workers, so no request waits.
        routed = any(route.function == spec.logical_id for route in table)
        pool = FunctionPool(config, spec.timeout, sizes[spec.logical_id], None if routed else 1)
        cleanup.callback(pool.close)
        pools[spec.logical_id] = pool
    # All pools spawn first, so their workers load their handlers side by side.
    for pool in pools.values():
        pool.warm()
    return pools


def _pumps(
    sources: Sequence[SqsSource],
    queues: Sequence[QueueInfo],
    pools: Mapping[str, FunctionPool],
    moto: Moto,
    *,
    start_polling: bool,
    cleanup: ExitStack,
) -> list[SqsPump]:
    by_arn = {queue.arn: queue for queue in queues}
    pumps = []
    for source in sources:
        queue = by_arn.get(source.queue_arn)
        if queue is None:
            raise TemplateError(
                f"{source.function}.{source.event}: the queue {source.queue_name} is not one "
                "this template creates"
            )
        pool = pools[source.function]
        if queue.visibility_timeout < pool.timeout:
            # CloudFormation refuses this mapping: a batch could reappear mid-invocation.
            log.warning(
                "%s: VisibilityTimeout %d s is shorter than %s's timeout",
                queue.name,
                queue.visibility_timeout,
                source.function,
            )
        pump = SqsPump(source, queue.url, moto.client("sqs"), pool.invoke)
        if start_polling:
            pump.start()
            # Registered after the pools and moto, so it stops before them.
            cleanup.callback(pump.stop)
        pumps.append(pump)
    return pumps


def start(
    repo_root: str | Path | None = None,
    *,
    host: str = "127.0.0.1",
    router_port: int = 0,
    moto_port: int = 0,
    kintone_port: int = 0,
    template: str | Path | None = None,
    policy: str | Path | None = None,
    workers: int = 1,
    web: str | Path | None = None,
    secrets_file: str | Path | None = None,
    seed: str | Path | None = None,
    parameters: Mapping[str, str] | None = None,
    pump: bool = True,
    tls_port: int = 0,
    state_dir: str | Path | None = None,
    environment: Mapping[str, str] | None = None,
) -> RunningStack:
    """Start everything; every part started so far is stopped again if a later one fails.

    A policy file that does not validate raises `sekisho.policy.PolicyError` before any
    part is started.

    With `pump=False` no queue is polled by itself: a test drives delivery with
    `RunningStack.pump_once`.

    The routes are also served over HTTPS on `tls_port`, with a client certificate of a
    test CA made at start required (`RunningStack.pki`; its files under `state_dir`/pki
    when given, else in a temporary directory).

    `environment` is added to every worker's, last (a fault rehearsal points one
    service's endpoint elsewhere).
    """
    root = Path(repo_root) if repo_root is not None else DEFAULT_REPO_ROOT
    template_path = Path(template) if template is not None else root / "template.yaml"
    policy_path = (Path(policy) if policy is not None else root / "policy.yaml").resolve()
    web_dir = Path(web) if web is not None else root / "web"
    data = load_template(template_path)
    secrets_spec = load_secrets_file(Path(secrets_file) if secrets_file else DEFAULT_SECRETS_FILE)
    if not policy_path.is_file():
        log.warning("no policy at %s: functions that read SEKISHO_POLICY will fail", policy_path)
    # Read before anything binds a port: a policy that does not validate (PolicyError) starts
    # no part of the stack.
    policy_model = _policy(policy_path)

    cleanup = ExitStack()
    try:
        moto = Moto(host, moto_port)
        cleanup.callback(moto.stop)
        kintone = _listening(
            "the kintone emulator",
            host,
            kintone_port,
            lambda: kintone_server.start(seed or DEFAULT_SEED, host, kintone_port),
        )
        cleanup.callback(kintone.stop)
        # Bound now, served last: the functions' allowed origins need its port.
        httpd = _listening(
            "the router", host, router_port, lambda: RouterHTTPServer((host, router_port))
        )
        cleanup.callback(httpd.server_close)
        router_url = _url(host, int(httpd.server_address[1]))
        pki, metrics_log = _run_files(state_dir, policy_path, cleanup)
        tls_httpd = _tls_listener(host, tls_port, pki, cleanup)
        tls_url = _url(host, int(tls_httpd.server_address[1]), "https")

        overrides = local_parameters(data.get("Parameters") or {}, kintone.url, router_url)
        resolver = Resolver(data, parameter_values(data, {**overrides, **(parameters or {})}))
        register_resources(data, resolver, moto.url)
        tables = create_tables(moto.client("dynamodb"), data, resolver)
        queues = create_queues(moto.client("sqs"), data, resolver)
        buckets = create_buckets(moto.client("s3"), data, resolver)
        demo_values = secret_strings(secrets_spec, kintone.emulator.store.seed)
        secret_names = create_secrets(moto.client("secretsmanager"), data, resolver, demo_values)
        create_parameters(moto.client("ssm"), data, resolver)
        mail = mail_sender(resolver.parameters)
        create_mail_identity(moto.client("sesv2"), mail)

        api_specs = apis(data, resolver)
        table = RouteTable(
            routes(data, resolver, api_specs), mock_methods(data, resolver, api_specs)
        )
        sources = sqs_sources(data, resolver)
        functions_policy = _functions_policy(policy_path, policy_model, cleanup)
        pools = _serve_functions(
            data,
            resolver,
            template_dir=template_path.parent,
            table=table,
            sources=sources,
            environment=lambda spec: {
                **lambda_environment(spec, moto, functions_policy),
                **(environment or {}),
            },
            workers=workers,
            cleanup=cleanup,
            # Only with the snapshot: validating a YAML policy needs what the layer lacks.
            refuse_unshipped=policy_model is not None,
            metrics_log=metrics_log,
        )
        pumps = _pumps(sources, queues, pools, moto, start_polling=pump, cleanup=cleanup)
        httpd.router = Router(table, pools, _default_api(api_specs, table), web_dir)
        tls_httpd.router = httpd.router
        _serve(httpd, cleanup)
        _serve(tls_httpd, cleanup)
        webhook_sources = routed_sources(policy_model, table) if policy_model else []
        hooks = kintone_webhooks(policy_model, table) if policy_model else []
        # The policy's declared names, read under the template's secret name prefix.
        secretsmanager = prefixed(moto.client("secretsmanager"), secret_prefix(data, resolver))
        register_kintone_webhooks(kintone.emulator.webhooks, secretsmanager, router_url, hooks)
    except BaseException:
        cleanup.close()
        raise
    return RunningStack(
        router_url=router_url,
        kintone=kintone,
        moto_url=moto.url,
        routes=list(table),
        tables=tables,
        secret_names=secret_names,
        cleanup=cleanup,
        queues=queues,
        buckets=buckets,
        pumps=pumps,
        kintone_webhooks=hooks,
        webhook_sources=webhook_sources,
        kintone_tokens=_kintone_tokens(policy_model),
        mail=mail,
        tls_url=tls_url,
        pki=pki,
        pools=pools,
        metrics_log=metrics_log,
    )
