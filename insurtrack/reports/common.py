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

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
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


def nearest_rank_counts(counts: Mapping[float, int], p: float) -> float | None:
    """nearest_rank over values given as {value: how many times}: the same figure without
    listing every value (the reports count equal values in SQL)."""
    n = sum(counts.values())
    if not n:
        return None
    k = max(1, math.ceil(p * n))
    for value in sorted(counts):
        k -= counts[value]
        if k <= 0:
            return value
    raise AssertionError("unreachable")


def median_of(counts: Mapping[float, int]) -> float | None:
    """median() of values given as {value: how many times}."""
    return nearest_rank_counts(counts, 0.5)


def p90_of(counts: Mapping[float, int]) -> float | None:
    """p90() of values given as {value: how many times}."""
    return nearest_rank_counts(counts, 0.9)


def days_of(micros: int) -> float:
    """Elapsed microseconds as days to the hundredth, exactly as days_between rounds them."""
    return round(micros / 10 ** 6 / 86400, 2)


def minutes_of(micros: int) -> float:
    """Elapsed microseconds as minutes to the tenth, exactly as minutes_between rounds them."""
    return round(micros / 10 ** 6 / 60, 1)


def hours_of(micros: int) -> float:
    """Elapsed microseconds as hours to the hundredth."""
    return round(micros / 10 ** 6 / 3600, 2)


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
    period: a CASE over the first instants of the period's months, nested as a binary search
    (four comparisons a row for a year, not eleven). Group by it by position
    (`group_by(*by_position(n))`): PostgreSQL does not match a repeated expression whose bound
    parameters differ."""
    from sqlalchemy import case, literal

    months = p.months()
    starts = [datetime(int(mo[:4]), int(mo[5:]), 1, tzinfo=p.tz) for mo in months]

    def pick(lo: int, hi: int) -> Any:  # the month among months[lo:hi] (hi - lo >= 1)
        if hi - lo == 1:
            return literal(months[lo])
        mid = (lo + hi) // 2
        return case((column < starts[mid], pick(lo, mid)), else_=pick(mid, hi))

    return pick(0, len(months))


def by_position(n: int) -> list[Any]:
    """GROUP BY 1, 2, … n: the first n columns of the select."""
    from sqlalchemy import literal_column

    return [literal_column(str(i)) for i in range(1, n + 1)]


def micros(start: Any, end: Any) -> Any:
    """SQL: the exact whole number of microseconds from the instant in `start` to the one in
    `end` (NULL when either is NULL). With it a report counts equal elapsed times in SQL
    (GROUP BY the value) instead of reading every pair of instants: the value divided by 10**6
    is exactly timedelta.total_seconds(), so days_of() and minutes_of() round as
    days_between() and minutes_between() do. SQLite stores an instant as UTC text
    'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds by unixepoch() of the text before its fraction
    (strftime('%s') before SQLite 3.38), microseconds from the fraction; PostgreSQL subtracts
    the timestamps (EXTRACT(EPOCH …) of an interval is exact numeric since version 14)."""
    return _sql().Micros(start, end)


def unindexed(column: Any) -> Any:
    """SQL: `column`, in a form SQLite's planner does not look up through an index (unary +,
    SQLite's documented way). For a filter that keeps a large share of a table that is read
    with another table in rowid order: one ordered pass is many times cheaper than a lookup per
    row through an index on the filtered column."""
    return _sql().Unindexed(column)


def local_day(column: Any, p: Period, *, before: timedelta = timedelta(0),
              after: timedelta = timedelta(0)) -> Any:
    """SQL: the local date (display timezone) of the instant in `column`, as text 'YYYY-MM-DD':
    the stored UTC instant moved by the zone's UTC offset, a CASE over the offset changes
    (daylight saving) from `before` the period to `after` it. Exact for instants in that span;
    outside it, off by at most the zone's daylight-saving shift (a caller that only needs to
    know such a date is before or after the span gives a margin of a day or more)."""
    from sqlalchemy import case, literal

    changes = utc_offsets(p, before=before, after=after)
    if len(changes) == 1:
        seconds = literal(changes[0][1])
    else:
        seconds = case(*((column < at, off) for (_, off), (at, _) in zip(changes, changes[1:])),
                       else_=changes[-1][1])
    return _sql().LocalDay(column, seconds)


def day_number(day: Any) -> Any:
    """SQL: a day as text 'YYYY-MM-DD' (local_day) as the integer YYYYMMDD."""
    from sqlalchemy import Integer, cast, func

    return cast(func.replace(day, "-", ""), Integer)


def date_number(column: Any) -> Any:
    """SQL: a date column as the integer YYYYMMDD."""
    return _sql().DateNumber(column)


def age_band_case(birth: Any, kind: Any, day: Any) -> Any:
    """SQL: age_band() of a customer (birth date, kind) on the local day `day` (text
    'YYYY-MM-DD', see local_day, or a date). Completed years are (day − birth) // 10000 with both
    dates as YYYYMMDD numbers: the year difference, less one before the birthday, exactly as
    age_band compares (month, day) tuples (born 29 February: a year older on 1 March in other
    years). The bands are ten years wide from 25, so the band is one division: a simple CASE
    evaluates it once."""
    from sqlalchemy import case

    limits = [limit for limit, _ in AGE_BANDS[:-1]]
    assert limits == list(range(limits[0], limits[-1] + 1, 10)), "AGE_BANDS: ten-year bands"
    # k = 0 under the first limit (or born after `day`), i for the i-th band above it
    days = int(day.strftime("%Y%m%d")) if isinstance(day, date) else day_number(day)
    k = (days - date_number(birth) - (limits[0] - 10) * 10000) // 100000
    last = len(AGE_BANDS) - 1
    middle = {i: label for i, (_, label) in enumerate(AGE_BANDS) if 0 < i < last}
    return case((kind == "company", "company"), (birth.is_(None), NONE),
                else_=case(middle, value=k,
                           else_=case((k >= last, AGE_BANDS[-1][1]), else_=AGE_BANDS[0][1])))


def utc_offsets(p: Period, *, before: timedelta = timedelta(0),
                after: timedelta = timedelta(0)) -> list[tuple[datetime | None, int]]:
    """The display timezone's UTC offset (seconds) over the period widened by `before` and
    `after`: [(None, first offset), (instant it changed, new offset), …]; each change found to
    the second."""
    utc = timezone.utc

    def offset(second: int) -> int:
        return int(datetime.fromtimestamp(second, p.tz).utcoffset().total_seconds())

    start, end = int((p.since - before).timestamp()), int((p.until + after).timestamp())
    out: list[tuple[datetime | None, int]] = [(None, offset(start))]
    when = start
    while when < end:
        step = min(when + 86400, end)
        if offset(step) != out[-1][1]:
            lo, hi = when, step  # the change is in (lo, hi]: bisect to the second
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if offset(mid) != out[-1][1] else (mid, hi)
            out.append((datetime.fromtimestamp(hi, utc), offset(hi)))
        when = step
    return out


@functools.cache
def _sql() -> Any:
    """The dialect-specific SQL constructs, built on first use (so that importing this module
    stays light for the CLI)."""
    import sqlite3
    from types import SimpleNamespace

    from sqlalchemy import BigInteger, Integer, String
    from sqlalchemy.ext.compiler import compiles
    from sqlalchemy.sql.functions import FunctionElement

    class Micros(FunctionElement):
        type = BigInteger()
        name = "insurtrack_micros"
        inherit_cache = True

    class LocalDay(FunctionElement):
        type = String()
        name = "insurtrack_local_day"
        inherit_cache = True

    class DateNumber(FunctionElement):
        type = Integer()
        name = "insurtrack_date_number"
        inherit_cache = True

    class Unindexed(FunctionElement):
        name = "insurtrack_unindexed"
        inherit_cache = True

        def __init__(self, column: Any) -> None:
            super().__init__(column)
            self.type = column.type

    def args(element: Any, compiler: Any, **kw: Any) -> list[str]:
        return [compiler.process(c, **kw) for c in element.clauses]

    @compiles(Micros)
    def _micros(element: Any, compiler: Any, **kw: Any) -> str:
        start, end = args(element, compiler, **kw)
        return f"CAST(EXTRACT(EPOCH FROM ({end}) - ({start})) * 1000000 AS BIGINT)"

    # Whole seconds from the text without its fraction: SQLite's date functions keep
    # milliseconds, so "…59.9999" would count as the next second.
    epoch = (("unixepoch(substr({}, 1, 19))" if sqlite3.sqlite_version_info >= (3, 38) else
              "CAST(strftime('%s', substr({}, 1, 19)) AS INTEGER)"))

    @compiles(Micros, "sqlite")
    def _micros_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
        start, end = args(element, compiler, **kw)
        seconds = f"({epoch.format(end)} - {epoch.format(start)})"
        fraction = f"(CAST(substr({end}, 21) AS INTEGER) - CAST(substr({start}, 21) AS INTEGER))"
        return f"({seconds} * 1000000 + {fraction})"

    @compiles(LocalDay)
    def _local_day(element: Any, compiler: Any, **kw: Any) -> str:
        column, seconds = args(element, compiler, **kw)
        return (f"to_char(({column} AT TIME ZONE 'UTC') + ({seconds}) * INTERVAL '1 second', "
                "'YYYY-MM-DD')")

    @compiles(LocalDay, "sqlite")
    def _local_day_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
        column, seconds = args(element, compiler, **kw)
        # (the text without its fraction: SQLite rounds to milliseconds, and 23:59:59.9999
        # must stay on its day)
        return f"date(substr({column}, 1, 19), ({seconds}) || ' seconds')"

    @compiles(DateNumber)
    def _date_number(element: Any, compiler: Any, **kw: Any) -> str:
        (column,) = args(element, compiler, **kw)
        return f"CAST(to_char({column}, 'YYYYMMDD') AS INTEGER)"

    @compiles(DateNumber, "sqlite")
    def _date_number_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
        (column,) = args(element, compiler, **kw)
        return f"CAST(replace({column}, '-', '') AS INTEGER)"

    @compiles(Unindexed)
    def _unindexed(element: Any, compiler: Any, **kw: Any) -> str:
        (column,) = args(element, compiler, **kw)
        return column

    @compiles(Unindexed, "sqlite")
    def _unindexed_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
        (column,) = args(element, compiler, **kw)
        return f"+{column}"

    return SimpleNamespace(Micros=Micros, LocalDay=LocalDay, DateNumber=DateNumber,
                           Unindexed=Unindexed)
