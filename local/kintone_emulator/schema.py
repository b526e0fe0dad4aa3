"""Apps, fields and API tokens, loaded from a readable seed file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SEED = Path(__file__).with_name("seed.yaml")

# Field types a record add may set; the rest are kept by the emulator itself.
USER_TYPES = frozenset(
    {
        "SINGLE_LINE_TEXT",
        "MULTI_LINE_TEXT",
        "NUMBER",
        "DATE",
        "DATETIME",
        "DROP_DOWN",
        "RADIO_BUTTON",
        "CHECK_BOX",
        "LINK",
        "FILE",
    }
)
# An API token's permissions as kintone's settings screen offers them: record view, add,
# edit, delete, and app management ("manage").
PERMISSIONS = frozenset({"view", "add", "edit", "delete", "manage"})

# Every kintone app has these; the emulator fills them in.
SYSTEM_FIELDS: dict[str, str] = {
    "$id": "__ID__",
    "$revision": "__REVISION__",
    "レコード番号": "RECORD_NUMBER",
    "作成日時": "CREATED_TIME",
    "更新日時": "UPDATED_TIME",
}


@dataclass(frozen=True)
class FieldDef:
    code: str
    type: str
    label: str = ""
    required: bool = False
    unique: bool = False
    max_length: int | None = None
    min_value: str | None = None
    max_value: str | None = None
    options: tuple[str, ...] = ()

    @property
    def is_system(self) -> bool:
        return self.type not in USER_TYPES


@dataclass(frozen=True)
class AppDef:
    id: int
    name: str
    fields: dict[str, FieldDef]
    records: tuple[dict[str, Any], ...] = ()  # seed records, flat {code: value}


@dataclass(frozen=True)
class TokenDef:
    token: str
    app: int
    permissions: frozenset[str] = field(default_factory=lambda: frozenset({"view"}))
    # A new token works only once the app has been updated in kintone's settings.
    active: bool = True


@dataclass(frozen=True)
class Seed:
    apps: dict[int, AppDef]
    tokens: tuple[TokenDef, ...]


class SeedError(ValueError):
    pass


def _field(code: str, spec: dict[str, Any]) -> FieldDef:
    ftype = spec.get("type")
    if ftype not in USER_TYPES:
        raise SeedError(f"field {code!r}: unsupported type {ftype!r}")
    if code in SYSTEM_FIELDS:
        raise SeedError(f"field {code!r} is a system field")
    if spec.get("unique") and ftype not in {
        "SINGLE_LINE_TEXT",
        "NUMBER",
        "LINK",
        "DATE",
        "DATETIME",
    }:
        raise SeedError(f"field {code!r}: kintone allows unique only on text, number, link, date")
    bounds = {k: None if spec.get(k) is None else str(spec[k]) for k in ("min_value", "max_value")}
    return FieldDef(
        code=code,
        type=ftype,
        label=str(spec.get("label", code)),
        required=bool(spec.get("required", False)),
        unique=bool(spec.get("unique", False)),
        max_length=spec.get("max_length"),
        options=tuple(str(o) for o in spec.get("options", ())),
        **bounds,
    )


def system_fields() -> dict[str, FieldDef]:
    return {
        code: FieldDef(code=code, type=ftype, label=code) for code, ftype in SYSTEM_FIELDS.items()
    }


def parse_seed(data: dict[str, Any]) -> Seed:
    apps: dict[int, AppDef] = {}
    for raw in data.get("apps", []):
        app_id = int(raw["id"])
        fields = system_fields()
        for code, spec in (raw.get("fields") or {}).items():
            fields[str(code)] = _field(str(code), spec)
        apps[app_id] = AppDef(
            id=app_id,
            name=str(raw.get("name", app_id)),
            fields=fields,
            records=tuple(raw.get("records") or ()),
        )
    tokens = []
    for raw in data.get("tokens", []):
        perms = frozenset(raw.get("permissions", ["view"]))
        if not perms <= PERMISSIONS:
            raise SeedError(f"token permissions {sorted(perms - PERMISSIONS)} are unknown")
        if int(raw["app"]) not in apps:
            raise SeedError(f"token for unknown app {raw['app']}")
        tokens.append(
            TokenDef(str(raw["token"]), int(raw["app"]), perms, bool(raw.get("active", True)))
        )
    return Seed(apps=apps, tokens=tuple(tokens))


def load_seed(path: str | Path = DEFAULT_SEED) -> Seed:
    with open(path, encoding="utf-8") as fh:
        return parse_seed(yaml.safe_load(fh) or {})
