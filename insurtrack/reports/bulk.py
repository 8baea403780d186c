"""The bulk writer of `insurtrack import`: the rows, events and follow-ups the services would
write for each imported record, built in memory and written a few thousand records at a time with
one multi-row INSERT (or UPDATE) per table, in the caller's one transaction.

What it writes is what `importer.write_through_services` writes driving the services row by row
(tests/reports/test_import_bulk.py compares every table of the two books):

* customers: the customer, `customer.added` (and `customer.rated` with a rating);
* policies: the policy, its lines, its premium schedule (domain/schedule.py, computed once per
  effective date, frequency and term), `policy.issued`; the paid installments with one payment
  each, `premium.paid` and `policy.in_force`; then `policy.suspended` / `policy.expired` /
  `policy.cancelled` (open installments cancelled) for those states — with the refusals of the
  services (a zero premium, a grace period not over…) naming the row;
* payments, on policies of the book: allocated to the open installments oldest first,
  `premium.paid` (and `policy.in_force` for a first payment), as policies.pay;
* every event marked `imported: true` with the file's name, with the payloads the services give;
* the follow-ups the SLA engine opens, closes, pauses or resumes on those events: `_Engine` below
  applies the rule book to each event as sla/engine.py does (same steps in the same order, the
  deadlines from engine.compute / set_clock / fingerprint, remembered per rule and day), reading
  the record being imported from memory instead of querying it back. What depends on the book is
  read once per batch (a paid policy, its open installments and follow-ups) or once per customer
  (its live per-customer follow-ups — the quarterly revisit — and policies in force), then
  followed in memory;
* the code sequence, set once at the end.

Storage: on SQLite the statements go through the connection's DB-API cursor with the values the
column types store (domain/types.py: money in cents, instants as naive UTC text, JSON text); on
PostgreSQL through SQLAlchemy Core `insert(table)` / `update(table)` with Python values. Ids are
taken up front (SQLite: after the table's highest, under the write lock the transaction holds;
PostgreSQL: from the table's sequence), so rows point at each other without reading anything
back. On SQLite an import that at least doubles a table drops that table's secondary indexes and
builds them again at the end, in the same transaction (`_Sink.defer_indexes`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from insurtrack.errors import BadInput, InsurtrackError, Refused
from insurtrack.reports import importer as imp

UTC = timezone.utc
BATCH = 2000           # records built in memory between two writes
OPEN, PAUSED, DONE, CANCELLED = "open", "paused", "done", "cancelled"
LIVE = (OPEN, PAUSED)
_LINKS = ("policy", "claim", "application", "customer")


def write(w: Any, plan: imp.Plan, *,
          progress: Callable[[str, int, int], None] | None = None) -> imp.Written:
    """Write the plan's good rows in `w`'s transaction; see the module docstring."""
    writer = {"customers": _Customers, "policies": _Policies, "payments": _Payments}[
        plan.kind](w, plan)
    done = 0
    for block in plan.blocks():
        for start in range(0, len(block), BATCH):
            part = block[start:start + BATCH]
            writer.batch(part)
            done += len(part)
            if progress is not None:
                progress("importing", done, plan.count)
    writer.finish()
    return writer.written


# -- storage --------------------------------------------------------------------------------------

def _ts(t: datetime) -> str:
    """An instant as UTCDateTime stores it on SQLite: naive UTC text with microseconds."""
    if t.tzinfo is not UTC:
        t = t.astimezone(UTC)
    return t.replace(tzinfo=None).isoformat(" ", "microseconds")


_KEYS: dict[str, str] = {}   # a payload key, quoted, with its ": "


def dumps(value: Any) -> str:
    """json.dumps(value) as SQLAlchemy's JSON type stores it (default separators, ASCII), for
    the plain documents payloads and clocks are made of; anything else goes to json.dumps."""
    cls = value.__class__
    if cls is dict:
        parts = []
        for k, v in value.items():
            q = _KEYS.get(k)
            if q is None:
                if k.__class__ is not str:
                    return json.dumps(value)
                q = _quote(k) + ": "
                if len(_KEYS) < 1000:
                    _KEYS[k] = q
            parts.append(q + _scalar(v))
        return "{" + ", ".join(parts) + "}"
    if cls is list or cls is tuple:
        return "[" + ", ".join([_scalar(v) for v in value]) + "]"
    return _scalar(value)


def _scalar(v: Any) -> str:
    c = v.__class__
    if c is str:
        return _quote(v)
    if c is int:
        return int.__repr__(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if c is dict or c is list or c is tuple:
        return dumps(v)
    return json.dumps(v)


def _history(h: list) -> str:
    """A clock's history as dumps writes it: [[from, due, warn], ...] of ISO instants (which
    need no escaping) or null."""
    if len(h) == 1:
        a, b, c = h[0]
        if a.__class__ is str and b.__class__ is str and (c is None or c.__class__ is str):
            return f'[["{a}", "{b}", ' + (f'"{c}"]]' if c is not None else "null]]")
    return dumps(h)


def _money(cents: int) -> str:
    """An amount as the services show it in payloads: str(Decimal) with two places."""
    return str(imp.from_cents(cents))


class _Sink:
    """Where rows go: ids, INSERT and UPDATE in the session's transaction, per dialect."""

    def __init__(self, w: Any) -> None:
        from insurtrack.domain import models as m

        self.session = w.session
        self.session.flush()
        conn = self.session.connection()
        self.sqlite = conn.dialect.name == "sqlite"
        self.raw = conn.connection.driver_connection if self.sqlite else None
        self.tables = {t.name: t for t in m.SQLModel.metadata.sorted_tables}
        self._next: dict[str, int] = {}
        self._pool: dict[str, list[int]] = {}
        self._convert: dict[tuple[str, tuple[str, ...]], list[Callable[[Any], Any]]] = {}
        self._deferred: list[tuple[str, list]] = []

    def ids(self, table: str, n: int) -> list[int]:
        """`n` new ids of `table`, in increasing order."""
        if not n:
            return []
        if self.sqlite:
            if table not in self._next:
                top = self.raw.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
                self._next[table] = (top or 0) + 1
            first = self._next[table]
            self._next[table] = first + n
            return list(range(first, first + n))
        from sqlalchemy import func, select

        pool = self._pool.setdefault(table, [])
        if len(pool) < n:
            want = max(n - len(pool), 1000)
            seq = func.pg_get_serial_sequence(table, "id")
            pool += self.session.execute(
                select(func.nextval(seq)).select_from(func.generate_series(1, want))).scalars()
        out, self._pool[table] = pool[:n], pool[n:]
        return out

    def defer_indexes(self, growth: dict[str, int], keep: Iterable[str] = ()) -> None:
        """SQLite: drop the secondary indexes of the tables that will at least double (`growth`:
        table → rows about to be added), to build them once at the end (`build_indexes`) from
        sorted keys instead of updating them row by row — several times faster for an import
        into a new or small book. Indexes the import reads (`keep`) and those of UNIQUE
        constraints stay. The drop and the build are in the import's transaction: a failure
        rolls both back, and other connections only ever see the book with its indexes."""
        if not self.sqlite:
            return
        stats = [t for (t,) in self.raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
            "('sqlite_stat1', 'sqlite_stat4') ORDER BY name")]
        for table, rows in growth.items():
            top = self.raw.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0
            if rows < top:
                continue
            for name, sql in self.raw.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                    "AND sql IS NOT NULL ORDER BY name", (table,)).fetchall():
                if name in keep:
                    continue
                # the planner's statistics of the index (ANALYZE) go with it: kept, to be put
                # back as they were (as if the index had been updated row by row)
                kept = [(stat, self.raw.execute(f"SELECT * FROM {stat} WHERE idx = ?",
                                                (name,)).fetchall()) for stat in stats]
                self.raw.execute(f'DROP INDEX "{name}"')
                self._deferred.append((sql, kept))

    def build_indexes(self) -> None:
        """Build the deferred indexes. SQLite sorts each index's keys with helper threads, one
        per CPU (PRAGMA threads; 0, its default, sorts on this thread alone): an index of the 1M
        book's 5M installments by (status, due date) builds in 3.7 s instead of 5.5 s on two
        CPUs. A bigger page cache does not help the sort (it is slower)."""
        if not self._deferred:
            return
        (before,) = self.raw.execute("PRAGMA threads").fetchone()
        self.raw.execute(f"PRAGMA threads = {min(os.cpu_count() or 1, 8)}")
        try:
            for sql, kept in self._deferred:
                self.raw.execute(sql)
                for stat, rows in kept:
                    if rows:
                        self.raw.executemany(
                            f"INSERT INTO {stat} VALUES ({', '.join('?' * len(rows[0]))})", rows)
        finally:
            self.raw.execute(f"PRAGMA threads = {int(before)}")
        self._deferred = []

    def insert(self, table: str, cols: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.sqlite:
            self.raw.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                                 f"({', '.join('?' * len(cols))})", rows)
            return
        from sqlalchemy import insert

        conv = self._converters(table, cols)
        self.session.execute(insert(self.tables[table]),
                             [{c: f(v) for c, f, v in zip(cols, conv, row)} for row in rows])

    def update(self, table: str, cols: tuple[str, ...], rows: list[tuple]) -> None:
        """UPDATE table SET cols WHERE id = the last value of each row."""
        if not rows:
            return
        if self.sqlite:
            sets = ", ".join(f"{c} = ?" for c in cols)
            self.raw.executemany(f"UPDATE {table} SET {sets} WHERE id = ?", rows)
            return
        from sqlalchemy import bindparam, update

        t = self.tables[table]
        conv = self._converters(table, cols)
        stmt = update(t).where(t.c.id == bindparam("_id")).values(
            {c: bindparam(f"_{c}") for c in cols})
        self.session.execute(stmt, [{**{f"_{c}": f(v) for c, f, v in zip(cols, conv, row)},
                                     "_id": row[-1]} for row in rows])

    def audit(self, w: Any, table: str, cols: tuple[str, ...], rows: list[tuple], *,
              subjects: list[str], note: dict[str, Any]) -> None:
        """One audit entry per imported record (insurtrack/audit.py): its main row's values as
        the services would have stored them, plus `note` (the file), chained in Python after the
        head and written with one executemany. Its lines, installments, events and follow-ups
        are not audited one by one: they are written with the record, in its transaction.

        The entry's `after` is written straight from the storage values, as
        audit.canonical(audit.plain(…)) writes the column types' values (`_plain_text`)."""
        if not rows:
            return
        from insurtrack import audit

        parts = self._plain_text(table, cols, tuple(note))
        notes = {k: audit.canonical(audit.plain(v)) for k, v in note.items()}
        fixed = [(key, i, f, None if i is not None else notes[name]) for key, i, f, name in parts]
        at, actor = w.now(), (w.actor.code if w.actor is not None else None)
        has_id = cols[0] == "id"
        entries = [{"at": at, "actor": actor, "table_name": table,
                    "record_id": row[0] if has_id else None, "subject": subject,
                    "action": "insert", "before": None,
                    "after": "{" + ",".join([key + (f(row[i]) if i is not None else n)
                                             for key, i, f, n in fixed]) + "}"}
                   for row, subject in zip(rows, subjects)]
        audit.append(self.session.connection(), entries)

    def _plain_text(self, table: str, cols: tuple[str, ...], extra: tuple[str, ...]) -> list:
        """For the canonical JSON of a row of `table` (sorted keys, no spaces, ASCII), each key
        in order: (its quoted key and colon, the column's index in `cols` or None for a key of
        `extra`, the function writing a storage value as canonical(plain(column value)), the key).
        Storage values are as SQLite keeps them (money in cents, instants as naive UTC text with
        microseconds, dates as ISO text); JSON and other types go through the column type's
        value."""
        key = (table, cols, extra, "plain")
        if key not in self._convert:
            from sqlalchemy import Date

            from insurtrack import audit
            from insurtrack.domain.types import Fixed, UTCDateTime

            slow = self._converters(table, cols)

            def general(f: Callable[[Any], Any]) -> Callable[[Any], str]:
                return lambda v: audit.canonical(audit.plain(f(v)))

            def money(v: Any, places: int, general: Callable[[Any], str]) -> str:
                if v.__class__ is int:
                    return '"' + str(Decimal(v).scaleb(-places)) + '"'
                return general(v)

            def instant(v: Any, general: Callable[[Any], str]) -> str:
                # "2026-01-02 03:04:05.000006" → "2026-01-02T03:04:05.000006+00:00"
                if v.__class__ is str and len(v) == 26 and v[10] == " ":
                    return '"' + v[:10] + "T" + v[11:] + '+00:00"'
                return general(v)

            out = []
            for name in sorted((*cols, *extra)):
                if name in extra:
                    out.append((_quote(name) + ":", None, None, name))
                    continue
                i = cols.index(name)
                typ, g = self.tables[table].c[name].type, general(slow[i])
                if isinstance(typ, Fixed):
                    f = lambda v, p=typ.places, g=g: "null" if v is None else money(v, p, g)
                elif isinstance(typ, UTCDateTime):
                    f = lambda v, g=g: "null" if v is None else instant(v, g)
                elif isinstance(typ, Date) or _plain_type(typ):
                    f = _scalar   # ISO text, str, int or None: as plain() keeps them
                else:
                    f = g
                out.append((_quote(name) + ":", i, f, name))
            self._convert[key] = out
        return self._convert[key]

    def _converters(self, table: str, cols: tuple[str, ...]) -> list[Callable[[Any], Any]]:
        """Storage values (as SQLite keeps them) back to the Python values the column types of
        `table` take: Decimal for money, aware datetimes, dates, JSON documents."""
        key = (table, cols)
        if key not in self._convert:
            from sqlalchemy import JSON, Boolean, Date

            from insurtrack.domain.types import Fixed, UTCDateTime

            out = []
            for c in cols:
                typ = self.tables[table].c[c].type
                if isinstance(typ, Fixed):
                    places = typ.places
                    out.append(lambda v, p=places: None if v is None else Decimal(v).scaleb(-p))
                elif isinstance(typ, UTCDateTime):
                    out.append(lambda v: None if v is None
                               else datetime.fromisoformat(v).replace(tzinfo=UTC))
                elif isinstance(typ, Date):
                    out.append(lambda v: None if v is None else date.fromisoformat(v))
                elif isinstance(typ, JSON):
                    out.append(lambda v: None if v is None else json.loads(v))
                elif isinstance(typ, Boolean):
                    out.append(lambda v: None if v is None else bool(v))
                else:
                    out.append(lambda v: v)
            self._convert[key] = out
        return self._convert[key]


