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
merged with the records (never a query per record). Two ways to the renderer:
- rows(): any database. Values decoded by the column types (Decimal, datetime), a dict per row,
  read through a server-side cursor (`yield_per`: PostgreSQL streams) — Output.rows().
- stored(): SQLite, what `export` takes there. The same SELECTs read raw from the driver (integer
  cents, UTC instants as text, ids) in batches; Output.stream() renders a whole batch with one
  compiled expression per row: no Decimal, datetime or dict per value, several times faster.
  tests/reports/test_export.py checks both write the same bytes for every kind.

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

    `session` is an open Session (read transaction); the generator must be consumed before it
    closes. `payload_as_text`: events' payload as a JSON string (csv) or as a mapping (json).
    `mask`: ID and phone numbers masked (privacy.py), in events' payloads too."""
    from insurtrack.domain import models as m

    since, until = window(start, end, tz)
    query, names, staff_at, customer_at, merge = _BUILDERS[kind](since=since, until=until,
                                                                 start=start, end=end)
    conn = session.connection()
    codes: dict[int, dict[int, str]] = {}
    for table, at in ((m.Staff, staff_at), (m.Customer, customer_at)):
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
    conn = session.connection()
    if conn.dialect.name != "sqlite" or mask and kind == "events":
        return None
    from insurtrack.domain import models as m

    since, until = window(start, end, tz)
    query, names, staff_at, customer_at, merge = _BUILDERS[kind](since=since, until=until,
                                                                 start=start, end=end)
    kinds = [_stored_kind(col.type) for col in query.selected_columns]
    names_of = _NAMES[kind]
    for i, name in enumerate(names):
        if name in names_of:
            kinds[i] = "name"
    if staff_at:
        staff = _codes(conn, m.Staff).get
        for i in staff_at:
            kinds[i] = ("name", staff)
    if customer_at:
        customers = _codes(conn, m.Customer).get
        for i in customer_at:
            kinds[i] = ("name", customers)
    if mask:
        from insurtrack.privacy import MASKS

        for i, name in enumerate(names):
            if name in MASKS:
                kinds[i] = ("text", MASKS[name])
    where = {name: i for i, name in enumerate(names)}
    lines: _Looked = _Looked("")
    paid: _Looked = _Looked(0)
    if merge is not None:  # applications, policies: term as typed; lines, paid by record id
        kinds[where["term"]] = ("text", _Terms().__getitem__)  # "-1m" is neutralised too
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

    from insurtrack.domain import models as m

    lo, hi = bindparam("lo"), bindparam("hi")
    if kind == "applications":
        al = m.ApplicationLine
        return (select(al.application_id, al.product, al.sum_insured, al.premium)
                .where(al.application_id.between(lo, hi))
                .order_by(al.application_id, al.id)), None
    pl, i = m.PolicyLine, m.Installment
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


# -- row mapping ---------------------------------------------------------------------------------

def _codes(conn: Any, table: Any) -> dict[int, str]:
    """{id: code} of every staff member (login) or customer: one read, then a dict look-up per
    row (a join per row would read the customer table's pages at random)."""
    from sqlalchemy import select

    return dict(_raw(conn, select(table.id, table.code)))


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

    from insurtrack.domain import models as m

    c = m.Customer
    q = select(c.code, c.kind, c.name, c.id_number, c.phone, c.email, c.address, c.birth_date,
               c.region, c.source, c.owner_id, c.credit_rating, c.risk_level, c.rating_reason,
               c.rated_at, c.notes, c.created_at, c.updated_at)
    names = COLUMNS["customers"]
    return _period(q, c.created_at, since, until).order_by(c.id), names, (10,), (), None


def _applications(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    a, al = m.Application, m.ApplicationLine
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
    from sqlalchemy.orm import aliased

    from insurtrack.domain import models as m

    p, a, pl, i = m.Policy, m.Application, m.PolicyLine, m.Installment
    before = aliased(m.Policy)
    q = (select(p.code, p.customer_id, p.owner_id, p.status, p.frequency, p.term_months,
                p.effective_date, p.expiry_date, p.sum_insured, p.premium, p.rate_loading,
                p.conditions, a.code, before.code, p.issued_at, p.in_force_at, p.suspended_at,
                p.expired_at, p.cancelled_at, p.cancel_reason, p.id)
         .outerjoin(a, a.id == p.application_id)
         .outerjoin(before, before.id == p.renewed_from_id))
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

    from insurtrack.domain import models as m

    i, p = m.Installment, m.Policy
    q = (select(p.code, i.seq, i.due_date, i.amount, i.paid_amount, i.status, i.paid_at)
         .join(p, p.id == i.policy_id))
    if start is not None:
        q = q.where(i.due_date >= start)
    if end is not None:
        q = q.where(i.due_date <= end)
    return q.order_by(i.id), COLUMNS["installments"], (), (), None


def _payments(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    pay, p, i = m.Payment, m.Policy, m.Installment
    q = (select(p.code, i.seq, pay.amount, pay.method, pay.reference, pay.paid_at,
                pay.recorded_by_id)
         .join(p, p.id == pay.policy_id)
         .outerjoin(i, i.id == pay.installment_id))
    q = _period(q, pay.paid_at, since, until).order_by(pay.id)
    return q, COLUMNS["payments"], (6,), (), None


def _claims(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    k, p = m.Claim, m.Policy
    q = (select(k.code, p.code, k.customer_id, k.handler_id, k.status, k.product, k.cause,
                k.incident_at, k.place, k.circumstances, k.reporter_name, k.reporter_phone,
                k.amount_claimed,
                k.reported_at, k.contacted_at, k.complexity, k.investigation_plan,
                k.assessed_by_id, k.approved_amount, k.approved_at, k.approved_by_id,
                k.rejection_reason, k.rejected_at, k.paid_amount, k.paid_at, k.payment_method,
                k.payment_reference, k.closed_at, k.close_reason)
         .join(p, p.id == k.policy_id))
    q = _period(q, k.reported_at, since, until).order_by(k.id)
    return q, COLUMNS["claims"], (3, 17, 20), (2,), None


def _revisits(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    r, p, k = m.Revisit, m.Policy, m.Claim
    q = (select(r.code, r.customer_id, p.code, k.code, r.kind, r.channel, r.satisfaction,
                r.changed_needs, r.notes, r.occurred_at, r.actor_id)
         .outerjoin(p, p.id == r.policy_id)
         .outerjoin(k, k.id == r.claim_id))
    q = _period(q, r.occurred_at, since, until).order_by(r.id)
    return q, COLUMNS["revisits"], (10,), (1,), None


def _feedback(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    f, p, k = m.Feedback, m.Policy, m.Claim
    q = (select(f.code, f.customer_id, p.code, k.code, f.kind, f.channel, f.summary, f.status,
                f.department, f.assignee_id, f.resolution, f.opened_at, f.opened_by_id,
                f.resolved_at, f.resolved_by_id, f.informed_at, f.informed_by_id)
         .outerjoin(p, p.id == f.policy_id)
         .outerjoin(k, k.id == f.claim_id))
    q = _period(q, f.opened_at, since, until).order_by(f.id)
    return q, COLUMNS["feedback"], (9, 12, 14, 16), (1,), None


def _events(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    e = m.Event
    q = select(e.id, e.occurred_at, e.recorded_at, e.type, e.subject, e.customer_id, e.actor_id,
               e.payload)
    q = _period(q, e.occurred_at, since, until).order_by(e.id)
    return q, COLUMNS["events"], (6,), (5,), None


def _followups(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    f = m.FollowUp
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
