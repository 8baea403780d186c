"""Column types: instants come back as the same UTC instant, money to the cent (both stores)."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

from insurtrack.domain.types import Money, UTCDateTime


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('types') / 't.db'}")
    meta = MetaData()
    t = Table("t", meta, Column("id", Integer, primary_key=True), Column("at", UTCDateTime()),
              Column("amount", Money()))
    meta.create_all(engine)
    yield engine, t
    engine.dispose()


INSTANTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31),
                        timezones=st.sampled_from([timezone.utc, ZoneInfo("Asia/Shanghai"),
                                                   ZoneInfo("America/New_York"),
                                                   timezone(timedelta(hours=-3, minutes=-30))]),
                        allow_imaginary=False)  # a local time a DST jump skips names no instant


@settings(max_examples=200, derandomize=True, database=None)
@given(at=INSTANTS, cents=st.integers(-10**15, 10**15))
def test_an_instant_and_an_amount_come_back_exactly_on_sqlite(store, at, cents):
    """Stored as naive UTC text to the microsecond; read back (fast path: fromisoformat) as the
    same instant, in UTC."""
    engine, t = store
    amount = Decimal(cents).scaleb(-2)
    with engine.begin() as conn:
        rid = conn.execute(insert(t).values(at=at, amount=amount)).inserted_primary_key[0]
        stored = conn.exec_driver_sql(f"SELECT at FROM t WHERE id = {rid}").scalar()
        back, money = conn.execute(select(t.c.at, t.c.amount).where(t.c.id == rid)).one()
    assert len(stored) == 26 and stored == at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    # (compared as UTC: Python never finds a local time in a repeated hour — the fold of a DST
    # end, e.g. Shanghai 1941-11-01 23:00 — equal to a time in another zone, PEP 495)
    assert back == at.astimezone(timezone.utc) and back.tzinfo is timezone.utc
    assert money == amount


def test_a_shorter_stored_instant_is_still_read(store):
    """Text written by hand or by another tool without the microseconds is read as well."""
    engine, t = store
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t (id, at) VALUES (999999, '2026-03-02 01:00:00')")
        back = conn.execute(select(t.c.at).where(t.c.id == 999999)).scalar()
    assert back == datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
