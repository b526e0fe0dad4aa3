"""A rate written as ``N/unit`` (``30/hour``): a count per fixed window."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

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


# A route budget counts kintone requests per hour or per day: kintone's own limit is per
# app per day, and a shorter window would be a rate limit, which per_ip already is.
BUDGET_WINDOWS = frozenset({WINDOWS["hour"], WINDOWS["day"]})


def _budget_window(rate: Rate) -> Rate:
    if rate.window_seconds not in BUDGET_WINDOWS:
        raise ValueError("a budget is written N/hour or N/day")
    return rate


Budget = Annotated[Rate, AfterValidator(_budget_window)]
