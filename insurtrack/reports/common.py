"""What every report shares: the period, the groupings, and the statistics, each defined once so
that every report computes its figures the same way (and says so in its help).

- Period: `--from` / `--to` are local dates, both included; an instant belongs to the period when
  its local date (display.timezone) falls in it. Default: the current calendar year to date.
- Groupings (`--by`): month (local YYYY-MM of the event that counts), product, department, staff,
  region, age-band (the customer's age on the counted event's date: under 25, 25–34, 35–44,
  45–54, 55–64, 65 and over; companies are "company"), channel (customer source for sales; the
  contact channel for revisits and feedback). A missing value groups as "(none)".
- Median and p90: nearest-rank on the sorted values (the p-th value is the ceil(p·n)-th), so a
  figure is always one of the observed values; none when there are no values.
- Rates are percentages with one decimal (Decimal, ROUND_HALF_UP); none when the base is zero.
- Money is Decimal, summed exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from insurtrack.errors import BadInput

NONE = "(none)"
GROUPINGS = ("month", "product", "department", "staff", "region", "age-band", "channel")
AGE_BANDS = ((25, "under 25"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"),
             (10 ** 6, "65 and over"))


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included
    tz: tzinfo

    @property
    def since(self) -> datetime:
        """The first instant of the period (aware)."""
        return datetime.combine(self.start, datetime.min.time(), tzinfo=self.tz)

    @property
    def until(self) -> datetime:
        """The instant after the period's last day (exclusive)."""
        return datetime.combine(self.end + timedelta(days=1), datetime.min.time(), tzinfo=self.tz)

    def holds(self, when: datetime | date | None) -> bool:
        if when is None:
            return False
        day = when.astimezone(self.tz).date() if isinstance(when, datetime) else when
        return self.start <= day <= self.end

    def months(self) -> list[str]:
        out, y, m = [], self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def describe(self) -> str:
        return f"{self.start} to {self.end}"


def period(start: date | None, end: date | None, *, today: date, tz: tzinfo) -> Period:
    """The report's period: default from 1 January of this year to today."""
    end = end or today
    start = start or date(end.year, 1, 1)
    if start > end:
        raise BadInput("--from", start.isoformat(), f"is after --to ({end.isoformat()})")
    return Period(start, end, tz)


def check_by(by: str | None, allowed: Sequence[str], report: str) -> str | None:
    if by is None:
        return None
    if by not in allowed:
        raise BadInput("--by", by, f"the {report} report groups by {', '.join(allowed)}")
    return by


def month_of(when: datetime | date, tz: tzinfo) -> str:
    day = when.astimezone(tz).date() if isinstance(when, datetime) else when
    return f"{day.year:04d}-{day.month:02d}"


def age_band(birth: date | None, on: date, kind: str = "person") -> str:
    if kind == "company":
        return "company"
    if birth is None:
        return NONE
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return next(label for limit, label in AGE_BANDS if age < limit)


def nearest_rank(values: Iterable[float], p: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(p * len(ordered))) - 1]


def median(values: Iterable[float]) -> float | None:
    return nearest_rank(values, 0.5)


def p90(values: Iterable[float]) -> float | None:
    return nearest_rank(values, 0.9)


def rate(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """part / whole as a percentage with one decimal; None when whole is zero."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def days_between(a: datetime | None, b: datetime | None) -> float | None:
    """Elapsed days from a to b, to the hundredth (None if either is missing)."""
    if a is None or b is None:
        return None
    return round((b - a).total_seconds() / 86400, 2)


def minutes_between(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return round((b - a).total_seconds() / 60, 1)


def key(value: Any) -> str:
    return NONE if value in (None, "") else str(value)


ZERO = Decimal("0.00")


# SQL pieces every report's queries share (sqlalchemy is imported when they are called, so that
# this module stays light for the CLI). They need no dialect's date functions: the period and
# the month boundaries are instants computed here and compared with the stored UTC instants.

def within(column: Any, p: Period) -> Any:
    """SQL: the instant in `column` falls in the period (a range on that column: an index on it
    serves the report)."""
    from sqlalchemy import and_

    return and_(column >= p.since, column < p.until)


def month_case(column: Any, p: Period) -> Any:
    """SQL: the local month (YYYY-MM) of the instant in `column`, for rows already `within` the
    period: a CASE over the first instants of the period's months. Group by it by position
    (`group_by(*by_position(n))`): PostgreSQL does not match a repeated expression whose bound
    parameters differ."""
    from sqlalchemy import case

    months = p.months()
    starts = [datetime(int(mo[:4]), int(mo[5:]), 1, tzinfo=p.tz) for mo in months[1:]]
    whens = [(column < start, label) for start, label in zip(starts, months)]
    return case(*(whens or [(column < p.until, months[0])]), else_=months[-1])


def by_position(n: int) -> list[Any]:
    """GROUP BY 1, 2, … n: the first n columns of the select."""
    from sqlalchemy import literal_column

    return [literal_column(str(i)) for i in range(1, n + 1)]
