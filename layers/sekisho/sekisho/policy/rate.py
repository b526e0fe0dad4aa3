"""A rate written as ``N/unit`` (``30/hour``): a count per fixed window."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .behaviour import RateBehaviour
from .constants import WINDOWS

_RATE = re.compile(r"([1-9][0-9]{0,8})/(second|minute|hour|day)")


class Rate(RateBehaviour, BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    count: int = Field(ge=1)
    window_seconds: int = Field(ge=1)

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if isinstance(data, str):
            match = _RATE.fullmatch(data)
            if not match:
                raise ValueError("a rate is written N/second, N/minute, N/hour or N/day, N >= 1")
            return {"count": int(match[1]), "window_seconds": WINDOWS[match[2]]}
        return data

    @classmethod
    def parse(cls, text: str) -> Rate:
        return cls.model_validate(text)
