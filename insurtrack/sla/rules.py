"""SLA rules declared as data: `[sla.<name>]` tables in the config, parsed into `Rule`s.

The model Jira Service Management, Zendesk and Znuny share: a clock that starts on some events,
stops on others (the obligation is met), pauses while the customer owes something, has a target
with a unit on a calendar, a warning window, and — for cadences such as the daily status check or
the quarterly revisit — repeats after each completion. No I/O and no heavy imports here: `config`
validates rules with this module on every run.

Units: minutes, hours (on the `24x7` clock or inside business hours), days, working days, weeks,
months (calendar dates; on the `business` calendar a date that falls on a day off rolls to the next
working day, PRC Civil Code art. 203). Day-granular deadlines fall at the end of the local day;
the start day is not counted (art. 201).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Every event type the services write: start_on / stop_on / … may name only these.
EVENT_TYPES: frozenset[str] = frozenset({
    "customer.added", "customer.edited", "customer.needs", "customer.rated",
    "application.created", "application.plan_delivered", "application.document_required",
    "application.document_received", "application.reviewed", "application.submitted",
    "application.withdrawn", "application.accepted", "application.declined",
    "application.info_requested", "application.info_received", "application.issued",
    "policy.issued", "policy.in_force", "policy.cancelled", "policy.suspended",
    "policy.reinstated", "policy.expired", "policy.renewed",
    "premium.paid", "premium.reminded", "renewal.reminded",
    "claim.reported", "claim.contacted", "claim.assessed", "claim.docs_requested",
    "claim.docs_received", "claim.investigation_assigned", "claim.investigation_recorded",
    "claim.approved", "claim.rejected", "claim.paid", "claim.closed", "claim.reopened",
    "revisit.first_contact", "revisit.quarterly", "revisit.post_claim", "revisit.ad_hoc",
    "feedback.opened", "feedback.transferred", "feedback.resolved", "feedback.informed",
    "feedback.reopened",
})

# Record dates a clock may run against instead of the event's time (see engine.ANCHORS).
ANCHORS: frozenset[str] = frozenset({"plan.promised_date", "installment.due_date",
                                     "policy.expiry_date"})

DEPARTMENTS = ("sales", "service", "underwriting", "claims", "manager")
CALENDARS = ("24x7", "business")
KINDS = ("sla", "task")
ASSIGN = ("owner", "queue")
PER = ("record", "customer")

UNITS = {
    "minute": "minutes", "minutes": "minutes", "min": "minutes", "mins": "minutes",
    "hour": "hours", "hours": "hours", "h": "hours",
    "day": "days", "days": "days", "d": "days",
    "working day": "working_days", "working days": "working_days", "working_days": "working_days",
    "workday": "working_days", "workdays": "working_days", "wd": "working_days",
    "week": "weeks", "weeks": "weeks", "w": "weeks",
    "month": "months", "months": "months",
}
TIME_UNITS = ("minutes", "hours")
_DURATION = re.compile(r"^\s*(-?\d+)\s*([a-z_ ]*?)\s*$")


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: str  # one of the canonical UNITS values

    @property
    def is_time(self) -> bool:
        return self.unit in TIME_UNITS

    @property
    def minutes(self) -> int:
        return self.amount * (60 if self.unit == "hours" else 1)

    def __str__(self) -> str:
        unit = self.unit.replace("_", " ")
        return f"{self.amount} {unit[:-1] if self.amount == 1 else unit}"


def parse_duration(text: Any) -> Duration:
    """'30 minutes', '3 working days', '1 week', '3 months' → Duration; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"must be a string such as \"3 working days\", not {text!r}")
    match = _DURATION.match(text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as \"30 minutes\" or \"3 working days\"")
    amount, unit = int(match.group(1)), " ".join(match.group(2).split())
    if amount < 0:
        raise ValueError(f"{text!r} is negative")
    if unit not in UNITS:
        raise ValueError(f"{text!r}: unknown unit {unit!r} (use minutes, hours, days, working days, "
                         "weeks or months)")
    return Duration(amount, UNITS[unit])


