"""Working calendar for SLA deadlines: working days and business minutes.

"Contact within 3 working days" (T5), "simple investigation within N working days" (T10) and
"call back within 30 business minutes" (T9) are all computed here. Pure code: no I/O and no wall
clock; callers pass the instants they care about.

Rules implemented:

* A day is a working day when it is in ``extra_workdays``, or when it is not in
  ``extra_holidays``, not an official holiday, and either in the ``workweek`` or an official
  make-up working day (China's 调休 weekend working days, taken from the ``holidays`` package's
  ``weekend_workdays``).
* Day periods follow the PRC Civil Code: the start day is not counted (art. 201) and a period
  ending on a day off ends on the next working day (art. 203).
* Business hours are local wall-clock times in ``tz``; every instant is converted through
  zoneinfo, so minute arithmetic is exact in real elapsed time, also on DST change days. A
  wall-clock time that does not exist (spring-forward gap) is read with ``fold=0``, i.e. it maps
  to the instant the clocks jumped over; an ambiguous one (fall-back) means its first occurrence.

``holidays`` is imported lazily, and only when its answer is not already in the on-disk cache
(``holidays`` loads every country it knows on import, ~0.1 s, which `due` from cron must not pay
each run): the official days of a (country, subdivision, year) and the list of known countries
are kept in the user cache directory, keyed by the package's version, and re-derived from the
package whenever that version changes. So importing this module stays cheap. One ``holidays`` object is kept per (country, subdiv) for the
whole process, and each calendar keeps a per-year table of working-day flags, so deadline
computations over thousands of rows rebuild nothing.
"""

from __future__ import annotations

import operator
import re
import threading
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["WorkCalendar", "parse_hours"]

_UTC = timezone.utc
_ONE_DAY = timedelta(days=1)
_ALL_WEEKDAYS = frozenset(range(7))
_COUNTRY_CODE = re.compile(r"[A-Z]{2,3}")

# holidays objects fill themselves in lazily (expand=True mutates the dict on lookup); one lock
# keeps that mutation single-threaded.
_HOLIDAYS_LOCK = threading.Lock()


@lru_cache(maxsize=None)
def _holidays_for(country: str, subdiv: str | None) -> Any:
    """The shared ``holidays`` object of a (country, subdiv); ValueError when either is unknown."""
    import holidays

    if not _COUNTRY_CODE.fullmatch(country):
        raise ValueError(f"unknown holiday country {country!r}: expected an ISO 3166-1 code "
                         "such as 'CN' or 'US'")
    try:
        with _HOLIDAYS_LOCK:
            obj = holidays.country_holidays(country, subdiv=subdiv)
    except NotImplementedError:
        entity = getattr(holidays, country, None)
        if entity is None or subdiv is None:
            raise ValueError(f"unknown holiday country {country!r}: the holidays package "
                             f"{holidays.__version__} has no such country") from None
        supported = ", ".join(sorted(getattr(entity, "subdivisions", ()))) or "none"
        raise ValueError(f"unknown holiday subdivision {subdiv!r} for country {country!r} "
                         f"(supported: {supported})") from None
    if not getattr(obj, "country", None):  # a financial market (ECB, NYSE...), not a country
        raise ValueError(f"unknown holiday country {country!r}: not a country code")
    return obj


# -- the on-disk cache of the package's answers ------------------------------------------------

def _cache_dir() -> Any:
    import os
    from pathlib import Path

    base = os.environ.get("INSURTRACK_CACHE_DIR")
    if base:
        return Path(base)
    from platformdirs import user_cache_path

    return user_cache_path("insurtrack")


