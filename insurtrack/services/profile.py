"""The views staff read most, written as plain SQL: a customer's profile (`customer show`), a
policy (`policy show`), a claim (`claim show`) and the timeline every `show` ends with.

Each takes `r`, a read-only Reader (cli/context.py `peek`) or a unit of work (services/base.py
`Work`), and runs its statements on `r.session` through store.rows: on a SQLite file at the
schema head the standard library's driver (`peek`), so that `customer show`
needs neither SQLAlchemy nor the ORM (importing them was some 0.45 s of its 0.6 s at 1M
policies, issue 5); otherwise a Core connection or, inside a unit of work (`--reveal` records
the reveal in the same transaction), the ORM session. Values are read as the column types read
them (store.instant, day, money, document), so the output is the ORM's to the byte.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from insurtrack import store
from insurtrack.domain.states import InstallmentStatus
from insurtrack.errors import NotFound

OPEN = (InstallmentStatus.DUE.value, InstallmentStatus.PARTIALLY_PAID.value)  # still owed


def _one(conn: Any, kind: str, sql: str, code: str) -> tuple:
    """The row of the record with this code (`:code` in `sql`, typed in any case and with
    spaces around it), or NotFound naming the kind and the code."""
    code = (code or "").strip().upper()
    found = store.rows(conn, sql, {"code": code})
    if not found:
        raise NotFound(kind, code)
    return found[0]


def cover(conn: Any, policy_id: int, product: str | None) -> Decimal | None:
    """T12: the most a claim on the policy may pay — the sum insured of its product's line, or,
    without a product, of the policy (claims._cover, claim show)."""
    if product:
        found = store.rows(conn, "SELECT sum_insured FROM policy_line WHERE policy_id = :p AND "
                                 "product = :product ORDER BY id LIMIT 1",
                           {"p": policy_id, "product": product})
    else:
        found = store.rows(conn, "SELECT sum_insured FROM policy WHERE id = :p", {"p": policy_id})
    return store.money(found[0][0]) if found else None


def customer(r: Any, code: str, *, reveal: bool = False
             ) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The profile, its needs conversations, applications, policies, claims and full timeline;
    ID and phone numbers masked (in the timeline too) unless `reveal`."""
    from insurtrack.privacy import mask_id, mask_phone

    if reveal:
        from insurtrack.services.permissions import require

        require(r.actor, "personal_data.reveal")
    conn = r.session
    (cid, code, kind, name, id_number, phone, email, address, birth, region, source, owner,
     credit, risk, reason, notes, created) = _one(conn, "customer", (
        "SELECT c.id, c.code, c.kind, c.name, c.id_number, c.phone, c.email, c.address, "
        "c.birth_date, c.region, c.source, s.code, c.credit_rating, c.risk_level, "
        "c.rating_reason, c.notes, c.created_at "
        "FROM customer AS c JOIN staff AS s ON s.id = c.owner_id WHERE c.code = :code"), code)
    record = {
        "code": code, "kind": kind, "name": name,
        "id_number": id_number if reveal else mask_id(id_number),
        "phone": phone if reveal else mask_phone(phone), "email": email, "address": address,
        ("born" if kind == "person" else "founded"): store.day(birth),
        "region": region, "source": source, "owner": owner, "credit": credit, "risk": risk,
        "rating_reason": reason, "notes": notes, "added_at": store.instant(created),
    }
    mine = {"c": cid}
    needs = [{"at": store.instant(at), "needs": text, "risk_situation": situation,
              "recommended": recommended}
             for at, text, situation, recommended in store.rows(conn, (
                 "SELECT occurred_at, needs, risk_situation, recommended FROM needs_record "
                 "WHERE customer_id = :c ORDER BY occurred_at, id"), mine)]
    apps = [{"code": a, "status": status, "frequency": frequency, "promised": store.day(promised)}
            for a, status, frequency, promised in store.rows(conn, (
                "SELECT code, status, frequency, promised_date FROM application "
                "WHERE customer_id = :c ORDER BY id"), mine)]
    pols = [{"code": p, "status": status, "effective": store.day(effective),
             "expiry": store.day(expiry), "sum_insured": store.money(insured),
             "premium": store.money(premium)}
            for p, status, effective, expiry, insured, premium in store.rows(conn, (
                "SELECT code, status, effective_date, expiry_date, sum_insured, premium "
                "FROM policy WHERE customer_id = :c ORDER BY id"), mine)]
    claims = [{"code": k, "status": status, "incident_at": store.instant(incident),
               "claimed": store.money(claimed), "approved": store.money(approved)}
              for k, status, incident, claimed, approved in store.rows(conn, (
                  "SELECT code, status, incident_at, amount_claimed, approved_amount FROM claim "
                  "WHERE customer_id = :c ORDER BY id"), mine)]
    return record, {"needs": needs, "applications": apps, "policies": pols, "claims": claims,
                    "timeline": timeline(conn, customer_id=cid, mask=not reveal)}


