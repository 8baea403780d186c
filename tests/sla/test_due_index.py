"""`due` reads only open follow-ups through an index: its cost follows what is due, not the size
of the book (issue 3, design.md "The model due stands on"). Checked on SQLite's query plan —
a structural check, never a timing."""

import pytest
from sqlalchemy import text

from tests.conftest import PG_URL, local


@pytest.mark.skipif(bool(PG_URL), reason="reads SQLite's EXPLAIN QUERY PLAN")
def test_the_board_reads_open_rows_through_the_status_indexes(work, engine):
    """The statement the present board runs (captured as it runs) reads open follow-ups through
    (status, due_at) and (status, warn_at), each row once: never a scan."""
    from sqlalchemy import event

    from insurtrack.sla import board as svc

    seen = []
    with work("boss") as w:
        bind = w.session.get_bind()

        def capture(conn, cursor, statement, parameters, context, executemany):
            if "FROM followup" in statement:
                seen.append((statement, parameters))

        event.listen(bind, "before_cursor_execute", capture)
        try:
            svc.board(w, at=local(2026, 3, 2, 9, 0))
        finally:
            event.remove(bind, "before_cursor_execute", capture)
        [(statement, parameters)] = seen
        plan = " | ".join(r[-1] for r in w.session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters))
    assert "MULTI-INDEX OR" in plan, plan
    assert "USING INDEX ix_followup_status_due" in plan, plan
    assert "USING INDEX ix_followup_status_warn" in plan, plan
    assert "SCAN followup" not in plan, plan


@pytest.mark.skipif(bool(PG_URL), reason="reads SQLite's EXPLAIN QUERY PLAN")
def test_the_changed_rule_check_is_an_index_probe(work):
    """One statement, one probe of (status, rule, rule_fp) per rule of the book: never a scan."""
    from insurtrack.sla.board import stale_query

    with work("boss") as w:
        book = w.settings.rulebook
        q, params = stale_query(book)
        plan = [r[-1] for r in w.session.execute(text("EXPLAIN QUERY PLAN " + q), params)]
    probes = [p for p in plan if "followup" in p]
    assert len(probes) == 2 * len(book.rules) > 20, plan
    # a seek on both sides of the current fingerprint: nothing read when nothing changed
    assert all("INDEX ix_followup_status_rule_fp" in p and ("rule_fp<?" in p or "rule_fp>?" in p)
               for p in probes), plan
