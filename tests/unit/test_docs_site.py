"""docs/ is a site (mkdocs-material, built --strict), the README is its front door, and the
figures the pages state are the ones the code and the template hold."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sekisho.policy.constants import MAX_REQUEST_FILE_BYTES
from sekisho.settings import Settings
from tests.template_support import load_policy_yaml, load_template

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MKDOCS = Path(sys.executable).with_name("mkdocs")
_LINK = re.compile(r"\]\(([^)\s]+)\)")


class _ConfigLoader(yaml.SafeLoader):
    """mkdocs.yml as data: its `!!python/name:` tags become their names."""


_ConfigLoader.add_multi_constructor(
    "tag:yaml.org,2002:python/name:", lambda _loader, suffix, _node: suffix
)


def mkdocs_config() -> dict[str, Any]:
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader subclass


def nav_pages(nav: list[Any]) -> list[str]:
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def build(config_dir: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(site)],
        cwd=config_dir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def copy_of_the_site(tmp_path: Path) -> Path:
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    return tmp_path


# ------------------------------------------------------------------------------ the site


def test_the_nav_names_every_page_of_docs_and_only_pages_that_exist() -> None:
    pages = nav_pages(mkdocs_config()["nav"])

    assert sorted(pages) == sorted(p.name for p in DOCS.glob("*.md"))
    assert len(pages) == len(set(pages))
    assert pages[0] == "index.md"


def test_mermaid_renders_through_the_superfences_custom_fence() -> None:
    extensions = mkdocs_config()["markdown_extensions"]
    fences = next(e["pymdownx.superfences"] for e in extensions if "pymdownx.superfences" in e)

    mermaid = {"name": "mermaid", "class": "mermaid"}
    mermaid["format"] = "pymdownx.superfences.fence_code_format"
    assert mermaid in fences["custom_fences"]


def test_the_site_builds_strictly_with_the_architecture_diagram(tmp_path: Path) -> None:
    done = build(ROOT, tmp_path / "site")

    assert done.returncode == 0, done.stderr
    assert '<pre class="mermaid"><code>flowchart' in (
        tmp_path / "site" / "architecture" / "index.html"
    ).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("link", "said"),
    [
        ("[gone](no-such-page.md)", "not found among documentation files"),
        ("[gone](routes.md#no-such-heading)", "no-such-heading"),
        ("[gone](../openapi.json)", "not found among documentation files"),
    ],
)
def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path, link: str, said: str) -> None:
    site = copy_of_the_site(tmp_path)
    page = site / "docs" / "benchmarks.md"
    page.write_text(page.read_text(encoding="utf-8") + f"\n{link}\n", encoding="utf-8")

    done = build(site, tmp_path / "site")

    assert done.returncode != 0
    assert said in done.stderr


def test_a_page_left_out_of_the_nav_fails_the_build(tmp_path: Path) -> None:
    site = copy_of_the_site(tmp_path)
    (site / "docs" / "stray.md").write_text("# Stray\n", encoding="utf-8")

    done = build(site, tmp_path / "site")

    assert done.returncode != 0
    assert "stray.md" in done.stderr


# ---------------------------------------------------------------------------- the README


def test_the_readme_is_short_and_starts_with_what_it_is_and_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    first_screen = "\n".join(lines[:24])

    assert len(lines) <= 200
    assert "least-privilege relay" in first_screen
    assert "make dev " in first_screen
    assert "make test " in first_screen
    assert "```mermaid" in "\n".join(lines)
    assert "## Quick start" in "\n".join(lines[:30])


@pytest.mark.parametrize(
    "path", [ROOT / "README.md", *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name
)
def test_every_link_stays_inside_the_repository_and_finds_its_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    outside, missing = [], []
    for target in _LINK.findall(text):
        file = target.split("#", 1)[0]
        leaves = bool(file) and not (path.parent / file).resolve().is_relative_to(ROOT)
        if re.match(r"^[a-z]+:", target) or leaves:
            outside.append(target)
        elif file and not (path.parent / file).exists():
            missing.append(target)

    assert outside == []
    assert missing == []


# ----------------------------------------------------------- what the pages say is true


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_webhook_queue_redrive_the_docs_state_is_the_templates() -> None:
    template = load_template()["Resources"]
    count = template["WebhookQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    text = (DOCS / "webhooks.md").read_text(encoding="utf-8")

    stated = re.findall(r"WebhookQueue's `maxReceiveCount`\s*\((\d+)", text)
    assert stated == [str(count)]


def test_the_body_limits_the_docs_state_are_the_code_and_the_templates() -> None:
    resources = load_template()["Resources"]

    def limit(function: str) -> int:
        variables = resources[function]["Properties"].get("Environment", {}).get("Variables", {})
        return int(variables.get("MAX_BODY_BYTES", Settings().max_body_bytes))

    rows = {
        match[1]: _number(match[2])
        for match in re.finditer(
            r"^\| `POST /(\w+)/\{\w+\}` \| ([\d,]+) bytes", (DOCS / "routes.md").read_text(
                encoding="utf-8"), re.MULTILINE)
    }  # fmt: skip
    files = re.search(r"^\| files of one submission \| ([\d,]+) decoded bytes.*?: ([\d,]+)\)",
                      (DOCS / "routes.md").read_text(encoding="utf-8"), re.MULTILINE)  # fmt: skip
    cv = load_policy_yaml()["forms"]["seminar-apply"]["fields"]["cv"]["max_bytes"]

    assert rows == {
        "views": limit("LookupFunction"),
        "forms": limit("IntakeFunction"),
        "webhooks": limit("WebhookFunction"),
    }
    assert files is not None
    assert (_number(files[1]), _number(files[2])) == (MAX_REQUEST_FILE_BYTES, cv)


def test_the_demo_forms_limit_per_address_the_readme_states_is_the_policys() -> None:
    per_ip = load_policy_yaml()["forms"]["seminar-apply"]["guard"]["per_ip"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    count = per_ip.split("/")[0]

    assert f"`per_ip: {per_ip}`" in readme
    assert f"takes {count} submissions per hour" in readme
    assert per_ip.endswith("/hour")


def test_no_page_shows_a_file_field_as_one_object_where_the_form_wants_a_list() -> None:
    one_object = re.compile(r'"(cv|[a-z_]+)":\s*\{"filename"')
    pages = [ROOT / "README.md", *DOCS.glob("*.md")]

    assert [p.name for p in pages if one_object.search(p.read_text(encoding="utf-8"))] == []
    assert '"cv":\n  [{"filename"' in (DOCS / "routes.md").read_text(encoding="utf-8")