def _plain_type(typ: Any) -> bool:
    """Whether a column type's values are stored as themselves (str, int), so that plain()
    keeps them as they are: plain types only, not decorated ones (JSON, Boolean, enums)."""
    from sqlalchemy import Integer, String

    return isinstance(typ, (Integer, String)) and typ.python_type in (int, str)


# -- follow-ups: the SLA engine applied in memory ---------------------------------------------------

_FU_COLS = ("id", "rule", "rule_fp", "kind", "subject", "anchor_ref", "anchor_date", "occurrence",
            "customer_id", "department", "assignee_id", "title", "note", "status", "opened_at",
            "started_at", "due_at", "warn_at", "paused_at", "pauses", "history", "closed_at",
            "closed_by_id", "close_note", "breached", "opened_by_event_id", "closed_by_event_id")
# what the engine may change on a follow-up already in the book
_FU_MUTABLE = ("department", "assignee_id", "status", "due_at", "warn_at", "paused_at", "pauses",
               "history", "closed_at", "closed_by_id", "close_note", "breached",
               "closed_by_event_id")


class _FU:
    """A follow-up with the attributes of models.FollowUp, so that engine.compute, set_clock,
    close and resume work on it. `stored`: 0 opened by the import (inserted), 1 a row of the
    book, 2 a row of the book the import changed (written back by id)."""

    __slots__ = (*_FU_COLS, "stored")

    def __init__(self, **kw: Any) -> None:
        for c in _FU_COLS:
            setattr(self, c, kw.get(c))
        self.stored = kw.get("stored", 0)

    @classmethod
    def opened(cls, rule: str, rule_fp: str, kind: str, subject: str, anchor_ref: str | None,
               anchor_date: date | None, occurrence: int, customer_id: int | None,
               department: str, assignee_id: int | None, title: str, opened_at: datetime,
               started_at: datetime, event_id: int) -> _FU:
        """A new open follow-up, as engine._open makes it."""
        f = cls.__new__(cls)
        f.id = f.note = f.warn_at = f.paused_at = f.closed_at = f.closed_by_id = None
        f.close_note = f.breached = f.closed_by_event_id = None
        f.rule, f.rule_fp, f.kind, f.subject = rule, rule_fp, kind, subject
        f.anchor_ref, f.anchor_date, f.occurrence = anchor_ref, anchor_date, occurrence
        f.customer_id, f.department, f.assignee_id, f.title = customer_id, department, \
            assignee_id, title
        f.status, f.opened_at, f.started_at, f.due_at = OPEN, opened_at, started_at, opened_at
        f.pauses, f.history, f.opened_by_event_id, f.stored = [], [], event_id, 0
        return f


