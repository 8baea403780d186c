"""Shared options and the input parsers that turn typed text into dates, money and codes.

Imports stay light (no ORM) so that `--help` and shell completion are fast. Every parser raises
errors.BadInput naming the option and the value it could not use.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Annotated, Optional

import typer

from insurtrack.domain.states import StrEnum
from insurtrack.errors import BadInput


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


FormatOpt = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="Output: a table on a terminal, or json / csv for machines.",
                 case_sensitive=False),
]
AtOpt = Annotated[
    Optional[str],
    typer.Option("--at", help="When it happened, if not now: '2026-11-25 14:30', '2026-11-25', "
                              "'20m ago', '3h ago', '2d ago'. Never in the future.",
                 show_default=False),
]
NoteOpt = Annotated[Optional[str], typer.Option("--note", help="A free-text note kept with the step.")]
# Counts a user types (rows, days ahead): bounded so no database or date arithmetic overflows.
MAX_LIMIT = 2_147_483_647
MAX_DAYS_AHEAD = 36_600  # a hundred years
LimitOpt = Annotated[int, typer.Option("--limit", help="Show at most this many rows (0: all).",
                                       min=0, max=MAX_LIMIT)]

_MONEY = re.compile(r"^\d{1,13}(\.\d{1,2})?$")
_AGO = re.compile(r"^(\d+)\s*(m|min|mins|minutes?|h|hours?|d|days?)\s+ago$", re.IGNORECASE)
_TERM = re.compile(r"^(\d+)\s*(y|years?|m|months?)?$", re.IGNORECASE)

# Dates and times a user may type: wide enough for any birth, founding or business date, narrow
# enough that the date arithmetic behind schedules and deadlines never leaves Python's range.
EARLIEST = date(1000, 1, 1)
LATEST = date(2999, 12, 31)
_RANGE = f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}"


def unreadable(text: str) -> str | None:
    """Why no field may hold `text`, or None: a NUL byte (PostgreSQL cannot store one, C
    strings end at it) or a lone surrogate (bytes of the command line that are not UTF-8)."""
    if "\x00" in text:
        return "contains a NUL byte"
    if any("\ud800" <= c <= "\udfff" for c in text):
        return "is not valid UTF-8 text"
    return None


def shown(text: str, at_most: int = 40) -> str:
    """A value as an error message quotes it: cut short when it is long."""
    return text if len(text) <= at_most else text[:at_most] + "…"


def money(field: str, text: str | None, *, allow_zero: bool = True) -> Decimal | None:
    """An amount such as 1200 or 1200.50: never negative, at most two decimal places."""
    if text is None:
        return None
    raw = text.strip()
    if not _MONEY.match(raw):
        raise BadInput(field, text, "is not an amount (digits with at most two decimals, e.g. 1200.50)")
    value = Decimal(raw).quantize(Decimal("0.01"))
    if not allow_zero and value == 0:
        raise BadInput(field, text, "must be more than zero")
    return value


def percent(field: str, text: str | None) -> Decimal | None:
    """A percentage such as 25 or 12.5 (0 to 1000)."""
    if text is None:
        return None
    raw = text.strip().rstrip("%").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise BadInput(field, text, "is not a percentage (e.g. 25 or 12.5)") from None
    if not value.is_finite() or value < 0 or value > 1000 or value != value.quantize(Decimal("0.01")):
        raise BadInput(field, text, "must be between 0 and 1000 with at most two decimals")
    return value


def day(field: str, text: str | None, *, today: date | None = None) -> date | None:
    """A calendar date YYYY-MM-DD (or 'today' when the caller knows what today is)."""
    if text is None:
        return None
    raw = text.strip()
    if raw.lower() == "today" and today is not None:
        return today
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise BadInput(field, text, "is not a date (use YYYY-MM-DD, e.g. 2026-02-28)")
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise BadInput(field, text, "is not a real calendar date") from None
    if not EARLIEST <= value <= LATEST:
        raise BadInput(field, text, _RANGE)
    return value


def instant(field: str, text: str | None, *, tz: tzinfo, now: datetime) -> datetime | None:
    """A moment: ISO date and time (read in `tz` unless it carries an offset), a date (its
    start), or 'N minutes/hours/days ago'. A local time that a DST change skips is refused."""
    if text is None:
        return None
    raw = text.strip()
    ago = _AGO.match(raw)
    if ago:
        n, unit = int(ago.group(1)), ago.group(2)[0].lower()
        try:
            moment = now - {"m": timedelta(minutes=n), "h": timedelta(hours=n),
                            "d": timedelta(days=n)}[unit]
        except OverflowError:
            raise BadInput(field, shown(text), f"is too long ago: times {_RANGE}") from None
        return _in_range(field, text, moment, tz)
    if raw.lower() == "now":
        return now
    if not re.match(r"^\d{4}-\d{2}-\d{2}", raw):
        raise BadInput(field, text, "is not a time (use '2026-11-25 14:30', '2026-11-25' or '20m ago')")
    from dateutil.parser import isoparse

    try:
        parsed = isoparse(raw.replace(" ", "T", 1))
    except (ValueError, OverflowError):
        raise BadInput(field, text, "is not a real date and time") from None
    if not EARLIEST <= parsed.date() <= LATEST:
        raise BadInput(field, text, _RANGE)
    if parsed.tzinfo is not None:
        return _in_range(field, text, parsed.astimezone(tz).astimezone(now.tzinfo), tz)
    local = parsed.replace(tzinfo=tz)
    from datetime import timezone

    roundtrip = local.astimezone(timezone.utc).astimezone(tz)
    if roundtrip.replace(tzinfo=None) != parsed:
        raise BadInput(field, text, f"does not exist in {tz} (the clocks skip it at a DST change)")
    return local.astimezone(now.tzinfo)


def _in_range(field: str, text: str, moment: datetime, tz: tzinfo) -> datetime:
    if not EARLIEST <= moment.astimezone(tz).date() <= LATEST:
        raise BadInput(field, shown(text), _RANGE)
    return moment


def term_months(field: str, text: str | None) -> int | None:
    """A term: '1y', '20 years', '6m', '18 months' (a bare number is years)."""
    if text is None:
        return None
    got = _TERM.match(text.strip())
    if not got:
        raise BadInput(field, text, "is not a term (e.g. 1y, 20y, 6m)")
    n = int(got.group(1))
    unit = (got.group(2) or "y")[0].lower()
    months = n * 12 if unit == "y" else n
    if not 1 <= months <= 1200:
        raise BadInput(field, text, "must be between 1 month and 100 years")
    return months


def text_value(field: str, text: str | None, *, required: bool = False, max_len: int = 4000) -> str | None:
    """Free text: trimmed; refused if empty where required, too long, or holding control characters
    (Unicode category Cc: C0, DEL and C1, but for line feed and tab) or text that is not UTF-8."""
    if text is None:
        if required:
            raise BadInput(field, None, "is required")
        return None
    why = unreadable(text)
    if why:
        raise BadInput(field, shown(text), why)
    value = text.strip()
    if required and not value:
        raise BadInput(field, text, "must not be empty")
    if len(value) > max_len:
        raise BadInput(field, value[:20] + "…", f"is longer than {max_len} characters")
    if any(c not in "\n\t" and unicodedata.category(c) == "Cc" for c in value):
        raise BadInput(field, shown(text), "contains control characters")
    return value or None


RevealOpt = Annotated[bool, typer.Option(
    "--reveal", help="Show ID and phone numbers in full instead of masked (110101********1234, "
                     "138****5678): managers, sales and service only; every reveal is recorded "
                     "in the customers' history.")]
