"""local/devstack/secrets.yaml: which demo secrets exist and where each value comes from."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kintone_emulator.schema import Seed
from webhook_senders import demo_secret

from .errors import SecretsFileError

DEFAULT_SECRETS_FILE = Path(__file__).with_name("secrets.yaml")


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
        return {"kind": "kintone-token", "token": matching[0].token}


class HmacSource(BaseModel):
    """A key generated afresh on every start."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["hmac"]
    generate: int = Field(ge=16, le=256)

    def value(self, seed: Seed) -> dict[str, str]:
        return {"kind": "hmac", "key": secrets.token_urlsafe(self.generate)}


class WebhookSource(BaseModel):
    """A webhook source's signing secret (or kintone's URL token), fresh on every start and
    shaped as its scheme's verifier reads it, so `python -m devstack send` can sign with it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["webhook"]
    scheme: Literal["standard", "stripe", "github", "box", "slack", "kintone"]

    def value(self, seed: Seed) -> dict[str, str]:
        return dict(demo_secret(self.scheme))


class SecretsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    secrets: dict[
        str,
        Annotated[KintoneTokenSource | HmacSource | WebhookSource, Field(discriminator="kind")],
    ]


def load_secrets_file(path: Path = DEFAULT_SECRETS_FILE) -> SecretsFile:
    try:
        return SecretsFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise SecretsFileError(f"{path} is not a valid secrets file: {exc}") from exc


def secret_strings(spec: SecretsFile, seed: Seed) -> dict[str, str]:
    """Each secret's SecretString, as the relay reads it (JSON)."""
    return {name: json.dumps(source.value(seed)) for name, source in spec.secrets.items()}
