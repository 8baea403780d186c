"""Core views of the tables `insurtrack export` reads, every column: reports/export.py builds its
SELECTs on these, not on the ORM models, so that an export starts without importing SQLModel,
pydantic and the mappers (some 0.3 s of a process's start, issue 5: a million policies in about
two seconds, start included).

They describe what models.py declares and Alembic creates, with the same column types
(domain/types.py: money in cents, instants in UTC); they never create anything.
tests/domain/test_records.py checks every column here against the model's table, and that no
column of the model is missing.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Date, Integer, String, column, table

from insurtrack.domain.types import Fixed, Money, UTCDateTime


def _when(name: str):
    return column(name, UTCDateTime())


staff = table(
    "staff",
    column("id", Integer), column("code", String), column("name", String),
    column("department", String), column("phone", String), column("email", String),
    column("active", Boolean), _when("created_at"),
)

customer = table(
    "customer",
    column("id", Integer), column("code", String), column("kind", String),
    column("name", String), column("id_number", String), column("phone", String),
    column("email", String), column("address", String), column("birth_date", Date),
    column("region", String), column("source", String), column("owner_id", Integer),
    column("credit_rating", String), column("risk_level", String),
    column("rating_reason", String), _when("rated_at"), column("notes", String),
    _when("created_at"), _when("updated_at"),
)

application = table(
    "application",
    column("id", Integer), column("code", String), column("customer_id", Integer),
    column("owner_id", Integer), column("status", String), column("frequency", String),
    column("term_months", Integer), column("promised_date", Date), _when("delivered_at"),
    column("review_note", String), _when("reviewed_at"), _when("submitted_at"),
    column("info_requested", String), column("decision", String), column("conditions", String),
    column("rate_loading", Fixed(2)), column("decline_reason", String),
    column("decline_advice", String), _when("decided_at"), column("decided_by_id", Integer),
    column("withdraw_reason", String), _when("created_at"),
)

application_line = table(
    "application_line",
    column("id", Integer), column("application_id", Integer), column("product", String),
    column("sum_insured", Money()), column("premium", Money()),
)

policy = table(
    "policy",
    column("id", Integer), column("code", String), column("application_id", Integer),
    column("customer_id", Integer), column("owner_id", Integer), column("status", String),
    column("frequency", String), column("term_months", Integer),
    column("effective_date", Date), column("expiry_date", Date),
    column("sum_insured", Money()), column("premium", Money()),
    column("rate_loading", Fixed(2)), column("conditions", String), _when("issued_at"),
    _when("in_force_at"), _when("suspended_at"), _when("expired_at"), _when("cancelled_at"),
    column("cancel_reason", String), column("renewed_from_id", Integer),
    column("product", String),
)

policy_line = table(
    "policy_line",
    column("id", Integer), column("policy_id", Integer), column("product", String),
    column("sum_insured", Money()), column("premium", Money()),
)

installment = table(
    "installment",
    column("id", Integer), column("policy_id", Integer), column("seq", Integer),
    column("due_date", Date), column("amount", Money()), column("paid_amount", Money()),
    column("status", String), _when("paid_at"),
)

payment = table(
    "payment",
    column("id", Integer), column("policy_id", Integer), column("installment_id", Integer),
    column("amount", Money()), column("method", String), column("reference", String),
    _when("paid_at"), column("recorded_by_id", Integer),
)

claim = table(
    "claim",
    column("id", Integer), column("code", String), column("policy_id", Integer),
    column("customer_id", Integer), column("handler_id", Integer), column("status", String),
    column("product", String), column("cause", String), _when("incident_at"),
    column("place", String), column("circumstances", String), column("reporter_name", String),
    column("reporter_phone", String), column("amount_claimed", Money()), _when("reported_at"),
    _when("contacted_at"), column("complexity", String), column("investigation_plan", String),
    column("assessed_by_id", Integer), column("approved_amount", Money()),
    _when("approved_at"), column("approved_by_id", Integer),
    column("rejection_reason", String), _when("rejected_at"), column("paid_amount", Money()),
    _when("paid_at"), column("payment_method", String), column("payment_reference", String),
    _when("closed_at"), column("close_reason", String),
)

revisit = table(
    "revisit",
    column("id", Integer), column("code", String), column("customer_id", Integer),
    column("policy_id", Integer), column("claim_id", Integer), column("kind", String),
    column("channel", String), column("satisfaction", Integer),
    column("changed_needs", String), column("notes", String), _when("occurred_at"),
    column("actor_id", Integer),
)

feedback = table(
    "feedback",
    column("id", Integer), column("code", String), column("customer_id", Integer),
    column("policy_id", Integer), column("claim_id", Integer), column("kind", String),
    column("channel", String), column("summary", String), column("status", String),
    column("department", String), column("assignee_id", Integer), column("resolution", String),
    _when("opened_at"), column("opened_by_id", Integer), _when("resolved_at"),
    column("resolved_by_id", Integer), _when("informed_at"), column("informed_by_id", Integer),
)

event = table(
    "event",
    column("id", Integer), column("type", String), column("subject", String),
    column("customer_id", Integer), _when("occurred_at"), _when("recorded_at"),
    column("actor_id", Integer), column("payload", JSON),
)

followup = table(
    "followup",
    column("id", Integer), column("rule", String), column("rule_fp", String),
    column("kind", String), column("subject", String), column("anchor_ref", String),
    column("anchor_date", Date), column("occurrence", Integer), column("customer_id", Integer),
    column("department", String), column("assignee_id", Integer), column("title", String),
    column("note", String), column("status", String), _when("opened_at"), _when("started_at"),
    _when("due_at"), _when("warn_at"), _when("paused_at"), column("pauses", JSON),
    column("history", JSON), _when("closed_at"), column("closed_by_id", Integer),
    column("close_note", String), column("breached", Boolean),
    column("opened_by_event_id", Integer), column("closed_by_event_id", Integer),
)

TABLES = (staff, customer, application, application_line, policy, policy_line, installment,
          payment, claim, revisit, feedback, event, followup)
