"""`make bench`, first part: every function's cold start, its memory, and the layer's size.

Figures, each next to its goal (a benchmark, not a test: nothing here asserts a speed):

1. Cold init of each function (lookup, intake, deliver, webhook, rotate, action): loading
   its ``functions/<name>/app.py`` in a fresh process, as Lambda's init does, next to
   ``import boto3`` + one client in a fresh process; alternated round by round, median of
   N. The policy is the reviewed snapshot, as ``make build`` bundles it, and the modules
   are compiled, as ``make build`` compiles the layer.
2. The same process once it has also built the service its first request uses (clients;
   the guard reads its hash key at its first use): what a deferred import or client costs is then
   visible rather than hidden in the first request.
3. Peak RSS (``VmHWM``: ``ru_maxrss`` would report the parent's, which a child inherits
   across fork and exec) of each of those processes, after init and after the service.
4. The layers' zips for arm64: ``layers/sekisho/requirements.txt`` installed for
   manylinux2014 aarch64 / CPython 3.12 (boto3 comes with the runtime), the sekisho package
   with its snapshot, compiled, zipped; and PartnerFunction's second layer,
   ``layers/signatures/requirements.txt`` (RFC 9421 and cryptography), the same way.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack.layer_modules import layer_requirements, unshipped_modules
from tests.bench.figures import Figure, record

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "sekisho"
SIGNATURES = ROOT / "layers" / "signatures"
# A function's layers beyond the shared one, as template.yaml gives them
# (tests/unit/test_template.py holds PartnerFunction the only one with SignaturesLayer).
EXTRA_LAYERS = {"partner": (SIGNATURES,)}

GOAL_RATIO = 1.15
GOAL_RSS_MB = 90
# The shared layer, which every function downloads and unpacks at a cold start. It was
# 11 MB with cryptography (about 4.9 MB zipped for manylinux aarch64), which only partner
# needs and now has in a layer of its own; partner's two layers together stay within 11.
GOAL_ZIP_MB = 8
GOAL_PARTNER_ZIP_MB = 11

# The function's directory -> the service its first request builds (module:callable).
FUNCTIONS = {
    "lookup": "sekisho.wiring.lookup:lookup_service",
    "intake": "sekisho.wiring.intake:intake_service",
    "deliver": "sekisho.wiring.deliver:deliver_service",
    "webhook": "sekisho.wiring.webhook:webhook_service",
    "rotate": "sekisho.wiring.rotate:rotator",
    "action": "sekisho.wiring.action:action_service",
    "session": "sekisho.wiring.session:session_routes",
    "partner": "sekisho.wiring.partner:partner_routes",
}
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "ap-northeast-1",
    "AWS_REGION": "ap-northeast-1",
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
}
# Names only: nothing is called at init, and building a service calls only moto.
FUNCTION_ENV = {
    "KINTONE_BASE_URL": "http://127.0.0.1:9",
    "ALLOWED_ORIGINS": "http://127.0.0.1:3000",
    "GUARD_TABLE": "GuardTable",
    "IDEMPOTENCY_TABLE": "IdempotencyTable",
    "ATTACHMENT_BUCKET": "attachmentbucket",
    "ENTRIES_TABLE": "EntriesTable",
    "MAIL_FROM_ADDRESS": "no-reply@sekisho.example",
    "POWERTOOLS_SERVICE_NAME": "sekisho",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
QUEUES = ("INTAKE_QUEUE_URL", "WEBHOOK_QUEUE_URL", "WEBHOOK_DEAD_LETTER_QUEUE_URL")

PEAK_RSS = """
def peak_rss_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
"""
BASELINE = (
    PEAK_RSS
    + """
import json, time
t, c = time.perf_counter(), time.process_time()
import boto3
boto3.client("secretsmanager")
init, cpu = time.perf_counter() - t, time.process_time() - c
print("BENCH " + json.dumps({"init": init, "cpu": cpu, "rss_init_kb": peak_rss_kb()}))
"""
)
# What Lambda would not find is refused, as the layer ships it (cryptography, say, which
# PyJWT imports when it is installed and Lambda's runtime does not have): a finder written
# here, because importing the local stack's one would load modules the function then finds
# already imported.
REFUSE = """
import importlib.abc, json, os, sys
class _NotInTheLayer(importlib.abc.MetaPathFinder):
    refused = frozenset(json.loads(os.environ.get("REFUSED_MODULES") or "[]"))
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in self.refused:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None
sys.meta_path.insert(0, _NotInTheLayer())
"""
FUNCTION = (
    PEAK_RSS
    + REFUSE
    + """
