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


ENV_NOW = "INSURTRACK_NOW"


def from_env(env) -> Clock:
    """The real clock — or, when INSURTRACK_NOW holds an ISO instant with its offset
    (2026-11-25T09:00:00+08:00), a clock pinned there: replays, demos and the benchmarks, which
    must give the same answer from the same records whenever they run."""
    raw = env.get(ENV_NOW)
    if not raw:
        return SystemClock()
    try:
        instant = datetime.fromisoformat(raw)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        from insurtrack.errors import BadInput

        raise BadInput(ENV_NOW, raw, "is not an ISO instant with an offset, e.g. 2026-11-25T09:00:00+08:00")
    return FixedClock(instant)

