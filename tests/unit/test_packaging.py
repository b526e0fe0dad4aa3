"""Two distributions: sekisho (what the layer ships) and sekisho-devtools (local/).

The layer's requirements pin its whole tree with hashes; requirements/dev.txt repeats the
top-level pins without them, and constraints.txt holds the same versions.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest

from devstack.layer_modules import canonical, closure

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "sekisho"
LOCAL = ROOT / "local"
LAYER_REQUIREMENTS = LAYER / "requirements.txt"
# PartnerFunction's second layer: what only partners' signed calls need.
SIGNATURES_REQUIREMENTS = ROOT / "layers" / "signatures" / "requirements.txt"
DEV = ROOT / "requirements" / "dev.txt"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
# What the shared layer ships, and what PartnerFunction's signatures layer adds.
SHARED = ("requests", "aws-lambda-powertools", "jsonpointer", "pyjwt", "tzdata")
SIGNATURES = ("http-message-signatures", "http-sf")
TOP_LEVEL = (*SHARED, *SIGNATURES)
REQUIREMENTS = {LAYER_REQUIREMENTS: SHARED, SIGNATURES_REQUIREMENTS: SIGNATURES}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pyproject(directory: Path) -> dict:
    return tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))


def discovered_packages(directory: Path) -> set[str]:
    """The packages setuptools' find directive of this pyproject selects (where/include/
    exclude over every directory holding an __init__.py), as dotted names."""
    find = pyproject(directory)["tool"]["setuptools"]["packages"]["find"]
    include = find.get("include", ["*"])
    exclude = find.get("exclude", [])
    found = set()
    for where in find.get("where", ["."]):
        base = (directory / where).resolve()
        for init in base.rglob("__init__.py"):
            parts = init.parent.relative_to(base).parts
            if not parts or any(not part.isidentifier() for part in parts):
                continue
            name = ".".join(parts)
            # A package is found only when every parent on its way is a package too.
            if any(
                not (base.joinpath(*parts[:i]) / "__init__.py").is_file()
                for i in range(1, len(parts))
            ):
                continue
            selected = any(fnmatch.fnmatchcase(name, pattern) for pattern in include)
            if selected and not any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude):
                found.add(name)
    return found


def pins(path: Path) -> dict[str, str]:
    """name → version of every `name==version` line (hash and option lines aside)."""
    found = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(raw.split("#", 1)[0].strip())
        if match:
            found[canonical(match.group(1))] = match.group(2)
    return found


def requirement_blocks(path: Path) -> dict[str, list[str]]:
    """name → the lines of its requirement (continuations joined), comments left out."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        if match:
            current = blocks.setdefault(canonical(match.group(1)), [])
        assert current is not None, f"a line outside any requirement: {raw!r}"
        current.append(line.rstrip("\\").strip())
    return blocks


def test_the_layer_distribution_holds_the_sekisho_package_and_nothing_else():
    packages = discovered_packages(LAYER)
    assert {"sekisho", "sekisho.kintone", "sekisho.policy", "sekisho.webhooks.schemes"} <= packages
    assert all(name == "sekisho" or name.startswith("sekisho.") for name in packages), packages


def test_the_devtools_distribution_holds_the_local_tools_and_not_the_library():
    packages = discovered_packages(LOCAL)
    assert {"kintone_emulator", "devstack", "webhook_senders"} <= packages
    assert not any(name.split(".")[0] in {"sekisho", "tests"} for name in packages), packages
    config = pyproject(LOCAL)
    assert config["project"]["name"] == "sekisho-devtools"
    assert any(canonical(dep).startswith("sekisho[") for dep in config["project"]["dependencies"])
    assert config["project"]["scripts"] == {"kintone-emulator": "kintone_emulator.__main__:main"}
    assert config["tool"]["setuptools"]["package-data"]["kintone_emulator"] == ["*.yaml"]