import json, sys, time
t, c = time.perf_counter(), time.process_time()
import importlib, importlib.util
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
init, cpu = time.perf_counter() - t, time.process_time() - c
rss_init = peak_rss_kb()
name, _, attr = sys.argv[2].partition(":")
getattr(importlib.import_module(name), attr)()
built = time.perf_counter() - t
print("BENCH " + json.dumps(
    {"init": init, "cpu": cpu, "rss_init_kb": rss_init, "built": built,
     "rss_built_kb": peak_rss_kb()}
))
"""
)


@dataclass(frozen=True)
class Figures:
    init: float
    cpu: float  # the init's CPU time: what the wall clock would be on an idle machine
    built: float
    rss_init_mb: float
    rss_built_mb: float
    # Medians of the ratios to the baseline run just before (1 for the baseline itself).
    ratio: float = 1.0
    cpu_ratio: float = 1.0
    built_ratio: float = 1.0


def child_env(snapshot: Path, moto_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEKISHO_"))}
    env.update(FAKE_AWS)
    env.update(FUNCTION_ENV)
    env.update({name: f"{moto_url}/123456789012/{name.lower()}" for name in QUEUES})
    env.update(
        AWS_ENDPOINT_URL=moto_url,
        SEKISHO_POLICY=str(snapshot),
        # The layer is /opt/python in Lambda; nothing else of this checkout is importable.
        PYTHONPATH=str(LAYER),
    )
    return env


def refused_modules(name: str) -> str:
    """What the function's layers and the runtime do not ship, for REFUSED_MODULES."""
    layers = (LAYER, *EXTRA_LAYERS.get(name, ()))
    return json.dumps(sorted(unshipped_modules(*layer_requirements(layers))))


def run(script: str, argv: list[str], env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", script, *argv], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:1]} failed:\n{done.stderr[-2000:]}")
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    return json.loads(line.removeprefix("BENCH "))


