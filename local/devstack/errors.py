"""What goes wrong while building the local stack: always the developer's configuration."""

from __future__ import annotations

from sekisho.errors import ConfigurationError


class DevstackError(ConfigurationError):
    """The local stack cannot be built from the files it was given."""


class TemplateError(DevstackError):
    """template.yaml uses something the local stack cannot reproduce."""


class SecretsFileError(DevstackError):
    """local/devstack/secrets.yaml is malformed or names something the seed lacks."""
