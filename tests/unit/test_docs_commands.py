"""Every command README.md and docs/ show exists and runs as written, from a fresh shell.

The commands are the lines of the fenced shell blocks (```bash, ```sh, ```shell; in a
```console block the lines after `$ `), the lines starting `$ ` or `make ` of any other
block, and the inline code that starts `make ` or `.venv/bin/` (or `python -m`, which is
refused: a fresh shell has no activated venv). A block marked as output (```text,
```output) is not read. Each command is checked by what it is:

- `make X VAR=...`: X is a target of the Makefile and each VAR a variable it reads;
- `.venv/bin/sekisho ...`, `.venv/bin/python -m devstack ...`: the subcommand's `--help`
  exits 0 (that runs it), and the whole line parses with the command's own parser;
- `.venv/bin/python -m pytest|tests.bench.*`, `-c CODE`: the paths or module exist, the
  code compiles;
- `curl`: a loopback URL whose method and path the router serves (openapi.json, or a
  page of web/; on its port or, https only, its mutual TLS port) or the kintone emulator
  serves (its API and its admin routes);
- `aws`: a service and operation botocore knows, with options of that operation;
- `sam`: a known subcommand, with functions, events and config envs that exist;
- the shell glue around them (`export`, `eval`, `printf`, `openssl`, a function the block
  defines...), whose `$(...)` substitutions are checked as commands too.

Anything else fails: a new kind of command in the docs needs a check here.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import itertools
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCKS = {"bash", "sh", "shell", "console"}
OUTPUT_BLOCKS = {"text", "output"}
# What only glues the checked commands together; their substitutions are still checked.
SHELL_GLUE = {
    "cat", "cd", "date", "echo", "eval", "export", "od", "openssl", "pbpaste", "printf",
    "sed", "sha256sum", "tr", "unset",
}  # fmt: skip
# The CLI's names for services botocore knows by another (its own `aws s3` is no API).
AWS_SERVICE_NAMES = {"s3api": "s3"}
AWS_GLOBAL_OPTIONS = {"endpoint-url", "region", "output", "query", "profile", "no-cli-pager"}
SAM_COMMANDS = {("build",), ("deploy",), ("validate",), ("local", "invoke")}
ROUTER_PORT, EMULATOR_PORT = 3000, 9100
# The router's mutual TLS listener (SEKISHO_TLS_PORT): the same routes, over https only.
TLS_ROUTER_PORT = 3443
LOOPBACK = {"127.0.0.1", "localhost"}


@dataclass(frozen=True)
class Command:
    where: str  # "docs/webhooks.md:120"
    text: str
    inline: bool = False


@dataclass
class Context:
    """What one document has said so far: the shell functions it defined. An inline
    command names a command in prose (`.venv/bin/python -m devstack kintone-token`): its
    subcommand must exist, its arguments may be left out."""

    functions: set[str] = field(default_factory=set)
    inline: bool = False


class Refused(Exception):
    pass


# ---------------------------------------------------------------------------- extraction

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w-]*)")
_INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_INLINE_COMMAND = re.compile(r"^(make \S|\.venv/bin/\S+ \S|python3? -m )")


def _joined(lines: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Lines with their backslash continuations joined, each with its first line number."""
    start, parts = None, []
    for number, line in lines:
        if start is None:
            start = number
        if line.rstrip().endswith("\\"):
            parts.append(line.rstrip()[:-1])
            continue
        parts.append(line)
        yield start, " ".join(part.strip() for part in parts)
        start, parts = None, []
    if parts and start is not None:
        yield start, " ".join(part.strip() for part in parts)


