"""`insurtrack export`: the raw records of the book, one row per record, for spreadsheets and other
systems — streamed in flat memory, whatever the size of the book.

Every foreign key is shown as the code people type (customer C-…, policy P-…, claim CL-…, staff
login), never a database id. The columns of each kind are a stable contract (COLUMNS, pinned in
tests/reports/test_export.py). Values follow the renderer's rules: money exact ("1200.50"),
instants ISO 8601 in the configured timezone, dates ISO, empty for none.

How it stays flat and fast: one SELECT of just the needed columns per kind (customer and policy
codes joined in SQL, staff logins from one dict loaded up front), read through a server-side
cursor (`yield_per`: PostgreSQL streams, SQLite steps its cursor), each row mapped to a dict by a
precomputed column order and handed straight to the renderer, which writes it and forgets it.
Policies and applications also carry their product lines (`lines`: PRODUCT:SUM_INSURED:PREMIUM;…),
read by a second ordered cursor merged with the first on the record id (no query per record).

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
         tz: tzinfo, payload_as_text: bool = True) -> Iterator[dict[str, Any]]:
    """The records of `kind` as dicts keyed by COLUMNS[kind], oldest first, streamed.

    `session` is an open Session (read transaction); the generator must be consumed before it
    closes. `payload_as_text`: events' payload as a JSON string (csv) or as a mapping (json)."""
    from sqlalchemy import select

    from insurtrack.domain import models as m

    staff = dict(session.execute(select(m.Staff.id, m.Staff.code)).all())
    since, until = window(start, end, tz)
    query, names, staff_at, merge = _BUILDERS[kind](since=since, until=until, start=start, end=end)
    conn = session.connection()
    result = conn.execute(query, execution_options=STREAM)
    out = _mapped(names, result, staff_at, staff)
    if kind == "events" and payload_as_text:
        out = _payload_text(out)
    if merge is not None:
        out = merge(conn, out)
    return out


# -- row mapping ---------------------------------------------------------------------------------

def _mapped(cols: tuple[str, ...], result: Any, staff_at: tuple[int, ...],
            staff: dict[int, str]) -> Iterator[dict[str, Any]]:
    """Rows to dicts in column order; staff ids at positions `staff_at` become logins."""
    if not staff_at:
        for row in result:
            yield dict(zip(cols, row))
        return
    get = staff.get
    for row in result:
        values = list(row)
        for i in staff_at:
            values[i] = get(values[i])
        yield dict(zip(cols, values))