class _Ev:
    """An event being applied: what engine.on_event reads of models.Event, and the records it
    is about (its subject and the ones its payload names, as engine._Event.links)."""

    __slots__ = ("id", "type", "subject", "customer_id", "occurred_at", "payload", "links")

    def __init__(self, id: int, type: str, subject: str, customer_id: int | None,
                 occurred_at: datetime, payload: dict) -> None:
        self.id, self.type, self.subject, self.customer_id = id, type, subject, customer_id
        self.occurred_at, self.payload = occurred_at, payload
        named = [str(payload[k]) for k in _LINKS if payload.get(k)]
        self.links = sorted({subject, *named}) if named else (subject,)


class _Record:
    """The record whose events are being applied: a policy (with its premium schedule) or a
    customer, and its customer."""

    __slots__ = ("code", "owner_id", "status", "expiry", "installments", "customer_id",
                 "customer_code", "customer_owner", "is_policy")

    def __init__(self, code: str, owner_id: int, customer_id: int, customer_code: str,
                 customer_owner: int, *, status: str = "", expiry: date | None = None,
                 installments: list | None = None) -> None:
        self.code, self.owner_id, self.customer_id = code, owner_id, customer_id
        self.customer_code, self.customer_owner = customer_code, customer_owner
        self.status, self.expiry, self.installments = status, expiry, installments
        self.is_policy = installments is not None


# installment state while a policy is built: [id, seq, due date, due iso, amount, paid, status,
# paid_at text]
I_ID, I_SEQ, I_DUE, I_DUE_ISO, I_AMOUNT, I_PAID, I_STATUS, I_PAID_AT = range(8)
_OPEN_INSTALLMENT = ("due", "partially_paid")


def _allocate(plan: list[list], amount: int, paid_at: str) -> list[tuple[list, int]]:
    """An amount (cents) onto a policy's open installments oldest first, as policies.pay does:
    each installment it reaches is updated in place (paid amount, status, paid instant);
    returns (installment, cents taken) for each."""
    out, left = [], amount
    for inst in plan:
        if not left:
            break
        if inst[I_STATUS] not in _OPEN_INSTALLMENT:
            continue
        take = min(left, inst[I_AMOUNT] - inst[I_PAID])
        inst[I_PAID] += take
        left -= take
        if inst[I_AMOUNT] - inst[I_PAID]:
            inst[I_STATUS] = "partially_paid"
        else:
            inst[I_STATUS], inst[I_PAID_AT] = "paid", paid_at
        out.append((inst, take))
    return out