@lru_cache(maxsize=None)
def _package_version() -> str:
    """The installed holidays package's version, from its dist-info folder's name beside it
    (importlib.metadata costs `due` ~15 ms to load and search); the metadata API otherwise."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("holidays")
    if spec is not None and spec.origin:
        found = sorted(Path(spec.origin).parent.parent.glob("holidays-*.dist-info"))
        if len(found) == 1:
            return found[0].name[len("holidays-"):-len(".dist-info")]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("holidays")
    except PackageNotFoundError:  # pragma: no cover - a dependency of the project
        return "unknown"


def _cache_read(name: str) -> Any:
    import json

    try:
        return json.loads((_cache_dir() / f"holidays-{_package_version()}-{name}.json").read_text())
    except (OSError, ValueError):
        return None


def _cache_write(name: str, data: Any) -> None:
    """Best effort, atomic: a read-only or missing cache directory only costs speed."""
    import json
    import os
    import tempfile

    try:
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".holidays-", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, folder / f"holidays-{_package_version()}-{name}.json")
    except OSError:
        pass


@lru_cache(maxsize=None)
def _supported() -> dict[str, list[str]]:
    """Country code -> subdivision codes the package knows (cached on disk)."""
    known = _cache_read("countries")
    if not isinstance(known, dict):
        import holidays

        known = {k: list(v) for k, v in holidays.list_supported_countries().items()}
        _cache_write("countries", known)
    return known


def check_region(country: str, subdiv: str | None) -> str | None:
    """None if the holidays package knows this country (and subdivision), else why not."""
    if not _COUNTRY_CODE.fullmatch(country or ""):
        return f"unknown holiday country {country!r}: expected an ISO 3166-1 code such as 'CN' or 'US'"
    known = _supported()
    if country not in known:
        return f"unknown holiday country {country!r}: the holidays package {_package_version()} has no such country"
    if subdiv is not None and subdiv not in known[country]:
        shown = ", ".join(known[country][:20]) + ("…" if len(known[country]) > 20 else "") or "none"
        return f"unknown holiday subdivision {subdiv!r} for country {country!r} (supported: {shown})"
    return None


@lru_cache(maxsize=None)
def _official_days(country: str, subdiv: str | None, year: int) -> tuple[frozenset[date],
                                                                          frozenset[date]]:
    """(official holidays, official make-up working days) falling in ``year``."""
    name = f"{country}-{subdiv or ''}-{year}"
    cached = _cache_read(name)
    if isinstance(cached, list) and len(cached) == 2:
        return (frozenset(date.fromisoformat(d) for d in cached[0]),
                frozenset(date.fromisoformat(d) for d in cached[1]))
    off, makeup = _package_days(country, subdiv, year)
    _cache_write(name, [sorted(d.isoformat() for d in off), sorted(d.isoformat() for d in makeup)])
    return off, makeup


def _package_days(country: str, subdiv: str | None, year: int) -> tuple[frozenset[date],
                                                                         frozenset[date]]:
    obj = _holidays_for(country, subdiv)
    with _HOLIDAYS_LOCK:
        # Make-up days may be announced with the neighbouring year's holidays (a Saturday in late
        # December that pays for a January bridge day), so the adjacent years are loaded too.
        for y in (year - 1, year, year + 1):
            if MINYEAR <= y <= MAXYEAR and y not in obj.years:
                obj.get(date(y, 1, 1))  # expand=True populates the whole year
        off = frozenset(d for d in obj if d.year == year)
        makeup = frozenset(d for d in obj.weekend_workdays if d.year == year)
    return off, makeup


def _check_date(d: object, name: str = "d") -> date:
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"{name} must be a datetime.date (not {type(d).__name__}); "
                        "use local_date() to turn an instant into a date")
    return d


def _check_instant(dt: object, name: str) -> datetime:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a timezone-aware datetime, not {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {dt.isoformat()}")
    return dt.astimezone(_UTC)


def _check_count(n: object, name: str) -> int:
    if isinstance(n, bool):
        raise TypeError(f"{name} must be an int, not bool")
    try:
        value = operator.index(n)
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(n).__name__}") from None
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


@dataclass(frozen=True)
class WorkCalendar:
    """An office's working days and business hours (see the module docstring for the rules)."""

    tz: ZoneInfo
    country: str | None = None
    subdiv: str | None = None
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    workweek: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    day_start: time = time(9, 0)
    day_end: time = time(17, 30)

    def __post_init__(self) -> None:
        if not isinstance(self.tz, tzinfo):
            raise TypeError(f"tz must be a zoneinfo.ZoneInfo, not {type(self.tz).__name__}")

        if self.subdiv is not None and self.country is None:
            raise ValueError(f"holiday subdivision {self.subdiv!r} given without a country")
        if self.country is not None:
            if not isinstance(self.country, str) or not self.country.strip():
                raise ValueError(f"holiday country must be an ISO code such as 'CN', "
                                 f"got {self.country!r}")
            object.__setattr__(self, "country", self.country.strip().upper())
            if self.subdiv is not None and (not isinstance(self.subdiv, str)
                                            or not self.subdiv.strip()):
                raise ValueError(f"holiday subdivision must be a code such as 'NY', "
                                 f"got {self.subdiv!r}")
            problem = check_region(self.country, self.subdiv)  # the package's list, cached
            if problem:
                raise ValueError(problem)

        for name in ("extra_holidays", "extra_workdays"):
            days = frozenset(getattr(self, name))
            for d in days:
                _check_date(d, f"{name} entry")
            object.__setattr__(self, name, days)

        workweek = frozenset(self.workweek)
        if not workweek:
            raise ValueError("workweek must contain at least one weekday (Monday=0 ... Sunday=6)")
        if not workweek <= _ALL_WEEKDAYS or any(isinstance(w, bool) or not isinstance(w, int)
                                                for w in workweek):
            raise ValueError(f"workweek days must be integers 0-6 (Monday=0), "
                             f"got {sorted(workweek, key=repr)}")
        object.__setattr__(self, "workweek", workweek)

        for name in ("day_start", "day_end"):
            value = getattr(self, name)
            if not isinstance(value, time):
                raise TypeError(f"{name} must be a datetime.time, not {type(value).__name__}")
            if value.tzinfo is not None:
                raise ValueError(f"{name} must be a local wall-clock time without tzinfo")
        if not self.day_start < self.day_end:
            raise ValueError(f"business hours must start before they end, got "
                             f"{self.day_start.isoformat()}-{self.day_end.isoformat()}")

        # year -> bytes, one flag per day of the year (1 = working day). Derived data, not a field:
        # it takes no part in ==, hash or repr.
        object.__setattr__(self, "_flags_by_year", {})

    # -- working days -------------------------------------------------------------------------

    def _year_flags(self, year: int) -> bytes:
        flags = self._flags_by_year.get(year)  # type: ignore[attr-defined]
        if flags is None:
            flags = self._build_year_flags(year)
            self._flags_by_year[year] = flags  # type: ignore[attr-defined]
        return flags

    def _build_year_flags(self, year: int) -> bytes:
        if self.country is not None:
            off, makeup = _official_days(self.country, self.subdiv, year)
        else:
            off, makeup = frozenset(), frozenset()
        first = date(year, 1, 1).toordinal()
        length = date(year, 12, 31).toordinal() - first + 1
        flags = bytearray(length)
        for i in range(length):
            d = date.fromordinal(first + i)
            if d in self.extra_workdays:
                flags[i] = 1
            elif d in self.extra_holidays or d in off:
                flags[i] = 0
            else:
                flags[i] = d.weekday() in self.workweek or d in makeup
        return bytes(flags)

    def _flag(self, d: date) -> int:
        return self._year_flags(d.year)[d.toordinal() - date(d.year, 1, 1).toordinal()]

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day at this office."""
        return bool(self._flag(_check_date(d)))

    def _next_working_ordinal(self, ordinal: int) -> int:
        """The first working day's ordinal at or after ``ordinal``."""
        year = date.fromordinal(ordinal).year
        while True:
            flags = self._year_flags(year)
            base = date(year, 1, 1).toordinal()
            i = flags.find(1, ordinal - base)
            if i >= 0:
                return base + i
            year += 1
            ordinal = date(year, 1, 1).toordinal()  # OverflowError past date.max

    def next_working_day(self, d: date) -> date:
        """``d`` itself when it is a working day, else the next working day.

        A period whose last day is a day off ends on the next working day (PRC Civil Code
        art. 203)."""
        d = _check_date(d)
        return date.fromordinal(self._next_working_ordinal(d.toordinal()))

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly after ``d``; ``d`` itself when ``n == 0``.

        The start day is never counted (PRC Civil Code art. 201): with everything open, 3 working
        days after a Monday is the Thursday."""
        d = _check_date(d)
        n = _check_count(n, "n")
        ordinal = d.toordinal()
        for _ in range(n):
            ordinal = self._next_working_ordinal(ordinal + 1)
        return date.fromordinal(ordinal)

    def working_days_between(self, a: date, b: date) -> int:
        """The number of working days in the half-open range (a, b]; 0 when ``b <= a``."""
        a, b = _check_date(a, "a"), _check_date(b, "b")
        if b <= a:
            return 0
        first, last = a + _ONE_DAY, b
        total = 0
        for year in range(first.year, last.year + 1):
            base = date(year, 1, 1).toordinal()
            lo = first.toordinal() - base if year == first.year else 0
            flags = self._year_flags(year)
            hi = last.toordinal() - base + 1 if year == last.year else len(flags)
            total += flags.count(1, lo, hi)
        return total

    # -- business hours -----------------------------------------------------------------------

    def _window(self, d: date) -> tuple[datetime, datetime] | None:
        """Business hours of working day ``d`` as UTC instants; None when they are empty."""
        opening = datetime.combine(d, self.day_start, tzinfo=self.tz).astimezone(_UTC)
        closing = datetime.combine(d, self.day_end, tzinfo=self.tz).astimezone(_UTC)
        if closing <= opening:  # only when both ends fall in or around a DST gap
            return None
        return opening, closing

    def add_business_minutes(self, start: datetime, minutes: int) -> datetime:
        """The instant (aware, UTC) when ``minutes`` of business time have elapsed from ``start``.

        Only minutes inside business hours on working days count. Outside business hours the
        clock starts at the next opening; ``minutes == 0`` gives ``start`` when it is inside
        business hours, else the next opening. A result that lands exactly on a closing time is
        returned as that closing time (T9: "call back within N minutes")."""
        cur = _check_instant(start, "start")
        remaining = timedelta(minutes=_check_count(minutes, "minutes"))
        ordinal = self._next_working_ordinal(self.local_date(cur).toordinal())
        while True:
            window = self._window(date.fromordinal(ordinal))
            if window is not None:
                opening, closing = window
                begin = max(cur, opening)
                if begin < closing:
                    available = closing - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            ordinal = self._next_working_ordinal(ordinal + 1)

    def business_seconds_between(self, a: datetime, b: datetime) -> float:
        """Seconds of business time in the half-open range [a, b); 0 when ``b <= a``."""
        a, b = _check_instant(a, "a"), _check_instant(b, "b")
        if b <= a:
            return 0.0
        total = timedelta(0)
        last = self.local_date(b).toordinal()
        ordinal = self._next_working_ordinal(self.local_date(a).toordinal())
        while ordinal <= last:
            window = self._window(date.fromordinal(ordinal))
            if window is not None:
                lo, hi = max(a, window[0]), min(b, window[1])
                if hi > lo:
                    total += hi - lo
            ordinal = self._next_working_ordinal(ordinal + 1)
        return total.total_seconds()

    # -- local days ---------------------------------------------------------------------------

    def local_date(self, instant: datetime) -> date:
        """The calendar date of ``instant`` (aware) in the office's timezone."""
        return _check_instant(instant, "instant").astimezone(self.tz).date()

    def start_of_day(self, d: date) -> datetime:
        """The aware UTC instant of local midnight starting ``d``.

        DST-safe: where midnight itself is skipped by a spring-forward change, the day starts at
        the instant the clocks jumped (fold=0), which is still the first instant of ``d``."""
        d = _check_date(d)
        return datetime.combine(d, time(0), tzinfo=self.tz).astimezone(_UTC)

    def end_of_day(self, d: date) -> datetime:
        """The exclusive end of ``d``: ``start_of_day(d + 1 day)`` (23 h or 25 h after its start
        on DST change days)."""
        d = _check_date(d)
        return self.start_of_day(d + _ONE_DAY)


_HOURS = re.compile(r"\s*(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})\s*")


def parse_hours(text: str) -> tuple[time, time]:
    """Business hours from a config string such as ``"09:00-17:30"`` -> (09:00, 17:30).

    ValueError, naming the text, when it is not ``HH:MM-HH:MM`` with valid times and the start
    before the end."""
    if not isinstance(text, str):
        raise ValueError(f"business hours must be a string like '09:00-17:30', got {text!r}")
    match = _HOURS.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid business hours {text!r}: expected 'HH:MM-HH:MM', "
                         "e.g. '09:00-17:30'")
    sh, sm, eh, em = (int(g) for g in match.groups())
    try:
        start, end = time(sh, sm), time(eh, em)
    except ValueError:
        raise ValueError(f"invalid business hours {text!r}: hours must be 00-23 and minutes "
                         "00-59") from None
    if not start < end:
        raise ValueError(f"invalid business hours {text!r}: the start must be before the end "
                         "(hours cannot run past midnight)")
    return start, end
