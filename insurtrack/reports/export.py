"""`insurtrack export`: the raw records of the book, one row per record, for spreadsheets and other
systems — streamed in flat memory, whatever the size of the book.

Every foreign key is shown as the code people type (customer C-…, policy P-…, claim CL-…, staff
login), never a database id. The columns of each kind are a stable contract (COLUMNS, pinned in
tests/reports/test_export.py). Values follow the renderer's rules: money exact ("1200.50"),
instants ISO 8601 in the configured timezone, dates ISO, empty for none.

How it stays flat and fast: one SELECT of just the needed columns per kind (policy, claim and
application codes joined in SQL; staff logins and customer codes from dicts loaded up front).
Policies and applications also carry their product lines (`lines`: PRODUCT:SUM_INSURED:PREMIUM;…),
and policies their paid installments, read by side SELECTs ordered or grouped by record id and
merged with the records (never a query per record). Three ways to the renderer:
- rows(): any database. Values decoded by the column types (Decimal, datetime), a dict per row,
  read through a server-side cursor (`yield_per`: PostgreSQL streams) — Output.rows(). The
  reference the other two are tested against (tests/reports/test_export.py: the same bytes).
- stored(): SQLite, where in_sql() does not apply (a book that is not a file).
  The same SELECTs read raw from the driver (integer cents, UTC instants as text, ids) in
  batches; Output.stream() renders a whole batch with one compiled expression per row: no
  Decimal, datetime or dict per value, several times faster.
- in_sql(): SQLite, what `export` takes there. The same SELECTs, but SQLite renders whole rows
  by the renderer's rules written in SQL (Output.sql_render) and joins them in blocks, threads
  rendering alternate blocks on one snapshot; Python only writes blocks (issue 5).

`--from` / `--to` (local dates, both included) pick records by the date that belongs to each kind
(PERIOD_OF): when a customer was added, a policy issued, a payment received, an installment falls
due… With neither, everything is exported.

This module's top level imports nothing heavy: the CLI reads COLUMNS and PERIOD_OF for `--help`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

KINDS = ("customers", "applications", "policies", "installments", "payments", "claims",
         "revisits", "feedback", "events", "followups")

COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": (
        "code", "kind", "name", "id_number", "phone", "email", "address", "birth_date", "region",
        "source", "owner", "credit_rating", "risk_level", "rating_reason", "rated_at", "notes",
        "created_at", "updated_at"),
    "applications": (
        "code", "customer", "owner", "status", "frequency", "term", "lines", "rate_loading",
        "conditions", "promised_date", "delivered_at", "review_note", "reviewed_at",
        "submitted_at", "info_requested", "decision", "decline_reason", "decline_advice",
        "decided_at", "decided_by", "withdraw_reason", "created_at"),
    "policies": (
        "code", "customer", "owner", "status", "frequency", "term", "effective_date",
        "expiry_date", "lines", "sum_insured", "premium", "rate_loading", "conditions",
        "paid_installments", "application", "renewed_from", "issued_at", "in_force_at",
        "suspended_at", "expired_at", "cancelled_at", "cancel_reason"),
    "installments": ("policy", "seq", "due_date", "amount", "paid_amount", "status", "paid_at"),
    "payments": ("policy", "installment", "amount", "method", "reference", "paid_at",
                 "recorded_by"),
    "claims": (
        "code", "policy", "customer", "handler", "status", "product", "cause", "incident_at",
        "place", "circumstances", "reporter_name", "reporter_phone", "amount_claimed",
        "reported_at", "contacted_at", "complexity", "investigation_plan", "assessed_by",
        "approved_amount", "approved_at", "approved_by", "rejection_reason", "rejected_at",
        "paid_amount", "paid_at", "payment_method", "payment_reference", "closed_at",
        "close_reason"),
    "revisits": ("code", "customer", "policy", "claim", "kind", "channel", "satisfaction",
                 "changed_needs", "notes", "occurred_at", "actor"),
    "feedback": ("code", "customer", "policy", "claim", "kind", "channel", "summary", "status",
                 "department", "assignee", "resolution", "opened_at", "opened_by", "resolved_at",
                 "resolved_by", "informed_at", "informed_by"),
    "events": ("id", "occurred_at", "recorded_at", "type", "subject", "customer", "actor",
               "payload"),
    "followups": ("id", "rule", "kind", "subject", "customer", "department", "assignee", "title",
                  "note", "status", "anchor_ref", "anchor_date", "occurrence", "opened_at",
                  "started_at", "warn_at", "due_at", "paused_at", "closed_at", "closed_by",
                  "close_note", "breached"),
}

# The date that decides whether a record falls in --from/--to, as the help states it.
PERIOD_OF: dict[str, str] = {
    "customers": "created_at (when the customer was added)",
    "applications": "created_at (when the plan was drafted)",
    "policies": "issued_at (when the policy was issued)",
    "installments": "due_date (when the installment falls due)",
    "payments": "paid_at (when the payment was received)",
    "claims": "reported_at (when the claim was reported)",
    "revisits": "occurred_at (when the contact took place)",
    "feedback": "opened_at (when the feedback was received)",
    "events": "occurred_at (business time of the step)",
    "followups": "opened_at (when the clock was opened)",
}

BATCH = 2000  # rows fetched per round trip from the server-side cursor
STREAM = {"yield_per": BATCH}  # implies stream_results: a server-side cursor where there is one


def window(start: date | None, end: date | None,
           tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    """--from/--to as instants: [first instant of `start`, first instant after `end`)."""
    since = datetime.combine(start, datetime.min.time(), tzinfo=tz) if start else None
    until = (datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=tz)
             if end else None)
    return since, until


def rows(session: Any, kind: str, *, start: date | None = None, end: date | None = None,
         tz: tzinfo, payload_as_text: bool = True, mask: bool = False) -> Iterator[dict[str, Any]]:
    """The records of `kind` as dicts keyed by COLUMNS[kind], oldest first, streamed.

    `session` is an open Session or Core connection (read transaction); the generator must be
    consumed before it closes. `payload_as_text`: events' payload as a JSON string (csv) or as
    a mapping (json). `mask`: ID and phone numbers masked (privacy.py), in events' payloads
    too."""
    from insurtrack.domain import records as t

    since, until = window(start, end, tz)
    query, names, staff_at, customer_at, merge = _BUILDERS[kind](since=since, until=until,
                                                                 start=start, end=end)
    conn = _connection(session)
    codes: dict[int, dict[int, str]] = {}
    for table, at in ((t.staff, staff_at), (t.customer, customer_at)):
        if at:
            known = _codes(conn, table)
            codes.update({i: known for i in at})
    result = conn.execute(query, execution_options=STREAM)
    out = _mapped(names, result, codes)
    if mask:
        out = _masked(out)
    if kind == "events" and payload_as_text:
        out = _payload_text(out)
    if merge is not None:
        out = merge(conn, out)
    return out


# -- stored values, for Output.stream (SQLite) ---------------------------------------------------
# The same SELECTs, read raw from the driver (integer cents, UTC instants as text, staff ids) in
# batches and handed to the renderer, which turns a whole batch into text with one compiled
# expression per row (cli/output.py, Output.stream): no Decimal, datetime or dict per value.
# Product lines and paid installments come per batch from one grouped SELECT over the batch's id
# range, looked up by id. The renderer writes the same bytes rows() + Output.rows() write: the
# golden tests in tests/reports/test_export.py compare the two on every kind.

FAST_BATCH = 5000  # rows per batch: one fetch, one render, one write, one side query each

# Text the program writes — codes, states from the domain's enums — is written as it is: it never
# starts with a formula character and never holds a comma, quote or line break. Everything else
# a person may have typed is neutralised and quoted (Output.stream: "name" against "text").
_NAMES: dict[str, frozenset[str]] = {
    "customers": frozenset({"code", "kind", "credit_rating", "risk_level"}),
    "applications": frozenset({"code", "customer", "status", "frequency"}),
    "policies": frozenset({"code", "customer", "status", "frequency", "application",
                           "renewed_from"}),
    "installments": frozenset({"policy", "status"}),
    "payments": frozenset({"policy", "method"}),
    "claims": frozenset({"code", "policy", "customer", "status", "complexity", "payment_method"}),
    "revisits": frozenset({"code", "customer", "policy", "claim", "kind", "channel"}),
    "feedback": frozenset({"code", "customer", "policy", "claim", "kind", "channel", "status",
                           "department"}),
    "events": frozenset({"type", "subject", "customer"}),
    "followups": frozenset({"kind", "subject", "customer", "department", "status"}),
}


def stored(session: Any, kind: str, *, start: date | None = None, end: date | None = None,
           tz: tzinfo, mask: bool = False
           ) -> tuple[tuple[Any, ...], tuple[int, ...], Iterator[list[Any]]] | None:
    """The records of `kind` as SQLite stores them, for Output.stream(COLUMNS[kind], …):
    (the stored kind of each column, where each column is in a row, the batches of rows), oldest
    first, streamed. None on another database, and for masked events (a payload is masked
    decoded): use rows() there. `mask`: ID and phone columns through privacy.MASKS."""
    conn = _connection(session)
    if conn.dialect.name != "sqlite" or mask and kind == "events":
        return None
    from insurtrack.domain import records as t

    since, until = window(start, end, tz)
    query, names, staff_at, customer_at, merge = _BUILDERS[kind](since=since, until=until,
                                                                 start=start, end=end)
    kinds = _stored_kinds(kind, query, names, staff_at, customer_at, mask)
    looked: dict[str, Callable[[Any], Any]] = {"term": _Terms().__getitem__}
    if staff_at:
        looked["staff"] = _codes(conn, t.staff).get
    if customer_at:
        looked["customer"] = _codes(conn, t.customer).get
    kinds = [(k[0], looked[k[1]]) if isinstance(k, tuple) and isinstance(k[1], str) else k
             for k in kinds]
    where = {name: i for i, name in enumerate(names)}
    lines: _Looked = _Looked("")
    paid: _Looked = _Looked(0)
    if merge is not None:  # applications, policies: lines, paid by record id
        where["lines"] = where["paid_installments"] = where["_id"]
        kinds.append(("text", lines.__getitem__))
        kinds.append(("int", paid.__getitem__))
    at = tuple(where[c] for c in COLUMNS[kind])
    position = {"lines": len(names), "paid_installments": len(names) + 1}
    kinds_at = tuple(kinds[position.get(c, where[c])] for c in COLUMNS[kind])
    batches = _batches(conn, query, kind if merge is not None else None, lines, paid)
    return kinds_at, at, batches


def _stored_kind(sa_type: Any) -> str:
    from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String

    from insurtrack.domain.types import Fixed, UTCDateTime

    if isinstance(sa_type, UTCDateTime):
        return "instant"
    if isinstance(sa_type, Fixed):
        if sa_type.places != 2:
            raise ValueError(f"Fixed({sa_type.places}) has no stored kind")
        return "money"
    if isinstance(sa_type, Boolean):
        return "bool"
    if isinstance(sa_type, DateTime):
        raise ValueError("a DateTime column that is not UTCDateTime")
    if isinstance(sa_type, Date):
        return "date"
    if isinstance(sa_type, Integer):
        return "int"
    if isinstance(sa_type, JSON):
        return "json"
    if isinstance(sa_type, String):
        return "text"
    raise ValueError(f"no stored kind for {sa_type!r}")


def _term(months: int) -> str:
    return f"{months // 12}y" if months % 12 == 0 else f"{months}m"


class _Terms(dict):
    """Terms as typed (20y, 18m) by number of months, each made once."""

    def __missing__(self, months: int) -> str:
        self[months] = text = _term(months)
        return text


class _Looked(dict):
    """A batch's product lines or paid counts by record id; `default` for a record without."""

    def __init__(self, default: Any) -> None:
        super().__init__()
        self.default = default

    def __missing__(self, key: Any) -> Any:
        return self.default