@dataclass(frozen=True)
class Rule:
    name: str
    source: str
    description: str
    department: str
    start_on: tuple[str, ...]
    target: Duration
    stop_on: tuple[str, ...] = ()
    cancel_on: tuple[str, ...] = ()
    pause_on: tuple[str, ...] = ()
    resume_on: tuple[str, ...] = ()
    only_if: tuple[tuple[str, Any], ...] = ()
    anchor: str = ""
    before: bool = False
    calendar: str = "24x7"
    warn_before: Duration | None = None
    repeat_every: Duration | None = None
    kind: str = "sla"
    assign_to: str = "queue"
    per: str = "record"
    enabled: bool = True
    calendar_fp: str = ""  # the working calendar's settings (holidays, hours, timezone)

    def fingerprint(self) -> str:
        """What decides a follow-up's clock: a change here (or in the working calendar) recomputes
        the open ones."""
        return "|".join(str(x) for x in (self.target, self.calendar, self.warn_before, self.anchor,
                                         self.before, self.repeat_every, self.department,
                                         self.assign_to, self.kind, self.calendar_fp))

    def matches(self, payload: dict[str, Any]) -> bool:
        return all(str(payload.get(k)) == str(v) for k, v in self.only_if)


@dataclass(frozen=True)
class RuleBook:
    rules: tuple[Rule, ...]
    by_event: dict[str, tuple[Rule, ...]] = field(default_factory=dict)
    by_name: dict[str, Rule] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: list[Rule]) -> RuleBook:
        live = tuple(r for r in rules if r.enabled)
        index: dict[str, list[Rule]] = {}
        for r in live:
            for ev in {*r.start_on, *r.stop_on, *r.cancel_on, *r.pause_on, *r.resume_on}:
                index.setdefault(ev, []).append(r)
        return cls(live, {k: tuple(v) for k, v in index.items()}, {r.name: r for r in live})

    def get(self, name: str) -> Rule | None:
        return self.by_name.get(name)


# Field: (type check, description for errors). Lists of events share one validator.
_FIELDS = {
    "source", "description", "department", "start_on", "stop_on", "cancel_on", "pause_on",
    "resume_on", "only_if", "anchor", "before", "target", "calendar", "warn_before",
    "repeat_every", "kind", "assign_to", "per", "enabled",
}
_EVENT_LISTS = ("start_on", "stop_on", "cancel_on", "pause_on", "resume_on")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")