def test_the_layer_distribution_names_its_runtime_dependencies_and_the_check_extra():
    project = pyproject(LAYER)["project"]
    assert project["name"] == "sekisho"
    assert project["scripts"] == {"sekisho": "sekisho.cli:main"}
    runtime = dict(dep.split("==") for dep in project["dependencies"])
    assert sorted(canonical(name) for name in runtime) == sorted(TOP_LEVEL)
    dev = pins(DEV)
    for name, version in runtime.items():
        assert dev[canonical(name)] == version, name
    check = dict(dep.split("==") for dep in project["optional-dependencies"]["check"])
    assert {canonical(name) for name in check} == {"pydantic", "pyyaml", "boto3"}
    for name, version in check.items():
        assert dev[canonical(name)] == version, name


def test_the_root_pyproject_is_configuration_only():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "project" not in config
    assert "build-system" not in config
    assert "setuptools" not in config.get("tool", {})
    assert "pytest" in config["tool"]


@pytest.mark.parametrize(
    ("distribution", "modules"),
    [
        ("sekisho", {"sekisho"}),
        ("sekisho-devtools", {"devstack", "kintone_emulator", "webhook_senders"}),
    ],
)
def test_each_installed_distribution_provides_only_its_own_top_level_modules(distribution, modules):
    # What setuptools made of the pyproject files: `make` installs both, editable.
    dist = importlib.metadata.distribution(distribution)
    listed = dist.read_text("top_level.txt") or ""
    assert {line.strip() for line in listed.splitlines() if line.strip()} == modules


@pytest.mark.parametrize("requirements", list(REQUIREMENTS), ids=lambda p: p.parent.name)
def test_every_layer_requirement_is_pinned_with_at_least_one_hash(requirements):
    blocks = requirement_blocks(requirements)
    assert set(REQUIREMENTS[requirements]) <= set(blocks)
    for name, lines in blocks.items():
        assert _PIN.match(lines[0]), name
        hashes = [line for line in lines[1:] if line.startswith("--hash=sha256:")]
        assert hashes, f"{name} has no hash"
        assert len(hashes) == len(lines) - 1, f"{name}: only --hash lines may follow a pin"
        assert all(re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", line) for line in hashes), name


def test_the_layer_pins_the_whole_tree_of_its_dependencies():
    # The runtime closure of the five, as installed here (extras aside): every one of
    # them must be pinned, or hash-checking mode refuses to install it.
    tree = closure(SHARED)
    assert {
        "urllib3",
        "idna",
        "charset-normalizer",
        "certifi",
        "jmespath",
        "typing-extensions",
    } <= tree
    assert set(pins(LAYER_REQUIREMENTS)) == tree
    # PyJWT would import cryptography if it found it: the shared layer must not ship it.
    assert "cryptography" not in tree


def test_the_signatures_layer_pins_the_whole_tree_of_the_signature_library():
    tree = closure(SIGNATURES)
    assert {"cryptography", "cffi", "pycparser", "typing-extensions"} <= tree
    assert set(pins(SIGNATURES_REQUIREMENTS)) == tree


@pytest.mark.parametrize("requirements", list(REQUIREMENTS), ids=lambda p: p.parent.name)
def test_the_layer_pins_and_the_installed_tree_have_the_versions_of_constraints(requirements):
    constraints = pins(CONSTRAINTS)
    for name, version in pins(requirements).items():
        assert constraints[name] == version, name
        assert importlib.metadata.version(name) == version, name


def test_dev_txt_repeats_the_layer_pins_without_hashes_or_including_the_layer_file():
    text = DEV.read_text(encoding="utf-8")
    assert "--hash" not in text
    assert not any(
        line.strip().startswith(("-r", "--requirement")) and "layers/" in line
        for line in text.splitlines()
    )
    layer, dev = pins(LAYER_REQUIREMENTS) | pins(SIGNATURES_REQUIREMENTS), pins(DEV)
    for name in TOP_LEVEL:
        assert dev[name] == layer[name], name