def _batches(conn: Any, query: Any, merged: str | None, lines: _Looked,
             paid: _Looked) -> Iterator[list[Any]]:
    """Rows straight from the driver's cursor, FAST_BATCH at a time. For applications and
    policies, `lines` and `paid` are refilled for each batch from the side queries over the
    batch's id range (the record id is the row's last value) before the batch is handed on."""
    result = conn.execute(query)
    cursor = result.cursor
    try:
        if merged is None:
            while rows := cursor.fetchmany(FAST_BATCH):
                yield rows
            return
        lines_q, paid_q = _side_queries(merged)
        while rows := cursor.fetchmany(FAST_BATCH):
            span = {"lo": rows[0][-1], "hi": rows[-1][-1]}
            lines.clear()
            lines.update(_lines(_raw(conn, lines_q, span)))
            if paid_q is not None:
                paid.clear()
                paid.update(_raw(conn, paid_q, span))
            yield rows
    finally:
        result.close()


def _raw(conn: Any, query: Any, params: dict[str, Any] | None = None) -> list[Any]:
    """All rows of a query as the driver gives them (no type processing)."""
    result = conn.execute(query, params)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _side_queries(kind: str) -> tuple[Any, Any]:
    from sqlalchemy import bindparam, func, select

    from insurtrack.domain import records as t

    lo, hi = bindparam("lo"), bindparam("hi")
    if kind == "applications":
        al = t.application_line.c
        return (select(al.application_id, al.product, al.sum_insured, al.premium)
                .where(al.application_id.between(lo, hi))
                .order_by(al.application_id, al.id)), None
    pl, i = t.policy_line.c, t.installment.c
    lines = (select(pl.policy_id, pl.product, pl.sum_insured, pl.premium)
             .where(pl.policy_id.between(lo, hi)).order_by(pl.policy_id, pl.id))
    paid = (select(i.policy_id, func.count()).where(i.policy_id.between(lo, hi))
            .where(i.status == "paid").group_by(i.policy_id))
    return lines, paid