class _Engine:
    """sla/engine.py's on_event, applied in memory to the record being imported (see `_apply`,
    which follows engine._apply step by step)."""

    def __init__(self, w: Any, sink: _Sink) -> None:
        from insurtrack.sla import engine

        self.w, self.sink, self.engine = w, sink, engine
        self.cal = w.settings.calendar
        self.book = w.settings.rulebook
        self.fp = {r.name: engine.fingerprint(r) for r in self.book.rules}
        self.anchor_keys = engine.ANCHOR_KEYS
        self.per_customer = [r for r in self.book.rules if r.per == "customer"]
        self.rule_index = {r.name: k for k, r in enumerate(self.per_customer)}
        self.record: _Record | None = None
        self.mine: dict[str, list[_FU]] = {}    # follow-ups of the record, by subject
        self.met: dict[str, set] = {}           # subject → (rule, anchor) done in the book
        self.new: list[_FU] = []                # opened in this batch, to insert
        self.touched: list[_FU] = []            # of the book, changed in this batch
        self.memo: dict[tuple, tuple[datetime, datetime | None]] = {}
        self.steps: dict[str, list[tuple]] = {}     # event type → the rules it acts on
        self.day_of: dict[datetime, date] = {}      # instant → local day
        self.eod: dict[date, datetime] = {}
        # per-customer clocks, followed across the whole file in flat memory (arrays of ints by
        # customer id, a few bytes a customer):
        #   _in_force: 1 + the customer's policies in force (the book's, then as imported);
        #              0: not read yet;
        #   _live[k]: for the k-th per-customer rule, the id of the customer's live follow-up
        #             (a row whose subject is the customer's code), 0 for none, or -1 when it
        #             is more than that: a list in `_more` of such ids, (id, subject) pairs and
        #             _FUs — what a batch works with before its rows are written.
        self._in_force = imp.IntMap()
        self._live: list[imp.IntMap] = []
        self._more: dict[tuple[int, int], list] = {}
        self.dirty: set[tuple[int, int]] = set()   # (rule, customer) changed in this batch
        self.code_of: dict[int, str] = {}          # customer id → code, this batch's customers
        self.counts_in_force = False

    def watch(self, types: Iterable[str]) -> None:
        """The event types the import writes: only per-customer rules reacting to them need the
        book's per-customer state, and policies in force only if such a rule is cancelled."""
        types = set(types)
        self.per_customer = [r for r in self.per_customer
                             if types & {*r.start_on, *r.stop_on, *r.cancel_on, *r.pause_on,
                                         *r.resume_on}]
        self.rule_index = {r.name: k for k, r in enumerate(self.per_customer)}
        self._live = [imp.IntMap() for _ in self.per_customer]
        self.counts_in_force = any(types & set(r.cancel_on) for r in self.per_customer)

    def in_force(self, cid: int) -> int:
        """The customer's policies in force."""
        return max(self._in_force.get(cid) - 1, 0)

    def add_in_force(self, cid: int, n: int) -> None:
        self._in_force.put(cid, max(self._in_force.get(cid), 1) + n)

    def _held(self, k: int, cid: int) -> Any:
        """The live follow-ups of rule k for a customer: None, an id, or a list."""
        v = self._live[k].get(cid)
        if v == 0:
            return None
        return v if v > 0 else self._more[(k, cid)]

    def _hold(self, k: int, cid: int, held: Any) -> None:
        if held is None or held.__class__ is int:
            self._live[k].put(cid, held or 0)
            self._more.pop((k, cid), None)
        else:
            self._live[k].put(cid, -1)
            self._more[(k, cid)] = held

    # -- the book's per-customer state, read once per customer ---------------------------------

    def know(self, customers: Iterable[tuple[int, str]], *, new: bool = False) -> None:
        """The customers of a batch (id, code): read the per-customer state of those not seen
        yet (`new`: just created, nothing to read)."""
        code_of = self.code_of
        for cid, code in customers:
            code_of[cid] = code
        fresh = [c for c in code_of if not self._in_force.get(c)]
        if not fresh:
            return
        for c in fresh:
            self._in_force.put(c, 1)
        if new or not self.per_customer:
            return
        from sqlalchemy import func, select

        from insurtrack.domain import models as m

        s = self.sink.session
        names = [r.name for r in self.per_customer]
        for i in range(0, len(fresh), 500):
            part = fresh[i:i + 500]
            if self.counts_in_force:
                for cid, n in s.execute(
                        select(m.Policy.customer_id, func.count())
                        .where(m.Policy.customer_id.in_(part), m.Policy.status == "in_force")
                        .group_by(m.Policy.customer_id)):
                    self._in_force.put(cid, 1 + n)
            for fid, rule, cid, subject in s.execute(
                    select(m.FollowUp.id, m.FollowUp.rule, m.FollowUp.customer_id,
                           m.FollowUp.subject)
                    .where(m.FollowUp.customer_id.in_(part), m.FollowUp.rule.in_(names),
                           m.FollowUp.status.in_(LIVE)).order_by(m.FollowUp.id)):
                self._add(self.rule_index[rule], cid,
                          fid if subject == code_of[cid] else (fid, subject))

    def _add(self, k: int, cid: int, ref: Any) -> None:
        held = self._held(k, cid)
        if held is None and ref.__class__ is int:
            self._hold(k, cid, ref)
            return
        refs = [] if held is None else [held] if held.__class__ is int else held
        refs.append(ref)
        self._hold(k, cid, refs)

    def _customer_live(self, rule: Any, cid: int) -> list:
        """The live follow-ups of a per-customer rule for a customer, rows of the book loaded."""
        k = self.rule_index[rule.name]
        held = self._held(k, cid)
        if held is None:
            return []
        refs = [held] if held.__class__ is int else held
        if any(f.__class__ is not _FU for f in refs):
            refs = [f if f.__class__ is _FU else self._load(f if f.__class__ is int else f[0])
                    for f in refs]
            self._hold(k, cid, refs)
            self.dirty.add((k, cid))
        return [f for f in refs if f.status in LIVE]

    def _load(self, fid: int) -> _FU:
        from sqlalchemy import select

        from insurtrack.domain import models as m

        t = m.FollowUp.__table__
        row = self.sink.session.execute(select(t).where(t.c.id == fid)).one()
        return _FU(**dict(row._mapping), stored=1)

    def _changed(self, f: Any) -> None:
        if f.stored == 1:
            f.stored = 2
            self.touched.append(f)

    def _has_live_customer(self, rule: Any, cid: int | None, subject: str) -> bool:
        if cid is None:
            return False
        held = self._held(self.rule_index[rule.name], cid)
        if held is None:
            return False
        code = self.code_of.get(cid)
        for f in [held] if held.__class__ is int else held:
            if f.__class__ is int:
                if subject == code:
                    return True
            elif f.__class__ is tuple:
                if f[1] == subject:
                    return True
            elif f.subject == subject and f.status in LIVE:
                return True
        return False

    def settle(self) -> None:
        """After a batch is written: what stays of the per-customer clocks it changed is the
        ids of the live ones."""
        code_of = self.code_of
        for k, cid in self.dirty:
            held = self._held(k, cid)
            if held is None or held.__class__ is int:
                continue
            kept = []
            for f in held:
                if f.__class__ is not _FU:
                    kept.append(f)
                elif f.status in LIVE:
                    kept.append(f.id if f.subject == code_of.get(f.customer_id)
                                else (f.id, f.subject))
            self._hold(k, cid, None if not kept else
                       kept[0] if len(kept) == 1 and kept[0].__class__ is int else kept)
        self.dirty.clear()
        code_of.clear()
        self.new, self.touched = [], []

    # -- the record being imported -------------------------------------------------------------

    def begin(self, record: _Record, mine: dict[str, list[_FU]] | None = None) -> None:
        """The record whose events come next, with its follow-ups already in the book."""
        self.record = record
        self.mine = mine if mine is not None else {}

    def _anchor(self, kind: str, subject: str) -> tuple[str, date] | None:
        rec = self.record
        if subject != rec.code or not rec.is_policy:
            return None  # a customer has no record date; other records are not imported here
        if kind == "installment.due_date":
            for inst in rec.installments:
                if inst[I_STATUS] in _OPEN_INSTALLMENT:
                    return str(inst[I_SEQ]), inst[I_DUE]
            return None
        if kind == "policy.expiry_date":
            if rec.status != "in_force":
                return None
            return rec.expiry.isoformat(), rec.expiry
        return None

    def _route(self, rule: Any, subject: str) -> tuple[str, int | None]:
        if rule.assign_to == "queue":
            return rule.department, None
        rec = self.record
        if subject == rec.code:
            return rule.department, rec.owner_id
        if subject == rec.customer_code:
            return rule.department, rec.customer_owner
        return rule.department, None

    # -- on_event / _apply, as sla/engine.py ----------------------------------------------------

    def on_event(self, ev: _Ev) -> None:
        steps = self.steps.get(ev.type)
        if steps is None:
            steps = self.steps[ev.type] = [
                (rule, ev.type in rule.cancel_on, ev.type in rule.stop_on,
                 ev.type in rule.pause_on, ev.type in rule.resume_on, ev.type in rule.start_on,
                 rule.per == "customer")
                for rule in self.book.by_event.get(ev.type, ())]
        for step in steps:
            self._apply(ev, *step)

    def _apply(self, ev: _Ev, rule: Any, cancel: bool, stop: bool, pause: bool, resume: bool,
               start: bool, per_customer: bool) -> None:
        """engine._apply: what event `ev` does to the follow-ups of `rule` (cancel, stop, pause,
        resume, start: whether the rule names the event in cancel_on, stop_on, …)."""
        t = ev.type
        # engine._Event.live(rule), read only where a step goes through the live follow-ups (a
        # per-customer follow-up of the book is loaded only then)
        if not per_customer:
            name, mine = rule.name, self.mine
            live = [f for s in ev.links for f in mine.get(s, ())
                    if f.rule == name and f.status in LIVE]
        elif ev.customer_id is None or self._held(self.rule_index[rule.name],
                                                  ev.customer_id) is None:
            live = []
        elif cancel:
            live = self._customer_live(rule, ev.customer_id) \
                if self.in_force(ev.customer_id) <= 0 else []
        elif rule.anchor or stop or pause or resume or rule.only_if:
            live = self._customer_live(rule, ev.customer_id)
        else:
            live = []
        if cancel:
            if per_customer and self.in_force(ev.customer_id) > 0:
                return  # a per-customer clock ends only with the customer's last policy in force
            for f in live:
                self._close(f, CANCELLED, at=ev.occurred_at, note=f"cancelled by {t}", ev=ev)
            return
        anchor = None
        if rule.anchor:
            subject = self.record.customer_code if per_customer else ev.subject
            anchor = self._anchor(rule.anchor, subject) if subject else None
            if live:
                for f in live:
                    if anchor is None or f.anchor_ref != anchor[0]:
                        self._close(f, DONE, at=ev.occurred_at, ev=ev,
                                    note=f"{rule.anchor} {f.anchor_ref} settled ({t})")
                live = [f for f in live if f.status in LIVE]
        if stop and live:
            key = self.anchor_keys.get(rule.anchor)
            for f in live:
                if key and ev.payload.get(key) is not None and str(ev.payload[key]) != f.anchor_ref:
                    continue  # a reminder of another installment
                if rule.repeat_every and ev.occurred_at < f.started_at:
                    continue  # a cadence cannot be met before its period begins
                self._close(f, DONE, at=ev.occurred_at, ev=ev, note=t)
                if rule.repeat_every:
                    self._open(ev, rule, f.subject, start=ev.occurred_at,
                               occurrence=f.occurrence + 1,
                               anchor=(f.anchor_ref, f.anchor_date) if f.anchor_ref else None,
                               customer_id=f.customer_id)
            live = [f for f in live if f.status in LIVE]
        if pause:
            for f in live:
                if f.status == OPEN:
                    f.status, f.paused_at = PAUSED, ev.occurred_at
                    f.pauses = [*(f.pauses or []), [ev.occurred_at.isoformat(), None]]
                    self._changed(f)
        if resume and not ev.payload.get("still_outstanding"):
            for f in live:
                if f.status == PAUSED:
                    self.engine.resume(self.w, rule, f, ev.occurred_at)
                    self._changed(f)
        if not start:
            return
        if rule.only_if and not rule.matches(ev.payload):
            for f in live:
                self._close(f, CANCELLED, at=ev.occurred_at, ev=ev,
                            note=f"{t}: no longer "
                                 f"{', '.join(f'{k} = {v}' for k, v in rule.only_if)}")
            return
        subject = self.record.customer_code if per_customer else ev.subject
        if subject is None or self._has_live(rule, ev, subject):
            return
        if rule.anchor:
            if anchor is None:
                return
            if any(f.rule == rule.name and f.anchor_ref == anchor[0] and f.status == DONE
                   for f in self.mine.get(subject, ())) \
                    or (rule.name, anchor[0]) in self.met.get(subject, ()):
                return  # this installment's reminder was already made
        self._open(ev, rule, subject, start=ev.occurred_at, occurrence=1, anchor=anchor,
                   customer_id=ev.customer_id)

    def _has_live(self, rule: Any, ev: _Ev, subject: str) -> bool:
        if subject == self.record.customer_code and rule.name in self.rule_index:
            return self._has_live_customer(rule, ev.customer_id, subject)
        return any(f.rule == rule.name and f.status in LIVE for f in self.mine.get(subject, ()))

    def _close(self, f: Any, status: str, *, at: datetime, note: str | None, ev: _Ev) -> None:
        self.engine.close(self.w, f, status, at=at, note=note, event=ev)
        self._changed(f)

    def _open(self, ev: _Ev, rule: Any, subject: str, *, start: datetime, occurrence: int,
              anchor: tuple[str, date] | None, customer_id: int | None) -> _FU:
        department, assignee = self._route(rule, subject)
        started = start
        if anchor and occurrence == 1 and not rule.before and rule.target.amount:
            day = anchor[1]
            end = self.eod.get(day)
            if end is None:
                end = self.eod[day] = self.cal.end_of_day(day)
            started = max(start, end)
        f = _FU.opened(rule.name, self.fp[rule.name], rule.kind, subject,
                       anchor and anchor[0], anchor and anchor[1], occurrence, customer_id,
                       department, assignee, rule.description or rule.name, start, started,
                       ev.id)
        due, warn = self._compute(rule, f)
        self.engine.set_clock(f, due, warn, start)
        self.new.append(f)
        if rule.name in self.rule_index and customer_id is not None:
            k = self.rule_index[rule.name]
            self._add(k, customer_id, f)
            self.dirty.add((k, customer_id))
        else:
            self.mine.setdefault(subject, []).append(f)
        return f

    def _compute(self, rule: Any, f: _FU) -> tuple[datetime, datetime | None]:
        """engine.compute, remembered: a deadline depends only on the rule and the anchor date,
        or on the local day the clock starts (on its exact instant for minute and hour
        targets)."""
        if f.pauses:
            return self.engine.compute(self.cal, rule, f)
        if rule.anchor and f.occurrence == 1 and f.anchor_date is not None:
            key = (rule.name, 0, f.anchor_date)
        else:
            first = f.occurrence == 1 or rule.repeat_every is None
            step = rule.target if first else rule.repeat_every
            if step.is_time:
                since = f.started_at
            else:
                since = self.day_of.get(f.started_at)
                if since is None:
                    if len(self.day_of) > 20000:
                        self.day_of.clear()
                    since = self.day_of[f.started_at] = self.cal.local_date(f.started_at)
            key = (rule.name, 1 if first else 2, since)
        hit = self.memo.get(key)
        if hit is None:
            hit = self.memo[key] = self.engine.compute(self.cal, rule, f)
        return hit


