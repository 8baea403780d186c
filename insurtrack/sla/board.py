"""The `due` board: what is due today, at risk, overdue or breached at any instant, the load
falling due (forecast), and whether the rules changed since the open clocks were computed.

Plain SQL run through store.rows, never the ORM: the board is what staff and cron run most
(issue 5: `due` under 0.35 s at 1,000,000 policies, at most 1.3 times `due` on an empty database),
and importing SQLModel and the mappers costs more than that, SQLAlchemy alone a third of it. On
a SQLite file `due` reads through the standard library's driver (store.lite_read); elsewhere the
same statements run on a SQLAlchemy connection. Each function takes a reader `r`: anything with
`session` (a store.LiteConnection, a Core connection or an ORM session), `settings`, `actor`
(with `id` and `department`) and `now()` — services/reader.py's Reader, or the ORM's Work (cron's
notify plans with these too). The rows are read-only records (FollowUp) with the follow-up's
columns as attributes, valued as the column types read them (store.instant, day, document).

The board at the present (or a future) instant reads only open follow-ups, through the
(status, due_at) and (status, warn_at) indexes: its cost follows what is due, not the size of the
book. At a past instant it also reads the follow-ups closed since, and tells each one's clock as it
stood then (its history and pauses), so the same records always give the same picture.
"""

from __future__ import annotations

import hashlib
from collections import Counter, namedtuple
from datetime import date, datetime, timedelta
from typing import Any

from insurtrack.domain.states import Department
from insurtrack.errors import BadInput, NotFound
from insurtrack.sla.rules import Rule
from insurtrack.store import bind_instant, day, document, instant, rows

OPEN, PAUSED, DONE, CANCELLED = "open", "paused", "done", "cancelled"
LIVE = (OPEN, PAUSED)
MANUAL_RULES = ("manual", "rectification")
STATES = ("breached", "overdue", "at_risk", "due_today")
SEVERITY = {s: i for i, s in enumerate(STATES)}
BOARD_COLUMNS = ["id", "state", "department", "assignee", "rule", "source", "subject", "customer",
                 "title", "due", "late_by"]
MACHINE_COLUMNS = BOARD_COLUMNS + ["due_at", "warn_at"]  # json / csv: exact instants too
# A candidate row: the follow-up's columns the board reads (tests/domain/test_tables.py checks
# them against the model's table).
COLUMNS = ("id", "rule", "rule_fp", "kind", "subject", "anchor_ref", "anchor_date", "occurrence",
           "customer_id", "department", "assignee_id", "title", "status", "opened_at",
           "started_at", "due_at", "warn_at", "paused_at", "pauses", "history", "closed_at")
FollowUp = namedtuple("FollowUp", COLUMNS)
SELECT = "SELECT " + ", ".join(COLUMNS) + " FROM followup"
# An open follow-up's clock now and from now on is its current one (due_at, warn_at): the board
# at the present or a future instant reads neither its history nor its pauses (JSON, the most
# costly columns to read back), only a past instant does (clock_at).
PRESENT = "SELECT " + ", ".join("NULL" if c in ("pauses", "history") else c
                                for c in COLUMNS) + " FROM followup"
_TICK = timedelta(microseconds=1)


def followups(r: Reader, select: str, where: str, params: dict[str, Any]) -> list[FollowUp]:
    """Follow-ups as FollowUp records, their values as the column types read them."""
    out = []
    for (fid, rule, fp, kind, subject, aref, adate, occurrence, cid, dept, assignee, title,
         status, opened, started, due, warn, paused, pauses, history, closed) in rows(
            r.session, f"{select} WHERE {where}", params):
        out.append(FollowUp(fid, rule, fp, kind, subject, aref, day(adate), occurrence, cid, dept,
                            assignee, title, status, instant(opened), instant(started),
                            instant(due), instant(warn), instant(paused), document(pauses),
                            document(history), instant(closed)))
    return out

Reader = Any   # services/reader.Reader or services/base.Work


def fingerprint(rule: Rule) -> str:
    """A rule's timing and routing as last computed into its follow-ups (`rule_fp`)."""
    return hashlib.sha1(rule.fingerprint().encode()).hexdigest()[:16]


def clock_at(f: Any, at: datetime) -> tuple[datetime, datetime | None] | None:
    """The deadline and warning in force at instant `at`; None if the clock was paused then."""
    for p0, p1 in f.pauses or []:
        if datetime.fromisoformat(p0) <= at and (p1 is None or at < datetime.fromisoformat(p1)):
            return None
    current = None
    for since, due, warn in f.history or []:
        if datetime.fromisoformat(since) <= at:
            current = (datetime.fromisoformat(due), warn and datetime.fromisoformat(warn))
    if current is None and f.history:
        since, due, warn = f.history[0]
        current = (datetime.fromisoformat(due), warn and datetime.fromisoformat(warn))
    return current or (f.due_at, f.warn_at)


