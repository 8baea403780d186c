"""`due` reads only open follow-ups through an index: its cost follows what is due, not the size
of the book (issue 3, design.md "The model due stands on"). Checked on SQLite's query plan —
a structural check, never a timing."""

import pytest
from sqlalchemy import text

from tests.conftest import PG_URL, local


@pytest.mark.skipif(bool(PG_URL), reason="reads SQLite's EXPLAIN QUERY PLAN")
def test_the_board_reads_open_rows_through_the_status_indexes(work, engine):
    from insurtrack.sla import board as svc

    with work("boss") as w:
        by_due, by_warn = svc.present_queries(w, local(2026, 3, 2, 9, 0))
        dialect = w.session.get_bind().dialect
        plans = []
        for q in (by_due, by_warn):
            sql = str(q.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            plans.append(" ".join(r[-1] for r in w.session.execute(text("EXPLAIN QUERY PLAN " + sql))))
    assert "USING INDEX ix_followup_status_due" in plans[0], plans[0]
    assert "USING INDEX ix_followup_status_warn" in plans[1], plans[1]
    assert all("SCAN followup" not in p for p in plans), plans


@pytest.mark.skipif(bool(PG_URL), reason="reads SQLite's EXPLAIN QUERY PLAN")
def test_the_changed_rule_check_is_an_index_probe(work):
    """One statement, one probe of (status, rule, rule_fp) per rule of the book: never a scan."""
    from insurtrack.sla.board import stale_query

    with work("boss") as w:
        book = w.settings.rulebook
        q, params = stale_query(book)
        plan = [r[-1] for r in w.session.execute(text("EXPLAIN QUERY PLAN " + q.text), params)]
    probes = [p for p in plan if "followup" in p]
    assert len(probes) == 2 * len(book.rules) > 20, plan
    # a seek on both sides of the current fingerprint: nothing read when nothing changed
    assert all("INDEX ix_followup_status_rule_fp" in p and ("rule_fp<?" in p or "rule_fp>?" in p)
               for p in probes), plan