# -- the writers ----------------------------------------------------------------------------------

_EVENT_COLS = ("id", "type", "subject", "customer_id", "occurred_at", "recorded_at", "actor_id",
               "payload")


class _Writer:
    kind = ""
    sequence = ""
    types: tuple[str, ...] = ()

    def __init__(self, w: Any, plan: imp.Plan) -> None:
        self.w, self.plan = w, plan
        self.sink = _Sink(w)
        self.engine = _Engine(w, self.sink)
        self.engine.watch(self.types)
        self.actor = w.actor.id
        self.file = plan.file
        self.tz = w.settings.timezone
        self.written = imp.Written()
        self.events: list[tuple] = []
        self._ts: dict[datetime, str] = {}

    def ts(self, t: datetime | None) -> str | None:
        if t is None:
            return None
        s = self._ts.get(t)
        if s is None:
            if len(self._ts) > 20000:
                self._ts.clear()
            s = self._ts[t] = _ts(t)
        return s

    def event(self, eid: int, type: str, subject: str, customer_id: int, when: datetime,
              when_s: str, payload: dict) -> _Ev:
        """Record an event (payload as Work.event stores it: no None values at the top, then
        `imported` and `file`) and apply the rule book to it."""
        payload = {k: v for k, v in payload.items() if v is not None}
        payload.setdefault("imported", True)
        payload.setdefault("file", self.file)
        ev = _Ev(eid, type, subject, customer_id, when, payload)
        self.events.append((eid, type, subject, customer_id, when_s, self.recorded, self.actor,
                            dumps(payload)))
        self.engine.on_event(ev)
        return ev

    def batch(self, rows: list[tuple]) -> None:
        raise NotImplementedError

    def write_followups(self) -> None:
        eng, sink = self.engine, self.sink
        ids = sink.ids("followup", len(eng.new))
        for f, fid in zip(eng.new, ids):
            f.id = fid
        ts = self.ts
        rows = []
        for f in eng.new:
            rows.append((f.id, f.rule, f.rule_fp, f.kind, f.subject, f.anchor_ref,
                         f.anchor_date.isoformat() if f.anchor_date is not None else None,
                         f.occurrence, f.customer_id, f.department, f.assignee_id, f.title,
                         f.note, f.status, ts(f.opened_at), ts(f.started_at), ts(f.due_at),
                         ts(f.warn_at), ts(f.paused_at), dumps(f.pauses) if f.pauses else "[]",
                         _history(f.history), ts(f.closed_at), f.closed_by_id, f.close_note,
                         None if f.breached is None else int(f.breached), f.opened_by_event_id,
                         f.closed_by_event_id))
        sink.insert("followup", _FU_COLS, rows)
        changed = []
        for f in eng.touched:
            f.stored = 1
            values = []
            for c in _FU_MUTABLE:
                v = getattr(f, c)
                if isinstance(v, datetime):
                    v = ts(v)
                elif c in ("pauses", "history"):
                    v = dumps(v)
                elif c == "breached" and v is not None:
                    v = int(v)
                values.append(v)
            changed.append((*values, f.id))
        sink.update("followup", _FU_MUTABLE, changed)
        eng.settle()

    def finish(self) -> None:
        self.sink.build_indexes()
        if not self.sequence:
            return
        from sqlalchemy import insert, select, update

        from insurtrack.domain import models as m

        s = self.sink.session
        exists = s.execute(select(m.Sequence.value)
                           .where(m.Sequence.name == self.sequence)).first()
        value = self.plan.highest if self.plan.count else (exists[0] if exists else 0)
        if exists is None:
            s.execute(insert(m.Sequence).values(name=self.sequence, value=value))
        else:
            s.execute(update(m.Sequence).where(m.Sequence.name == self.sequence)
                      .values(value=value))