def policy(r: Any, code: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The policy, its lines, premium schedule (days overdue counted to today), payments,
    reminders and timeline."""
    conn, today = r.session, r.today()
    (pid, code, status, customer, name, owner, application, before, after, frequency, term,
     effective, expiry, insured, premium, loading, conditions, issued, in_force, suspended,
     expired, cancelled, reason) = _one(conn, "policy", (
        "SELECT p.id, p.code, p.status, k.code, k.name, s.code, a.code, b.code, "
        "(SELECT code FROM policy WHERE renewed_from_id = p.id), p.frequency, p.term_months, "
        "p.effective_date, p.expiry_date, p.sum_insured, p.premium, p.rate_loading, "
        "p.conditions, p.issued_at, p.in_force_at, p.suspended_at, p.expired_at, "
        "p.cancelled_at, p.cancel_reason "
        "FROM policy AS p JOIN customer AS k ON k.id = p.customer_id "
        "JOIN staff AS s ON s.id = p.owner_id "
        "LEFT JOIN application AS a ON a.id = p.application_id "
        "LEFT JOIN policy AS b ON b.id = p.renewed_from_id WHERE p.code = :code"), code)
    mine = {"p": pid}
    plan = [(iid, seq, store.day(due), store.money(amount), store.money(paid), state)
            for iid, seq, due, amount, paid, state in store.rows(conn, (
                "SELECT id, seq, due_date, amount, paid_amount, status FROM installment "
                "WHERE policy_id = :p ORDER BY seq"), mine)]
    seq_of = {iid: seq for iid, seq, *_ in plan}
    record = {
        "code": code, "status": status, "customer": customer, "name": name, "owner": owner,
        "application": application, "renewed_from": before, "renewed_as": after,
        "frequency": frequency, "term_months": term, "effective": store.day(effective),
        "expiry": store.day(expiry), "sum_insured": store.money(insured),
        "premium": store.money(premium), "rate_loading": store.money(loading),
        "conditions": conditions,
        "outstanding": sum((amount - paid for _, _, _, amount, paid, state in plan
                            if state in OPEN), Decimal("0.00")),
        "issued_at": store.instant(issued), "in_force_at": store.instant(in_force),
        "suspended_at": store.instant(suspended), "expired_at": store.instant(expired),
        "cancelled_at": store.instant(cancelled), "cancel_reason": reason,
    }
    lines = [{"product": product, "sum_insured": store.money(insured),
              "premium": store.money(premium)}
             for product, insured, premium in store.rows(conn, (
                 "SELECT product, sum_insured, premium FROM policy_line WHERE policy_id = :p "
                 "ORDER BY id"), mine)]
    schedule = [{"seq": seq, "due_date": due, "amount": amount, "paid": paid, "status": state,
                 "days_overdue": max((today - due).days, 0) if state in OPEN else None}
                for _, seq, due, amount, paid, state in plan]
    payments = [{"paid_at": store.instant(at), "installment": seq_of.get(iid),
                 "amount": store.money(amount), "method": method, "reference": ref, "by": by}
                for at, iid, amount, method, ref, by in store.rows(conn, (
                    "SELECT x.paid_at, x.installment_id, x.amount, x.method, x.reference, s.code "
                    "FROM payment AS x JOIN staff AS s ON s.id = x.recorded_by_id "
                    "WHERE x.policy_id = :p ORDER BY x.paid_at, x.id"), mine)]
    reminders = [{"at": store.instant(at), "installment": seq_of.get(iid) or "renewal",
                  "channel": channel, "result": result, "note": note, "by": by}
                 for at, iid, channel, result, note, by in store.rows(conn, (
                     "SELECT r.occurred_at, r.installment_id, r.channel, r.result, r.note, "
                     "s.code FROM reminder AS r JOIN staff AS s ON s.id = r.actor_id "
                     "WHERE r.policy_id = :p ORDER BY r.occurred_at, r.id"), mine)]
    return record, {"lines": lines, "schedule": schedule, "payments": payments,
                    "reminders": reminders, "timeline": timeline(conn, subjects=[code])}


def claim(r: Any, code: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The claim, its documents, site investigations and timeline; its `sum_insured` is the
    most it may pay (`cover`)."""
    conn = r.session
    (cid, code, status, policy_id, policy, customer, name, handler, product, cause, incident,
     place, circumstances, reporter, reporter_phone, claimed, reported, contacted, complexity,
     plan, assessed_by, approved, approved_at, approved_by, rejection, rejected_at, paid,
     paid_at, method, reference, closed_at, close_reason) = _one(conn, "claim", (
        "SELECT c.id, c.code, c.status, p.id, p.code, k.code, k.name, h.code, c.product, "
        "c.cause, c.incident_at, c.place, c.circumstances, c.reporter_name, c.reporter_phone, "
        "c.amount_claimed, c.reported_at, c.contacted_at, c.complexity, c.investigation_plan, a.code, "
        "c.approved_amount, c.approved_at, b.code, c.rejection_reason, c.rejected_at, "
        "c.paid_amount, c.paid_at, c.payment_method, c.payment_reference, c.closed_at, "
        "c.close_reason "
        "FROM claim AS c JOIN policy AS p ON p.id = c.policy_id "
        "JOIN customer AS k ON k.id = c.customer_id JOIN staff AS h ON h.id = c.handler_id "
        "LEFT JOIN staff AS a ON a.id = c.assessed_by_id "
        "LEFT JOIN staff AS b ON b.id = c.approved_by_id WHERE c.code = :code"), code)
    record = {
        "code": code, "status": status, "policy": policy, "customer": customer,
        "customer_name": name, "handler": handler, "product": product, "cause": cause,
        "incident_at": store.instant(incident), "place": place, "circumstances": circumstances,
        "reporter": reporter, "reporter_phone": reporter_phone,
        "claimed": store.money(claimed), "sum_insured": cover(conn, policy_id, product),
        "reported_at": store.instant(reported), "contacted_at": store.instant(contacted),
        "complexity": complexity, "investigation_plan": plan, "assessed_by": assessed_by,
        "approved": store.money(approved), "approved_at": store.instant(approved_at),
        "approved_by": approved_by, "rejection_reason": rejection,
        "rejected_at": store.instant(rejected_at), "paid": store.money(paid),
        "paid_at": store.instant(paid_at), "payment_method": method,
        "payment_reference": reference, "closed_at": store.instant(closed_at),
        "close_reason": close_reason,
    }
    mine = {"c": cid}
    documents = [{"document": doc, "requested_at": store.instant(asked),
                  "received_at": store.instant(received), "note": note}
                 for doc, asked, received, note in store.rows(conn, (
                     "SELECT name, requested_at, received_at, note FROM claim_document "
                     "WHERE claim_id = :c ORDER BY id"), mine)]
    investigations = [{"no": n, "assignee": who, "assigned_at": store.instant(assigned),
                       "instructions": instructions, "findings": findings,
                       "completed_at": store.instant(completed)}
                      for n, (who, assigned, instructions, findings, completed) in enumerate(
                          store.rows(conn, (
                              "SELECT s.code, i.assigned_at, i.instructions, i.findings, "
                              "i.completed_at FROM investigation AS i "
                              "JOIN staff AS s ON s.id = i.assignee_id "
                              "WHERE i.claim_id = :c ORDER BY i.id"), mine), 1)]
    return record, {"documents": documents, "investigations": investigations,
                    "timeline": timeline(conn, subjects=[code])}


def timeline(conn: Any, *, customer_id: int | None = None, subjects: list[str] | None = None,
             limit: int | None = None, mask: bool = False) -> list[dict[str, Any]]:
    """Events of a customer or of some records, oldest first, ready to render; `mask`: ID and
    phone numbers in the details masked (privacy.py)."""
    from insurtrack.privacy import mask_payload

    where, params = [], {}
    if customer_id is not None:
        where.append("e.customer_id = :customer")
        params["customer"] = customer_id
    if subjects is not None:
        if not subjects:
            return []
        names = [f"s{k}" for k in range(len(subjects))]
        where.append(f"e.subject IN ({', '.join(':' + n for n in names)})")
        params.update(zip(names, subjects))
    sql = ("SELECT e.occurred_at, e.type, e.subject, s.code, e.payload FROM event AS e "
           "JOIN staff AS s ON s.id = e.actor_id"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY e.occurred_at, e.id" + (" LIMIT :limit" if limit else ""))
    if limit:
        params["limit"] = limit
    out = []
    for at, kind, subject, actor, payload in store.rows(conn, sql, params):
        payload = store.document(payload)
        out.append({"occurred_at": store.instant(at), "event": kind, "subject": subject,
                    "by": actor, "details": describe(mask_payload(payload) if mask else payload)})
    return out


def describe(payload: dict[str, Any]) -> str:
    """An event's payload as one readable line for the timeline."""
    def text(v: Any) -> str:
        if isinstance(v, list):
            return ", ".join(text(i) for i in v)
        if isinstance(v, dict):
            return "{" + describe(v) + "}"
        return str(v)

    return "; ".join(f"{k}: {text(v)}" for k, v in payload.items() if v not in (None, "", [], {}))
