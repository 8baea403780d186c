"""The audit trail (issue 6.3, D3, K4): every change of every row, chained by hash.

What is written: one entry per inserted, updated or deleted row of every table except the audit
tables themselves and two pieces of bookkeeping (`sequence`, the code counters, and `outbox`,
the delivery state of notifications). Each entry holds who (the acting staff login), when (the
injected clock), the record (table, id, and the code people look it up by: the record's own code,
or its parent's — a policy line, installment or payment under its policy's code), the action and
the values before and after (an update keeps only the fields that changed).

How: a SQLAlchemy `after_flush` listener on every Session (installed when the models are
imported, so no writing path can forget it) turns the flush's inserts, updates and deletes into
entries and appends them in the same transaction, before the commit. The bulk importer, which
writes through Core / DB-API, calls `append` itself (reports/bulk.py).

The chain: entry n's `hash` = SHA-256 of the canonical JSON of [n, at, actor, table, record id,
subject, action, before, after, the hash of entry n-1] (entry 1 follows GENESIS). `id` is the
position, consecutive from 1. The head row (`audit_head`) keeps the last id and hash.

Two writers never fork the chain: on SQLite a writing transaction holds the database's write lock
from its BEGIN IMMEDIATE (db.py); on PostgreSQL every writing transaction (db.write) takes a
transaction-level advisory lock as it begins — before any row lock, so it cannot deadlock with
them — and `append` takes it again (re-entrant) for any other session. The entry id is the
primary key too: a writer that somehow read a stale head fails on it instead of forking.

What it proves: editing, deleting, inserting or reordering audit entries breaks the chain and
`verify` names the entries. It cannot notice a business row edited directly in the database
without going through insurtrack (no entry is written for it), nor a chain rewritten from the
edited entry onwards by someone with write access who recomputes every hash: keep the head hash
`audit verify` prints somewhere else (a ticket, an e-mail) and check later that the chain still
passes through it (`audit verify --head HASH`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

GENESIS = "0" * 64
LOCK_KEY = 0x61756474  # pg_advisory_xact_lock key of the chain ("audt")
UNAUDITED = frozenset({"audit_entry", "audit_head", "sequence", "outbox"})
# Where a row without a code of its own is looked up: its parent's code, first match wins.
PARENTS = (("policy_id", "policy"), ("claim_id", "claim"), ("application_id", "application"),
           ("customer_id", "customer"))
UTC = timezone.utc
_installed = False


# -- canonical form and hash ----------------------------------------------------------------------

def plain(value: Any) -> Any:
    """A stored value as canonical JSON holds it: Decimal and dates as exact strings, instants
    as ISO text in UTC."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    return str(value)