def state_at(r: Reader, f: Any, at: datetime) -> str | None:
    """breached / overdue / at_risk / due_today, or None (upcoming, paused, or closed then)."""
    if f.opened_at > at or (f.closed_at is not None and f.closed_at <= at):
        return None
    clock = clock_at(f, at)
    if clock is None:
        return None
    due, warn = clock
    if at >= due:
        return "breached" if f.kind == "sla" else "overdue"
    if warn is not None and at >= warn:
        return "at_risk"
    cal = r.settings.calendar
    if cal.local_date(due - _TICK) == cal.local_date(at):
        return "due_today"
    return None


def _source(r: Reader, f: Any) -> str:
    if f.rule in MANUAL_RULES:
        return "Q3" if f.rule == "rectification" else ""
    rule = r.settings.rulebook.get(f.rule)
    return rule.source.split(":", 1)[0] if rule and rule.source else ""


def _late(due: datetime, at: datetime) -> str:
    if at < due:
        return ""
    minutes = int((at - due).total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def present_queries(r: Reader, at: datetime) -> tuple[tuple[str, dict], tuple[str, dict]]:
    """Open follow-ups due by the end of `at`'s day, and those inside their warning window: two
    range scans of the (status, due_at) and (status, warn_at) indexes. Each is (the WHERE
    clause, its parameters)."""
    cal = r.settings.calendar
    horizon = cal.end_of_day(cal.local_date(at))
    # `<=`: a day deadline due today falls exactly at the end of today (the next local midnight)
    return (("status = :open AND due_at <= :horizon",
             {"open": OPEN, "horizon": bind_instant(r.session, horizon)}),
            ("status = :open AND warn_at <= :at", {"open": OPEN, "at": bind_instant(r.session, at)}))


def candidates(r: Reader, at: datetime) -> list[Any]:
    """Follow-ups that may be due, at risk or late at `at`."""
    if at >= r.now() - timedelta(seconds=1):
        # one statement: each row once, read through both indexes (SQLite's OR by union)
        (by_due, p1), (by_warn, p2) = present_queries(r, at)
        return followups(r, PRESENT, f"({by_due}) OR ({by_warn})", {**p1, **p2})
    return followups(r, SELECT, "opened_at <= :at AND (status IN (:open, :paused) OR closed_at > :at)",
                     {"at": bind_instant(r.session, at), "open": OPEN, "paused": PAUSED})


def _kind_filter(r: Reader, kinds: list[str]) -> set[str]:
    """--kind takes rule names, rule IDs (T9) and kinds (sla, task, manual, rectification)."""
    book = r.settings.rulebook
    wanted: set[str] = set()
    for k in kinds:
        k = k.strip()
        hits = {rule.name for rule in book.rules
                if k in (rule.name, rule.kind) or k.upper() in _ids(rule.source)}
        if k in MANUAL_RULES:
            hits.add(k)
        if k.upper() == "Q3":  # the board's source of a rectification item
            hits.add("rectification")
        if k == "manual":
            hits.update(MANUAL_RULES)
        if not hits:
            names = ", ".join(rule.name for rule in book.rules)
            raise BadInput("--kind", k, f"names no rule, rule ID or kind (rules: {names}; kinds: "
                                        "sla, task, manual, rectification)")
        wanted |= hits
    return wanted


def _ids(source: str) -> set[str]:
    head = source.split(":", 1)[0]
    return {part.strip().upper() for part in head.split(",")}


def board(r: Reader, *, at: datetime | None = None, mine: bool = False,
          department: Department | None = None, kinds: list[str] | None = None,
          customer: str | None = None) -> list[dict[str, Any]]:
    """Everything due today, at risk, overdue or breached at `at`, grouped by department and
    person, the worst first."""
    at = at or r.now()
    live_rules = {rule.name for rule in r.settings.rulebook.rules} | set(MANUAL_RULES)
    wanted = _kind_filter(r, kinds) if kinds else None
    cust_id = customer_id(r, customer) if customer else None
    dept = Department(department).value if department else None
    found = []
    for f in candidates(r, at):
        if f.rule not in live_rules or (wanted is not None and f.rule not in wanted):
            continue
        if cust_id is not None and f.customer_id != cust_id:
            continue
        if dept and f.department != dept:
            continue
        if mine and not (f.assignee_id == r.actor.id or
                         (f.assignee_id is None and f.department == r.actor.department)):
            continue
        state = state_at(r, f, at)
        if state:
            found.append((f, state))
    return _rows(r, found, at)


def _rows(r: Reader, found: list[tuple[Any, str]], at: datetime) -> list[dict[str, Any]]:
    who = staff_codes(r, {f.assignee_id for f, _ in found})
    custs = _customer_codes(r, {f.customer_id for f, _ in found})
    shown: dict[datetime, str] = {}   # many items share a deadline (the end of a day)
    sources: dict[str, str] = {}
    out = []
    for f, state in found:
        due, warn = clock_at(f, at) or (f.due_at, f.warn_at)
        deadline = shown.get(due)
        if deadline is None:
            deadline = shown[due] = local_deadline(r, due)
        source = sources.get(f.rule)
        if source is None:
            source = sources[f.rule] = _source(r, f)
        out.append({
            "id": f.id, "state": state, "department": f.department,
            "assignee": who.get(f.assignee_id, ""), "rule": f.rule, "source": source,
            "subject": f.subject, "customer": custs.get(f.customer_id, ""), "title": _title(f),
            "due": deadline, "late_by": _late(due, at), "due_at": due, "warn_at": warn,
        })
    out.sort(key=lambda x: (x["department"], x["assignee"], SEVERITY[x["state"]], x["due_at"], x["id"]))
    return out


def local_deadline(r: Reader, due: datetime) -> str:
    """A deadline as staff read it: a day-granular one (the end of a local day) as 'DAY 24:00'."""
    local = due.astimezone(r.settings.timezone)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return f"{(local - timedelta(days=1)):%Y-%m-%d} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def _title(f: Any) -> str:
    extra = f" (installment {f.anchor_ref})" if f.anchor_ref and f.anchor_ref.isdigit() else ""
    nth = f" — #{f.occurrence}" if f.occurrence > 1 else ""
    return f"{f.title}{extra}{nth}"


def _customer_codes(r: Reader, ids: set[int | None]) -> dict[int, str]:
    return _codes(r, "customer", ids)


def _codes(r: Reader, table: str, ids: set[int | None]) -> dict[int, str]:
    """{id: code} of these customers or staff members (login), a few hundred ids a statement."""
    wanted = sorted(i for i in ids if i is not None)
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start:start + 500]
        marks = ", ".join(f":i{n}" for n in range(len(part)))
        found.update(rows(r.session, f"SELECT id, code FROM {table} WHERE id IN ({marks})",
                          {f"i{n}": i for n, i in enumerate(part)}))
    return found