class _Customers(_Writer):
    kind, sequence = "customers", "customer"
    types = ("customer.added", "customer.rated")

    def __init__(self, w: Any, plan: imp.Plan) -> None:
        super().__init__(w, plan)
        self.sink.defer_indexes({"customer": plan.count, "event": plan.count})
    COLS = ("id", "code", "kind", "name", "id_number", "phone", "email", "address", "birth_date",
            "region", "source", "owner_id", "credit_rating", "risk_level", "rating_reason",
            "rated_at", "notes", "created_at", "updated_at")

    def batch(self, rows: list[tuple]) -> None:
        C = imp
        now = self.w.now()
        self.recorded = self.ts(now)
        tz = self.plan.tz
        sink, eng = self.sink, self.engine
        ids = sink.ids("customer", len(rows))
        rated = sum(1 for r in rows if r[C.C_CREDIT] or r[C.C_RISK])
        eids = iter(sink.ids("event", len(rows) + rated))
        eng.know(((cid, f"C-{r[C.C_NUMBER]:06d}") for r, cid in zip(rows, ids)), new=True)
        customers = []
        self.events = []
        for r, cid in zip(rows, ids):
            code = f"C-{r[C.C_NUMBER]:06d}"
            created = imp.from_us(r[C.C_CREATED], tz)
            created_s = self.ts(created)
            credit, risk = r[C.C_CREDIT], r[C.C_RISK]
            eng.begin(_Record(code, r[C.C_OWNER_ID], cid, code, r[C.C_OWNER_ID]))
            birth = r[C.C_BIRTH]
            customers.append([cid, code, r[C.C_KIND], r[C.C_NAME], r[C.C_ID_NUMBER], r[C.C_PHONE],
                              r[C.C_EMAIL], r[C.C_ADDRESS],
                              date.fromordinal(birth).isoformat() if birth is not None else None,
                              r[C.C_REGION], r[C.C_SOURCE], r[C.C_OWNER_ID], None, None, None,
                              None, r[C.C_NOTES], created_s, self.recorded])
            self.event(next(eids), "customer.added", code, cid, created, created_s,
                       {"kind": r[C.C_KIND], "name": r[C.C_NAME], "region": r[C.C_REGION],
                        "source": r[C.C_SOURCE], "owner": r[C.C_OWNER]})
            if credit or risk:
                at = imp.from_us(r[C.C_RATED], tz)
                at_s = self.ts(at)
                row = customers[-1]
                row[12], row[13], row[14], row[15] = credit, risk, r[C.C_REASON], at_s
                self.event(next(eids), "customer.rated", code, cid, at, at_s,
                           {"credit": credit, "risk": risk, "reason": r[C.C_REASON],
                            "previous": {"credit": None, "risk": None}})
            self.written.count += 1
            self.written.first = self.written.first or code
            self.written.last = code
        customers = [tuple(c) for c in customers]
        sink.insert("customer", self.COLS, customers)
        sink.audit(self.w, "customer", self.COLS, customers, subjects=[c[1] for c in customers],
                   note={"imported": self.file})
        sink.insert("event", _EVENT_COLS, self.events)
        self.write_followups()


