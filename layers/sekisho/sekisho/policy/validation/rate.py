"""A rate written as ``N/unit`` (``30/hour``): a count per fixed window."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .. import rate as runtime_rate
from ..constants import WINDOWS


class Rate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    count: int = Field(ge=1)
    window_seconds: int = Field(ge=1)

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if isinstance(data, str):
            parsed = runtime_rate.Rate.parse(data)  # the one syntax of a rate
            return {"count": parsed.count, "window_seconds": parsed.window_seconds}
        return data


# A route budget counts kintone requests per hour or per day: kintone's own limit is per
# app per day, and a shorter window would be a rate limit, which per_ip already is.
BUDGET_WINDOWS = frozenset({WINDOWS["hour"], WINDOWS["day"]})


def _budget_window(rate: Rate) -> Rate:
    if rate.window_seconds not in BUDGET_WINDOWS:
        raise ValueError("a budget is written N/hour or N/day")
    return rate


Budget = Annotated[Rate, AfterValidator(_budget_window)]