def summary(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(r["state"] for r in rows)
    return {s: counts.get(s, 0) for s in STATES}


def forecast(r: Reader, *, days: int, department: Department | None = None,
             mine: bool = False) -> list[dict[str, Any]]:
    """The load coming: open follow-ups falling due per department per local day."""
    if not 1 <= days <= 366:
        raise BadInput("--forecast", f"{days}d", "must be between 1d and 366d")
    cal, now = r.settings.calendar, r.now()
    first = cal.local_date(now)
    end = cal.end_of_day(first + timedelta(days=days - 1))
    live_rules = {rule.name for rule in r.settings.rulebook.rules} | set(MANUAL_RULES)
    sql = ("SELECT rule, department, due_at, assignee_id FROM followup "
           "WHERE status = :open AND due_at <= :end")  # end of the last day
    params: dict[str, Any] = {"open": OPEN, "end": bind_instant(r.session, end)}
    if department:
        sql += " AND department = :dept"
        params["dept"] = Department(department).value
    counts: Counter[tuple[date, str]] = Counter()
    for rule, dept, due, assignee in rows(r.session, sql, params):
        due = instant(due)
        if rule not in live_rules:
            continue
        if mine and not (assignee == r.actor.id or (assignee is None and dept == r.actor.department)):
            continue
        day = max(cal.local_date(due - _TICK), first)  # already late: counted today
        counts[(day, dept)] += 1
    depts = sorted({d for _, d in counts})
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        row: dict[str, Any] = {"day": day, "working_day": cal.is_working_day(day)}
        for d in depts:
            row[d] = counts.get((day, d), 0)
        row["total"] = sum(counts.get((day, d), 0) for d in depts)
        out.append(row)
    return out


def stale_rules(session: Any, book: Any) -> list[Rule]:
    """Rules whose open follow-ups were computed under other settings: one statement, index
    seeks only."""
    if not book.rules:
        return []
    sql, params = stale_query(book)
    hits = rows(session, sql, params)[0]
    return [rule for rule, hit in zip(book.rules, hits) if hit]


def stale_query(book: Any) -> tuple[str, dict[str, str]]:
    """SELECT (open follow-ups of rule 1 under another fingerprint), (…of rule 2)…, with its
    parameters. "Another" as below or above the current one: two range seeks in the (status,
    rule, rule_fp) index that find nothing when all is current (`!=` would read every open
    follow-up of the rule to say so). Written as text: the expression tree of 2 × 18
    subqueries took longer to compile than `due` has to run."""
    live = ", ".join(f"'{s}'" for s in LIVE)
    probe = ("EXISTS (SELECT 1 FROM followup WHERE status IN ({live}) AND rule = :r{i} "
             "AND rule_fp {op} :f{i})")
    parts, params = [], {}
    for i, rule in enumerate(book.rules):
        params[f"r{i}"], params[f"f{i}"] = rule.name, fingerprint(rule)
        parts.append("(" + " OR ".join(probe.format(live=live, i=i, op=op) for op in "<>") + ")")
    return "SELECT " + ", ".join(parts), params


def staff_codes(r: Reader, ids: set[int | None]) -> dict[int, str]:
    """Login codes of staff ids (for rendering)."""
    return _codes(r, "staff", ids)


def customer_id(r: Reader, code: str) -> int:
    """The id of the customer with this code, or NotFound."""
    code = (code or "").strip().upper()
    found = rows(r.session, "SELECT id FROM customer WHERE code = :code", {"code": code})
    if not found:
        raise NotFound("customer", code)
    return found[0][0]