def _block_commands(lang: str, lines: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    if lang in OUTPUT_BLOCKS or lang == "mermaid":
        return
    if lang in SHELL_BLOCKS - {"console"}:
        for number, line in _joined(lines):
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                yield number, stripped
        return
    # console and every other block: only what follows a prompt, or a make line.
    prompted: list[tuple[int, str]] = []
    for number, line in lines:
        stripped = line.strip()
        if stripped.startswith("$ "):
            prompted.append((number, stripped[2:]))
        elif (prompted and prompted[-1][1].rstrip().endswith("\\")) or (
            lang != "console" and stripped.startswith("make ")
        ):
            prompted.append((number, stripped))
    yield from _joined(prompted)


def commands_of(text: str, name: str) -> Iterator[list[Command]]:
    """The commands of one document, block by block (an inline command is a block)."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            for span in _INLINE.findall(lines[index]):
                if _INLINE_COMMAND.match(span.strip()):
                    yield [Command(f"{name}:{index + 1}", span.strip(), inline=True)]
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        body: list[tuple[int, str]] = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append((index + 1, lines[index][indent:]))
            index += 1
        index += 1
        found = [
            Command(f"{name}:{number}", line)
            for number, line in _block_commands(opening["lang"].lower(), body)
        ]
        if found:
            yield found


# ------------------------------------------------------------------------- shell words


def _uncommented(line: str) -> str:
    """The line without a trailing `# comment` (outside quotes)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def _substitutions(line: str) -> tuple[str, list[str]]:
    """The line with every `$(...)` outside single quotes replaced by SUBST, and their
    insides (each may hold substitutions of its own)."""
    out, inner, i, quote = [], [], 0, None
    while i < len(line):
        char = line[i]
        if quote == "'":
            out.append(char)
            quote = None if char == "'" else quote
        elif char == "'" and quote is None:
            out.append(char)
            quote = "'"
        elif char == '"':
            out.append(char)
            quote = None if quote == '"' else '"'
        elif line.startswith("$(", i):
            depth, j, q = 1, i + 2, None
            while j < len(line) and depth:
                c = line[j]
                if q:
                    q = None if c == q else q
                elif c in "'\"":
                    q = c
                elif c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                j += 1
            if depth:
                raise Refused("an unbalanced $(")
            inner.append(line[i + 2 : j - 1])
            out.append("SUBST")
            i = j
            continue
        else:
            out.append(char)
        i += 1
    return "".join(out), inner


def _segments(line: str) -> list[str]:
    """The simple commands of a line: split at |, ||, && and ; outside quotes."""
    parts, current, quote, i = [], [], None, 0
    while i < len(line):
        char = line[i]
        if quote:
            quote = None if char == quote else quote
            current.append(char)
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char in "|;&":
            parts.append("".join(current))
            current = []
            if line.startswith(("||", "&&"), i):
                i += 1
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


_REDIRECT = re.compile(r"^\d?(>>?|<)(&\d)?$")
_PLACEHOLDER = re.compile(r"^<[^<>]+>$")


def _words(segment: str) -> list[str]:
    try:
        words = shlex.split(segment)
    except ValueError as exc:
        raise Refused(f"not a shell line: {exc}") from None
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif _REDIRECT.match(word):
            skip = not word.endswith(("&1", "&2"))
        elif word in {"{", "}"}:
            continue
        else:
            kept.append(word)
    return kept


# ------------------------------------------------------------------------------ checks


@functools.cache
def make_targets_and_variables() -> tuple[frozenset[str], frozenset[str]]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set()
    for line in text.splitlines():
        if line.startswith(("\t", "#", " ")) or line.startswith("."):
            continue
        match = re.match(r"^([A-Za-z0-9_][A-Za-z0-9_ .-]*?)\s*::?(?![=])", line)
        if match:
            targets.update(match[1].split())
    variables = set(re.findall(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]", text))
    variables |= set(re.findall(r"\$\((?:origin|if) \$?\(?([A-Za-z_][A-Za-z0-9_]*)", text))
    return frozenset(targets), frozenset(variables)


def check_make(words: list[str], context: Context) -> None:
    targets, variables = make_targets_and_variables()
    named = [w for w in words[1:] if "=" not in w]
    if not named:
        raise Refused("make without a target runs `help` only: name the target")
    for word in words[1:]:
        if word.startswith("-"):
            raise Refused(f"make option {word}: show the target instead")
        if "=" in word:
            name = word.split("=", 1)[0]
            if name not in variables:
                raise Refused(f"the Makefile reads no variable {name}")
        elif word not in targets:
            raise Refused(f"the Makefile has no target {word!r}")
    if not context.inline:
        _check_devstack_wrapper(named, dict(w.split("=", 1) for w in words[1:] if "=" in w))


def _check_devstack_wrapper(targets: list[str], values: dict[str, str]) -> None:
    """`make send` and `make switch` hand their variables to devstack: they must parse."""
    if "send" in targets:
        argv = ["send", values.get("SOURCE", ""), *shlex.split(values.get("ARGS", ""))]
        if not argv[1]:
            raise Refused("make send needs SOURCE=<webhook source>")
        _parses(_devstack_parser(), argv)
    if "switch" in targets:
        if ("ROUTE" in values) != ("STATE" in values):
            raise Refused("make switch takes ROUTE and STATE together, or neither")
        argv = ["switch", *([values["STATE"], values["ROUTE"]] if "ROUTE" in values else [])]
        _parses(_devstack_parser(), argv)


def _sekisho_parser() -> argparse.ArgumentParser:
    from sekisho.cli import build_parser  # noqa: PLC0415

    return build_parser()


def _devstack_parser() -> argparse.ArgumentParser:
    from devstack.cli import _parser  # noqa: PLC0415

    return _parser()


def _subcommand_path(parser: argparse.ArgumentParser, args: list[str]) -> tuple[str, ...]:
    """The subcommand words at the front of args (``token stage``), as the parser has them."""
    path: list[str] = []
    for word in args:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions or word not in actions[0].choices:
            break
        path.append(word)
        parser = actions[0].choices[word]
    return tuple(path)


@functools.cache
def help_exits_zero(program: tuple[str, ...], path: tuple[str, ...]) -> tuple[int, str]:
    done = subprocess.run(
        [*program, *path, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stderr[-400:]


def _parses(parser: argparse.ArgumentParser, args: list[str]) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(args)
        except SystemExit as exc:
            if exc.code:
                refusal = err.getvalue().strip().splitlines()[-1:]
                raise Refused(f"the command's parser refuses it: {refusal}") from None


def check_cli(
    program: tuple[str, ...], parser: argparse.ArgumentParser, args: list[str], context: Context
) -> None:
    path = _subcommand_path(parser, args)
    if not path and program[-1] != "devstack":
        raise Refused(f"{' '.join(program)} needs a subcommand")
    code, stderr = help_exits_zero(program, path)
    if code != 0:
        raise Refused(f"{' '.join((*program, *path))} --help exits {code}: {stderr}")
    if not context.inline:
        _parses(parser, args)


def check_python(args: list[str], context: Context) -> None:
    if args[:2] == ["-m", "devstack"]:
        check_cli((".venv/bin/python", "-m", "devstack"), _devstack_parser(), args[2:], context)
    elif args[:2] == ["-m", "pytest"]:
        missing = [a for a in args[2:] if not a.startswith("-") and not (ROOT / a).exists()]
        if missing:
            raise Refused(f"no such test path: {missing}")
    elif len(args) >= 2 and args[0] == "-m" and args[1].startswith("tests."):
        if not (ROOT / (args[1].replace(".", "/") + ".py")).is_file():
            raise Refused(f"no module {args[1]}")
    elif len(args) >= 2 and args[0] == "-c":
        try:
            compile(args[1], "<docs>", "exec")
        except SyntaxError as exc:
            raise Refused(f"the code does not compile: {exc}") from None
    else:
        raise Refused("a .venv/bin/python line this test cannot check")


@functools.cache
def router_routes() -> frozenset[tuple[str, str]]:
    contract = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    routes = {(m.upper(), p) for p, ops in contract["paths"].items() for m in ops}
    pages = {("GET", "/" + p.name) for p in (ROOT / "web").iterdir() if p.is_file()}
    return frozenset(routes | pages | {("GET", "/")})


_SHELL_VALUE = re.compile(r"^\$\{?[A-Za-z_]\w*\}?$")


def _serves(routes: frozenset[tuple[str, str]], method: str, path: str) -> bool:
    """The route is served as written, or a contract path's `{parameter}` segment stands
    where the line has a shell value (`.../entries/$REF`): the shell fills it in."""
    if (method, path) in routes:
        return True
    segments = path.split("/")
    for served_method, served in routes:
        parts = served.split("/")
        if served_method != method or len(parts) != len(segments):
            continue
        if all(
            part == segment
            or (part.startswith("{") and part.endswith("}") and _SHELL_VALUE.match(segment))
            for part, segment in zip(parts, segments, strict=True)
        ):
            return True
    return False


@functools.cache
def emulator_routes() -> frozenset[tuple[str, str]]:
    from kintone_emulator import admin, api  # noqa: PLC0415

    return frozenset(set(api.ROUTES) | set(admin.ROUTES))


def check_curl(args: list[str]) -> None:
    urls = [a for a in args if re.match(r"^https?://", a)]
    if len(urls) != 1:
        raise Refused("a curl line names exactly one URL")
    method = None
    data = any(a in {"-d", "--data", "--data-binary", "--data-raw", "-F"} for a in args)
    for flag, value in itertools.pairwise(args):
        if flag in {"-X", "--request"}:
            method = value.upper()
    if method is None:
        method = "POST" if data and "-G" not in args and "--get" not in args else "GET"
    url = urlsplit(urls[0])
    if url.hostname not in LOOPBACK:
        raise Refused(f"{url.hostname} is not the local stack")
    if url.port == TLS_ROUTER_PORT and url.scheme != "https":
        raise Refused(f"port {url.port} is the router's HTTPS port: https://, not {url.scheme}://")
    if url.port in (ROUTER_PORT, TLS_ROUTER_PORT):
        if not _serves(router_routes(), method, url.path):
            raise Refused(f"the router serves no {method} {url.path} (openapi.json, web/)")
    elif url.port == EMULATOR_PORT:
        if (method, url.path) not in emulator_routes():
            raise Refused(f"the kintone emulator serves no {method} {url.path}")
    else:
        raise Refused(f"port {url.port} is neither the router's nor the emulator's")


@functools.cache
def _aws_session() -> botocore.session.Session:
    return botocore.session.get_session()


def check_aws(args: list[str]) -> None:
    session = _aws_session()
    words: list[str] = []
    members: dict[str, str] = {}  # --option -> its shape's type, once the operation is known
    i = 0
    while i < len(args):
        word = args[i]
        if not word.startswith("--"):
            words.append(word)
            i += 1
            if len(words) == 2:
                members = _aws_options(session, AWS_SERVICE_NAMES.get(words[0], words[0]), words[1])
            continue
        option = word[2:]
        if option in AWS_GLOBAL_OPTIONS:
            i += 1 if option == "no-cli-pager" else 2
        elif option in members:
            i += 1 if members[option] == "boolean" else 2
        else:
            where = f"aws {' '.join(words)}" if len(words) == 2 else "aws"
            raise Refused(f"{where} takes no --{option}")
    if len(words) != 2:
        raise Refused("an aws line names a service and an operation")


def _aws_options(session: botocore.session.Session, service: str, operation: str) -> dict:
    if service not in session.get_available_services():
        raise Refused(f"botocore knows no service {service}")
    model = session.get_service_model(service)
    names = {xform_name(op, "-"): op for op in model.operation_names}
    if operation not in names:
        raise Refused(f"{service} has no operation {operation}")
    shape = model.operation_model(names[operation]).input_shape
    options = {xform_name(m, "-"): s.type_name for m, s in (shape.members if shape else {}).items()}
    options |= {f"no-{m}": "boolean" for m, kind in list(options.items()) if kind == "boolean"}
    return options


def check_sam(args: list[str]) -> None:
    if tuple(args[:2]) in SAM_COMMANDS:
        command, rest = tuple(args[:2]), args[2:]
    elif tuple(args[:1]) in SAM_COMMANDS:
        command, rest = tuple(args[:1]), args[1:]
    else:
        raise Refused(f"sam {' '.join(args[:2])}: not a command these docs use")
    template = (ROOT / "template.yaml").read_text(encoding="utf-8")
    samconfig = (ROOT / "samconfig.toml").read_text(encoding="utf-8")
    for flag, value in itertools.pairwise(rest):
        if flag in {"-e", "--event", "-t", "--template"} and not (ROOT / value).is_file():
            raise Refused(f"no file {value}")
        if flag == "--config-env" and f"[{value}." not in samconfig:
            raise Refused(f"samconfig.toml has no {value} environment")
    if command == ("local", "invoke"):
        functions = [a for a in rest if not a.startswith("-") and f"\n  {a}:\n" in template]
        if not functions:
            raise Refused("sam local invoke names no function of template.yaml")


def check_words(words: list[str], context: Context) -> None:
    if not words:
        return
    if re.match(r"^[A-Za-z_]\w*\(\)$", words[0]):  # name() { ...; }
        context.functions.add(words[0][:-2])
        words = words[1:]
    while words and re.match(r"^[A-Za-z_]\w*=", words[0]):  # NAME=value [command]
        words = words[1:]
    if not words:
        return
    head, args = words[0], words[1:]
    checks = {
        "make": lambda: check_make(words, context),
        ".venv/bin/sekisho": lambda: check_cli((head,), _sekisho_parser(), args, context),
        ".venv/bin/python": lambda: check_python(args, context),
        "curl": lambda: check_curl(args),
        "aws": lambda: check_aws(args),
        "sam": lambda: check_sam(args),
    }
    if head in checks:
        checks[head]()
    elif head in {"python", "python3", "sekisho", "devstack", "pytest", "ruff", "mkdocs"}:
        raise Refused(f"{head} is not on a fresh shell's PATH: write .venv/bin/{head}")
    elif head not in SHELL_GLUE and head not in context.functions:
        raise Refused(f"{head}: a command this test cannot check (add a check for it)")


def check_line(line: str, context: Context) -> None:
    line, inner = _substitutions(_uncommented(line))
    for substituted in inner:
        check_line(substituted, context)
    for segment in _segments(line):
        check_words(_words(segment), context)


def check(command: Command, context: Context) -> None:
    if command.inline:
        # Prose may stand a placeholder in for a value: `make stage SECRET=…`.
        words = [w for w in _words(command.text) if not _PLACEHOLDER.match(w) and w != "…"]
        check_words(words, Context(context.functions, inline=True))
    else:
        check_line(command.text, context)


# ------------------------------------------------------------------------------- tests


def _commands(path: Path) -> list[Command]:
    text = path.read_text(encoding="utf-8")
    return [c for block in commands_of(text, str(path.relative_to(ROOT))) for c in block]


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.name for p in DOCUMENTS])
def test_every_command_the_docs_show_exists_and_runs_as_written(path: Path) -> None:
    context = Context()
    refused = []
    for command in _commands(path):
        try:
            check(command, context)
        except Refused as exc:
            refused.append(f"{command.where}: {command.text}\n    -> {exc}")
    assert refused == [], "\n".join(refused)


def test_the_docs_show_commands_at_all() -> None:
    texts = [c.text for path in DOCUMENTS for c in _commands(path)]
    assert any(t.startswith("make dev") for t in texts)
    assert any(t.startswith(".venv/bin/python -m devstack send") for t in texts)
    assert any(t.startswith("curl") for t in texts)
    assert len(texts) > 40


def _refusal(text: str) -> str | None:
    context = Context()
    try:
        for block in commands_of(text, "doc.md"):
            for command in block:
                check(command, context)
    except Refused as exc:
        return str(exc)
    return None


def test_a_devstack_line_without_the_venv_prefix_is_refused() -> None:
    assert "fresh shell" in (_refusal("```sh\npython -m devstack send demo-stripe\n```") or "")
    assert "fresh shell" in (_refusal("run `python -m devstack env` first") or "")


def test_a_make_line_naming_an_unknown_target_or_variable_is_refused() -> None:
    assert "no target" in (_refusal("```sh\nmake deploy-everything\n```") or "")
    assert "no variable" in (_refusal("```sh\nmake dev ROUTER_PORT=3100\n```") or "")
    assert _refusal("```sh\nmake dev SEKISHO_PORT=3100\n```") is None


def test_make_send_and_make_switch_hand_on_only_what_devstack_takes() -> None:
    assert _refusal("```sh\nmake send SOURCE=demo-stripe ARGS='--stripe later'\n```")
    assert _refusal("```sh\nmake send ARGS='--event-id a'\n```")
    assert _refusal("```sh\nmake switch ROUTE=forms/seminar-apply\n```")
    assert _refusal("```sh\nmake switch ROUTE=forms/seminar-apply STATE=down\n```")
    assert _refusal("```sh\nmake send SOURCE=demo-stripe ARGS='--stripe unpaid'\n```") is None


def test_an_unknown_subcommand_or_option_is_refused() -> None:
    assert _refusal("```sh\n.venv/bin/python -m devstack send demo-stripe --stripe later\n```")
    assert _refusal("```sh\n.venv/bin/sekisho check policy.yaml --no-such-flag\n```")
    assert _refusal("```sh\n.venv/bin/sekisho check policy.yaml --strict\n```") is None


def test_a_curl_line_to_the_mutual_tls_port_must_be_https_to_a_served_route() -> None:
    pki = "--cacert build/devstack/pki/ca.pem --cert c.pem --key c.key"
    assert _refusal(f"```sh\ncurl -s {pki} https://127.0.0.1:3443/forms/seminar-apply\n```") is None
    assert _refusal(f"```sh\ncurl -s {pki} http://127.0.0.1:3443/forms/seminar-apply\n```")
    assert _refusal(f"```sh\ncurl -s {pki} https://127.0.0.1:3443/forms/no/such/route\n```")


def test_a_curl_line_to_a_route_nobody_serves_is_refused() -> None:
    refused = _refusal("```sh\ncurl -s -X POST http://127.0.0.1:3000/views/no-such-view\n```")
    assert "serves no POST /views/no-such-view" in (refused or "")
    assert _refusal("```sh\ncurl -s http://127.0.0.1:3000/views/deal-status\n```")
    assert _refusal("```sh\ncurl -s -X POST https://example.com/forms/seminar-apply\n```")
    assert _refusal("```sh\ncurl -s -X POST http://127.0.0.1:9100/_emulator/reset\n```") is None


def test_a_shell_value_may_stand_for_a_path_parameter_of_the_contract_and_nothing_else() -> None:
    entry = "http://127.0.0.1:3000/forms/seminar-apply/entries"
    assert _refusal(f'```sh\ncurl -s -X PATCH "{entry}/$REF"\n```') is None
    assert _refusal(f'```sh\ncurl -s -X POST "{entry}/${{REF}}/cancel"\n```') is None
    assert _refusal(f'```sh\ncurl -s -X PATCH "{entry}/12.abc"\n```')
    assert _refusal(f'```sh\ncurl -s -X DELETE "{entry}/$REF"\n```')
    assert _refusal('```sh\ncurl -s -X POST "http://127.0.0.1:3000/forms/$FORM"\n```')


def test_an_aws_line_with_an_unknown_operation_or_option_is_refused() -> None:
    assert _refusal("```sh\naws ssm put-parameters --name x\n```")
    assert _refusal("```sh\naws ssm put-parameter --nam x\n```")
    assert _refusal("```sh\naws ssm put-parameter --overwrite --name x --value none\n```") is None


def test_an_aws_s3api_line_is_checked_as_botocores_s3_service() -> None:
    assert _refusal("```sh\naws s3api put-object --bucket b --key k --body f.pem\n```") is None
    assert _refusal("```sh\naws s3api put-object --bucket b --file f.pem\n```")
    assert _refusal("```sh\naws s3api copy-everything --bucket b\n```")


def test_a_command_this_test_cannot_classify_is_refused_unless_the_block_is_output() -> None:
    assert "cannot check" in (_refusal("```sh\nterraform apply\n```") or "")
    assert _refusal("```text\nterraform apply\n```") is None
    assert _refusal("```console\n$ make check\nterraform apply (an answer)\n```") is None


def test_substitutions_and_pipes_are_checked_as_commands_of_their_own() -> None:
    assert _refusal('```sh\neval "$(python -m devstack env)"\n```')
    assert _refusal("```sh\necho x | make nothing-here\n```")
    defined = "```sh\nkey() { .venv/bin/python -c 'print(1)'; }\nK=$(key a)\n```"
    assert _refusal(defined) is None


if __name__ == "__main__":  # pragma: no cover - a quick look at what is read
    for document in DOCUMENTS:
        for cmd in _commands(document):
            print(cmd.where, cmd.text, file=sys.stdout)
