"""`due --notify`: tell each person and department what needs them, exactly once.

1. Evaluate (one write transaction): every open follow-up that reached a stage — `due` (its
   deadline day has come), `warn` (inside its warning window), `breach` (past its deadline; for
   owner-assigned items the department hears of it too) — gets one outbox row per recipient and
   channel. The row's key (follow-up, stage, recipient, channel) is unique, so a stage already
   queued by this or any earlier or concurrent run is never queued again.
2. Claim (one write transaction): unsent rows not claimed by a live run are leased to this run
   and grouped into digests, one per recipient and channel; each digest gets an identity derived
   from its rows ("dg-" and 20 hex digits of a hash of their ids), written into the rows' lease
   (`claimed_by` = identity.run) in the same transaction. Two overlapping runs never hold the same
   row. Rows of closed follow-ups are set aside as not worth sending.
3. Deliver: each digest once, carrying its identity (the `X-Insurtrack-Digest` header of the mail
   or HTTP request; webhooks also get it as `Idempotency-Key`); on success its rows are marked
   sent at once; on failure the attempt and reason are recorded and the lease released, so the
   next run retries (merged into that run's digest). Nothing is dropped (rows for a channel since
   removed from the config are set aside: what is still due was queued again for the current
   channels).

Crashes. Every step above is one transaction, so a run killed at any point leaves the outbox
consistent, and nothing is lost: a row is marked sent only after its channel accepted it. The
one window left is from the moment the channel has the digest (its answer still on the way
back) to the commit that marks the rows sent. On PostgreSQL the rows are marked in a
transaction held open across the delivery, so the window is the answer and the COMMIT. On
SQLite it is one short write transaction after the delivery: milliseconds, longer while
another command holds the write lock (never held across a delivery: that would stall every
desk). A run killed there leaves its rows leased, and after `notify.lease_minutes` the next
run sends the digest again — the *same* digest: its rows stay grouped by the identity in their
lease, so the repeat carries the same identity, items and text (minus items closed meanwhile),
and a receiver that keeps the last identities it saw can drop it. Delivery is therefore at
least once, and exactly once for a receiver that deduplicates on the identity.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from insurtrack.domain import models as m
from insurtrack.sla.engine import OPEN

STAGE_ORDER = ("due", "warn", "breach")
STAGE_LABEL = {"due": "DUE TODAY", "warn": "AT RISK", "breach": "LATE"}


def channel_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:32]


@dataclass
class Routes:
    """Who hears through which Apprise URLs: from notify.departments, notify.staff and
    notify.staff_email_url (for staff with an email address)."""

    settings: Any
    emails: dict[str, str]

    def urls(self, recipient: str) -> list[str]:
        kind, _, name = recipient.partition(":")
        if kind == "dept":
            got = self.settings["notify.departments"].get(name, [])
            return [got] if isinstance(got, str) else list(got)
        got = self.settings["notify.staff"].get(name)
        if got:
            return [got] if isinstance(got, str) else list(got)
        template, email = self.settings["notify.staff_email_url"], self.emails.get(name)
        return [template.replace("{email}", email)] if template and email else []

    def by_key(self, recipient: str) -> dict[str, str]:
        return {channel_key(u): u for u in self.urls(recipient)}


def _routes(session: Any, settings: Any) -> Routes:
    emails = dict(session.execute(select(m.Staff.code, m.Staff.email)
                                  .where(m.Staff.active, m.Staff.email.is_not(None))).all())
    return Routes(settings, emails)


def stage_of(w: Any, f: m.FollowUp, at: datetime) -> str | None:
    from insurtrack.services.due import state_at

    state = state_at(w, f, at)
    if state in ("breached", "overdue"):
        return "breach"
    if state == "at_risk":
        return "warn"
    if state == "due_today":
        rule = w.settings.rulebook.get(f.rule)
        return None if rule is not None and rule.target.is_time else "due"
    return None


def recipients(f: m.FollowUp, stage: str, staff: dict[int, str], routes: Routes) -> list[str]:
    """An owner's item goes to the owner (to the department when the owner has no channel);
    a late one to the department as well. A queue item goes to the department."""
    dept = f"dept:{f.department}"
    if f.assignee_id is None or f.assignee_id not in staff:
        return [dept]
    person = f"staff:{staff[f.assignee_id]}"
    out = [person] if routes.urls(person) else [dept]
    if stage == "breach" and dept not in out:
        out.append(dept)
    return out


@dataclass
class Planned:
    followup: m.FollowUp
    stage: str
    recipient: str
    channel: str
    label: str


def plan(w: Any, at: datetime) -> tuple[list[Planned], list[str]]:
    """What this instant calls for, and recipients with no channel configured."""
    from insurtrack.services.due import candidates
    from insurtrack.sla.send import redact

    routes = _routes(w.session, w.settings)
    live_rules = {r.name for r in w.settings.rulebook.rules} | {"manual", "rectification"}
    rows = [f for f in candidates(w, at) if f.rule in live_rules]
    staff = dict(w.session.execute(select(m.Staff.id, m.Staff.code).where(
        m.Staff.id.in_({f.assignee_id for f in rows if f.assignee_id} or {-1}))).all())
    out, unrouted = [], set()
    labels: dict[str, str] = {}
    for f in rows:
        stage = stage_of(w, f, at)
        if stage is None:
            continue
        for who in recipients(f, stage, staff, routes):
            urls = routes.urls(who)
            if not urls:
                unrouted.add(who)
            for url in urls:
                key = channel_key(url)
                if key not in labels:
                    labels[key] = redact(url)[:200]
                out.append(Planned(f, stage, who, key, labels[key]))
    return out, sorted(unrouted)


def enqueue(w: Any, at: datetime) -> tuple[int, list[str]]:
    """Write the outbox rows this instant calls for (existing keys are left alone)."""
    planned, unrouted = plan(w, at)
    if not planned:
        return 0, unrouted
    dialect = w.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values = [{"followup_id": p.followup.id, "stage": p.stage, "recipient": p.recipient,
               "channel": p.channel, "channel_label": p.label, "created_at": at, "attempts": 0}
              for p in planned]
    # One key order for every run: overlapping runs inserting the same keys wait on each other
    # instead of deadlocking (PostgreSQL locks each unique key as it goes).
    values.sort(key=lambda v: (v["followup_id"], v["stage"], v["recipient"], v["channel"]))
    # RETURNING counts the rows really added (the ORM's bulk result has no rowcount, and an
    # executemany's rowcount is -1 on psycopg); conflicting keys return nothing on both dialects.
    stmt = insert(m.Outbox).on_conflict_do_nothing(
        index_elements=["followup_id", "stage", "recipient", "channel"]).returning(m.Outbox.id)
    added = 0
    for i in range(0, len(values), 500):
        added += len(w.session.execute(stmt, values[i:i + 500]).all())
    return added, unrouted


@dataclass
class Digest:
    recipient: str
    channel: str
    label: str
    url: str | None
    ids: list[int]
    title: str
    body: str
    key: str = ""  # the digest's identity (delivered as X-Insurtrack-Digest); "" in a dry run


@dataclass
class Report:
    queued: int = 0
    sent: list[Digest] = field(default_factory=list)
    failed: list[tuple[Digest, str]] = field(default_factory=list)
    skipped: int = 0
    unrouted: list[str] = field(default_factory=list)
    dry_run: bool = False
    digests: list[Digest] = field(default_factory=list)
    dropped: list[Digest] = field(default_factory=list)  # queued for a channel since removed


def _lines(w: Any, rows: list[tuple[m.Outbox, m.FollowUp]]) -> tuple[str, str]:
    """A digest's title and body: the items by stage, the worst first."""
    from insurtrack.services.due import _source, _title, local_deadline

    tz = w.settings["display.timezone"]
    # Rows kept from failed runs may hold an earlier stage of an item that has moved on (due
    # today, now late): the item is listed once, under its latest stage.
    latest: dict[int, tuple[m.Outbox, m.FollowUp]] = {}
    for o, f in rows:
        if f.id not in latest or STAGE_ORDER.index(o.stage) > STAGE_ORDER.index(latest[f.id][0].stage):
            latest[f.id] = (o, f)
    rows = list(latest.values())
    codes = dict(w.session.execute(select(m.Customer.id, m.Customer.code).where(
        m.Customer.id.in_({f.customer_id for _, f in rows if f.customer_id} or {-1}))).all())
    counts: dict[str, int] = defaultdict(int)
    body = []
    for stage in reversed(STAGE_ORDER):
        # Deadline, then number: the same rows always make the same text (a digest sent again
        # after a crash must be the same digest; rows come from the store in no set order).
        items = sorted(((o, f) for o, f in rows if o.stage == stage),
                       key=lambda x: (x[1].due_at, x[1].id))
        if not items:
            continue
        counts[stage] = len(items)
        body.append(f"{STAGE_LABEL[stage]} ({len(items)})")
        for _, f in items:
            src = _source(w, f)
            about = " ".join(dict.fromkeys(  # an item about a customer: its code once
                x for x in (f.subject, codes.get(f.customer_id, "")) if x))
            body.append(f"  #{f.id} {src + ' ' if src else ''}{_title(f)}"
                        f"{' — ' + about if about else ''}; due {local_deadline(w, f.due_at)} {tz}")
        body.append("")
    body.append("See `insurtrack due` for details and `insurtrack due explain ID` for a clock.")
    parts = [f"{counts[s]} {STAGE_LABEL[s].lower()}" for s in reversed(STAGE_ORDER) if counts[s]]
    return f"insurtrack: {', '.join(parts)}", "\n".join(body)