def parse_rule(name: str, raw: dict[str, Any]) -> tuple[Rule | None, list[tuple[str, str]]]:
    """One `[sla.<name>]` table → a Rule, or the problems as (key, message) pairs."""
    problems: list[tuple[str, str]] = []

    def bad(key: str, message: str) -> None:
        problems.append((f"sla.{name}.{key}" if key else f"sla.{name}", message))

    if not _NAME.match(name):
        bad("", "a rule name is lower-case letters, digits, '-' or '_' (at most 48)")
    for key in raw:
        if key not in _FIELDS:
            bad(key, "unknown key")

    def events(key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            bad(key, f"must be a list of event names, not {value!r}")
            return ()
        unknown = [v for v in value if v not in EVENT_TYPES]
        if unknown:
            bad(key, f"unknown event {unknown[0]!r} (known: {', '.join(sorted(EVENT_TYPES))})")
        return tuple(value)

    def choice(key: str, options: tuple[str, ...], default: str) -> str:
        value = raw.get(key, default)
        if value not in options:
            bad(key, f"must be one of {', '.join(options)}, not {value!r}")
            return default
        return value

    def duration(key: str, required: bool = False) -> Duration | None:
        if key not in raw:
            if required:
                bad(key, "is required (e.g. \"3 working days\")")
            return None
        try:
            return parse_duration(raw[key])
        except ValueError as exc:
            bad(key, str(exc))
            return None

    def flag(key: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            bad(key, f"must be true or false, not {value!r}")
            return default
        return value

    def text(key: str) -> str:
        value = raw.get(key, "")
        if not isinstance(value, str):
            bad(key, f"must be a string, not {value!r}")
            return ""
        return value

    start_on = events("start_on")
    if "start_on" not in raw or not start_on:
        bad("start_on", "at least one event must start the clock")
    lists = {k: events(k) for k in _EVENT_LISTS[1:]}
    if bool(lists["pause_on"]) != bool(lists["resume_on"]):
        bad("resume_on" if lists["pause_on"] else "pause_on",
            "pause_on and resume_on go together")
    only_if = raw.get("only_if", {})
    if not isinstance(only_if, dict):
        bad("only_if", f"must be a table of payload values, not {only_if!r}")
        only_if = {}
    anchor = text("anchor")
    if anchor and anchor not in ANCHORS:
        bad("anchor", f"unknown anchor {anchor!r} (known: {', '.join(sorted(ANCHORS))})")
    target = duration("target", required=True)
    warn = duration("warn_before")
    repeat = duration("repeat_every")
    if repeat is not None and repeat.amount == 0:
        bad("repeat_every", "must be more than zero")
    before = flag("before", False)
    if before and not anchor:
        bad("before", "needs an anchor (a record date to count back from)")
    if "department" not in raw:
        bad("department", f"is required (one of {', '.join(DEPARTMENTS)})")
        department = ""
    else:
        department = choice("department", DEPARTMENTS, "")
    rule = Rule(
        name=name, source=text("source"), description=text("description"),
        department=department, start_on=start_on, target=target or Duration(0, "days"),
        only_if=tuple(sorted(only_if.items())), anchor=anchor, before=before,
        calendar=choice("calendar", CALENDARS, "24x7"), warn_before=warn, repeat_every=repeat,
        kind=choice("kind", KINDS, "sla"), assign_to=choice("assign_to", ASSIGN, "queue"),
        per=choice("per", PER, "record"), enabled=flag("enabled", True), **lists,
    )
    return (None if problems else rule), problems


def merge(defaults: dict[str, dict[str, Any]], given: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The rules in effect: shipped defaults, each overridden key by key by the file's table of
    the same name; new names add rules; `enabled = false` switches a shipped rule off."""
    out = {name: dict(table) for name, table in defaults.items()}
    for name, table in given.items():
        out[name] = {**out.get(name, {}), **table} if isinstance(table, dict) else table
    return out


def parse_all(tables: dict[str, Any]) -> tuple[RuleBook, list[tuple[str, str]]]:
    rules, problems = [], []
    for name, raw in tables.items():
        if not isinstance(raw, dict):
            problems.append((f"sla.{name}", f"must be a table of rule settings, not {raw!r}"))
            continue
        rule, found = parse_rule(name, raw)
        problems += found
        if rule:
            rules.append(rule)
    return RuleBook.of(rules), problems


# The rules shipped in config.example.toml: one for every [x] of the company's rules.
_CLAIM_OPEN_END = ["claim.closed"]
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "plan-delivery": {
        "source": "T2: the plan is delivered by the date promised to the customer",
        "description": "Deliver the plan by its promised date",
        "department": "sales", "assign_to": "owner", "kind": "task",
        "start_on": ["application.created"], "anchor": "plan.promised_date", "target": "0 days",
        "stop_on": ["application.plan_delivered", "application.reviewed", "application.submitted"],
        "cancel_on": ["application.withdrawn"], "warn_before": "1 day",
    },
    "application-status-check": {
        "source": "T3: sales checks a filed application's status every (working) day until decided",
        "description": "Check the application's status with underwriting (mark done: due done ID)",
        "department": "sales", "assign_to": "owner", "kind": "task",
        "start_on": ["application.submitted"], "target": "1 working day",
        "repeat_every": "1 working day",
        "cancel_on": ["application.accepted", "application.declined", "application.withdrawn"],
    },
    "underwriting-decision": {
        "source": "T4: underwriting decides within a set time; the clock waits while the customer "
                  "owes information",
        "description": "Decide on the application",
        "department": "underwriting", "assign_to": "queue",
        "start_on": ["application.submitted"], "target": "5 working days",
        "pause_on": ["application.info_requested"], "resume_on": ["application.info_received"],
        "stop_on": ["application.accepted", "application.declined"],
        "cancel_on": ["application.withdrawn"], "warn_before": "1 working day",
    },
    "first-contact": {
        "source": "T5: customer service contacts a new policyholder within N working days of the "
                  "policy taking effect",
        "description": "First contact with the new policyholder (revisit log --kind first_contact)",
        "department": "service", "assign_to": "queue",
        "start_on": ["policy.in_force"], "target": "3 working days",
        "stop_on": ["revisit.first_contact"], "cancel_on": ["policy.cancelled"],
        "warn_before": "1 working day",
    },
    "quarterly-revisit": {
        "source": "T6: a full revisit every quarter",
        "description": "Quarterly revisit of the customer (revisit log --kind quarterly)",
        "department": "service", "assign_to": "queue", "kind": "task", "per": "customer",
        "start_on": ["policy.in_force"], "target": "3 months", "repeat_every": "3 months",
        "stop_on": ["revisit.quarterly"],
        "cancel_on": ["policy.cancelled", "policy.expired", "policy.suspended"],
        "warn_before": "2 weeks",
    },
    "premium-reminder": {
        "source": "T7: remind the customer N days before each installment falls due",
        "description": "Remind the customer of the coming installment (renew remind)",
        "department": "service", "assign_to": "queue", "kind": "task",
        "start_on": ["policy.in_force", "premium.paid", "policy.reinstated"],
        "anchor": "installment.due_date", "before": True, "target": "7 days",
        "stop_on": ["premium.reminded"],
        "cancel_on": ["policy.cancelled", "policy.suspended", "policy.expired"],
        "warn_before": "2 days",
    },
    "premium-overdue": {
        "source": "T7: while an installment is overdue, remind at least weekly until paid or "
                  "lapsed (PRC Insurance Law art. 36: suspension after the grace period)",
        "description": "Remind the customer of the overdue installment (renew remind)",
        "department": "service", "assign_to": "queue", "kind": "task",
        "start_on": ["policy.in_force", "premium.paid", "policy.reinstated"],
        "anchor": "installment.due_date", "target": "7 days", "repeat_every": "1 week",
        "stop_on": ["premium.reminded"],
        "cancel_on": ["policy.cancelled", "policy.suspended", "policy.expired"],
    },
    "renewal-reminder": {
        "source": "T7: remind the customer N days before the policy expires",
        "description": "Remind the customer of the renewal (renew remind --renewal)",
        "department": "service", "assign_to": "queue", "kind": "task",
        "start_on": ["policy.in_force", "policy.reinstated"], "anchor": "policy.expiry_date",
        "before": True,
        "target": "30 days", "stop_on": ["renewal.reminded", "policy.renewed"],
        "cancel_on": ["policy.cancelled", "policy.suspended", "policy.expired"],
        "warn_before": "1 week",
    },
    "feedback-response": {
        "source": "T8, Q1: feedback is answered on the spot or handed to the right department",
        "description": "Answer the feedback or transfer it (revisit feedback transfer/resolve)",
        "department": "service", "assign_to": "owner",
        "start_on": ["feedback.opened"], "target": "4 hours", "calendar": "business",
        "stop_on": ["feedback.transferred", "feedback.resolved"], "warn_before": "1 hour",
    },
    "feedback-resolution": {
        "source": "T8, Q1: feedback is tracked until solved",
        "description": "Solve the feedback",
        "department": "service", "assign_to": "owner",
        "start_on": ["feedback.opened", "feedback.reopened"], "target": "5 working days",
        "stop_on": ["feedback.resolved"], "warn_before": "1 working day",
    },
    "feedback-inform": {
        "source": "T8: the customer is told the outcome",
        "description": "Tell the customer the outcome (revisit feedback inform)",
        "department": "service", "assign_to": "owner",
        "start_on": ["feedback.resolved"], "target": "1 working day",
        "stop_on": ["feedback.informed"], "cancel_on": ["feedback.reopened"],
    },
    "claim-first-contact": {
        "source": "T9: the claimant is contacted within N minutes of the report "
                  "(10 CCR 2695.5(e): acknowledge within 15 calendar days at the latest)",
        "description": "Call the claimant back (claim contact)",
        "department": "claims", "assign_to": "owner",
        "start_on": ["claim.reported"], "target": "30 minutes",
        "stop_on": ["claim.contacted"], "cancel_on": _CLAIM_OPEN_END, "warn_before": "10 minutes",
    },
    "simple-investigation": {
        "source": "T10, T11: a simple case is investigated within N working days; the clock "
                  "waits while the customer owes documents",
        "description": "Finish the investigation of the simple claim",
        "department": "claims", "assign_to": "owner",
        "start_on": ["claim.assessed"], "only_if": {"complexity": "simple"},
        "target": "5 working days",
        "pause_on": ["claim.docs_requested"], "resume_on": ["claim.docs_received"],
        "stop_on": ["claim.approved", "claim.rejected"],
        "cancel_on": ["claim.closed", "claim.reopened"], "warn_before": "1 working day",
    },
    "complex-claim-review": {
        "source": "T10: a complex case is followed up periodically",
        "description": "Review the complex claim's progress (mark done: due done ID)",
        "department": "claims", "assign_to": "owner", "kind": "task",
        "start_on": ["claim.assessed"], "only_if": {"complexity": "complex"},
        "target": "1 week", "repeat_every": "1 week",
        "stop_on": ["claim.investigation_recorded"],
        "cancel_on": ["claim.approved", "claim.rejected", "claim.closed"],
    },
    "claim-decision": {
        "source": "T12: decide within 30 days once documents are complete (PRC Insurance Law "
                  "art. 23; 10 CCR 2695.7(b): 40 days)",
        "description": "Approve or reject the claim",
        "department": "claims", "assign_to": "owner",
        "start_on": ["claim.assessed"], "target": "30 days",
        "pause_on": ["claim.docs_requested"], "resume_on": ["claim.docs_received"],
        "stop_on": ["claim.approved", "claim.rejected"],
        "cancel_on": ["claim.closed"], "warn_before": "5 days",
    },
    "claim-payment": {
        "source": "T12: pay within 10 days of agreeing the amount (PRC Insurance Law art. 23; "
                  "10 CCR 2695.7(h): 30 days)",
        "description": "Pay the approved claim (claim pay)",
        "department": "claims", "assign_to": "owner",
        "start_on": ["claim.approved"], "target": "10 days",
        "stop_on": ["claim.paid"], "cancel_on": ["claim.closed", "claim.reopened"],
        "warn_before": "3 days",
    },
    "rejection-notice": {
        "source": "T12: a rejection is explained to the customer within 3 days "
                  "(PRC Insurance Law art. 24)",
        "description": "Explain the rejection to the customer, then close the claim",
        "department": "claims", "assign_to": "owner",
        "start_on": ["claim.rejected"], "target": "3 days",
        "stop_on": ["claim.closed"], "cancel_on": ["claim.reopened"], "warn_before": "1 day",
    },
    "post-claim-revisit": {
        "source": "T13: after a claim is settled, a revisit asks for satisfaction and suggestions",
        "description": "Post-claim revisit (revisit log --kind post_claim --claim CODE)",
        "department": "service", "assign_to": "queue", "kind": "task",
        "start_on": ["claim.paid"], "target": "7 days",
        "stop_on": ["revisit.post_claim"], "cancel_on": ["claim.reopened"],
        "warn_before": "2 days",
    },
}
