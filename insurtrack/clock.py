"""The one place that reads the wall clock. Everything else is handed a Clock or a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


@dataclass
class FixedClock:
    """A clock pinned to one instant (tests, replays); `advance` moves it."""

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self.instant = self.instant.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self.instant

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.instant = self.instant + timedelta(**delta)
