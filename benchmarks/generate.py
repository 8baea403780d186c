"""A deterministic synthetic book for the benchmarks, written fast through a bulk path.

    python benchmarks/generate.py --policies 1000000 --out /tmp/bench/book-1m.db

Defaults scale with --policies: 0.3 customers, 0.15 claims per policy, a realistic mix of states
(most policies in force, some expired, cancelled, suspended or unpaid), premium schedules and
payments, an event log, about 0.1 open follow-ups per policy (a day's work — about 1–2% of
them — due or at risk on the benchmark day, as in an office that keeps up) and closed ones for the service report. The same arguments always give the same
book (random.Random(seed)); "now" is --today at 09:00 in Asia/Shanghai, and run.py pins the
clock there with INSURTRACK_NOW.

The schema comes from the project's own Alembic revisions; rows are written with the stdlib
sqlite3 driver in the storage formats the column types use (money in cents, UTC instants as
text), with executemany in large batches — the only way to write millions of rows in a minute.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from insurtrack.domain import schedule  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc
PRODUCTS = ["term-life", "whole-life", "critical-illness", "medical", "accident", "auto",
            "property", "liability"]
REGIONS = ["Shanghai", "Beijing", "Guangdong", "Zhejiang", "Jiangsu", "Sichuan", "Hubei",
           "Shandong", "Fujian", "Henan", "Hunan", "Anhui"]
SOURCES = ["referral", "walk-in", "online", "telesales", "partner", "event"]
CAUSES = ["illness", "accident", "traffic", "fire", "theft", "water", "other"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
FREQ = [("annual", 12, 0.40), ("monthly", 12, 0.25), ("quarterly", 12, 0.15),
        ("semi-annual", 12, 0.10), ("single", 12, 0.10)]
BATCH = 50_000


def ts(dt: datetime) -> str:
    """An instant as UTCDateTime stores it on SQLite."""
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def cents(yuan: float) -> int:
    return int(round(yuan * 100))


def fingerprints() -> dict[str, str]:
    """The shipped rules' fingerprints under the default config, so that `due` finds the
    generated follow-ups current (no recomputation on its first run)."""
    from insurtrack import config
    from insurtrack.sla.engine import fingerprint

    settings = config.Settings(values={s.key: s.default for s in config.SPEC})
    return {r.name: fingerprint(r) for r in settings.rulebook.rules}


class Book:
    def __init__(self, path: Path, policies: int, seed: int, today: date) -> None:
        self.path, self.n_pol, self.today = path, policies, today
        self.rnd = random.Random(seed)
        self.now = datetime.combine(today, datetime.min.time().replace(hour=9), tzinfo=TZ)
        self.n_cust = max(1, int(policies * 0.3))
        self.n_claim = int(policies * 0.15)

    # ---------------------------------------------------------------------------- plumbing
    def create(self) -> sqlite3.Connection:
        from insurtrack import db

        if self.path.exists():
            self.path.unlink()
        engine = db.make_engine(f"sqlite:///{self.path}")
        db.ensure_schema(engine)
        engine.dispose()
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("PRAGMA cache_size = -200000")
        conn.execute("BEGIN")
        return conn

    def put(self, conn: sqlite3.Connection, table: str, cols: list[str], rows) -> int:
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        batch, n = [], 0
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                conn.executemany(sql, batch)
                n += len(batch)
                batch = []
        if batch:
            conn.executemany(sql, batch)
            n += len(batch)
        return n

    def when(self, days_back: float) -> datetime:
        """A business-hours instant `days_back` days before now."""
        base = self.now - timedelta(days=days_back)
        return base.replace(hour=9 + self.rnd.randrange(9), minute=self.rnd.randrange(60))

    # ---------------------------------------------------------------------------- the book
    def build(self) -> dict[str, int]:
        t0 = time.perf_counter()
        conn = self.create()
        rnd, counts = self.rnd, {}
        created = ts(self.now - timedelta(days=2000))

        depts = ([("sales", 40), ("service", 15), ("underwriting", 8), ("claims", 12),
                  ("manager", 3)])
        staff, sid = [], 0
        by_dept: dict[str, list[int]] = {}
        for dept, k in depts:
            for i in range(k):
                sid += 1
                code = f"{dept[:3]}{i + 1:02d}"
                staff.append((sid, code, f"{dept.title()} {i + 1}", dept, None,
                              f"{code}@example.com", 1, created))
                by_dept.setdefault(dept, []).append(sid)
        sid += 1
        staff.append((sid, "bench", "Benchmark", "manager", None, None, 1, created))
        counts["staff"] = self.put(conn, "staff", ["id", "code", "name", "department", "phone",
                                                  "email", "active", "created_at"], staff)
        sales, service, uw, claims_staff = (by_dept["sales"], by_dept["service"],
                                            by_dept["underwriting"], by_dept["claims"])

        # customers ------------------------------------------------------------------------
        cust_owner = [0] * (self.n_cust + 1)
        cust_rows = []
        ratings = ["A"] * 50 + ["B"] * 35 + ["C"] * 10 + ["D"] * 5
        levels = ["low"] * 70 + ["medium"] * 22 + ["high"] * 8
        events = []
        for cid in range(1, self.n_cust + 1):
            person = rnd.random() < 0.9
            owner = rnd.choice(sales)
            cust_owner[cid] = owner
            made = self.when(rnd.uniform(30, 1800))
            birth = date(1950 + rnd.randrange(55), 1 + rnd.randrange(12), 1 + rnd.randrange(28))
            name = (rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN)) if person \
                else f"{rnd.choice(REGIONS)} Trading Co. {cid}"
            rated = rnd.random() < 0.6
            cust_rows.append((cid, f"C-{cid:06d}", "person" if person else "company", name,
                              f"3101{cid:014d}", f"138{cid:08d}", None, None, birth.isoformat(),
                              rnd.choice(REGIONS), rnd.choice(SOURCES), owner,
                              rnd.choice(ratings) if rated else None,
                              rnd.choice(levels) if rated else None, None,
                              ts(made) if rated else None, None, ts(made), ts(made)))
            events.append(("customer.added", f"C-{cid:06d}", cid, ts(made), ts(made), owner,
                           json.dumps({"name": name})))
        counts["customer"] = self.put(conn, "customer", [
            "id", "code", "kind", "name", "id_number", "phone", "email", "address", "birth_date",
            "region", "source", "owner_id", "credit_rating", "risk_level", "rating_reason",
            "rated_at", "notes", "created_at", "updated_at"], cust_rows)
        del cust_rows

        # applications, policies, lines, installments, payments ----------------------------
        apps, app_lines, pols, pol_lines, insts, pays = [], [], [], [], [], []
        fu = []  # open follow-ups
        inst_id = pay_id = 0
        weights = [f[2] for f in FREQ]
        policy_info = []  # (policy id, customer id, product, sum insured cents, status)
        for pid in range(1, self.n_pol + 1):
            cid = 1 + (pid * 7919) % self.n_cust if pid > self.n_cust else pid
            owner = cust_owner[cid]
            freq, term, _ = rnd.choices(FREQ, weights)[0]
            if rnd.random() < 0.1 and freq in ("annual", "single"):
                term = 12 * rnd.choice([10, 15, 20])
                freq = "annual"
            effective = self.today - timedelta(days=rnd.randrange(-20, 3 * 365))
            expiry = schedule.expiry_date(effective, term)
            product = rnd.choice(PRODUCTS)
            yearly = rnd.choice([600, 900, 1200, 1800, 2400, 3600, 6000]) + rnd.randrange(100)
            sum_insured = yearly * rnd.choice([50, 100, 200])
            issued = datetime.combine(effective, datetime.min.time().replace(hour=10), tzinfo=TZ) \
                - timedelta(days=rnd.randrange(1, 10))
            issued = min(issued, self.now - timedelta(hours=3))  # nothing happens after "now"
            submitted = issued - timedelta(days=rnd.randrange(3, 20))
            created_app = submitted - timedelta(days=rnd.randrange(1, 15))
            apps.append((pid, f"A-{pid:06d}", cid, owner, "issued", freq, term,
                         (created_app + timedelta(days=5)).date().isoformat(), ts(created_app),
                         None, ts(submitted), ts(submitted), None, "accept", None, None, None,
                         None, ts(issued - timedelta(hours=20)), rnd.choice(uw), None,
                         ts(created_app)))
            app_lines.append((pid, pid, product, cents(sum_insured), cents(yearly)))
            r = rnd.random()
            if expiry < self.today:
                status = "expired" if r < 0.9 else "cancelled"
            elif effective > self.today or r < 0.01:
                status = "issued"
            elif r < 0.04:
                status = "cancelled"
            elif r < 0.06:
                status = "suspended"
            else:
                status = "in_force"
            dues = schedule.installment_dates(effective, freq, term)
            if len(dues) > 24:  # long annual terms: the schedule's first 24 years are enough
                dues = dues[:24]
            lapsed = None  # suspended: the first unpaid installment, past its 60-day grace
            if status == "suspended":
                lapsed = next((seq for seq, due in enumerate(dues, 1) if seq > 1 and
                               self.today - timedelta(days=180) <= due
                               <= self.today - timedelta(days=62)), None)
                if lapsed is None:
                    status = "in_force"
            in_force_at = ts(issued + timedelta(hours=2)) if status != "issued" else None
            pols.append((pid, f"P-{pid:06d}", pid, cid, owner, status, freq, term,
                         effective.isoformat(), expiry.isoformat(), cents(sum_insured),
                         cents(yearly), None, None, ts(issued), in_force_at,
                         ts(self.now - timedelta(days=1)) if status == "suspended" else None,
                         ts(datetime.combine(expiry + timedelta(days=1), datetime.min.time(),
                                             tzinfo=TZ)) if status == "expired" else None,
                         ts(min(issued + timedelta(days=rnd.randrange(30, 200)),
                                self.now - timedelta(hours=1)))
                         if status == "cancelled" else None,
                         "customer asked" if status == "cancelled" else None, None, product))
            pol_lines.append((pid, pid, product, cents(sum_insured), cents(yearly)))
            policy_info.append((pid, cid, product, cents(sum_insured), status, in_force_at))
            events.append(("policy.issued", f"P-{pid:06d}", cid, ts(issued), ts(issued), owner,
                           json.dumps({"effective": effective.isoformat()})))
            each = cents(yearly if freq in ("annual", "single") else
                         yearly / {"monthly": 12, "quarterly": 4, "semi-annual": 2}[freq])
            next_open = None
            for seq, due in enumerate(dues, 1):
                inst_id += 1
                paid = status != "issued" and (due <= self.today - timedelta(days=3) or seq == 1) \
                    and not (status == "suspended" and seq >= lapsed)
                if status in ("cancelled",) and due > self.today:
                    st = "cancelled"
                elif paid:
                    st = "paid"
                else:
                    st = "due"
                paid_at = ts(datetime.combine(due, datetime.min.time().replace(hour=11),
                                              tzinfo=TZ)) if st == "paid" else None
                insts.append((inst_id, pid, seq, due.isoformat(), each,
                              each if st == "paid" else 0, st, paid_at))
                if st == "paid":
                    pay_id += 1
                    pays.append((pay_id, pid, inst_id, each, "bank_transfer", None, paid_at,
                                 rnd.choice(service)))
                elif st == "due" and next_open is None:
                    next_open = (seq, due)
            if status == "in_force" and next_open is not None \
                    and next_open[1] - timedelta(days=6) >= self.today:
                seq, due = next_open
                remind = datetime.combine(due - timedelta(days=6), datetime.min.time(), tzinfo=TZ)
                fu.append(("premium-reminder", "task", f"P-{pid:06d}", str(seq), due.isoformat(),
                           cid, "service", None, "Remind the customer of the coming installment",
                           ts(issued), ts(issued), ts(remind), ts(remind - timedelta(days=2))))
            if len(insts) >= BATCH * 4:
                self.flush(conn, apps, app_lines, pols, pol_lines, insts, pays)
        self.flush(conn, apps, app_lines, pols, pol_lines, insts, pays)
        counts.update(policy=self.n_pol, installment=inst_id, payment=pay_id)

        # claims ---------------------------------------------------------------------------
        claim_rows = []
        in_force = [p for p in policy_info if p[4] in ("in_force", "expired", "suspended")]
        mix = ["closed"] * 55 + ["paid"] * 10 + ["rejected"] * 8 + ["approved"] * 4 + \
              ["investigating"] * 12 + ["awaiting_documents"] * 4 + ["contacted"] * 7
        for k in range(1, self.n_claim + 1):
            pid, cid, product, si, _, _ = in_force[rnd.randrange(len(in_force))]
            st = "reported" if k % 2000 == 0 else rnd.choice(mix)  # a few callbacks pending
            fresh = st in ("reported", "contacted")
            reported = (self.now - timedelta(minutes=rnd.randrange(1, 40)) if st == "reported"
                        else self.when(rnd.uniform(0, 3) if fresh else rnd.uniform(3, 900)))
            if st in ("investigating", "awaiting_documents"):
                reported = self.when(rnd.uniform(0, 30))  # decisions mostly still ahead
            incident = reported - timedelta(hours=rnd.randrange(1, 72))
            claimed = min(si, cents(rnd.choice([500, 2000, 8000, 20000, 60000, 150000])))
            contacted = None if st == "reported" else ts(reported + timedelta(minutes=rnd.randrange(5, 90)))
            decided = reported + timedelta(days=rnd.randrange(2, 40))
            approved = int(claimed * 0.9) if st in ("approved", "paid", "closed") else None
            paid_at = ts(decided + timedelta(days=rnd.randrange(1, 12))) if st in ("paid", "closed") else None
            claim_rows.append((k, f"CL-{k:06d}", pid, cid, rnd.choice(claims_staff), st, product,
                               rnd.choice(CAUSES), ts(incident), "Shanghai", "synthetic claim",
                               None, None, claimed, ts(reported), contacted,
                               None if fresh else rnd.choice(["simple", "simple", "complex"]),
                               None, None, approved,
                               ts(decided) if approved is not None else None, None,
                               "not covered" if st == "rejected" else None,
                               ts(decided) if st == "rejected" else None,
                               approved if paid_at else None, paid_at,
                               "bank_transfer" if paid_at else None, None,
                               ts(decided + timedelta(days=20)) if st == "closed" else None, None))
            events.append(("claim.reported", f"CL-{k:06d}", cid, ts(reported), ts(reported),
                           claims_staff[0], "{}"))
            if st == "reported":
                due = reported + timedelta(minutes=30)
                fu.append(("claim-first-contact", "sla", f"CL-{k:06d}", None, None, cid, "claims",
                           claims_staff[k % len(claims_staff)], "Call the claimant back",
                           ts(reported), ts(reported), ts(due), ts(due - timedelta(minutes=10))))
            elif st in ("investigating", "awaiting_documents"):
                due = datetime.combine((reported + timedelta(days=31)).date(),
                                       datetime.min.time(), tzinfo=TZ)
                fu.append(("claim-decision", "sla", f"CL-{k:06d}", None, None, cid, "claims",
                           claims_staff[k % len(claims_staff)], "Approve or reject the claim",
                           ts(reported), ts(reported), ts(due), ts(due - timedelta(days=5))))
        counts["claim"] = self.put(conn, "claim", [
            "id", "code", "policy_id", "customer_id", "handler_id", "status", "product", "cause",
            "incident_at", "place", "circumstances", "reporter_name", "reporter_phone",
            "amount_claimed", "reported_at", "contacted_at", "complexity", "investigation_plan",
            "assessed_by_id", "approved_amount", "approved_at", "approved_by_id",
            "rejection_reason", "rejected_at", "paid_amount", "paid_at", "payment_method",
            "payment_reference", "closed_at", "close_reason"], claim_rows)
        del claim_rows

        # quarterly revisits: one clock per customer with a policy in force ----------------
        seen = set()
        for pid, cid, _, _, st, in_force_at in policy_info:
            if st == "in_force" and cid not in seen and cid % 4 == 0:  # those not yet revisited
                seen.add(cid)
                due = datetime.combine(self.today + timedelta(days=rnd.randrange(1, 92)),
                                       datetime.min.time(), tzinfo=TZ)
                fu.append(("quarterly-revisit", "task", f"C-{cid:06d}", None, None, cid,
                           "service", None, "Quarterly revisit of the customer", in_force_at,
                           in_force_at, ts(due), ts(due - timedelta(days=14))))
        # Keep ~0.1 open follow-ups per policy, spread so about 1% fall due on the day.
        rnd.shuffle(fu)
        fu = fu[: max(1, self.n_pol // 10)]
        # The day's load: an office that keeps up has about 1% of its open clocks due, late or
        # at risk on any day; the rest fall due beyond their warning windows. So the board's
        # size is the same share at every scale and `due` shows what its cost follows.
        warn_days = {"claim-decision": 5, "premium-reminder": 2, "quarterly-revisit": 14,
                     "claim-first-contact": 0}
        end_today = datetime.combine(self.today + timedelta(days=1), datetime.min.time(), tzinfo=TZ)
        fu_rows = []
        for i, (rule, kind, subj, aref, adate, cid, dept, who, title, opened, started, due,
                warn) in enumerate(fu, 1):
            if rule != "claim-first-contact":
                w = warn_days[rule]
                if rnd.random() < 0.01:  # today's work: late, due today or at risk
                    day = end_today + timedelta(days=rnd.randrange(-2, w + 1))
                else:
                    day = end_today + timedelta(days=w + rnd.randrange(1, 90))
                due, warn = ts(day), ts(day - timedelta(days=w))
            hist = json.dumps([[opened.replace(" ", "T") + "+00:00", due.replace(" ", "T") + "+00:00",
                                warn.replace(" ", "T") + "+00:00"]])
            fu_rows.append((i, rule, "", kind, subj, aref, adate, 1, cid, dept, who, title, None,
                            "open", opened, started, due, warn, None, "[]", hist, None, None,
                            None, None, None, None))
        n_open = len(fu_rows)
        fps = fingerprints()
        fu_rows = [row[:2] + (fps[row[1]],) + row[3:] for row in fu_rows]
        # closed follow-ups for the service report: 3 per open one, 85% on time
        for j in range(1, 3 * n_open + 1):
            opened = self.when(rnd.uniform(5, 700))
            due = opened + timedelta(days=rnd.randrange(1, 10))
            closed = due - timedelta(hours=rnd.randrange(1, 48)) if rnd.random() < 0.85 \
                else due + timedelta(hours=rnd.randrange(1, 96))
            rule = rnd.choice(["first-contact", "claim-first-contact", "feedback-resolution",
                               "quarterly-revisit", "premium-reminder", "claim-decision"])
            fu_rows.append((n_open + j, rule, fps[rule], "sla", f"C-{1 + j % self.n_cust:06d}", None,
                            None, 1, 1 + j % self.n_cust, "service", None, rule, None, "done",
                            ts(opened), ts(opened), ts(due), None, None, "[]", "[]", ts(closed),
                            staff[0][0], None, 1 if closed >= due else 0, None, None))
        counts["followup"] = self.put(conn, "followup", [
            "id", "rule", "rule_fp", "kind", "subject", "anchor_ref", "anchor_date", "occurrence",
            "customer_id", "department", "assignee_id", "title", "note", "status", "opened_at",
            "started_at", "due_at", "warn_at", "paused_at", "pauses", "history", "closed_at",
            "closed_by_id", "close_note", "breached", "opened_by_event_id",
            "closed_by_event_id"], fu_rows)
        counts["followup_open"] = n_open
        del fu_rows

        # revisits and feedback -----------------------------------------------------------
        revisits = []
        for k in range(1, self.n_cust // 2 + 1):
            cid = 1 + rnd.randrange(self.n_cust)
            revisits.append((k, f"R-{k:06d}", cid, None, None, rnd.choice(
                ["quarterly", "quarterly", "first_contact", "post_claim", "ad_hoc"]),
                rnd.choice(["phone", "wechat", "visit"]), rnd.choice([3, 4, 4, 5, 5, 5, 2]),
                None, None, ts(self.when(rnd.uniform(1, 700))), rnd.choice(service)))
        counts["revisit"] = self.put(conn, "revisit", [
            "id", "code", "customer_id", "policy_id", "claim_id", "kind", "channel",
            "satisfaction", "changed_needs", "notes", "occurred_at", "actor_id"], revisits)
        feedback = []
        for k in range(1, self.n_cust // 15 + 1):
            cid = 1 + rnd.randrange(self.n_cust)
            opened = self.when(rnd.uniform(1, 700))
            done = rnd.random() < 0.9
            feedback.append((k, f"F-{k:06d}", cid, None, None, rnd.choice(
                ["complaint", "question", "request"]), "phone", "synthetic feedback",
                "closed" if done else "open", "service", None, "answered" if done else None,
                ts(opened), rnd.choice(service),
                ts(opened + timedelta(hours=rnd.randrange(1, 120))) if done else None,
                rnd.choice(service) if done else None, None, None))
        counts["feedback"] = self.put(conn, "feedback", [
            "id", "code", "customer_id", "policy_id", "claim_id", "kind", "channel", "summary",
            "status", "department", "assignee_id", "resolution", "opened_at", "opened_by_id",
            "resolved_at", "resolved_by_id", "informed_at", "informed_by_id"], feedback)

        counts["event"] = self.put(conn, "event", ["type", "subject", "customer_id",
                                                   "occurred_at", "recorded_at", "actor_id",
                                                   "payload"], events)
        del events
        seqs = [("customer", self.n_cust), ("application", self.n_pol), ("policy", self.n_pol),
                ("claim", self.n_claim), ("revisit", len(revisits)), ("feedback", len(feedback))]
        conn.executemany("INSERT INTO sequence (name, value) VALUES (?, ?)", seqs)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("ANALYZE")
        conn.close()
        counts["seconds"] = round(time.perf_counter() - t0, 1)
        return counts

    def flush(self, conn, apps, app_lines, pols, pol_lines, insts, pays) -> None:
        self.put(conn, "application", [
            "id", "code", "customer_id", "owner_id", "status", "frequency", "term_months",
            "promised_date", "delivered_at", "review_note", "reviewed_at", "submitted_at",
            "info_requested", "decision", "conditions", "rate_loading", "decline_reason",
            "decline_advice", "decided_at", "decided_by_id", "withdraw_reason", "created_at"], apps)
        self.put(conn, "application_line", ["id", "application_id", "product", "sum_insured",
                                            "premium"], app_lines)
        self.put(conn, "policy", [
            "id", "code", "application_id", "customer_id", "owner_id", "status", "frequency",
            "term_months", "effective_date", "expiry_date", "sum_insured", "premium",
            "rate_loading", "conditions", "issued_at", "in_force_at", "suspended_at",
            "expired_at", "cancelled_at", "cancel_reason", "renewed_from_id", "product"], pols)
        self.put(conn, "policy_line", ["id", "policy_id", "product", "sum_insured", "premium"],
                 pol_lines)
        self.put(conn, "installment", ["id", "policy_id", "seq", "due_date", "amount",
                                       "paid_amount", "status", "paid_at"], insts)
        self.put(conn, "payment", ["id", "policy_id", "installment_id", "amount", "method",
                                   "reference", "paid_at", "recorded_by_id"], pays)
        for rows in (apps, app_lines, pols, pol_lines, insts, pays):
            rows.clear()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policies", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, required=True, help="the SQLite file to (re)create")
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 25),
                    help="the benchmark's 'today' (run.py pins the clock at 09:00 that day)")
    args = ap.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    counts = Book(args.out, args.policies, args.seed, args.today).build()
    print(json.dumps({"database": str(args.out), **counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
