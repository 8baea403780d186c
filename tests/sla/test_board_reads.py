"""The `due` board's reads without the ORM (sla/board.py, store.py, issue 5): plain SQL on the
standard library's SQLite driver, or on a SQLAlchemy connection elsewhere, must read every
follow-up column exactly as the ORM's column types do — on both databases."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import SQLModel, select

from insurtrack import db, store
from insurtrack.domain import models as m
from insurtrack.services.reader import Reader, resolve_actor
from insurtrack.sla import board
from tests.conftest import PG_URL, local


def test_the_board_columns_are_the_models():
    real = SQLModel.metadata.tables["followup"]
    assert set(board.COLUMNS) <= set(real.c.keys())


@pytest.fixture
def followup(work):
    """A follow-up with every column the board reads set, awkward values included."""
    with work("boss") as w:
        sam = w.session.exec(select(m.Staff).where(m.Staff.code == "sam")).one()
        f = m.FollowUp(rule="manual", rule_fp="abc", kind="manual", subject="C-000001",
                       anchor_ref="3", anchor_date=date(2024, 2, 29), occurrence=2,
                       department="service", assignee_id=sam.id, title="Call back — 回访",
                       status="paused", opened_at=local(2026, 3, 1, 23, 59, 59),
                       started_at=local(2026, 3, 2, 0, 0), due_at=local(2026, 3, 5, 17, 30),
                       warn_at=local(2026, 3, 5, 9, 0, 0), paused_at=local(2026, 3, 3, 8, 1),
                       pauses=[["2026-03-03T00:01:00+00:00", None]],
                       history=[["2026-03-02T00:00:00+00:00", "2026-03-05T09:30:00+00:00", None]],
                       closed_at=None)
        w.session.add(f)
        w.session.flush()
        # an instant to the microsecond, and one that is closed
        g = m.FollowUp(rule="manual", kind="manual", subject="C-000002", department="sales",
                       title="t", status="done", opened_at=local(2026, 3, 1, 9, 0, 0, 123456),
                       started_at=local(2026, 3, 1, 9, 0), due_at=local(2026, 3, 2, 0, 0),
                       closed_at=local(2026, 3, 1, 10, 0, 0, 1))
        w.session.add(g)
        w.session.flush()
        return f.id, g.id


def _orm(work, fid):
    with work("boss") as w:
        f = w.session.get(m.FollowUp, fid)
        return tuple(getattr(f, c) for c in board.COLUMNS)


def test_a_followup_reads_as_the_orm_reads_it_on_an_orm_session(work, followup):
    for fid in followup:
        with work("boss") as w:
            got = board.followups(w, board.SELECT, "id = :id", {"id": fid})
        assert [tuple(got[0])] == [_orm(work, fid)]


@pytest.mark.skipif(bool(PG_URL), reason="the standard library's driver reads SQLite files")
def test_a_followup_reads_as_the_orm_reads_it_on_the_sqlite_driver(work, followup, engine,
                                                                     settings, clock):
    url = engine.url.render_as_string()
    for fid in followup:
        with store.lite_read(url, 1000) as lite:
            assert lite is not None
            r = Reader(session=lite, actor=resolve_actor(lite, "boss", "test"), clock=clock,
                       settings=settings)
            got = board.followups(r, board.SELECT, "id = :id", {"id": fid})
        assert [tuple(got[0])] == [_orm(work, fid)]
        assert all(v.tzinfo is not None for v in got[0] if hasattr(v, "hour"))


@pytest.mark.skipif(bool(PG_URL), reason="the standard library's driver reads SQLite files")
def test_the_sqlite_driver_is_not_used_on_a_book_to_create_or_upgrade(tmp_path, engine):
    """No file yet, or a schema below the head: the engine's path creates or upgrades it."""
    with store.lite_read(f"sqlite:///{tmp_path / 'none.db'}", 1000) as lite:
        assert lite is None
    assert not (tmp_path / "none.db").exists()
    from alembic import command

    command.downgrade(db.alembic_config(engine), "0004")
    with store.lite_read(engine.url.render_as_string(), 1000) as lite:
        assert lite is None
    with store.lite_read("sqlite:///:memory:", 1000) as lite:
        assert lite is None


@pytest.mark.skipif(bool(PG_URL), reason="builds its own SQLite file")
def test_due_upgrades_an_older_book_then_shows_the_board(cli, engine):
    from alembic import command

    command.downgrade(db.alembic_config(engine), "0004")
    cli.ok("due")
    assert db.current_revision(engine) == db.SCHEMA_HEAD


def test_the_board_at_present_past_and_future_instants_on_both_paths(cli, work, followup):
    """The same board through the command (SQLite: the standard library's driver) and through
    an ORM unit of work, at the present, a past and a future instant."""
    with work("boss") as w:
        w.session.get(m.FollowUp, followup[0]).status = "open"
    for at in (local(2026, 3, 2, 9, 0), local(2026, 3, 1, 9, 30), local(2026, 3, 5, 12, 0)):
        shown = cli.json("due", "--now", at.strftime("%Y-%m-%d %H:%M"))
        with work("boss") as w:
            rows = board.board(w, at=at)
        expect = [{**r, "due_at": r["due_at"].isoformat(), "warn_at": r["warn_at"] and
                   r["warn_at"].isoformat()} for r in rows]
        assert [{k: s[k] for k in ("id", "state", "due", "late_by")} for s in shown] == \
            [{k: e[k] for k in ("id", "state", "due", "late_by")} for e in expect], at