_CENTS = tuple(f"{n:02d}" for n in range(100))


def _cents(units: int) -> str:
    """Integer cents as str(Decimal) writes the amount: 123450 → "1234.50", -5 → "-0.05"."""
    if units >= 0:
        return f"{units // 100}.{_CENTS[units % 100]}"
    return f"-{-units // 100}.{_CENTS[-units % 100]}"


def _lines(rows: list[Any]) -> dict[int, str]:
    """(record id, product, sum insured in cents, premium in cents) rows, in order, to
    {record id: "PRODUCT:SUM_INSURED:PREMIUM;…"} as _merge writes it."""
    out: dict[int, str] = {}
    cents = _CENTS
    for rid, product, si, pr in rows:  # _cents() inline for the amounts that are not negative
        part = (f"{product}:{f'{si // 100}.{cents[si % 100]}' if si >= 0 else _cents(si)}:"
                f"{f'{pr // 100}.{cents[pr % 100]}' if pr >= 0 else _cents(pr)}")
        out[rid] = out[rid] + ";" + part if rid in out else part
    return out


def _connection(session: Any) -> Any:
    """The Core connection under an ORM session (AppContext.reading), or the connection itself
    (AppContext.peek: what `export` reads through, without the ORM)."""
    from sqlalchemy.engine import Connection

    return session if isinstance(session, Connection) else session.connection()


