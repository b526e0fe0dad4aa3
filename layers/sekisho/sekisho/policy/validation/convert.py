"""From a validated schema object to the runtime class of the same name, field by field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..model import MODELS


def runtime(value: Any) -> Any:
    """``value`` with every schema object replaced by its runtime twin (no re-validation)."""
    if isinstance(value, BaseModel):
        cls = MODELS[type(value).__name__]
        fields = type(value).model_fields
        return cls(**{name: runtime(getattr(value, name)) for name in fields})
    if isinstance(value, dict):
        return {key: runtime(member) for key, member in value.items()}
    if isinstance(value, tuple):
        return tuple(runtime(member) for member in value)
    return value