def _digests(w: Any, outbox: list[m.Outbox], *, by_lease: bool = False
             ) -> tuple[list[Digest], list[int]]:
    """Group rows into digests — per recipient and channel, or (by_lease) per digest identity
    written into their lease at claim time; rows whose follow-up has closed since are not worth
    sending."""
    if not outbox:
        return [], []
    fus = {f.id: f for f in w.session.execute(select(m.FollowUp).where(
        m.FollowUp.id.in_({o.followup_id for o in outbox}))).scalars()}
    routes = _routes(w.session, w.settings)
    groups: dict[tuple[str, str, str], list[tuple[m.Outbox, m.FollowUp]]] = defaultdict(list)
    stale = []
    for o in outbox:
        f = fus[o.followup_id]
        if f.status != OPEN:
            stale.append(o.id)
            continue
        key = digest_key(o.claimed_by) if by_lease else ""
        groups[(o.recipient, o.channel, key)].append((o, f))
    out = []
    for (who, chan, key), rows in sorted(groups.items()):
        title, body = _lines(w, rows)
        name = who.partition(":")[2]
        out.append(Digest(who, chan, rows[0][0].channel_label, routes.by_key(who).get(chan),
                          [o.id for o, _ in rows], f"{title} — {name}", body, key))
    return out, stale