class _Policies(_Writer):
    kind, sequence = "policies", "policy"
    types = ("policy.issued", "premium.paid", "policy.in_force", "policy.suspended",
             "policy.expired", "policy.cancelled")
    POLICY = ("id", "code", "application_id", "customer_id", "owner_id", "status", "frequency",
              "term_months", "effective_date", "expiry_date", "sum_insured", "premium",
              "rate_loading", "conditions", "issued_at", "in_force_at", "suspended_at",
              "expired_at", "cancelled_at", "cancel_reason", "renewed_from_id", "product")
    LINE = ("policy_id", "product", "sum_insured", "premium")
    INSTALLMENT = ("id", "policy_id", "seq", "due_date", "amount", "paid_amount", "status",
                   "paid_at")
    PAYMENT = ("policy_id", "installment_id", "amount", "method", "reference", "paid_at",
               "recorded_by_id")

    def __init__(self, w: Any, plan: imp.Plan) -> None:
        super().__init__(w, plan)
        self.grace = w.settings["policy.grace_days"]
        self._dates: dict[tuple, tuple] = {}
        self._amounts: dict[tuple, tuple] = {}
        n = plan.count
        # what a policy brings on average: a line, a few installments, payments, events and
        # follow-ups; the import reads policies and per-customer follow-ups by customer
        self.sink.defer_indexes({"policy": n, "policy_line": n, "installment": 3 * n,
                                 "payment": 2 * n, "event": 3 * n, "followup": 3 * n},
                                keep=("ix_policy_customer_id", "ix_followup_customer_id"))

    def schedule(self, effective: int, frequency: str, months: int, premium: int) -> tuple:
        """((due date, its ISO text), ...), (amounts in cents, ...), expiry, its ISO text, the
        effective date's ISO text: domain/schedule.py as open_policy uses it, computed once per
        effective date, frequency and term (the dates) and per premium, frequency and term (the
        amounts)."""
        key = (effective, frequency, months)
        dates = self._dates.get(key)
        if dates is None:
            from insurtrack.domain import schedule

            if len(self._dates) > 20000:
                self._dates.clear()
            eff = date.fromordinal(effective)
            try:
                dues = schedule.installment_dates(eff, frequency, months)
            except ValueError as exc:
                raise Refused(f"cannot schedule the premiums: {exc}") from None
            expiry = schedule.expiry_date(eff, months)
            dates = self._dates[key] = (tuple((d, d.isoformat()) for d in dues), expiry,
                                        expiry.isoformat(), eff.isoformat())
        key = (premium, frequency, months)
        amounts = self._amounts.get(key)
        if amounts is None:
            from insurtrack.domain import schedule

            if len(self._amounts) > 20000:
                self._amounts.clear()
            amounts = self._amounts[key] = tuple(imp.to_cents(a) for a in schedule.installment_amounts(
                imp.from_cents(premium), frequency, months))
        return dates[0], amounts, dates[1], dates[2], dates[3]

    def batch(self, rows: list[tuple]) -> None:
        P = imp
        now = self.w.now()
        self.recorded = self.ts(now)
        tz, sink, eng = self.plan.tz, self.sink, self.engine
        eng.know((r[P.P_CUSTOMER_ID], r[P.P_CUSTOMER]) for r in rows)
        pids = sink.ids("policy", len(rows))
        plans = [self.schedule(r[P.P_EFFECTIVE], r[P.P_FREQUENCY], r[P.P_MONTHS],
                               r[P.P_PREMIUM]) for r in rows]
        iids = iter(sink.ids("installment", sum(len(s[0]) for s in plans)))
        n_events = sum(1 + (2 if r[P.P_PAID] else 0) + (r[P.P_STATUS] not in ("issued", "in_force"))
                       for r in rows)
        eids = iter(sink.ids("event", n_events))
        policies, lines, installments, payments = [], [], [], []
        self.events = []
        for r, pid, (dues, amounts, expiry, expiry_s, eff_s) in zip(rows, pids, plans):
            code = f"P-{r[P.P_NUMBER]:06d}"
            cid = r[P.P_CUSTOMER_ID]
            try:
                policies.append(self.policy(r, code, pid, cid, dues, amounts, expiry, expiry_s,
                                            eff_s, tz, iids, eids, lines, installments, payments))
            except InsurtrackError as exc:
                raise imp.RowFailed(self.file, r[P.P_LINE], exc) from None
            self.written.count += 1
            self.written.first = self.written.first or code
            self.written.last = code
        sink.insert("policy", self.POLICY, policies)
        sink.audit(self.w, "policy", self.POLICY, policies, subjects=[p[1] for p in policies],
                   note={"imported": self.file})
        sink.insert("policy_line", self.LINE, lines)
        sink.insert("installment", self.INSTALLMENT, installments)
        sink.insert("payment", self.PAYMENT, payments)
        sink.insert("event", _EVENT_COLS, self.events)
        self.write_followups()

    def policy(self, r: tuple, code: str, pid: int, cid: int, dues: tuple, amounts: tuple,
               expiry: date, expiry_s: str, eff_s: str, tz: Any, iids: Any, eids: Any,
               lines: list, installments: list, payments: list) -> tuple:
        P, eng = imp, self.engine
        issued = imp.from_us(r[P.P_ISSUED], tz)
        issued_s = self.ts(issued)
        plan = [[next(iids), seq, due, due_s, amount, 0, "due", None]
                for seq, ((due, due_s), amount) in enumerate(zip(dues, amounts), 1)]
        rec = _Record(code, r[P.P_OWNER_ID], cid, r[P.P_CUSTOMER], r[P.P_CUSTOMER_OWNER],
                      status="issued", expiry=expiry, installments=plan)
        eng.begin(rec)
        for product, insured, prem in r[P.P_LINES]:
            lines.append((pid, product, insured, prem))
        # policies.open_policy
        self.event(next(eids), "policy.issued", code, cid, issued, issued_s,
                   {"effective": eff_s, "expiry": expiry_s, "premium": _money(r[P.P_PREMIUM]),
                    "installments": len(dues)})
        in_force = in_force_s = ended_s = None
        ended = imp.from_us(r[P.P_ENDED], tz) if r[P.P_ENDED] is not None else None
        paid = r[P.P_PAID]
        if paid:  # policies.pay: the first `paid` installments, oldest first
            amount = sum(amounts[:paid])
            if amount <= 0:
                raise BadInput("--amount", _money(amount), "must be more than zero")
            in_force = imp.from_us(r[P.P_IN_FORCE], tz)
            in_force_s = self.ts(in_force)
            method, touched = r[P.P_METHOD], []
            for inst, take in _allocate(plan, amount, in_force_s):
                payments.append((pid, inst[I_ID], take, method, None, in_force_s, self.actor))
                touched.append(inst[I_SEQ])
            self._in_force(rec, cid, "in_force")
            self.event(next(eids), "premium.paid", code, cid, in_force, in_force_s,
                       {"amount": _money(amount), "method": method, "installments": touched,
                        "reference": None})
            self.event(next(eids), "policy.in_force", code, cid, in_force, in_force_s,
                       {"effective_date": eff_s})
        status = r[P.P_STATUS]
        suspended_s = expired_s = cancelled_s = None
        if status == "suspended":  # policies.suspend
            day = ended.astimezone(self.tz).date()
            unpaid = [i for i in plan if i[I_STATUS] in _OPEN_INSTALLMENT and i[I_DUE] < day]
            if not unpaid or (day - unpaid[0][I_DUE]).days <= self.grace:
                detail = (f"installment {unpaid[0][I_SEQ]} (due {unpaid[0][I_DUE]}) is in its "
                          f"{self.grace}-day grace period until "
                          f"{unpaid[0][I_DUE] + timedelta(days=self.grace)}"
                          if unpaid else "no installment is overdue")
                raise Refused(f"cannot suspend policy {code} on {day}: {detail} (PRC Insurance "
                              "Law art. 36)")
            oldest = unpaid[0]
            ended_s = suspended_s = self.ts(ended)
            self._in_force(rec, cid, "suspended")
            owed = sum(i[I_AMOUNT] - i[I_PAID] for i in plan if i[I_STATUS] in _OPEN_INSTALLMENT)
            self.event(next(eids), "policy.suspended", code, cid, ended, ended_s,
                       {"installment": oldest[I_SEQ], "due_date": oldest[I_DUE_ISO],
                        "days_overdue": (day - oldest[I_DUE]).days, "outstanding": _money(owed)})
        elif status == "expired":  # policies.expire
            if ended.astimezone(self.tz).date() <= expiry:
                raise Refused(f"cannot expire policy {code}: it covers until {expiry} (it may "
                              f"expire from {expiry + timedelta(days=1)})")
            ended_s = expired_s = self.ts(ended)
            self._in_force(rec, cid, "expired")
            self.event(next(eids), "policy.expired", code, cid, ended, ended_s,
                       {"expiry_date": expiry_s})
        elif status == "cancelled":  # policies.cancel
            ended_s = cancelled_s = self.ts(ended)
            dropped = []
            for inst in plan:
                if inst[I_STATUS] in _OPEN_INSTALLMENT:
                    inst[I_STATUS] = "cancelled"
                    dropped.append(inst[I_SEQ])
            self._in_force(rec, cid, "cancelled")
            self.event(next(eids), "policy.cancelled", code, cid, ended, ended_s,
                       {"reason": r[P.P_REASON], "installments_cancelled": dropped})
        for inst in plan:
            installments.append((inst[I_ID], pid, inst[I_SEQ], inst[I_DUE_ISO], inst[I_AMOUNT],
                                 inst[I_PAID], inst[I_STATUS], inst[I_PAID_AT]))
        insured = sum(s for _, s, _ in r[P.P_LINES])
        return (pid, code, None, cid, r[P.P_OWNER_ID], rec.status, r[P.P_FREQUENCY],
                r[P.P_MONTHS], eff_s, expiry_s, insured, r[P.P_PREMIUM], r[P.P_LOADING],
                r[P.P_CONDITIONS], issued_s, in_force_s, suspended_s, expired_s, cancelled_s,
                r[P.P_REASON] if status == "cancelled" else None, None,
                r[P.P_LINES][0][0] if len(r[P.P_LINES]) == 1 else None)

    def _in_force(self, rec: _Record, cid: int, status: str) -> None:
        """The policy's new state, and its customer's count of policies in force."""
        before = rec.status
        rec.status = status
        if before == "in_force" and status != "in_force":
            self.engine.add_in_force(cid, -1)
        elif status == "in_force" and before != "in_force":
            self.engine.add_in_force(cid, +1)