def measure(runs: int, env: dict[str, str]) -> tuple[Figures, dict[str, Figures]]:
    """Round by round, every function right after a baseline of its own (in a rotating
    order), so each ratio compares two processes that met the same moment of a shared
    machine; the ratios reported are the medians of those pairs."""
    names = list(FUNCTIONS)
    baseline: list[dict[str, float]] = []
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            base = run(BASELINE, [], env)
            app = str(ROOT / "functions" / name / "app.py")
            sample = run(
                FUNCTION, [app, FUNCTIONS[name]], {**env, "REFUSED_MODULES": refused_modules(name)}
            )
            sample.update(
                ratio=sample["init"] / base["init"],
                cpu_ratio=sample["cpu"] / base["cpu"],
                built_ratio=sample["built"] / base["init"],
            )
            baseline.append(base)
            samples[name].append(sample)

    def median(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(row.get(key, row["init"]) for row in rows)

    def figures(rows: list[dict[str, float]]) -> Figures:
        return Figures(
            init=median(rows, "init"),
            cpu=median(rows, "cpu"),
            built=median(rows, "built"),
            rss_init_mb=max(row["rss_init_kb"] for row in rows) / 1024,
            rss_built_mb=max(row.get("rss_built_kb", row["rss_init_kb"]) for row in rows) / 1024,
            ratio=statistics.median(row.get("ratio", 1.0) for row in rows),
            cpu_ratio=statistics.median(row.get("cpu_ratio", 1.0) for row in rows),
            built_ratio=statistics.median(row.get("built_ratio", 1.0) for row in rows),
        )

    return figures(baseline), {name: figures(rows) for name, rows in samples.items()}


@contextlib.contextmanager
def moto_with_the_guard_key() -> Iterator[str]:
    """moto's server with the one secret a service reads when it is built."""
    import boto3  # noqa: PLC0415
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        with mock_env(FAKE_AWS):
            boto3.client("secretsmanager", endpoint_url=url).create_secret(
                Name="sekisho/guard/hash-key",
                SecretString=json.dumps({"kind": "hmac", "key": "k" * 48}),
            )
        yield url
    finally:
        server.stop()


@contextlib.contextmanager
def mock_env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def reviewed_snapshot(directory: Path) -> Path:
    """What `make build` bundles: the checked policy's snapshot."""
    from sekisho.policy.snapshot import write_snapshot  # noqa: PLC0415
    from sekisho.policy.validation import read_policy  # noqa: PLC0415

    return write_snapshot(read_policy(ROOT / "policy.yaml"), directory).path


def compile_sources() -> None:
    # As `make build` compiles the layer: /opt is read-only in Lambda, and a module with no
    # .pyc is compiled again at every cold start (this shell may set PYTHONDONTWRITEBYTECODE).
    for folder in (LAYER / "sekisho", ROOT / "functions"):
        compileall.compile_dir(str(folder), quiet=1)


# ------------------------------------------------------------------------- the layer


@dataclass(frozen=True)
class LayerZip:
    size: int
    parts: list[tuple[str, int]]  # top-level entry under python/ -> compressed bytes


def layer_zip(work: Path, layer: Path = LAYER) -> LayerZip:
    """``layer``'s requirements installed for arm64 into python/, with the sekisho package
    and its snapshot when the layer holds it, compiled, zipped."""
    target = work / "python"
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--platform", "manylinux2014_aarch64", "--only-binary=:all:",
            "--python-version", "3.12", "--implementation", "cp",
            "--target", str(target), "-r", str(layer / "requirements.txt"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    if (layer / "sekisho").is_dir():
        package = target / "sekisho"
        shutil.copytree(layer / "sekisho", package, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "policy.yaml", package / "policy.yaml")
        reviewed_snapshot(package)
    compileall.compile_dir(
        str(target),
        quiet=1,
        force=True,
        invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    archive = work / "layer.zip"
    parts: dict[str, int] = {}
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(target.rglob("*")):
            if path.is_file():
                name = path.relative_to(work).as_posix()
                zf.write(path, name)
                top = path.relative_to(target).parts[0].split("-")[0]
                parts[top] = parts.get(top, 0) + zf.getinfo(name).compress_size
    return LayerZip(archive.stat().st_size, sorted(parts.items(), key=lambda p: -p[1]))


# ------------------------------------------------------------------------ reporting


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER"


def report(runs: int, base: Figures, functions: dict[str, Figures]) -> list[str]:
    lines = [
        f"cold init: each function in a fresh process right after a baseline of its own, "
        f"{runs} rounds, medians of the pairs' ratios (a shared 2-core machine: medians, not "
        "minima)",
        f"  baseline: import boto3 + one client   {base.init * 1000:7.1f} ms "
        f"(cpu {base.cpu * 1000:.1f} ms)   peak RSS {base.rss_init_mb:5.1f} MB",
        f"  {'function':<9}{'init':>10}{'ratio':>8}  {'goal':<11}{'cpu ratio':>9}"
        f"{'+ service':>12}{'ratio':>7}   {'peak RSS init / +service':<26}goal",
    ]
    for name, f in functions.items():
        ratio, built = f.ratio, f.built_ratio
        rss = max(f.rss_init_mb, f.rss_built_mb)
        lines.append(
            f"  {name:<9}{f.init * 1000:7.1f} ms{ratio:7.2f}x  "
            f"≤{GOAL_RATIO}x {verdict(ratio <= GOAL_RATIO):<4}  {f.cpu_ratio:7.2f}x"
            f"{f.built * 1000:9.1f} ms{built:6.2f}x   "
            f"{f.rss_init_mb:5.1f} / {f.rss_built_mb:5.1f} MB         "
            f"≤{GOAL_RSS_MB} MB {verdict(rss <= GOAL_RSS_MB)}"
        )
    lines += [
        "  cpu ratio: the same inits in CPU time, which other work on the machine disturbs less",
        "  + service: the same process once it has built what its first request uses (its",
        "  clients, the guard's key from moto): work a function defers is counted there",
    ]
    return lines


def run_figures(functions: dict[str, Figures]) -> list[Figure]:
    """This run's figures for the table `make bench` ends with."""
    rows = []
    for name, f in functions.items():
        rows += [
            Figure(f"{name}: cold init ratio", f.ratio, "x", GOAL_RATIO),
            Figure(f"{name}: init + service ratio", f.built_ratio, "x"),
            Figure(
                f"{name}: peak RSS", max(f.rss_init_mb, f.rss_built_mb), "MB", GOAL_RSS_MB, digits=1
            ),
        ]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=11)
    parser.add_argument("--no-layer", action="store_true", help="skip building the layer zip")
    args = parser.parse_args(argv)

    compile_sources()
    with tempfile.TemporaryDirectory() as tmp, moto_with_the_guard_key() as moto_url:
        snapshot = reviewed_snapshot(Path(tmp) / "layer")
        base, functions = measure(args.cold_runs, child_env(snapshot, moto_url))
    print("\n".join(report(args.cold_runs, base, functions)))
    record(*run_figures(functions))

    if args.no_layer:
        return 0
    zips = {}
    for layer in (LAYER, SIGNATURES):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                zips[layer.name] = layer_zip(Path(tmp), layer)
            except subprocess.CalledProcessError as exc:
                print(f"\n{layer.name} layer zip (arm64): not measured, pip failed:\n"
                      f"{exc.stderr[-1000:]}")  # fmt: skip
                return 0
    shared, signatures = zips[LAYER.name].size / 1e6, zips[SIGNATURES.name].size / 1e6
    record(
        Figure("layer zip (arm64, compiled)", shared, "MB", GOAL_ZIP_MB),
        Figure("signatures layer zip (arm64, compiled)", signatures, "MB"),
        Figure("partner's layers zipped (arm64)", shared + signatures, "MB", GOAL_PARTNER_ZIP_MB),
    )
    print(
        f"\nlayer zip (arm64, compiled): {shared:.2f} MB, every function's   "
        f"goal ≤ {GOAL_ZIP_MB} MB {verdict(shared <= GOAL_ZIP_MB)}\n"
        f"signatures layer zip: {signatures:.2f} MB, partner's alone; partner's two "
        f"{shared + signatures:.2f} MB   goal ≤ {GOAL_PARTNER_ZIP_MB} MB "
        f"{verdict(shared + signatures <= GOAL_PARTNER_ZIP_MB)}"
    )
    for name, built in zips.items():
        print(
            f"  largest parts ({name}): "
            + ", ".join(f"{part} {size / 1_000_000:.2f} MB" for part, size in built.parts[:6])
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