def digest_key(lease: str | None) -> str:
    """The digest identity in a lease written by claim() ('dg-…' before the dot)."""
    return (lease or "").partition(".")[0]


def _new_key(ids: list[int]) -> str:
    return "dg-" + hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:20]


def claim(s: Any, now: datetime, lease: timedelta, run_id: str) -> tuple[list[int], int]:
    """Lease the free rows to this run, grouped into digests (see the module docstring); set
    aside rows whose follow-up has closed. Returns (the ids leased, how many set aside).

    A row still leased by a run that died (its lease expired) keeps the digest it was in: rows
    are grouped by their old lease, so a digest that may have reached its channel just before
    the crash is sent again whole, under the same identity, never merged into another."""
    free = and_(m.Outbox.sent_at.is_(None),
                or_(m.Outbox.claimed_at.is_(None), m.Outbox.claimed_at < now - lease))
    before = {i: (who, chan, old) for i, who, chan, old in s.execute(
        select(m.Outbox.id, m.Outbox.recipient, m.Outbox.channel, m.Outbox.claimed_by)
        .where(free))}
    ids = list(s.execute(update(m.Outbox).where(free).values(claimed_at=now, claimed_by=run_id)
                         .returning(m.Outbox.id)).scalars())
    if not ids:
        return [], 0
    closed = set()
    for chunk in range(0, len(ids), 500):
        closed.update(s.execute(
            select(m.Outbox.id).join(m.FollowUp, m.FollowUp.id == m.Outbox.followup_id)
            .where(m.Outbox.id.in_(ids[chunk:chunk + 500]), m.FollowUp.status != OPEN)).scalars())
    if closed:
        s.execute(update(m.Outbox).where(m.Outbox.id.in_(closed))
                  .values(sent_at=now, last_error="not sent: closed before delivery"))
    # PostgreSQL: a row freed by another run after the SELECT above may have been leased too.
    missing = [i for i in ids if i not in before]
    for chunk in range(0, len(missing), 500):
        before.update({i: (who, chan, None) for i, who, chan in s.execute(
            select(m.Outbox.id, m.Outbox.recipient, m.Outbox.channel)
            .where(m.Outbox.id.in_(missing[chunk:chunk + 500])))})
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i in ids:
        if i not in closed:
            who, chan, old = before[i]
            groups[(who, chan, old or "")].append(i)
    for (_, _, old), members in groups.items():
        key = digest_key(old) if old.startswith("dg-") else _new_key(members)
        for chunk in range(0, len(members), 500):
            s.execute(update(m.Outbox).where(m.Outbox.id.in_(members[chunk:chunk + 500]))
                      .values(claimed_by=f"{key}.{run_id}"))
    return [i for i in ids if i not in closed], len(closed)