# -- row mapping ---------------------------------------------------------------------------------

def _codes(conn: Any, table: Any) -> dict[int, str]:
    """{id: code} of every staff member (login) or customer: one read, then a dict look-up per
    row (a join per row would read the customer table's pages at random)."""
    from sqlalchemy import select

    return dict(_raw(conn, select(table.c.id, table.c.code)))


def _mapped(cols: tuple[str, ...], result: Any,
            codes: dict[int, dict[int, str]]) -> Iterator[dict[str, Any]]:
    """Rows to dicts in column order; ids at the positions in `codes` become codes or logins."""
    if not codes:
        for row in result:
            yield dict(zip(cols, row))
        return
    for row in result:
        values = list(row)
        for i, known in codes.items():
            values[i] = known.get(values[i])
        yield dict(zip(cols, values))


def _masked(out: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """ID and phone columns, and events' payloads, masked (privacy.py)."""
    from insurtrack.privacy import MASKS, mask_payload

    for r in out:
        for name, mask in MASKS.items():
            if name in r and r[name] is not None:
                r[name] = mask(r[name])
        if "payload" in r:
            r["payload"] = mask_payload(r["payload"])
        yield r


def count(session: Any, kind: str, *, start: date | None = None, end: date | None = None,
          tz: tzinfo) -> int:
    """How many records an export of `kind` over this period writes (for the reveal record)."""
    from sqlalchemy import func, select

    since, until = window(start, end, tz)
    query = _BUILDERS[kind](since=since, until=until, start=start, end=end)[0]
    return session.execute(select(func.count()).select_from(query.order_by(None).subquery())
                           ).scalar_one()


def _payload_text(out: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    dumps = json.dumps
    for r in out:
        r["payload"] = dumps(r["payload"], ensure_ascii=False, separators=(",", ":"))
        yield r


# -- one SELECT per kind ---------------------------------------------------------------------------
# Each builder returns (query, the names of its columns, the positions of staff ids among them,
# the positions of customer ids, and a merge adding what the row lacks, or None). The renderer
# picks the values by COLUMNS[kind], so a row's key order does not matter; a merge reads the
# record id from the trailing "_id" column. Staff logins and customer codes come from dicts
# loaded once (_codes), not joins: customers are read at random, page by page, by a join.

def _period(q: Any, col: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        q = q.where(col >= since)
    if until is not None:
        q = q.where(col < until)
    return q


def _customers(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import records as t

    c = t.customer.c
    q = select(c.code, c.kind, c.name, c.id_number, c.phone, c.email, c.address, c.birth_date,
               c.region, c.source, c.owner_id, c.credit_rating, c.risk_level, c.rating_reason,
               c.rated_at, c.notes, c.created_at, c.updated_at)
    names = COLUMNS["customers"]
    return _period(q, c.created_at, since, until).order_by(c.id), names, (10,), (), None


def _applications(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import records as t

    a, al = t.application.c, t.application_line.c
    q = select(a.code, a.customer_id, a.owner_id, a.status, a.frequency, a.term_months,
               a.rate_loading, a.conditions, a.promised_date, a.delivered_at, a.review_note,
               a.reviewed_at, a.submitted_at, a.info_requested, a.decision, a.decline_reason,
               a.decline_advice, a.decided_at, a.decided_by_id, a.withdraw_reason, a.created_at,
               a.id)
    names = ("code", "customer", "owner", "status", "frequency", "term", "rate_loading",
             "conditions", "promised_date", "delivered_at", "review_note", "reviewed_at",
             "submitted_at", "info_requested", "decision", "decline_reason", "decline_advice",
             "decided_at", "decided_by", "withdraw_reason", "created_at", "_id")
    q = _period(q, a.created_at, since, until).order_by(a.id)
    lq = select(al.application_id, al.product, al.sum_insured, al.premium)
    if since is not None or until is not None:
        lq = lq.where(al.application_id.in_(_period(select(a.id), a.created_at, since, until)))
    lq = lq.order_by(al.application_id, al.id)
    return q, names, (2, 18), (1,), _merge(lq)


def _policies(*, since, until, **_):
    from sqlalchemy import func, select

    from insurtrack.domain import records as t

    p, a, pl, i = t.policy.c, t.application.c, t.policy_line.c, t.installment.c
    renewed = t.policy.alias()
    before = renewed.c
    q = (select(p.code, p.customer_id, p.owner_id, p.status, p.frequency, p.term_months,
                p.effective_date, p.expiry_date, p.sum_insured, p.premium, p.rate_loading,
                p.conditions, a.code, before.code, p.issued_at, p.in_force_at, p.suspended_at,
                p.expired_at, p.cancelled_at, p.cancel_reason, p.id)
         .outerjoin(t.application, a.id == p.application_id)
         .outerjoin(renewed, before.id == p.renewed_from_id))
    names = ("code", "customer", "owner", "status", "frequency", "term", "effective_date",
             "expiry_date", "sum_insured", "premium", "rate_loading", "conditions",
             "application", "renewed_from", "issued_at", "in_force_at", "suspended_at",
             "expired_at", "cancelled_at", "cancel_reason", "_id")
    q = _period(q, p.issued_at, since, until).order_by(p.id)
    ids = _period(select(p.id), p.issued_at, since, until)
    lq = select(pl.policy_id, pl.product, pl.sum_insured, pl.premium)
    pq = select(i.policy_id, func.count()).where(i.status == "paid")
    if since is not None or until is not None:
        lq = lq.where(pl.policy_id.in_(ids))
        pq = pq.where(i.policy_id.in_(ids))
    lq = lq.order_by(pl.policy_id, pl.id)
    pq = pq.group_by(i.policy_id).order_by(i.policy_id)
    return q, names, (2,), (1,), _merge(lq, pq)


def _merge(line_query: Any, paid_query: Any = None):
    """Complete each application or policy row: its term as typed (20y), its product lines as one
    cell (PRODUCT:SUM_INSURED:PREMIUM;…) and, for policies, how many installments are paid —
    read by cursors ordered by record id, like the records, and merged (no query per record)."""

    def merge(conn: Any, out: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        lines = iter(conn.execute(line_query, execution_options=STREAM))
        line = next(lines, None)
        paid = (iter(conn.execute(paid_query, execution_options=STREAM))
                if paid_query is not None else None)
        counted = next(paid, None) if paid is not None else None
        for r in out:
            rid = r.pop("_id")
            months = r["term"]
            r["term"] = f"{months // 12}y" if months % 12 == 0 else f"{months}m"
            parts = []
            while line is not None and line[0] <= rid:
                if line[0] == rid:
                    parts.append(f"{line[1]}:{line[2]}:{line[3]}")
                line = next(lines, None)
            r["lines"] = ";".join(parts)
            if paid is not None:
                while counted is not None and counted[0] < rid:
                    counted = next(paid, None)
                hit = counted is not None and counted[0] == rid
                r["paid_installments"] = counted[1] if hit else 0
            yield r

    return merge


def _installments(*, start, end, **_):
    from sqlalchemy import select

    from insurtrack.domain import records as t

    i, p = t.installment.c, t.policy.c
    q = (select(p.code, i.seq, i.due_date, i.amount, i.paid_amount, i.status, i.paid_at)
         .join(t.policy, p.id == i.policy_id))
    if start is not None:
        q = q.where(i.due_date >= start)
    if end is not None:
        q = q.where(i.due_date <= end)
    return q.order_by(i.id), COLUMNS["installments"], (), (), None


def _payments(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import records as t

    pay, p, i = t.payment.c, t.policy.c, t.installment.c
    q = (select(p.code, i.seq, pay.amount, pay.method, pay.reference, pay.paid_at,
                pay.recorded_by_id)
         .join(t.policy, p.id == pay.policy_id)
         .outerjoin(t.installment, i.id == pay.installment_id))
    q = _period(q, pay.paid_at, since, until).order_by(pay.id)
    return q, COLUMNS["payments"], (6,), (), None


def _claims(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import records as t

    k, p = t.claim.c, t.policy.c
    q = (select(k.code, p.code, k.customer_id, k.handler_id, k.status, k.product, k.cause,
                k.incident_at, k.place, k.circumstances, k.reporter_name, k.reporter_phone,
                k.amount_claimed,
                k.reported_at, k.contacted_at, k.complexity, k.investigation_plan,
                k.assessed_by_id, k.approved_amount, k.approved_at, k.approved_by_id,
                k.rejection_reason, k.rejected_at, k.paid_amount, k.paid_at, k.payment_method,
                k.payment_reference, k.closed_at, k.close_reason)
         .join(t.policy, p.id == k.policy_id))
    q = _period(q, k.reported_at, since, until).order_by(k.id)
    return q, COLUMNS["claims"], (3, 17, 20), (2,), None


def _revisits(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import records as t

    r, p, k = t.revisit.c, t.policy.c, t.claim.c
    q = (select(r.code, r.customer_id, p.code, k.code, r.kind, r.channel, r.satisfaction,
                r.changed_needs, r.notes, r.occurred_at, r.actor_id)
         .outerjoin(t.policy, p.id == r.policy_id)
         .outerjoin(t.claim, k.id == r.claim_id))
    q = _period(q, r.occurred_at, since, until).order_by(r.id)
    return q, COLUMNS["revisits"], (10,), (1,), None


def _feedback(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import records as t

    f, p, k = t.feedback.c, t.policy.c, t.claim.c
    q = (select(f.code, f.customer_id, p.code, k.code, f.kind, f.channel, f.summary, f.status,
                f.department, f.assignee_id, f.resolution, f.opened_at, f.opened_by_id,
                f.resolved_at, f.resolved_by_id, f.informed_at, f.informed_by_id)
         .outerjoin(t.policy, p.id == f.policy_id)
         .outerjoin(t.claim, k.id == f.claim_id))
    q = _period(q, f.opened_at, since, until).order_by(f.id)
    return q, COLUMNS["feedback"], (9, 12, 14, 16), (1,), None


def _events(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import records as t

    e = t.event.c
    q = select(e.id, e.occurred_at, e.recorded_at, e.type, e.subject, e.customer_id, e.actor_id,
               e.payload)
    q = _period(q, e.occurred_at, since, until).order_by(e.id)
    return q, COLUMNS["events"], (6,), (5,), None


def _followups(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import records as t

    f = t.followup.c
    q = select(f.id, f.rule, f.kind, f.subject, f.customer_id, f.department, f.assignee_id,
               f.title, f.note, f.status, f.anchor_ref, f.anchor_date, f.occurrence, f.opened_at,
               f.started_at, f.warn_at, f.due_at, f.paused_at, f.closed_at, f.closed_by_id,
               f.close_note, f.breached)
    q = _period(q, f.opened_at, since, until).order_by(f.id)
    return q, COLUMNS["followups"], (6, 19), (4,), None


_BUILDERS: dict[str, Callable[..., tuple]] = {
    "customers": _customers, "applications": _applications, "policies": _policies,
    "installments": _installments, "payments": _payments, "claims": _claims,
    "revisits": _revisits, "feedback": _feedback, "events": _events, "followups": _followups,
}


# -- rendered by SQLite (SQLite: what `export` takes there) --------------------------------------
# Python's per-row work, even compiled (stored() above), tops out near 250,000 rows/s; issue 5 asks
# for 500,000. So on SQLite the whole row is rendered in SQL: the builder's SELECT as a subquery,
# each column's stored value through the renderer's SQL for its kind (Output.sql_render(),
# cli/output.py), staff logins and customer codes joined, product lines rendered once per record
# by a subquery on their index, paid installments counted for a whole block in one range of
# theirs, and group_concat joins a block of SQL_BLOCK records into one value: Python only
# writes blocks (a record's id orders the export and cuts it in blocks). SQL_THREADS threads render
# alternate blocks (sqlite3 lets go of the GIL while SQLite works; sqlitelib.py keeps SQLite's
# threads from queueing on one mutex), each on a read-only connection of its own, all on one
# snapshot (store.snapshot); the calling thread writes the blocks in order, at most SQL_AHEAD ahead
# per thread (flat memory). The rows of a block, and the lines of a record, reach group_concat
# from a subquery ordered by id: SQLite keeps the ORDER BY of a FROM subquery whose outer query
# aggregates with anything but count(), min() or max() — for group_concat's sake (3.44 also takes
# ORDER BY inside the aggregate; Python's sqlite3 here links 3.40). tests/reports/test_export.py
# checks the bytes against rows() + Output.rows(), as for stored(), across many small blocks.

SQL_BLOCK = 2000   # records per block: one query, one fetched value
SQL_THREADS = 2    # threads rendering blocks where they run in parallel (sqlitelib.py), else 1
SQL_AHEAD = 4      # blocks a thread may render ahead of the writer
SQL_CODES = 50_000  # from this many records on, customer codes are read into a temporary table
_CUSTOMERS = "__insurtrack_customers__"  # in a query's text: where customer codes are read


def _key(kind: str) -> Any:
    """The id of the records of `kind`: the order of an export, what its blocks are cut by."""
    from insurtrack.domain import records as t

    return {"customers": t.customer, "applications": t.application, "policies": t.policy,
            "installments": t.installment, "payments": t.payment, "claims": t.claim,
            "revisits": t.revisit, "feedback": t.feedback, "events": t.event,
            "followups": t.followup}[kind].c.id


def _stored_kinds(kind: str, query: Any, names: tuple[str, ...], staff_at: tuple[int, ...],
                  customer_at: tuple[int, ...], mask: bool) -> list[Any]:
    """The stored kind of each column of a builder's query (Output.stream's kinds), with what a
    column needs looked up: ("name", "staff"), ("name", "customer"), ("text", "term"), or a
    mask ("text", function)."""
    kinds: list[Any] = [_stored_kind(col.type) for col in query.selected_columns]
    names_of = _NAMES[kind]
    for i, name in enumerate(names):
        if name in names_of:
            kinds[i] = "name"
    for i in staff_at:
        kinds[i] = ("name", "staff")
    for i in customer_at:
        kinds[i] = ("name", "customer")
    if mask:
        from insurtrack.privacy import MASKS, mask_payload

        for i, name in enumerate(names):
            if name in MASKS:
                kinds[i] = ("text", MASKS[name])
            elif name == "payload":  # an event's, decoded (stored() does not take these)
                kinds[i] = ("json", mask_payload)
    if "term" in names:  # applications, policies: term as typed ("-1m" is neutralised too)
        kinds[names.index("term")] = ("text", "term")
    return kinds


def in_sql(conn: Any, kind: str, *, start: date | None = None, end: date | None = None,
           tz: tzinfo, mask: bool = False, render: Any) -> Iterator[bytes] | None:
    """The records of `kind` rendered by SQLite, oldest first, in blocks of rows (UTF-8 bytes)
    for Output.stream_blocks(COLUMNS[kind], …); `render` is Output.sql_render(). `conn` is
    any connection of the read paths (store.py: a LiteConnection, SQLAlchemy's Connection or
    Session); the rows are read on connections of their own, on the same file. None where this
    does not apply — another database, a SQLite book that is not a file: stored() or rows()
    there. `mask`: ID and phone columns through privacy.MASKS, events' payloads through
    mask_payload (Python, called by SQLite)."""
    from insurtrack import store

    path = store.sqlite_path(conn)
    if path is None:
        return None
    from sqlalchemy import func, literal_column, select
    from sqlalchemy.dialects import sqlite

    from insurtrack.domain import records as t

    since, until = window(start, end, tz)
    query, names, staff_at, customer_at, merge = _BUILDERS[kind](since=since, until=until,
                                                                 start=start, end=end)
    kinds = _stored_kinds(kind, query, names, staff_at, customer_at, mask)
    key = _key(kind)
    labelled = query.with_only_columns(
        *[col.label(f"c{i}") for i, col in enumerate(query.selected_columns)], key.label("_k"))
    dialect = sqlite.dialect()

    def sql(q: Any) -> str:  # the statement's text, values written in (periods' bounds)
        return str(q.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))

    if query.whereclause is None:  # everything: blocks of SQL_BLOCK ids
        ids = sql(select(select(func.min(key)).scalar_subquery(),
                         select(func.max(key)).scalar_subquery()))
    else:  # --from/--to: blocks of SQL_BLOCK records of the period, whose ids are read first
        # from the records' own table (the period is a column of it)
        ids = sql(select(key).where(query.whereclause).order_by(key))
    ranged = sql(labelled.order_by(None).where(key >= literal_column(":lo"))
                 .where(key <= literal_column(":hi")))
    joins: list[str] = []
    setup: list[str] = []   # statements each reader runs once, before its first block
    before: list[str] = []  # statements each reader runs before each block (:lo, :hi)
    cells: dict[str, str] = {}
    for i, name in enumerate(names):
        if name == "_id":
            continue
        stored, value = kinds[i], f"s.c{i}"
        if stored in (("name", "staff"), ("name", "customer")):  # a login or code, joined
            table = t.staff.name if stored[1] == "staff" else _CUSTOMERS
            joins.append(f"LEFT JOIN {table} AS k{i} ON k{i}.id = {value}")
            cells[name] = render.cell("name", f"k{i}.code")
        elif stored == ("text", "term"):  # 20y, 18m: text that needs no care unless negative
            term = f"CASE WHEN {value} % 12 = 0 THEN ({value} / 12) || 'y' ELSE {value} || 'm' END"
            cells[name] = (f"CASE WHEN {value} >= 0 THEN {render.cell('name', term)} "
                           f"ELSE {render.cell('text', term)} END")
        else:
            cells[name] = render.cell(stored, value)
    if merge is not None:  # product lines in line order, rendered once per record; paid ones
        lines, owner = ((t.policy_line, "policy_id") if kind == "policies"
                        else (t.application_line, "application_id"))
        line = render.line("product", "sum_insured", "premium")
        record = f"s.c{names.index('_id')}"
        joined = "coalesce(group_concat(line, ';'), '')"  # one aggregate, however often named
        cells["lines"] = (f"(SELECT {render.cell('text', joined)} FROM (SELECT {line} AS line "
                          f"FROM {lines.name} WHERE {owner} = {record} ORDER BY id))")
        paid = (f"(SELECT count(*) FROM {t.installment.name} WHERE policy_id = {record} "
                f"AND status = 'paid')")
        if kind == "policies" and query.whereclause is not None:  # a subquery per policy
            cells["paid_installments"] = render.cell("int", paid)
        elif kind == "policies":  # paid installments of a whole block: counted in one range
            # over the index (a subquery per policy costs a seek each: 0.3 µs a row more)
            setup.append("CREATE TEMP TABLE it_paid (id INTEGER PRIMARY KEY, n INTEGER)")
            before += ["DELETE FROM temp.it_paid", (
                f"INSERT INTO temp.it_paid SELECT policy_id, count(*) FROM "
                f"{t.installment.name} WHERE policy_id BETWEEN :lo AND :hi "
                f"AND status = 'paid' GROUP BY policy_id")]
            joins.append(f"LEFT JOIN temp.it_paid AS paid ON paid.id = {record}")
            cells["paid_installments"] = render.cell("int", "coalesce(paid.n, 0)")
    row = render.row(COLUMNS[kind], [cells[c] for c in COLUMNS[kind]])
    template = (f"SELECT group_concat(line, {_literal(render.separator)}) FROM "
                f"(SELECT {row} AS line FROM ({ranged}) AS s {' '.join(joins)} ORDER BY s._k)")
    return _rendered(path, template, ids, query.whereclause is not None,
                     render.functions, setup, before, t.customer.name if customer_at else None)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _rendered(path: str, template: str, ids: str, some: bool, functions: list[Any],
              setup: list[str], before: list[str], customers: str | None) -> Iterator[bytes]:
    """The blocks, in order, rendered by SQL_THREADS threads (see above): `template` renders
    the records of ids :lo…:hi; `ids` reads the first and last id of the records (`some`
    False), or the ids of the records one by one, in order (`some`: a period's); `functions`
    are registered, `setup` run, on each reader, `before` run before each block; `customers`:
    the table whose codes _CUSTOMERS stands for, if any."""
    import os
    import queue
    import threading

    from insurtrack import store
    from insurtrack.sqlitelib import threads_scale

    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    workers = max(1, min(SQL_THREADS, cpus)) if threads_scale() else 1
    with store.snapshot(path, workers) as readers:
        spans, count = _spans(readers[0], ids, some)
        if not spans:
            return
        readers = readers[:len(spans)]
        many = customers is not None and count >= SQL_CODES
        sql = template.replace(_CUSTOMERS, "temp.it_customer" if many else str(customers))
        if many:  # a compact copy: codes looked up in a few cached pages, not at random
            setup = [*setup, "CREATE TEMP TABLE it_customer (id INTEGER PRIMARY KEY, code TEXT)",
                     f"INSERT INTO temp.it_customer SELECT id, code FROM {customers}"]
        done = threading.Event()
        queues: list[queue.Queue] = [queue.Queue(SQL_AHEAD) for _ in readers]

        def put(k: int, item: tuple[bool, Any]) -> None:
            while not done.is_set():
                try:
                    queues[k].put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        def work(k: int) -> None:
            reader = readers[k]
            try:
                for name, count, function in functions:
                    reader.create_function(name, count, function, deterministic=True)
                for statement in setup:
                    reader.execute(statement)
                for i in range(k, len(spans), len(readers)):
                    if done.is_set():
                        return
                    span = {"lo": spans[i][0], "hi": spans[i][1]}
                    for statement in before:
                        reader.execute(statement, span)
                    put(k, (True, reader.execute(sql, span).fetchone()[0]))
            except BaseException as exc:  # handed to the writer, raised there in its turn
                put(k, (False, exc))

        threads = [threading.Thread(target=work, args=(k,), name=f"export-{k}", daemon=True)
                   for k in range(len(readers))]
        for t in threads:
            t.start()
        try:
            for i in range(len(spans)):
                ok, block = queues[i % len(readers)].get()
                if not ok:
                    raise _store_error(block)
                if block:
                    yield block
        finally:
            done.set()
            for reader, t in zip(readers, threads):
                if t.is_alive():
                    reader.interrupt()
            for t in threads:
                t.join()


def _spans(reader: Any, ids: str, some: bool) -> tuple[list[tuple[int, int]], int]:
    """The blocks (first id, last id) and about how many records they hold: SQL_BLOCK ids
    each from the first id to the last, or — for the records of a period, read id by id —
    SQL_BLOCK records each (a block of a narrow period is not a range of empty ids)."""
    if not some:
        lo, hi = reader.execute(ids).fetchone()
        if lo is None:
            return [], 0
        return [(a, min(a + SQL_BLOCK - 1, hi)) for a in range(lo, hi + 1, SQL_BLOCK)], hi - lo + 1
    spans, count, first, last = [], 0, None, None
    cursor = reader.execute(ids)
    while rows := cursor.fetchmany(SQL_BLOCK):
        for (key,) in rows:  # never more than a block's ids in memory
            if first is None:
                first = key
            last = key
            count += 1
            if count % SQL_BLOCK == 0:
                spans.append((first, last))
                first = None
    if first is not None:
        spans.append((first, last))
    return spans, count


def _store_error(exc: BaseException) -> BaseException:
    """A worker's error as the writer raises it: the store's errors as StoreError (exit 7)."""
    import sqlite3

    if isinstance(exc, sqlite3.Error):
        from insurtrack.errors import StoreError

        error = StoreError(f"cannot read the database: {exc}")
        error.__cause__ = exc
        return error
    return exc
