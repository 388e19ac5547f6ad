from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; `next_cursor` is opaque and None on the last page."""

    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class BoundedCount:
    """How many items match, counted up to a bound: `complete` is False when counting stopped at the
    bound (or after reading that many candidates), so `value` is a lower limit ("100+")."""

    value: int
    complete: bool = True

    def __str__(self) -> str:
        return str(self.value) if self.complete else f"{self.value}+"


@dataclass(frozen=True, slots=True)
class BoundedPage(Generic[T]):
    """A page of matches found by reading at most a bound of items: `read` is how many were read, and
    `complete` is False when the bound stopped the reading (older items were not looked at; `next_cursor`
    goes on from there)."""

    items: list[T]
    next_cursor: str | None
    read: int
    complete: bool = True
