"""The working calendar behind SLA deadlines: working days (T5 "contact within N working days",
T10 "simple investigation within N working days") and business minutes (T9 "claim callback within
N minutes").

Official days come from the installed `holidays` package (never hard-coded in the calendar); the
first tests pin what the package says, so an upgrade that changes the data fails loudly here.
Day periods follow the PRC Civil Code: the start day is not counted (art. 201) and a period that
ends on a day off ends on the next working day (art. 203).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insurtrack.sla.calendar import WorkCalendar, parse_hours

UTC = timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")

CN = WorkCalendar(SHANGHAI, "CN")
US = WorkCalendar(NEW_YORK, "US")
NY_STATE = WorkCalendar(NEW_YORK, "US", "NY")
PLAIN_NY = WorkCalendar(NEW_YORK)  # weekends only
PLAIN_UTC = WorkCalendar(ZoneInfo("UTC"))


def at(tz: ZoneInfo, *args: int) -> datetime:
    """An aware local wall-clock instant (fold=0)."""
    return datetime(*args, tzinfo=tz)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- what the holidays package provides (and the calendar relies on) ----------------------------

def test_installed_holidays_package_knows_china_2026():
    cn = holidays.country_holidays("CN", years=2026)
    golden_week = {date(2026, 10, d) for d in range(1, 8)}
    # 1-7 October off: official holidays on all of them but Sunday 4 October, a plain weekend day.
    assert golden_week - set(cn) == {date(2026, 10, 4)}
    assert date(2026, 10, 4).weekday() == 6
    # Official make-up working days (调休) on weekends.
    assert {date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20),
            date(2026, 10, 10)} <= cn.weekend_workdays


def test_installed_holidays_package_knows_us_federal_2026():
    us = holidays.country_holidays("US", years=2026)
    assert date(2026, 11, 26) in us  # Thanksgiving
    assert date(2026, 7, 3) in us  # Independence Day (observed): 4 July 2026 is a Saturday
    assert date(2026, 11, 27) not in us  # the day after is not federal


# -- China: National Day golden week, Spring Festival make-up days ------------------------------

def test_china_golden_week_1_to_7_october_2026_is_off():
    for day in range(1, 8):
        assert not CN.is_working_day(date(2026, 10, day)), f"2026-10-{day:02d}"
    assert CN.is_working_day(date(2026, 9, 30))
    assert CN.is_working_day(date(2026, 10, 8))


def test_china_saturday_10_october_2026_and_sunday_20_september_are_working_days():
    assert date(2026, 10, 10).weekday() == 5
    assert CN.is_working_day(date(2026, 10, 10))
    assert CN.is_working_day(date(2026, 9, 20))
    assert not CN.is_working_day(date(2026, 10, 11))  # the Sunday after is an ordinary Sunday
    assert not PLAIN_UTC.is_working_day(date(2026, 10, 10))  # make-up days are China's only


def test_china_saturday_14_february_2026_is_a_spring_festival_make_up_day():
    assert date(2026, 2, 14).weekday() == 5
    assert CN.is_working_day(date(2026, 2, 14))
    assert CN.is_working_day(date(2026, 2, 28))
    for day in range(15, 24):  # 15-23 February off (9 days)
        assert not CN.is_working_day(date(2026, 2, day)), f"2026-02-{day}"
    assert CN.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert CN.add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert CN.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6  # 14, 24-28


def test_t5_contact_within_working_days_skips_the_golden_week_art_201():
    """T5: the start day does not count (art. 201); the next working day after 30 Sept is 8 Oct."""
    assert CN.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert CN.add_working_days(date(2026, 9, 30), 2) == date(2026, 10, 9)
    assert CN.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)  # make-up Saturday
    assert CN.add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)
    assert CN.add_working_days(date(2026, 9, 29), 3) == date(2026, 10, 9)
    # A lead that came in during the holiday: three working days after 2 October.
    assert CN.add_working_days(date(2026, 10, 2), 3) == date(2026, 10, 10)


def test_t10_working_day_counts_across_the_golden_week():
    assert CN.working_days_between(date(2026, 9, 30), date(2026, 10, 7)) == 0
    assert CN.working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert CN.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    # (28 Sep, 12 Oct]: 29, 30 Sep, 8, 9, 10, 12 Oct.
    assert CN.working_days_between(date(2026, 9, 28), date(2026, 10, 12)) == 6
    # (18 Sep, 21 Sep]: Saturday off, Sunday 20 make-up day, Monday.
    assert CN.working_days_between(date(2026, 9, 18), date(2026, 9, 21)) == 2


def test_a_period_ending_in_the_holiday_rolls_forward_art_203():
    """A 10-calendar-day period from 24 Sept ends on Sunday 4 Oct, inside the holiday: it ends
    on 8 Oct, the first working day after it."""
    end = date(2026, 9, 24) + timedelta(days=10)
    assert end == date(2026, 10, 4)
    assert CN.next_working_day(end) == date(2026, 10, 8)
    assert CN.next_working_day(date(2026, 10, 1)) == date(2026, 10, 8)
    assert CN.next_working_day(date(2026, 10, 8)) == date(2026, 10, 8)  # a working day stays
    assert CN.next_working_day(date(2026, 10, 10)) == date(2026, 10, 10)


# -- United States -------------------------------------------------------------------------------

def test_us_thanksgiving_2026_is_off():
    assert not US.is_working_day(date(2026, 11, 26))
    assert US.is_working_day(date(2026, 11, 27))
    assert US.add_working_days(date(2026, 11, 25), 1) == date(2026, 11, 27)
    assert US.working_days_between(date(2026, 11, 23), date(2026, 11, 30)) == 4  # 24,25,27,30
    assert PLAIN_NY.is_working_day(date(2026, 11, 26))


def test_us_independence_day_observed_on_friday_3_july_2026():
    assert not US.is_working_day(date(2026, 7, 3))
    assert US.add_working_days(date(2026, 7, 2), 1) == date(2026, 7, 6)


def test_us_subdivision_adds_state_holidays():
    lincoln = date(2026, 2, 12)  # Lincoln's Birthday: a New York state holiday, not federal
    assert US.is_working_day(lincoln)
    assert not NY_STATE.is_working_day(lincoln)


# -- month ends, year ends, 29 February ----------------------------------------------------------

def test_working_days_cross_29_february_2028():
    assert date(2028, 2, 29).weekday() == 1  # Tuesday
    assert PLAIN_UTC.add_working_days(date(2028, 2, 25), 1) == date(2028, 2, 28)
    assert PLAIN_UTC.add_working_days(date(2028, 2, 28), 1) == date(2028, 2, 29)
    assert PLAIN_UTC.add_working_days(date(2028, 2, 28), 2) == date(2028, 3, 1)
    assert PLAIN_UTC.working_days_between(date(2028, 2, 27), date(2028, 3, 1)) == 3
    assert US.add_working_days(date(2028, 2, 28), 2) == date(2028, 3, 1)


def test_working_days_cross_month_and_year_ends():
    assert PLAIN_UTC.add_working_days(date(2027, 2, 26), 1) == date(2027, 3, 1)  # no 29th
    assert PLAIN_UTC.add_working_days(date(2026, 1, 30), 1) == date(2026, 2, 2)
    # New Year's Day 2027 is a Friday: 31 Dec, then Monday 4 Jan, Tuesday 5 Jan.
    assert US.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert US.add_working_days(date(2026, 12, 30), 3) == date(2027, 1, 5)
    assert US.working_days_between(date(2026, 12, 30), date(2027, 1, 5)) == 3
    # Observed on Friday 31 Dec 2027 for Saturday 1 Jan 2028, a holiday of the next year.
    assert not US.is_working_day(date(2027, 12, 31))


def test_working_days_between_is_half_open_and_zero_backwards():
    monday, friday = date(2026, 3, 2), date(2026, 3, 6)
    assert PLAIN_UTC.working_days_between(monday, friday) == 4
    assert PLAIN_UTC.working_days_between(friday, monday) == 0
    assert PLAIN_UTC.working_days_between(monday, monday) == 0
    assert PLAIN_UTC.working_days_between(date(2025, 12, 31), date(2028, 12, 31)) == 782


def test_add_zero_working_days_returns_the_day_itself():
    assert CN.add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)


# -- extra holidays and workdays override the package ---------------------------------------------

def test_extra_workdays_and_holidays_override_the_package():
    cal = WorkCalendar(SHANGHAI, "CN",
                       extra_holidays=frozenset({date(2026, 10, 10), date(2026, 10, 9)}),
                       extra_workdays=frozenset({date(2026, 10, 5), date(2026, 10, 11)}))
    assert cal.is_working_day(date(2026, 10, 5))  # an official holiday made a working day
    assert cal.is_working_day(date(2026, 10, 11))  # a Sunday
    assert not cal.is_working_day(date(2026, 10, 10))  # the official make-up day cancelled
    assert not cal.is_working_day(date(2026, 10, 9))  # an ordinary Friday off
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 5)
    assert cal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 11)
    assert CN.is_working_day(date(2026, 10, 10))  # other calendars keep the package's view


def test_extra_workdays_win_over_extra_holidays():
    day = date(2026, 6, 3)
    cal = WorkCalendar(NEW_YORK, extra_holidays=frozenset({day}), extra_workdays=frozenset({day}))
    assert cal.is_working_day(day)


def test_custom_workweek():
    six_days = WorkCalendar(SHANGHAI, "CN", workweek=frozenset({0, 1, 2, 3, 4, 5}))
    assert six_days.is_working_day(date(2026, 10, 17))  # a Saturday
    assert not six_days.is_working_day(date(2026, 10, 3))  # official holidays still off
    assert six_days.is_working_day(date(2026, 9, 20))  # official make-up Sunday still on


# -- business minutes (T9) -----------------------------------------------------------------------

def test_t9_callback_inside_hours_is_plain_minutes():
    got = PLAIN_NY.add_business_minutes(at(NEW_YORK, 2026, 6, 3, 10, 0), 30)
    assert got == at(NEW_YORK, 2026, 6, 3, 10, 30)
    assert got.tzinfo is UTC


def test_t9_callback_requested_before_opening_starts_at_opening():
    got = PLAIN_NY.add_business_minutes(at(NEW_YORK, 2026, 6, 3, 7, 12), 30)
    assert got == utc(2026, 6, 3, 13, 30)  # 09:30 EDT


def test_t9_callback_requested_after_closing_rolls_to_next_morning():
    got = PLAIN_NY.add_business_minutes(at(NEW_YORK, 2026, 6, 3, 18, 0), 30)
    assert got == at(NEW_YORK, 2026, 6, 4, 9, 30)


def test_t9_callback_on_friday_afternoon_rolls_to_monday():
    got = PLAIN_NY.add_business_minutes(at(NEW_YORK, 2026, 6, 5, 17, 0), 45)
    assert got == at(NEW_YORK, 2026, 6, 8, 9, 15)  # 30 min Friday + 15 min Monday


def test_t9_callback_across_the_golden_week():
    got = CN.add_business_minutes(at(SHANGHAI, 2026, 9, 30, 17, 0), 60)
    assert got == utc(2026, 10, 8, 1, 30)  # 09:30 CST on 8 October
    assert CN.business_seconds_between(at(SHANGHAI, 2026, 9, 30, 17, 0), got) == 3600


def test_t9_callback_across_thanksgiving():
    got = US.add_business_minutes(at(NEW_YORK, 2026, 11, 25, 17, 20), 20)
    assert got == at(NEW_YORK, 2026, 11, 27, 9, 10)


def test_business_minutes_ending_exactly_at_closing_give_the_closing_time():
    got = PLAIN_NY.add_business_minutes(at(NEW_YORK, 2026, 6, 3, 17, 0), 30)
    assert got == at(NEW_YORK, 2026, 6, 3, 17, 30)
    full_day = PLAIN_NY.add_business_minutes(at(NEW_YORK, 2026, 6, 3, 9, 0), 510)
    assert full_day == at(NEW_YORK, 2026, 6, 3, 17, 30)
    assert PLAIN_NY.add_business_minutes(at(NEW_YORK, 2026, 6, 3, 9, 0), 511) == \
        at(NEW_YORK, 2026, 6, 4, 9, 1)


def test_zero_business_minutes():
    inside = at(NEW_YORK, 2026, 6, 3, 11, 5, 30)
    assert PLAIN_NY.add_business_minutes(inside, 0) == inside
    assert PLAIN_NY.add_business_minutes(at(NEW_YORK, 2026, 6, 3, 8, 0), 0) == \
        at(NEW_YORK, 2026, 6, 3, 9, 0)
    # Closing time itself is outside the half-open business hours.
    assert PLAIN_NY.add_business_minutes(at(NEW_YORK, 2026, 6, 3, 17, 30), 0) == \
        at(NEW_YORK, 2026, 6, 4, 9, 0)
    assert PLAIN_NY.add_business_minutes(at(NEW_YORK, 2026, 6, 6, 12, 0), 0) == \
        at(NEW_YORK, 2026, 6, 8, 9, 0)  # Saturday -> Monday opening


def test_start_in_any_timezone():
    start = utc(2026, 6, 3, 14, 0)  # 10:00 EDT
    assert PLAIN_NY.add_business_minutes(start, 30) == utc(2026, 6, 3, 14, 30)
    tokyo = start.astimezone(ZoneInfo("Asia/Tokyo"))
    assert PLAIN_NY.add_business_minutes(tokyo, 30) == utc(2026, 6, 3, 14, 30)
    # 02:00 Thursday in Shanghai is still Wednesday afternoon in New York.
    assert PLAIN_NY.add_business_minutes(at(SHANGHAI, 2026, 6, 4, 2, 0), 30) == \
        at(NEW_YORK, 2026, 6, 3, 14, 30)


def test_business_seconds_between():
    mon9 = at(NEW_YORK, 2026, 6, 1, 9, 0)
    assert PLAIN_NY.business_seconds_between(mon9, at(NEW_YORK, 2026, 6, 1, 17, 30)) == 30600
    assert PLAIN_NY.business_seconds_between(mon9, at(NEW_YORK, 2026, 6, 8, 9, 0)) == 5 * 30600
    assert PLAIN_NY.business_seconds_between(at(NEW_YORK, 2026, 6, 6), at(NEW_YORK, 2026, 6, 7)) \
        == 0  # a Saturday
    assert PLAIN_NY.business_seconds_between(at(NEW_YORK, 2026, 6, 1, 12), mon9) == 0
    assert PLAIN_NY.business_seconds_between(mon9, mon9) == 0
    assert isinstance(PLAIN_NY.business_seconds_between(mon9, mon9), float)
    assert PLAIN_NY.business_seconds_between(at(NEW_YORK, 2026, 6, 1, 17, 29, 59, 500000),
                                             at(NEW_YORK, 2026, 6, 2, 9, 0, 0, 250000)) == 0.75


# -- DST change days in America/New_York ----------------------------------------------------------

def test_business_minutes_across_the_spring_forward_weekend():
    """Clocks jump 02:00 -> 03:00 on Sunday 8 March 2026: Friday closes at 22:30Z (EST), Monday
    opens at 13:00Z (EDT)."""
    start = at(NEW_YORK, 2026, 3, 6, 17, 0)
    got = US.add_business_minutes(start, 60)
    assert got == utc(2026, 3, 9, 13, 30)
    assert got == at(NEW_YORK, 2026, 3, 9, 9, 30)
    assert US.business_seconds_between(start, got) == 3600


def test_business_minutes_across_the_fall_back_weekend():
    """Clocks fall back 02:00 -> 01:00 on Sunday 1 November 2026."""
    start = at(NEW_YORK, 2026, 10, 30, 17, 0)
    got = US.add_business_minutes(start, 60)
    assert got == utc(2026, 11, 2, 14, 30)
    assert got == at(NEW_YORK, 2026, 11, 2, 9, 30)
    assert US.business_seconds_between(start, got) == 3600


def test_start_and_end_of_the_23_and_25_hour_days():
    assert US.start_of_day(date(2026, 3, 8)) == utc(2026, 3, 8, 5)
    assert US.end_of_day(date(2026, 3, 8)) == utc(2026, 3, 9, 4)
    assert US.end_of_day(date(2026, 3, 8)) - US.start_of_day(date(2026, 3, 8)) == \
        timedelta(hours=23)
    assert US.start_of_day(date(2026, 11, 1)) == utc(2026, 11, 1, 4)
    assert US.end_of_day(date(2026, 11, 1)) == utc(2026, 11, 2, 5)
    assert US.end_of_day(date(2026, 11, 1)) - US.start_of_day(date(2026, 11, 1)) == \
        timedelta(hours=25)
    assert US.start_of_day(date(2026, 11, 1)).tzinfo is UTC
    assert US.local_date(US.end_of_day(date(2026, 3, 8)) - timedelta(microseconds=1)) == \
        date(2026, 3, 8)


def test_business_hours_spanning_the_clock_change_count_real_minutes():
    """A Sunday shift 01:00-04:00 lasts 2 real hours on 8 March and 4 on 1 November."""
    night = WorkCalendar(NEW_YORK, workweek=frozenset({6}), day_start=time(1), day_end=time(4))
    spring, fall = date(2026, 3, 8), date(2026, 11, 1)
    assert night.business_seconds_between(night.start_of_day(spring),
                                          night.end_of_day(spring)) == 2 * 3600
    assert night.business_seconds_between(night.start_of_day(fall),
                                          night.end_of_day(fall)) == 4 * 3600
    fall_open = utc(2026, 11, 1, 5)  # 01:00 EDT, the first 01:00
    assert night.add_business_minutes(fall_open, 180) == utc(2026, 11, 1, 8)  # 03:00 EST
    assert night.add_business_minutes(fall_open, 240) == utc(2026, 11, 1, 9)  # 04:00 EST
    spring_open = utc(2026, 3, 8, 6)  # 01:00 EST
    assert night.add_business_minutes(spring_open, 120) == utc(2026, 3, 8, 8)  # 04:00 EDT
    assert night.add_business_minutes(spring_open, 121) == utc(2026, 3, 15, 5, 1)  # next Sunday


def test_start_of_day_where_midnight_does_not_exist():
    """Chile springs forward at midnight: 6 September 2026 starts at 01:00 -03."""
    santiago = WorkCalendar(ZoneInfo("America/Santiago"))
    start = santiago.start_of_day(date(2026, 9, 6))
    assert start == utc(2026, 9, 6, 4)
    assert santiago.local_date(start) == date(2026, 9, 6)
    assert santiago.local_date(start - timedelta(microseconds=1)) == date(2026, 9, 5)
    assert santiago.end_of_day(date(2026, 9, 5)) == start


def test_local_date():
    assert CN.local_date(utc(2026, 9, 30, 16, 30)) == date(2026, 10, 1)
    assert US.local_date(utc(2026, 10, 1, 2, 0)) == date(2026, 9, 30)


# -- properties ----------------------------------------------------------------------------------

CALENDARS = [CN, US, NY_STATE, PLAIN_NY,
             WorkCalendar(ZoneInfo("Europe/London"), "GB", day_start=time(8, 15),
                          day_end=time(12, 45))]
days = st.dates(min_value=date(2025, 1, 1), max_value=date(2029, 12, 31))
calendars = st.sampled_from(CALENDARS)


@st.composite
def inside_business_hours(draw):
    cal = draw(calendars)
    day = cal.next_working_day(draw(days))
    opening = datetime.combine(day, cal.day_start, tzinfo=cal.tz).astimezone(UTC)
    closing = datetime.combine(day, cal.day_end, tzinfo=cal.tz).astimezone(UTC)
    span = int((closing - opening) / timedelta(microseconds=1))
    start = opening + timedelta(microseconds=draw(st.integers(0, span - 1)))
    zone = draw(st.sampled_from([UTC, cal.tz, ZoneInfo("Asia/Tokyo")]))
    return cal, start.astimezone(zone)


@settings(max_examples=150, deadline=None)
@given(inside_business_hours(), st.integers(0, 30 * 510))
def test_t9_business_minutes_round_trip_from_inside_business_hours(case, minutes):
    cal, start = case
    end = cal.add_business_minutes(start, minutes)
    assert end >= start
    assert cal.business_seconds_between(start, end) == minutes * 60


@settings(max_examples=100, deadline=None)
@given(calendars, st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2029, 12, 31),
                               timezones=st.just(UTC)),
       st.integers(0, 5000))
def test_business_minutes_round_trip_from_any_instant(cal, start, minutes):
    end = cal.add_business_minutes(start, minutes)
    assert cal.business_seconds_between(start, end) == minutes * 60
    if minutes:  # the deadline is inside business hours or exactly at a closing time
        assert cal.is_working_day(cal.local_date(end - timedelta(microseconds=1)))


@settings(max_examples=150, deadline=None)
@given(calendars, days, st.integers(0, 60))
def test_t5_t10_working_days_round_trip(cal, day, n):
    later = cal.add_working_days(day, n)
    assert cal.working_days_between(day, later) == n
    if n:
        assert later > day and cal.is_working_day(later)
        assert cal.working_days_between(day, later - timedelta(days=1)) == n - 1
        assert cal.add_working_days(day, n - 1) < later


@settings(max_examples=60, deadline=None)
@given(calendars, days)
def test_next_working_day_is_the_first_working_day_at_or_after(cal, day):
    nxt = cal.next_working_day(day)
    assert nxt >= day and cal.is_working_day(nxt)
    assert cal.working_days_between(day - timedelta(days=1), nxt - timedelta(days=1)) == 0


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["America/New_York", "America/Santiago", "Europe/London", "Asia/Shanghai",
                        "Australia/Lord_Howe", "America/Havana"]),
       st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)))
def test_start_of_day_is_the_first_instant_of_the_local_day(zone, day):
    cal = WorkCalendar(ZoneInfo(zone))
    start = cal.start_of_day(day)
    assert cal.local_date(start) == day
    assert cal.local_date(start - timedelta(microseconds=1)) == day - timedelta(days=1)
    assert cal.end_of_day(day) == cal.start_of_day(day + timedelta(days=1))
    assert timedelta(hours=22) <= cal.end_of_day(day) - start <= timedelta(hours=26)


# -- validation ----------------------------------------------------------------------------------

def test_unknown_country_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="'XX'"):
        WorkCalendar(SHANGHAI, "XX")
    with pytest.raises(ValueError, match="'ECB'"):  # a financial market, not a country
        WorkCalendar(SHANGHAI, "ECB")
    with pytest.raises(ValueError, match="country"):
        WorkCalendar(SHANGHAI, "")


def test_unknown_subdivision_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="'ZZ'.*'US'"):
        WorkCalendar(NEW_YORK, "US", "ZZ")
    with pytest.raises(ValueError, match="without a country"):
        WorkCalendar(NEW_YORK, subdiv="NY")


def test_country_code_is_normalised():
    cal = WorkCalendar(SHANGHAI, " cn ")
    assert cal.country == "CN"
    assert cal == CN and hash(cal) == hash(CN)


def test_business_hours_must_start_before_they_end():
    with pytest.raises(ValueError, match="before"):
        WorkCalendar(SHANGHAI, day_start=time(17), day_end=time(9))
    with pytest.raises(ValueError, match="before"):
        WorkCalendar(SHANGHAI, day_start=time(9), day_end=time(9))


def test_workweek_must_be_weekday_numbers():
    with pytest.raises(ValueError, match="workweek"):
        WorkCalendar(SHANGHAI, workweek=frozenset())
    with pytest.raises(ValueError, match="workweek"):
        WorkCalendar(SHANGHAI, workweek=frozenset({1, 7}))


def test_bad_arguments():
    with pytest.raises(ValueError, match=">= 0"):
        CN.add_working_days(date(2026, 1, 5), -1)
    with pytest.raises(ValueError, match=">= 0"):
        CN.add_business_minutes(utc(2026, 1, 5, 3), -5)
    with pytest.raises(ValueError, match="aware"):
        CN.add_business_minutes(datetime(2026, 1, 5, 10), 5)
    with pytest.raises(ValueError, match="aware"):
        CN.business_seconds_between(datetime(2026, 1, 5, 10), utc(2026, 1, 6))
    with pytest.raises(ValueError, match="aware"):
        CN.local_date(datetime(2026, 1, 5, 10))
    with pytest.raises(TypeError, match="local_date"):
        CN.is_working_day(utc(2026, 1, 5, 10))  # an instant is not a day
    with pytest.raises(TypeError):
        WorkCalendar("Asia/Shanghai")  # type: ignore[arg-type]


def test_calendar_is_frozen_and_hashable():
    with pytest.raises(AttributeError):
        CN.country = "US"  # type: ignore[misc]
    CN.is_working_day(date(2026, 1, 5))  # a warmed cache takes no part in equality
    assert WorkCalendar(SHANGHAI, "CN") == CN
    assert {CN: 1}[WorkCalendar(SHANGHAI, "CN")] == 1
    assert WorkCalendar(SHANGHAI, "CN", extra_holidays=frozenset({date(2026, 1, 5)})) != CN


# -- parse_hours ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("09:00-17:30", (time(9), time(17, 30))),
    ("9:00-17:30", (time(9), time(17, 30))),
    (" 08:15 - 12:45 ", (time(8, 15), time(12, 45))),
    ("00:00-23:59", (time(0), time(23, 59))),
])
def test_parse_hours(text, expected):
    assert parse_hours(text) == expected


@pytest.mark.parametrize("text", [
    "", "09:00", "9-17", "09:00-17:30-18:00", "09.00-17.30", "25:00-26:00", "09:60-17:00",
    "17:30-09:00", "09:00-09:00", "09:00-24:00", "ab:cd-ef:gh", "09:00 to 17:30",
])
def test_parse_hours_rejects_bad_input_naming_it(text):
    with pytest.raises(ValueError, match="business hours") as info:
        parse_hours(text)
    assert repr(text) in str(info.value)


def test_parse_hours_feeds_the_calendar():
    start, end = parse_hours("08:00-12:00")
    cal = WorkCalendar(NEW_YORK, day_start=start, day_end=end)
    assert cal.add_business_minutes(at(NEW_YORK, 2026, 6, 3, 11, 30), 60) == \
        at(NEW_YORK, 2026, 6, 4, 8, 30)


# -- cheap and pure ------------------------------------------------------------------------------

def test_importing_the_module_does_not_import_holidays():
    probe = ("import sys\nfrom zoneinfo import ZoneInfo\n"
             "from insurtrack.sla.calendar import WorkCalendar\n"
             "from datetime import date\n"
             "WorkCalendar(ZoneInfo('UTC')).add_working_days(date(2026, 1, 1), 5)\n"
             "print('holidays' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_the_module_never_reads_the_wall_clock():
    import insurtrack.sla.calendar as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    for call in ("now(", "today(", "utcnow(", "time.time(", "localtime("):
        assert call not in source, call
