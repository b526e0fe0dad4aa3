"""The base of the policy's runtime classes: frozen, slotted, built by keyword.

A class declares its fields as annotations, optional ones with a default (a fresh dict
or rule for each object through :func:`fresh`); names that start with ``_`` are derived
slots, set by :meth:`Rule._derive`, not fields. Written here rather than with
``dataclasses``, which generate and compile half a dozen methods per class while their
module is imported: about 10 ms of every function's cold start for the policy's 16
classes. These methods are written once and shared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Self, TypeVar, cast

_T = TypeVar("_T")


def field_values(rule: Rule) -> dict[str, Any]:
    """``rule``'s fields in declaration order (what a snapshot holds); a function, not a
    method, because a rule may have a field called ``fields``."""
    return {name: getattr(rule, name) for name in rule.FIELDS}


class _Fresh:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def fresh(make: Callable[[], _T]) -> _T:
    """A default made anew for each object (``dict``, a rule's class)."""
    return cast(_T, _Fresh(make))


class _RuleType(type):
    """Turns the annotations of a class body into its ``__slots__`` and ``FIELDS``."""

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> _RuleType:
        own = [n for n in namespace.get("__annotations__", {}) if n not in ("FIELDS",)]
        if "__slots__" not in namespace:
            namespace["__slots__"] = tuple(own)
        inherited: tuple[str, ...] = next((b.FIELDS for b in bases if hasattr(b, "FIELDS")), ())
        fields = (*inherited, *(n for n in own if not n.startswith("_")))
        defaults = {}
        for field in fields:
            if field in namespace:
                defaults[field] = namespace.pop(field)
        namespace["FIELDS"] = fields
        namespace["_DEFAULTS"] = MappingProxyType(defaults)
        return super().__new__(mcs, name, bases, namespace, **kwargs)


class Rule(metaclass=_RuleType):
    """One rule of the policy, read-only once built; equal to another of its class with
    the same fields."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]]
    _DEFAULTS: ClassVar[Mapping[str, Any]]

    def __init__(self, **values: Any) -> None:
        cls = type(self)
        for name in values:
            if name not in cls._DEFAULTS and name not in cls.FIELDS:
                raise TypeError(f"{cls.__name__} has no field {name!r}")
        for name in cls.FIELDS:
            if name in values:
                value = values[name]
            elif name in cls._DEFAULTS:
                value = cls._DEFAULTS[name]
                if type(value) is _Fresh:
                    value = value.make()
            else:
                raise TypeError(f"{cls.__name__} needs {name!r}")
            object.__setattr__(self, name, value)
        self._derive()

    def _derive(self) -> None:
        """Set the derived slots once every field is set (nothing, unless overridden)."""

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes``, as :func:`dataclasses.replace` makes one."""
        return type(self)(**{**field_values(self), **changes})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: {name} cannot be set")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: {name} cannot be deleted")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.FIELDS)

    __hash__ = None  # type: ignore[assignment]  # rules hold dicts

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__name__}({shown})"