def canonical(doc: Any) -> str:
    """Sorted keys, no spaces, ASCII only: the same document always gives the same text."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(id: int, at: datetime, actor: str | None, table_name: str, record_id: int | None,
               subject: str | None, action: str, before: str | None, after: str | None,
               prev_hash: str) -> str:
    doc = [id, instant(at), actor, table_name, record_id, subject, action, before, after, prev_hash]
    return hashlib.sha256(_list_text(doc).encode("ascii")).hexdigest()


def _list_text(doc: list) -> str:
    """canonical(doc) for a list of str, int and None (what an entry's hash covers), written
    directly: a long chain (a bulk import: millions of entries) spends its time here.
    tests/test_audit.py checks it against canonical()."""
    out = []
    for v in doc:
        c = v.__class__
        if c is str:
            out.append(_quote(v))
        elif v is None:
            out.append("null")
        elif c is int:
            out.append(int.__repr__(v))
        else:
            return canonical(doc)
    return "[" + ",".join(out) + "]"


# -- appending ------------------------------------------------------------------------------------

def _lock(conn: Any) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy import text

        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _head(conn: Any) -> tuple[int, str]:
    """The chain's last id and hash, read under the chain's lock (taken here)."""
    from sqlalchemy import insert, select

    from insurtrack.domain import models as m

    _lock(conn)
    h = m.AuditHead.__table__
    row = conn.execute(select(h.c.last_id, h.c.last_hash).where(h.c.id == 1)).first()
    if row is not None:
        return row[0], row[1]
    # no head yet (a new book), or lost: continue after the last entry there is
    e = m.AuditEntry.__table__
    last = conn.execute(select(e.c.id, e.c.hash).order_by(e.c.id.desc()).limit(1)).first()
    last_id, last_hash = (last[0], last[1]) if last else (0, GENESIS)
    conn.execute(insert(h).values(id=1, last_id=last_id, last_hash=last_hash))
    return last_id, last_hash


_SQLITE_INSERT = ("INSERT INTO audit_entry (id, at, actor, table_name, record_id, subject, action, "
                  "before, after, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _sqlite_instant(at: datetime) -> str:
    """An instant as UTCDateTime stores it on SQLite: naive UTC text with microseconds."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def append(conn: Any, entries: list[dict[str, Any]]) -> int:
    """Chain `entries` (dicts of at, actor, table_name, record_id, subject, action, before, after:
    before/after canonical JSON text or None) after the head and write them with one executemany,
    in the caller's transaction. Returns the new head id."""
    if not entries:
        return 0
    from sqlalchemy import insert, update

    from insurtrack.domain import models as m

    last_id, last_hash = _head(conn)
    for e in entries:
        last_id += 1
        e["id"], e["prev_hash"] = last_id, last_hash
        last_hash = e["hash"] = entry_hash(last_id, e["at"], e["actor"], e["table_name"],
                                           e["record_id"], e["subject"], e["action"], e["before"],
                                           e["after"], last_hash)
    if conn.dialect.name == "sqlite":  # one DB-API executemany, values as UTCDateTime stores them
        conn.exec_driver_sql(_SQLITE_INSERT, [
            (e["id"], _sqlite_instant(e["at"]), e["actor"], e["table_name"], e["record_id"],
             e["subject"], e["action"], e["before"], e["after"], e["prev_hash"], e["hash"])
            for e in entries])
    else:
        conn.execute(insert(m.AuditEntry.__table__), entries)
    h = m.AuditHead.__table__
    conn.execute(update(h).where(h.c.id == 1).values(last_id=last_id, last_hash=last_hash))
    return last_id


def entry(*, at: datetime, actor: str | None, table_name: str, record_id: int | None,
          subject: str | None, action: str, before: dict | None, after: dict | None) -> dict:
    """An entry to append, its values put in canonical form."""
    return {"at": at, "actor": actor, "table_name": table_name, "record_id": record_id,
            "subject": subject, "action": action,
            "before": None if before is None else canonical(plain(before)),
            "after": None if after is None else canonical(plain(after))}


# -- the ORM listener -----------------------------------------------------------------------------

def install() -> None:
    """Audit every Session's flushes; lock the chain as writing transactions begin (PostgreSQL)."""
    global _installed
    if _installed:
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    event.listen(Session, "after_begin", _after_begin)
    event.listen(Session, "after_flush", _after_flush)
    _installed = True


def _after_begin(session: Any, transaction: Any, connection: Any) -> None:
    # Taken first thing, so a writer never waits for the chain while holding row locks another
    # writer (holding the chain) waits for: serialises writers as SQLite's write lock does.
    if connection.dialect.name == "postgresql" and \
            connection.get_execution_options().get("insurtrack_write", False):
        _lock(connection)


def _who(session: Any) -> tuple[datetime, str | None]:
    """When and who, from the unit of work using the session (services/base.py Work)."""
    w = session.info.get("insurtrack_work")
    if w is not None:
        actor = w.actor
        return w.clock.now(), (actor.code if actor is not None else None)
    from insurtrack.clock import from_env

    return from_env(os.environ).now(), session.info.get("insurtrack_actor")


def _after_flush(session: Any, flush_context: Any) -> None:
    from sqlalchemy import inspect

    changes = [(o, "insert") for o in session.new] + [(o, "update") for o in session.dirty] \
        + [(o, "delete") for o in session.deleted]
    if not changes:
        return
    conn = session.connection()
    at, actor = None, None
    entries = []
    codes: dict[tuple[str, int], str | None] = {}
    for obj, action in changes:
        state = inspect(obj)
        mapper = state.mapper
        table = mapper.local_table.name
        if table in UNAUDITED:
            continue
        cols = [(a.key, a.columns[0].name) for a in mapper.column_attrs]
        values = state.dict
        before = after = None
        if action == "insert":
            after = {col: values.get(key) for key, col in cols}
        elif action == "delete":
            before = {col: values.get(key) for key, col in cols}
        else:
            if not session.is_modified(obj, include_collections=False):
                continue
            before, after = {}, {}
            for key, col in cols:
                hist = state.attrs[key].history
                if not hist.has_changes():
                    continue
                old = hist.deleted[0] if hist.deleted else None
                new = hist.added[0] if hist.added else None
                if plain(old) == plain(new):
                    continue
                before[col], after[col] = old, new
            if not after:
                continue
        if at is None:
            at, actor = _who(session)
        record_id = values.get("id")
        entries.append(entry(at=at, actor=actor, table_name=table, record_id=record_id,
                             subject=_subject(conn, session, table, values, codes),
                             action=action, before=before, after=after))
    append(conn, entries)


def _subject(conn: Any, session: Any, table: str, values: dict, codes: dict) -> str | None:
    """The code people look the row up by: its own, the one it is about, or its parent's."""
    if table in ("event", "followup"):
        return values.get("subject")
    code = values.get("code")
    if code:
        return code
    for column, parent in PARENTS:
        pid = values.get(column)
        if pid is None:
            continue
        key = (parent, pid)
        if key not in codes:
            codes[key] = _code_of(conn, session, parent, pid)
        return codes[key]
    return None


def _code_of(conn: Any, session: Any, table: str, id: int) -> str | None:
    from sqlalchemy import select
    from sqlalchemy.orm.util import identity_key

    from insurtrack.domain import models as m

    model = {"policy": m.Policy, "claim": m.Claim, "application": m.Application,
             "customer": m.Customer}[table]
    obj = session.identity_map.get(identity_key(model, id))  # loaded already: no query
    if obj is not None:
        return obj.code
    return conn.execute(select(model.__table__.c.code).where(model.__table__.c.id == id)).scalar()


# -- reading --------------------------------------------------------------------------------------

LOG_COLUMNS = ["entry", "at", "by", "action", "record", "field", "before", "after"]


TIMELINE_TABLES = ("event", "followup")  # left out of `audit log` unless --all


def log(session: Any, code: str, *, limit: int = 0,
        tables_excluded: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """A record's history, oldest first: one row per changed field (an insert shows every field
    it was given, a delete every field it had). `code`: a record code (C-…, P-…, CL-…), or a
    staff login. NotFound when no entry names it."""
    from sqlalchemy import select

    from insurtrack.domain import models as m
    from insurtrack.errors import NotFound

    wanted = (code or "").strip()
    e = m.AuditEntry.__table__
    q = select(e).where(e.c.subject.in_({wanted, wanted.upper()})).order_by(e.c.id)
    if tables_excluded:
        q = q.where(e.c.table_name.not_in(tables_excluded))
    if limit:
        q = q.limit(limit)
    rows = []
    for r in session.execute(q).mappings():
        before = json.loads(r["before"]) if r["before"] is not None else {}
        after = json.loads(r["after"]) if r["after"] is not None else {}
        record = f"{r['table_name']} {r['record_id']}" if r["record_id"] is not None \
            else r["table_name"]
        for field in sorted(set(before) | set(after), key=_field_order):
            if r["action"] == "insert" and after.get(field) is None:
                continue
            rows.append({"entry": r["id"], "at": r["at"], "by": r["actor"], "action": r["action"],
                         "record": record, "field": field, "before": _shown(before.get(field)),
                         "after": _shown(after.get(field))})
    if not rows:
        raise NotFound("audited record", wanted)
    return rows


def _field_order(name: str) -> tuple[int, str]:
    return (0 if name in ("id", "code") else 1, name)


_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


def _shown(value: Any) -> Any:
    """A logged value as the renderer shows values: instants (kept in UTC) become datetimes,
    shown in the configured timezone like every other time."""
    if isinstance(value, (dict, list)):
        return canonical(value)
    if isinstance(value, str) and _INSTANT.match(value):
        return datetime.fromisoformat(value)
    return value


VERIFY_COLUMNS = ["entry", "problem", "detail"]


class Check:
    """The result of walking the chain: entries read, the last hash, problems found (the first
    MAX_PROBLEMS kept, all counted)."""

    MAX_PROBLEMS = 1000

    def __init__(self) -> None:
        self.entries = 0
        self.head = GENESIS
        self.count = 0
        self.problems: list[dict[str, Any]] = []

    def add(self, entry: int | None, problem: str, detail: str) -> None:
        self.count += 1
        if len(self.problems) < self.MAX_PROBLEMS:
            self.problems.append({"entry": entry, "problem": problem, "detail": detail})

    @property
    def intact(self) -> bool:
        return self.count == 0


def verify(conn: Any, *, expect_head: str | None = None, batch: int = 10000) -> Check:
    """Walk the chain in id order, streaming (flat memory at any size), and report every entry
    whose contents no longer match its hash (edited, or moved from another position), every gap
    (deleted entries), every entry that does not follow the one before it (inserted or
    reordered), and a chain that does not end where its head says (entries deleted from the end,
    or appended around insurtrack)."""
    from sqlalchemy import select

    from insurtrack.domain import models as m

    e = m.AuditEntry.__table__
    check = Check()
    expected_id, expected_prev = 1, GENESIS
    wanted = expect_head.strip().lower() if expect_head is not None else None
    seen_wanted = wanted == GENESIS
    q = select(e.c.id, e.c.at, e.c.actor, e.c.table_name, e.c.record_id, e.c.subject, e.c.action,
               e.c.before, e.c.after, e.c.prev_hash, e.c.hash).order_by(e.c.id)
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(q)
    for (id, at, actor, table, record_id, subject, action, before, after, prev,
         stored) in result:
        check.entries += 1
        gap = id != expected_id
        if gap:
            first, last = expected_id, id - 1
            span = f"entry {first}" if first == last else f"entries {first}–{last}"
            check.add(first, "deleted", f"{span} missing: the chain jumps from entry "
                      f"{expected_id - 1} to entry {id}")
        if entry_hash(id, at, actor, table, record_id, subject, action, before, after,
                      prev) != stored:
            check.add(id, "edited", f"entry {id} ({action} {table} {record_id}) does not match "
                      "its hash: its contents were changed, or it was moved from another position")
        elif prev != expected_prev and not gap:
            check.add(id, "inserted or reordered",
                      f"entry {id} does not follow entry {id - 1} (its previous hash differs)")
        if stored == wanted:
            seen_wanted = True
        expected_id, expected_prev = id + 1, stored
    check.head = expected_prev
    last_id = expected_id - 1
    h = m.AuditHead.__table__
    head = conn.execute(select(h.c.last_id, h.c.last_hash).where(h.c.id == 1)).first()
    if head is None:
        if check.entries:
            check.add(None, "head missing", "the chain's head row (audit_head) was deleted")
    elif head[0] > last_id:
        span = f"entry {last_id + 1}" if head[0] == last_id + 1 else \
            f"entries {last_id + 1}–{head[0]}"
        check.add(last_id + 1, "deleted", f"{span} missing from the end: the head records "
                  f"entry {head[0]}")
    elif head[0] < last_id:
        check.add(head[0] + 1, "inserted", f"entries {head[0] + 1}–{last_id} were added after "
                  f"the head (entry {head[0]}) outside insurtrack")
    elif head[1] != expected_prev:
        check.add(last_id, "edited", f"entry {last_id}'s hash differs from the one the head "
                  "recorded")
    if wanted is not None and not seen_wanted:
        check.add(None, "rewritten", f"no entry has the noted hash {wanted}: the chain was "
                  "rewritten up to that point (or the hash was noted from another book)")
    return check


def rows_since(conn: Any, after_id: int) -> Iterator[Any]:
    """Entries after `after_id` (tests, tools)."""
    from sqlalchemy import select

    from insurtrack.domain import models as m

    e = m.AuditEntry.__table__
    yield from conn.execute(select(e).where(e.c.id > after_id).order_by(e.c.id)).mappings()