def run(engine: Any, settings: Any, clock: Any, actor: Any, *, dry_run: bool = False) -> Report:
    """One `due --notify` run (see the module docstring)."""
    from insurtrack import db
    from insurtrack.services.base import Work
    from insurtrack.sla.send import send

    from insurtrack.services.permissions import require

    require(actor, "followup.notify")  # cron's user: service or manager (README, cron)
    report = Report(dry_run=dry_run)
    now = clock.now()
    if dry_run:
        with db.read(engine) as s:
            w = Work(session=s, actor=actor, clock=clock, settings=settings)
            planned, report.unrouted = plan(w, now)
            known = {(o.followup_id, o.stage, o.recipient, o.channel): o for o in s.execute(
                select(m.Outbox).where(m.Outbox.followup_id.in_(
                    {p.followup.id for p in planned} or {-1}))).scalars()}
            fresh = [m.Outbox(id=-i - 1, followup_id=p.followup.id, stage=p.stage,
                              recipient=p.recipient, channel=p.channel, channel_label=p.label,
                              created_at=now, attempts=0)
                     for i, p in enumerate(planned)
                     if (p.followup.id, p.stage, p.recipient, p.channel) not in known]
            pending = list(s.execute(select(m.Outbox).where(m.Outbox.sent_at.is_(None))).scalars())
            report.digests, _ = _digests(w, pending + fresh)
            report.digests = [d for d in report.digests if d.url is not None]
            report.queued = len(fresh)
        return report

    with db.write(engine) as s:
        w = Work(session=s, actor=actor, clock=clock, settings=settings)
        from insurtrack.services.due import sync_rules

        sync_rules(w)
        report.queued, report.unrouted = enqueue(w, now)

    run_id = uuid.uuid4().hex[:16]
    lease = timedelta(minutes=settings["notify.lease_minutes"])
    with db.write(engine) as s:
        ids, report.skipped = claim(s, now, lease, run_id)
    if not ids:
        return report
    with db.read(engine) as s:
        w = Work(session=s, actor=actor, clock=clock, settings=settings)
        rows = []
        for chunk in range(0, len(ids), 500):
            rows += s.execute(select(m.Outbox).where(m.Outbox.id.in_(ids[chunk:chunk + 500]))
                              ).scalars()
        digests, stale = _digests(w, rows, by_lease=True)
    if stale:  # closed since the claim
        with db.write(engine) as s:
            s.execute(update(m.Outbox).where(m.Outbox.id.in_(stale),
                                             m.Outbox.claimed_by.like(f"%.{run_id}"))
                      .values(sent_at=now, last_error="not sent: closed before delivery"))
        report.skipped += len(stale)
    timeout = float(settings["notify.timeout_seconds"])
    # PostgreSQL locks rows, not the store: the rows are marked sent in a transaction held open
    # across the delivery and committed as soon as the channel accepts (the window a crash can
    # hit shrinks to the COMMIT). SQLite's one write lock must not be held across a delivery.
    row_locks = engine.dialect.name == "postgresql"
    for d in digests:
        mine = and_(m.Outbox.id.in_(d.ids), m.Outbox.claimed_by == f"{d.key}.{run_id}")
        if d.url is None:
            # Queued for a URL since changed or removed in the config (a rotated password): no
            # run can deliver it, so it is set aside rather than failing every run; items still
            # at that stage were queued above for the recipient's current channels.
            with db.write(engine) as s:
                s.execute(update(m.Outbox).where(mine).values(
                    sent_at=now, last_error="not sent: channel no longer configured"))
            report.dropped.append(d)
            continue
        headers = identity_headers(d.url, d.key)
        if row_locks:
            error = _send_and_mark(engine, mine, clock, d, timeout, headers)
        else:
            error = send(d.url, title=d.title, body=d.body, timeout=timeout, headers=headers)
            # The window a crash can hit: accepted by the channel, not yet marked sent. One short
            # transaction; a repeat after a crash here is this same digest (see the docstring).
            if error is None:
                with db.write(engine) as s:
                    s.execute(update(m.Outbox).where(mine).values(
                        sent_at=clock.now(), attempts=m.Outbox.attempts + 1, last_error=None))
        if error is not None:
            with db.write(engine) as s:
                s.execute(update(m.Outbox).where(mine).values(
                    attempts=m.Outbox.attempts + 1, last_error=error[:1000],
                    claimed_at=None, claimed_by=None))
        if error is None:
            report.sent.append(d)
        else:
            report.failed.append((d, error))
    return report


class _Undelivered(Exception):
    pass


def _send_and_mark(engine: Any, mine: Any, clock: Any, d: Digest, timeout: float,
                   headers: dict[str, str]) -> str | None:
    """PostgreSQL: mark the digest's rows sent, deliver, commit at once; roll the mark back if
    the delivery failed. Returns the failure's reason, or None."""
    from insurtrack import db
    from insurtrack.sla.send import send

    try:
        with db.write(engine) as s:
            s.execute(update(m.Outbox).where(mine).values(
                sent_at=clock.now(), attempts=m.Outbox.attempts + 1, last_error=None))
            error = send(d.url, title=d.title, body=d.body, timeout=timeout, headers=headers)
            if error is not None:
                raise _Undelivered(error)
    except _Undelivered as exc:
        return str(exc)
    return None


DIGEST_HEADER = "X-Insurtrack-Digest"


def identity_headers(url: str, key: str) -> dict[str, str]:
    """The headers that carry a digest's identity: X-Insurtrack-Digest on every channel that
    takes headers (mail, json/xml/form webhooks); webhooks also get Idempotency-Key."""
    if url.lower().startswith(("mailto", "email")):
        return {DIGEST_HEADER: key}
    return {DIGEST_HEADER: key, "Idempotency-Key": key}