class _Payments(_Writer):
    """Payments on policies of the book (or imported before): each allocated to the policy's
    open installments oldest first, as policies.pay does. A batch reads what it needs of its
    policies once — the policy, its open installments, its live follow-ups and the reminders
    already made — and follows them in memory while its rows are applied."""

    kind, sequence = "payments", ""
    types = ("premium.paid", "policy.in_force")
    PAYMENT = _Policies.PAYMENT

    def __init__(self, w: Any, plan: imp.Plan) -> None:
        super().__init__(w, plan)
        names = {r.name for t in self.types for r in w.settings.rulebook.by_event.get(t, ())
                 if r.per != "customer"}
        self.record_rules = sorted(names)
        self.anchored = sorted(r.name for r in w.settings.rulebook.rules
                               if r.name in names and r.anchor)
        self.paid = _Bits()

    def batch(self, rows: list[tuple]) -> None:
        from sqlalchemy import select

        from insurtrack.domain import models as m

        Y = imp
        now = self.w.now()
        self.recorded = self.ts(now)
        tz, sink, eng, s = self.plan.tz, self.sink, self.engine, self.sink.session
        codes = sorted({r[Y.Y_POLICY] for r in rows})
        P, C, I, F = m.Policy, m.Customer, m.Installment, m.FollowUp
        policies: dict[str, list] = {}
        for i in range(0, len(codes), 500):
            for row in s.execute(
                    select(P.id, P.code, P.status, P.customer_id, P.owner_id, P.expiry_date,
                           P.effective_date, P.in_force_at, C.code, C.owner_id)
                    .join(C, C.id == P.customer_id).where(P.code.in_(codes[i:i + 500]))):
                policies[row[1]] = list(row)
        by_id = {p[0]: p for p in policies.values()}
        plans: dict[int, list] = {pid: [] for pid in by_id}
        mine: dict[str, dict[str, list[_FU]]] = {code: {} for code in policies}
        met: dict[str, set] = {}
        ids = sorted(by_id)
        ft = F.__table__
        for i in range(0, len(ids), 500):
            for iid, pid, seq, due, amount, paid, status, paid_at in s.execute(
                    select(I.id, I.policy_id, I.seq, I.due_date, I.amount, I.paid_amount, I.status,
                           I.paid_at)
                    .where(I.policy_id.in_(ids[i:i + 500]), I.status.in_(_OPEN_INSTALLMENT))
                    .order_by(I.policy_id, I.seq)):
                plans[pid].append([iid, seq, due, due.isoformat(), imp.to_cents(amount),
                                   imp.to_cents(paid), status,
                                   self.ts(paid_at) if paid_at is not None else None])
        for i in range(0, len(codes), 500):
            part = codes[i:i + 500]
            if self.record_rules:
                for row in s.execute(select(ft).where(
                        ft.c.rule.in_(self.record_rules), ft.c.subject.in_(part),
                        ft.c.status.in_(LIVE)).order_by(ft.c.id)):
                    f = _FU(**dict(row._mapping), stored=1)
                    mine[f.subject].setdefault(f.subject, []).append(f)
            if self.anchored:
                for rule, subject, ref in s.execute(
                        select(F.rule, F.subject, F.anchor_ref).where(
                            F.rule.in_(self.anchored), F.subject.in_(part), F.status == DONE)):
                    met.setdefault(subject, set()).add((rule, ref))
        eng.know((p[3], p[8]) for p in policies.values())
        eng.met = met
        issued = {code for code, p in policies.items() if p[2] == "issued"}
        eids = iter(sink.ids("event", len(rows) + len(issued & {r[Y.Y_POLICY] for r in rows})))
        payments, first_paid, changed = [], [], set()
        self.events = []
        for r in rows:
            try:
                self.payment(r, policies[r[Y.Y_POLICY]], plans, mine, tz, eids, payments,
                             first_paid, changed)
            except InsurtrackError as exc:
                raise imp.RowFailed(self.file, r[Y.Y_LINE], exc) from None
        installments = [(inst[I_PAID], inst[I_STATUS], inst[I_PAID_AT], inst[I_ID])
                        for plan in plans.values() for inst in plan if inst[I_ID] in changed]
        sink.update("installment", ("paid_amount", "status", "paid_at"), installments)
        sink.update("policy", ("status", "in_force_at"), first_paid)
        sink.insert("payment", self.PAYMENT, payments)
        sink.audit(self.w, "payment", self.PAYMENT, payments,
                   subjects=[by_id[p[0]][1] for p in payments], note={"imported": self.file})
        sink.insert("event", _EVENT_COLS, self.events)
        self.write_followups()
        eng.met = {}

    def payment(self, r: tuple, p: list, plans: dict, mine: dict, tz: Any, eids: Any,
                payments: list, first_paid: list, changed: set) -> None:
        """policies.pay, in memory."""
        Y, eng = imp, self.engine
        pid, code, status, cid = p[0], p[1], p[2], p[3]
        rec = _Record(code, p[4], cid, p[8], p[9], status=status, expiry=p[5],
                      installments=plans[pid])
        eng.begin(rec, mine[code])
        when = imp.from_us(r[Y.Y_PAID], tz)
        when_s = self.ts(when)
        amount = r[Y.Y_AMOUNT]
        plan = plans[pid]
        total = sum(i[I_AMOUNT] - i[I_PAID] for i in plan if i[I_STATUS] in _OPEN_INSTALLMENT)
        if amount > total:
            raise Refused(f"cannot take {_money(amount)} on policy {code}: only {_money(total)} "
                          "is outstanding")
        touched = []
        for inst, take in _allocate(plan, amount, when_s):
            changed.add(inst[I_ID])
            payments.append((pid, inst[I_ID], take, r[Y.Y_METHOD], r[Y.Y_REFERENCE], when_s,
                             self.actor))
            touched.append(inst[I_SEQ])
        first = status == "issued"
        if first:
            p[2] = "in_force"
            self._in_force(rec, cid)
        self.event(next(eids), "premium.paid", code, cid, when, when_s,
                   {"amount": _money(amount), "method": r[Y.Y_METHOD], "installments": touched,
                    "reference": r[Y.Y_REFERENCE]})
        if first:
            p[7] = when
            first_paid.append(("in_force", when_s, pid))
            self.event(next(eids), "policy.in_force", code, cid, when, when_s,
                       {"effective_date": p[6].isoformat()})
        self.written.count += 1
        self.written.first = self.written.first or code
        self.written.last = code
        if self.paid.add(int(code[2:])):
            self.written.policies += 1

    def _in_force(self, rec: _Record, cid: int) -> None:
        rec.status = "in_force"
        self.engine.add_in_force(cid, +1)


class _Bits:
    """A set of non-negative ints in flat memory (a bit each, for the dense numbers codes
    have)."""

    def __init__(self) -> None:
        self.bits = bytearray()
        self.high: set[int] = set()

    def add(self, n: int) -> bool:
        """Add `n`; whether it was new."""
        if n >= 1 << 27:
            new = n not in self.high
            self.high.add(n)
            return new
        byte, bit = n >> 3, 1 << (n & 7)
        if byte >= len(self.bits):
            self.bits.extend(bytes(max(byte + 1 - len(self.bits), len(self.bits))))
        if self.bits[byte] & bit:
            return False
        self.bits[byte] |= bit
        return True