def _payload_text(out: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    dumps = json.dumps
    for r in out:
        r["payload"] = dumps(r["payload"], ensure_ascii=False, separators=(",", ":"))
        yield r


# -- one SELECT per kind ---------------------------------------------------------------------------
# Each builder returns (query, the names of its columns, the positions of staff ids among them, and
# a merge adding what the row lacks, or None). The renderer picks the values by COLUMNS[kind], so
# a row's key order does not matter; a merge reads the record id from the trailing "_id" column.

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
    return _period(q, c.created_at, since, until).order_by(c.id), names, (10,), None


def _applications(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    a, c, al = m.Application, m.Customer, m.ApplicationLine
    q = (select(a.code, c.code, a.owner_id, a.status, a.frequency, a.term_months, a.rate_loading,
                a.conditions, a.promised_date, a.delivered_at, a.review_note, a.reviewed_at,
                a.submitted_at, a.info_requested, a.decision, a.decline_reason, a.decline_advice,
                a.decided_at, a.decided_by_id, a.withdraw_reason, a.created_at, a.id)
         .join(c, c.id == a.customer_id))
    names = ("code", "customer", "owner", "status", "frequency", "term", "rate_loading",
             "conditions", "promised_date", "delivered_at", "review_note", "reviewed_at",
             "submitted_at", "info_requested", "decision", "decline_reason", "decline_advice",
             "decided_at", "decided_by", "withdraw_reason", "created_at", "_id")
    q = _period(q, a.created_at, since, until).order_by(a.id)
    lq = select(al.application_id, al.product, al.sum_insured, al.premium)
    if since is not None or until is not None:
        lq = lq.where(al.application_id.in_(_period(select(a.id), a.created_at, since, until)))
    lq = lq.order_by(al.application_id, al.id)
    return q, names, (2, 18), _merge(lq)


def _policies(*, since, until, **_):
    from sqlalchemy import func, select
    from sqlalchemy.orm import aliased

    from insurtrack.domain import models as m

    p, c, a, pl, i = m.Policy, m.Customer, m.Application, m.PolicyLine, m.Installment
    before = aliased(m.Policy)
    q = (select(p.code, c.code, p.owner_id, p.status, p.frequency, p.term_months,
                p.effective_date, p.expiry_date, p.sum_insured, p.premium, p.rate_loading,
                p.conditions, a.code, before.code, p.issued_at, p.in_force_at, p.suspended_at,
                p.expired_at, p.cancelled_at, p.cancel_reason, p.id)
         .join(c, c.id == p.customer_id)
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
    return q, names, (2,), _merge(lq, pq)


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
    return q.order_by(i.id), COLUMNS["installments"], (), None


def _payments(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    pay, p, i = m.Payment, m.Policy, m.Installment
    q = (select(p.code, i.seq, pay.amount, pay.method, pay.reference, pay.paid_at,
                pay.recorded_by_id)
         .join(p, p.id == pay.policy_id)
         .outerjoin(i, i.id == pay.installment_id))
    q = _period(q, pay.paid_at, since, until).order_by(pay.id)
    return q, COLUMNS["payments"], (6,), None


def _claims(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    k, p, c = m.Claim, m.Policy, m.Customer
    q = (select(k.code, p.code, c.code, k.handler_id, k.status, k.product, k.cause, k.incident_at,
                k.place, k.circumstances, k.reporter_name, k.reporter_phone, k.amount_claimed,
                k.reported_at, k.contacted_at, k.complexity, k.investigation_plan,
                k.assessed_by_id, k.approved_amount, k.approved_at, k.approved_by_id,
                k.rejection_reason, k.rejected_at, k.paid_amount, k.paid_at, k.payment_method,
                k.payment_reference, k.closed_at, k.close_reason)
         .join(p, p.id == k.policy_id)
         .join(c, c.id == k.customer_id))
    q = _period(q, k.reported_at, since, until).order_by(k.id)
    return q, COLUMNS["claims"], (3, 17, 20), None


def _revisits(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    r, c, p, k = m.Revisit, m.Customer, m.Policy, m.Claim
    q = (select(r.code, c.code, p.code, k.code, r.kind, r.channel, r.satisfaction,
                r.changed_needs, r.notes, r.occurred_at, r.actor_id)
         .join(c, c.id == r.customer_id)
         .outerjoin(p, p.id == r.policy_id)
         .outerjoin(k, k.id == r.claim_id))
    q = _period(q, r.occurred_at, since, until).order_by(r.id)
    return q, COLUMNS["revisits"], (10,), None


def _feedback(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    f, c, p, k = m.Feedback, m.Customer, m.Policy, m.Claim
    q = (select(f.code, c.code, p.code, k.code, f.kind, f.channel, f.summary, f.status,
                f.department, f.assignee_id, f.resolution, f.opened_at, f.opened_by_id,
                f.resolved_at, f.resolved_by_id, f.informed_at, f.informed_by_id)
         .join(c, c.id == f.customer_id)
         .outerjoin(p, p.id == f.policy_id)
         .outerjoin(k, k.id == f.claim_id))
    q = _period(q, f.opened_at, since, until).order_by(f.id)
    return q, COLUMNS["feedback"], (9, 12, 14, 16), None


def _events(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    e, c = m.Event, m.Customer
    q = (select(e.id, e.occurred_at, e.recorded_at, e.type, e.subject, c.code, e.actor_id,
                e.payload)
         .outerjoin(c, c.id == e.customer_id))
    q = _period(q, e.occurred_at, since, until).order_by(e.id)
    return q, COLUMNS["events"], (6,), None


def _followups(*, since, until, **_):
    from sqlalchemy import select

    from insurtrack.domain import models as m

    f, c = m.FollowUp, m.Customer
    q = (select(f.id, f.rule, f.kind, f.subject, c.code, f.department, f.assignee_id, f.title,
                f.note, f.status, f.anchor_ref, f.anchor_date, f.occurrence, f.opened_at,
                f.started_at, f.warn_at, f.due_at, f.paused_at, f.closed_at, f.closed_by_id,
                f.close_note, f.breached)
         .outerjoin(c, c.id == f.customer_id))
    q = _period(q, f.opened_at, since, until).order_by(f.id)
    return q, COLUMNS["followups"], (6, 19), None


_BUILDERS: dict[str, Callable[..., tuple]] = {
    "customers": _customers, "applications": _applications, "policies": _policies,
    "installments": _installments, "payments": _payments, "claims": _claims,
    "revisits": _revisits, "feedback": _feedback, "events": _events, "followups": _followups,
}
