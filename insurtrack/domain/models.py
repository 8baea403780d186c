"""SQLModel tables of the book. Schema changes go through Alembic revisions (migrations/).

People type codes (C-000123, A-…, P-…, CL-…, F-…, R-…), never database ids. Money is Decimal,
stored exactly in cents; instants are UTC; policy and due dates are plain dates.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from insurtrack.domain.types import Fixed, Money, UTCDateTime


def _code(**kw: Any) -> Any:
    return Field(sa_type=String(20), unique=True, nullable=False, **kw)


def _enum(**kw: Any) -> Any:
    return Field(sa_type=String(24), **kw)


def _text(**kw: Any) -> Any:
    return Field(default=None, sa_type=Text, **kw)


def _when(**kw: Any) -> Any:
    kw.setdefault("default", None)
    return Field(sa_type=UTCDateTime, **kw)


def _money(**kw: Any) -> Any:
    return Field(sa_type=Money, **kw)


def _staff_fk(**kw: Any) -> Any:
    kw.setdefault("default", None)
    return Field(foreign_key="staff.id", **kw)


class Sequence(SQLModel, table=True):
    """Counters behind the human codes (C-000001…), bumped inside the writing transaction."""

    __tablename__ = "sequence"
    name: str = Field(sa_type=String(20), primary_key=True)
    value: int = 0


class Staff(SQLModel, table=True):
    __tablename__ = "staff"
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(64), unique=True, nullable=False)  # login name
    name: str = Field(sa_type=String(200))
    department: str = _enum(index=True)
    phone: Optional[str] = Field(default=None, sa_type=String(40))
    email: Optional[str] = Field(default=None, sa_type=String(200))
    active: bool = True
    created_at: datetime = _when(nullable=False)


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    __table_args__ = (
        # report risk (ratings): counted in the index alone
        Index("ix_customer_rating_report", "credit_rating", "risk_level", "created_at"),
        # reports sales and tendency (age band): the customers turning 25, 35… in the period
        Index("ix_customer_birth_report", "birth_date", "kind"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = _code()
    kind: str = _enum()
    name: str = Field(sa_type=String(200), index=True)
    id_number: Optional[str] = Field(default=None, sa_type=String(64), index=True)
    phone: Optional[str] = Field(default=None, sa_type=String(40), index=True)
    email: Optional[str] = Field(default=None, sa_type=String(200))
    address: Optional[str] = _text()
    birth_date: Optional[date] = None  # birth date of a person, founding date of a company
    region: Optional[str] = Field(default=None, sa_type=String(100), index=True)
    source: Optional[str] = Field(default=None, sa_type=String(100))
    owner_id: int = Field(foreign_key="staff.id", index=True)
    credit_rating: Optional[str] = _enum(default=None)
    risk_level: Optional[str] = _enum(default=None, index=True)
    rating_reason: Optional[str] = _text()
    rated_at: Optional[datetime] = _when()
    notes: Optional[str] = _text()
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class NeedsRecord(SQLModel, table=True):
    """L1: a needs conversation: needs, risk situation, products recommended."""

    __tablename__ = "needs_record"
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    occurred_at: datetime = _when(nullable=False)
    actor_id: int = Field(foreign_key="staff.id")
    needs: str = Field(sa_type=Text)
    risk_situation: Optional[str] = _text()
    recommended: Optional[str] = _text()
    notes: Optional[str] = _text()


class Application(SQLModel, table=True):
    """L2–L4: a plan, the application filed on it, and underwriting's decision."""

    __tablename__ = "application"
    __table_args__ = (
        # report pipeline: each flow is a range over its own date, read from the index alone
        Index("ix_application_created_report", "created_at", "status", "owner_id"),
        Index("ix_application_submitted_report", "submitted_at", "decision", "owner_id"),
        Index("ix_application_decided_report", "decided_at", "decision", "status", "owner_id",
              "submitted_at", "decline_reason"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = _code()
    customer_id: int = Field(foreign_key="customer.id", index=True)
    owner_id: int = Field(foreign_key="staff.id", index=True)
    status: str = _enum(index=True)
    frequency: str = _enum()
    term_months: int
    promised_date: Optional[date] = None          # T2: the date the plan is promised
    delivered_at: Optional[datetime] = _when()    # T2: plan presented to the customer
    review_note: Optional[str] = _text()          # L3: missing or wrong items found
    reviewed_at: Optional[datetime] = _when()
    submitted_at: Optional[datetime] = _when()
    info_requested: Optional[str] = _text()       # T4: what the customer owes
    decision: Optional[str] = _enum(default=None)  # accept / decline
    conditions: Optional[str] = _text()
    rate_loading: Optional[Decimal] = Field(default=None, sa_type=Fixed(2))  # percent
    decline_reason: Optional[str] = _text()
    decline_advice: Optional[str] = _text()
    decided_at: Optional[datetime] = _when()
    decided_by_id: Optional[int] = _staff_fk()
    withdraw_reason: Optional[str] = _text()
    created_at: datetime = _when(nullable=False)


class ApplicationLine(SQLModel, table=True):
    """One product of a plan: sum insured and yearly premium (the whole premium if single)."""

    __tablename__ = "application_line"
    __table_args__ = (Index("ix_application_line_product", "application_id", "product"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    product: str = Field(sa_type=String(64))
    sum_insured: Decimal = _money()
    premium: Decimal = _money()


class ApplicationDocument(SQLModel, table=True):
    __tablename__ = "application_document"
    __table_args__ = (UniqueConstraint("application_id", "name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    name: str = Field(sa_type=String(200))
    required: bool = True
    received_at: Optional[datetime] = _when()
    received_by_id: Optional[int] = _staff_fk()
    note: Optional[str] = _text()


class Policy(SQLModel, table=True):
    """L5–L6: an issued contract. `premium` is the yearly premium after any rate loading."""

    __tablename__ = "policy"
    __table_args__ = (
        # reports sales and tendency (and pipeline's issued): a range over the issue time
        Index("ix_policy_issued_report", "issued_at", "customer_id", "owner_id", "premium",
              "renewed_from_id", "application_id"),
        # tendency: "had a policy issued before this one"
        Index("ix_policy_customer_issued", "customer_id", "issued_at"),
        # portfolio: terms summed in index order (earned premium, retention, persistency), by
        # product too (migration 0005)
        Index("ix_policy_cover", "expiry_date", "effective_date", "product", "frequency",
              "term_months", "status", "premium", "in_force_at", "renewed_from_id"),
        # portfolio: "is this policy renewed": only renewals are indexed, so that a book with few
        # renewals (statistics showing one NULL value) still looks them up, never scans
        Index("ix_policy_renewal", "renewed_from_id", "status",
              sqlite_where=text("renewed_from_id IS NOT NULL"),
              postgresql_where=text("renewed_from_id IS NOT NULL")),
        # portfolio: the policies whose cover ended early (cancelled or suspended), with the
        # instant it ended: a few of the book, read without a lookup of each
        Index("ix_policy_ended", "status", "effective_date", "expiry_date", "product",
              "frequency", "term_months", "premium", "in_force_at", "renewed_from_id",
              "cancelled_at", "suspended_at",
              sqlite_where=text("status IN ('cancelled', 'suspended')"),
              postgresql_where=text("status IN ('cancelled', 'suspended')")),
        # portfolio by product: the policies of several lines (no product on the row), few
        Index("ix_policy_several", "effective_date", "expiry_date",
              sqlite_where=text("product IS NULL"), postgresql_where=text("product IS NULL")),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = _code()
    application_id: Optional[int] = Field(default=None, foreign_key="application.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    owner_id: int = Field(foreign_key="staff.id", index=True)
    status: str = _enum(index=True)
    frequency: str = _enum()
    term_months: int
    effective_date: date
    expiry_date: date = Field(index=True)  # last day of cover
    sum_insured: Decimal = _money()
    premium: Decimal = _money()
    rate_loading: Optional[Decimal] = Field(default=None, sa_type=Fixed(2))
    conditions: Optional[str] = _text()
    issued_at: datetime = _when(nullable=False)
    in_force_at: Optional[datetime] = _when()
    suspended_at: Optional[datetime] = _when()
    expired_at: Optional[datetime] = _when()
    cancelled_at: Optional[datetime] = _when()
    cancel_reason: Optional[str] = _text()
    renewed_from_id: Optional[int] = Field(default=None, foreign_key="policy.id", unique=True)
    # The product of a policy of one line, kept with its line when the policy is written (None
    # for a policy of several lines): reports group by it from the cover index, without reading
    # a line per policy (migration 0005).
    product: Optional[str] = Field(default=None, sa_type=String(64))


class PolicyLine(SQLModel, table=True):
    __tablename__ = "policy_line"
    __table_args__ = (Index("ix_policy_line_product", "policy_id", "product", "premium"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    policy_id: int = Field(foreign_key="policy.id", index=True)
    product: str = Field(sa_type=String(64))
    sum_insured: Decimal = _money()
    premium: Decimal = _money()


class Installment(SQLModel, table=True):
    """One premium due on the policy's schedule (T7 reminders run on these)."""

    __tablename__ = "installment"
    __table_args__ = (
        UniqueConstraint("policy_id", "seq"),
        Index("ix_installment_status_due", "status", "due_date"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    policy_id: int = Field(foreign_key="policy.id", index=True)
    seq: int
    due_date: date
    amount: Decimal = _money()
    paid_amount: Decimal = _money(default=Decimal("0.00"))
    status: str = _enum()
    paid_at: Optional[datetime] = _when()


class Payment(SQLModel, table=True):
    __tablename__ = "payment"
    id: Optional[int] = Field(default=None, primary_key=True)
    policy_id: int = Field(foreign_key="policy.id", index=True)
    installment_id: Optional[int] = Field(default=None, foreign_key="installment.id", index=True)
    amount: Decimal = _money()
    method: str = _enum()
    reference: Optional[str] = Field(default=None, sa_type=String(100))
    paid_at: datetime = _when(nullable=False)
    recorded_by_id: int = Field(foreign_key="staff.id")


class Reminder(SQLModel, table=True):
    """T7: a premium or renewal reminder made to the customer, with its result."""

    __tablename__ = "reminder"
    id: Optional[int] = Field(default=None, primary_key=True)
    policy_id: int = Field(foreign_key="policy.id", index=True)
    installment_id: Optional[int] = Field(default=None, foreign_key="installment.id", index=True)
    channel: str = _enum()
    result: str = _enum()
    note: Optional[str] = _text()
    occurred_at: datetime = _when(nullable=False)
    actor_id: int = Field(foreign_key="staff.id")


class Claim(SQLModel, table=True):
    """L7, T9–T12: a claim from report to payment or rejection."""

    __tablename__ = "claim"
    __table_args__ = (
        # report claims: each figure is a range over its own date, read from the index alone
        Index("ix_claim_reported_report", "reported_at", "contacted_at", "amount_claimed",
              "product", "cause"),
        Index("ix_claim_approved_report", "approved_at", "approved_amount", "reported_at",
              "product", "cause"),
        Index("ix_claim_rejected_report", "rejected_at", "reported_at", "product", "cause"),
        Index("ix_claim_paid_report", "paid_at", "paid_amount", "reported_at", "product", "cause"),
        # report portfolio: claims incurred by incident date
        Index("ix_claim_incident_report", "incident_at", "approved_amount", "approved_at",
              "rejected_at", "product", "policy_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = _code()
    policy_id: int = Field(foreign_key="policy.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    handler_id: int = Field(foreign_key="staff.id", index=True)
    status: str = _enum(index=True)
    product: Optional[str] = Field(default=None, sa_type=String(64))
    cause: Optional[str] = Field(default=None, sa_type=String(64))
    incident_at: datetime = _when(nullable=False)
    place: str = Field(sa_type=Text)
    circumstances: str = Field(sa_type=Text)
    reporter_name: Optional[str] = Field(default=None, sa_type=String(200))
    reporter_phone: Optional[str] = Field(default=None, sa_type=String(40))
    amount_claimed: Decimal = _money()
    reported_at: datetime = _when(nullable=False)
    contacted_at: Optional[datetime] = _when()
    complexity: Optional[str] = _enum(default=None)
    investigation_plan: Optional[str] = _text()
    assessed_by_id: Optional[int] = _staff_fk()
    approved_amount: Optional[Decimal] = _money(default=None)
    approved_at: Optional[datetime] = _when()
    approved_by_id: Optional[int] = _staff_fk()
    rejection_reason: Optional[str] = _text()
    rejected_at: Optional[datetime] = _when()
    paid_amount: Optional[Decimal] = _money(default=None)
    paid_at: Optional[datetime] = _when()
    payment_method: Optional[str] = _enum(default=None)
    payment_reference: Optional[str] = Field(default=None, sa_type=String(100))
    closed_at: Optional[datetime] = _when()
    close_reason: Optional[str] = _text()


class ClaimDocument(SQLModel, table=True):
    """T11: a document the customer is asked to supply or explain."""

    __tablename__ = "claim_document"
    id: Optional[int] = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    name: str = Field(sa_type=String(200))
    requested_at: datetime = _when(nullable=False)
    received_at: Optional[datetime] = _when()
    note: Optional[str] = _text()


class Investigation(SQLModel, table=True):
    """T11: a site investigation assigned to a person, with its process and result."""

    __tablename__ = "investigation"
    id: Optional[int] = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    assignee_id: int = Field(foreign_key="staff.id", index=True)
    assigned_at: datetime = _when(nullable=False)
    instructions: Optional[str] = _text()
    findings: Optional[str] = _text()
    completed_at: Optional[datetime] = _when()


class Revisit(SQLModel, table=True):
    """T5, T6, T13: a contact with the customer and what came of it."""

    __tablename__ = "revisit"
    __table_args__ = (
        # report service (satisfaction)
        Index("ix_revisit_occurred_report", "occurred_at", "kind", "actor_id", "satisfaction"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = _code()
    customer_id: int = Field(foreign_key="customer.id", index=True)
    policy_id: Optional[int] = Field(default=None, foreign_key="policy.id", index=True)
    claim_id: Optional[int] = Field(default=None, foreign_key="claim.id", index=True)
    kind: str = _enum(index=True)
    channel: str = _enum()
    satisfaction: Optional[int] = None  # 1–5
    changed_needs: Optional[str] = _text()
    notes: Optional[str] = _text()
    occurred_at: datetime = _when(nullable=False, index=True)
    actor_id: int = Field(foreign_key="staff.id", index=True)


class Feedback(SQLModel, table=True):
    """T8: a complaint, question or request, tracked until solved and the customer is told."""

    __tablename__ = "feedback"
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = _code()
    customer_id: int = Field(foreign_key="customer.id", index=True)
    policy_id: Optional[int] = Field(default=None, foreign_key="policy.id")
    claim_id: Optional[int] = Field(default=None, foreign_key="claim.id")
    kind: str = _enum()
    channel: Optional[str] = _enum(default=None)
    summary: str = Field(sa_type=Text)
    status: str = _enum(index=True)
    department: str = _enum(index=True)          # who holds it now
    assignee_id: Optional[int] = _staff_fk(index=True)
    resolution: Optional[str] = _text()
    opened_at: datetime = _when(nullable=False)
    opened_by_id: int = Field(foreign_key="staff.id")
    resolved_at: Optional[datetime] = _when()
    resolved_by_id: Optional[int] = _staff_fk()
    informed_at: Optional[datetime] = _when()
    informed_by_id: Optional[int] = _staff_fk()


class Event(SQLModel, table=True):
    """A domain event: the record of every step, the audit trail and the source of SLA clocks."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_subject_occurred", "subject", "occurred_at"),
        Index("ix_event_customer_occurred", "customer_id", "occurred_at"),
        Index("ix_event_type_occurred", "type", "occurred_at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    type: str = Field(sa_type=String(48))
    subject: str = Field(sa_type=String(40))  # the code of the record the step happened to
    customer_id: Optional[int] = Field(default=None, foreign_key="customer.id")
    occurred_at: datetime = _when(nullable=False)  # business time (--at)
    recorded_at: datetime = _when(nullable=False)  # wall clock
    actor_id: int = Field(foreign_key="staff.id")
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class FollowUp(SQLModel, table=True):
    """One open clock (T2–T13, Q3): an obligation with a deadline, opened, paused, resumed and
    closed by the events that govern it (sla/engine.py), or added by hand (`due add`).

    `due` reads only open rows through (status, due_at) and (status, warn_at): its cost follows
    what is due, never the size of the book. `history` keeps every (from, due, warn) the clock
    had, so the picture at any past instant can be told again (`due --now`).
    """

    __tablename__ = "followup"
    __table_args__ = (
        Index("ix_followup_status_due", "status", "due_at"),
        Index("ix_followup_status_warn", "status", "warn_at"),
        Index("ix_followup_rule_subject", "rule", "subject", "status"),
        Index("ix_followup_status_rule_fp", "status", "rule", "rule_fp"),
        Index("ix_followup_closed", "closed_at"),
        # report service: closed follow-ups and per-rule deadlines, read from the index alone
        Index("ix_followup_closed_report", "closed_at", "status", "breached", "rule",
              "department", "assignee_id"),
        Index("ix_followup_rule_due_report", "rule", "due_at", "status", "breached",
              "department", "assignee_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    rule: str = Field(sa_type=String(48))          # an [sla.<name>] rule, or "manual"/"rectification"
    rule_fp: str = Field(default="", sa_type=String(16))  # the rule's timing when last computed
    kind: str = _enum()                             # sla / task / manual / rectification
    subject: str = Field(sa_type=String(40))       # code of the record it is about
    anchor_ref: Optional[str] = Field(default=None, sa_type=String(40))  # e.g. installment 3
    anchor_date: Optional[date] = None
    occurrence: int = 1                             # cadences: 1, 2, 3…
    customer_id: Optional[int] = Field(default=None, foreign_key="customer.id", index=True)
    department: str = _enum()
    assignee_id: Optional[int] = _staff_fk(index=True)
    title: str = Field(sa_type=Text)
    note: Optional[str] = _text()
    status: str = _enum()                           # open / paused / done / cancelled
    opened_at: datetime = _when(nullable=False)    # business time of the opening event
    started_at: datetime = _when(nullable=False)   # when the clock starts counting
    due_at: datetime = _when(nullable=False)
    warn_at: Optional[datetime] = _when()
    paused_at: Optional[datetime] = _when()
    pauses: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    history: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    closed_at: Optional[datetime] = _when()
    closed_by_id: Optional[int] = _staff_fk()
    close_note: Optional[str] = _text()
    breached: Optional[bool] = None                 # closed after its deadline
    opened_by_event_id: Optional[int] = Field(default=None, foreign_key="event.id")
    closed_by_event_id: Optional[int] = Field(default=None, foreign_key="event.id")


class Outbox(SQLModel, table=True):
    """What `due --notify` must say: one row per (follow-up, stage, recipient, channel), unique,
    written in the transaction that evaluated it; delivered, retried on failure, never twice."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("followup_id", "stage", "recipient", "channel"),
        Index("ix_outbox_pending", "sent_at", "claimed_at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    followup_id: int = Field(foreign_key="followup.id")
    stage: str = Field(sa_type=String(16))          # warn / due / breach
    recipient: str = Field(sa_type=String(80))      # staff:sam / dept:claims
    channel: str = Field(sa_type=String(32))        # digest of the Apprise URL (never the secret)
    channel_label: str = Field(sa_type=String(200))  # the URL with secrets removed
    created_at: datetime = _when(nullable=False)
    claimed_at: Optional[datetime] = _when()
    claimed_by: Optional[str] = Field(default=None, sa_type=String(40))
    sent_at: Optional[datetime] = _when()
    attempts: int = 0
    last_error: Optional[str] = _text()


class AuditEntry(SQLModel, table=True):
    """One change of one row (D3, K4): who, when, which record, what action, the values before and
    after — chained by hash: `hash` = SHA-256 over the canonical serialisation of the entry's
    fields and `prev_hash`, the hash of the entry before it (insurtrack/audit.py). `id` is the
    position in the chain (1, 2, 3… with no gap), taken under the chain's lock, never reused.
    `before` / `after` hold canonical JSON text (the exact bytes hashed)."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_subject", "subject", "id"),
        Index("ix_audit_entry_record", "table_name", "record_id", "action"),
    )
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = _when(nullable=False)
    actor: Optional[str] = Field(default=None, sa_type=String(64))   # staff login, None: bootstrap
    table_name: str = Field(sa_type=String(40))
    record_id: Optional[int] = None
    subject: Optional[str] = Field(default=None, sa_type=String(40))  # the code people look up
    action: str = Field(sa_type=String(8))                            # insert / update / delete
    before: Optional[str] = _text()
    after: Optional[str] = _text()
    prev_hash: str = Field(sa_type=String(64))
    hash: str = Field(sa_type=String(64))


class AuditHead(SQLModel, table=True):
    """The chain's head: the last entry's id and hash (one row, id 1). Appending locks it, so two
    writers never fork the chain; `audit verify` checks the chain ends where the head says (a
    deleted last entry is found too)."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_id: int = 0
    last_hash: str = Field(sa_type=String(64))


class Verification(SQLModel, table=True):
    """D2, K4: a record (or a part of it: a claim's assessment or payment) checked by a second
    person, never the one who entered it."""

    __tablename__ = "verification"
    __table_args__ = (UniqueConstraint("kind", "record_id", "part"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = _enum()  # customer / application / policy / claim / revisit / feedback
    record_id: int
    code: str = Field(sa_type=String(20), index=True)
    part: str = _enum(default="record")    # record / assessment / payment
    entered_by_id: Optional[int] = _staff_fk()
    verified_by_id: int = Field(foreign_key="staff.id", index=True)
    verified_at: datetime = _when(nullable=False)
    note: Optional[str] = _text()


# Every Session's flushes are audited (insurtrack/audit.py), whichever path writes: installed
# here, with the tables, so no writer can forget it.
from insurtrack import audit as _audit  # noqa: E402

_audit.install()
