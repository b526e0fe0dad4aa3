"""local/devstack/secrets.yaml: which demo secrets exist and where each value comes from."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kintone_emulator.schema import Seed
from sekisho.secrets.partner_key import new_partner_key
from webhook_senders import demo_secret

from .errors import SecretsFileError

DEFAULT_SECRETS_FILE = Path(__file__).with_name("secrets.yaml")
# Each value says its `kind`, the word sekisho.rotation.kinds rotates it by; spelled out
# here because importing the rotation would cost every `python -m devstack` command half a
# second (a test keeps the two in step).
KINTONE_TOKEN = "kintone-token"  # noqa: S105 - a kind, not a value
HMAC = "hmac"
WEBHOOK_KEY = "webhook-key"
PARTNER_KEY = "partner-key"


class KintoneTokenSource(BaseModel):
    """A token from the emulator's seed, chosen by what it may do rather than by its value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["kintone-token"]
    app: int
    permissions: frozenset[Literal["view", "add", "edit", "delete", "manage"]]

    def value(self, seed: Seed) -> dict[str, str]:
        matching = [
            token
            for token in seed.tokens
            if token.active and token.app == self.app and token.permissions == self.permissions
        ]
        if len(matching) != 1:
            # Names the selector, never a token value.
            raise SecretsFileError(
                f"the seed has {len(matching)} active tokens for app {self.app} with exactly "
                f"{sorted(self.permissions)}; exactly one is needed"
            )
        return {"kind": KINTONE_TOKEN, "token": matching[0].token}


class HmacSource(BaseModel):
    """A key generated afresh on every start."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["hmac"]
    generate: int = Field(ge=16, le=256)

    def value(self, seed: Seed) -> dict[str, str]:
        return {"kind": HMAC, "key": secrets.token_urlsafe(self.generate)}


class PartnerKeySource(BaseModel):
    """A partner's shared HMAC key, fresh on every start and of the shape every rotation
    writes (:func:`sekisho.secrets.partner_key.new_partner_key`), so `sekisho sign` and
    the tests sign with what the stack verifies."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["partner-key"]

    def value(self, seed: Seed) -> dict[str, str]:
        return {"kind": PARTNER_KEY, "secret": new_partner_key()}


# kintone signs nothing: the token in its webhook URL is one sekisho makes up and kintone is
# merely given, so the rotation generates the next one. Every other sender issues its key.
GENERATED_BY_SEKISHO = frozenset({"kintone"})


def rotation_kind(scheme: str) -> str:
    """The secret kind (the rotation's word) of a webhook source's secret."""
    return HMAC if scheme in GENERATED_BY_SEKISHO else WEBHOOK_KEY


class WebhookSource(BaseModel):
    """A webhook source's signing secret (or kintone's URL token), fresh on every start and
    shaped as its scheme's verifier reads it, so `python -m devstack send` can sign with it;
    its `kind` tells `make rotate` whether to generate the next one or take it staged."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["webhook"]
    scheme: Literal["standard", "stripe", "github", "box", "slack", "kintone"]

    def value(self, seed: Seed) -> dict[str, str]:
        return {"kind": rotation_kind(self.scheme), **demo_secret(self.scheme)}


class SecretsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    secrets: dict[
        str,
        Annotated[
            KintoneTokenSource | HmacSource | WebhookSource | PartnerKeySource,
            Field(discriminator="kind"),
        ],
    ]


def load_secrets_file(path: Path = DEFAULT_SECRETS_FILE) -> SecretsFile:
    try:
        return SecretsFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise SecretsFileError(f"{path} is not a valid secrets file: {exc}") from exc


def secret_strings(spec: SecretsFile, seed: Seed) -> dict[str, str]:
    """Each secret's SecretString, as the relay reads it (JSON)."""
    return {name: json.dumps(source.value(seed)) for name, source in spec.secrets.items()}
