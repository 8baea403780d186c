"""Light views of a few tables for the hot read paths (`due`, cron's `due --notify` planning):
SQLAlchemy Core table clauses naming only the columns those paths read, with the same column
types as the models (domain/types.py), so that a command can read them without importing
SQLModel, pydantic and the ORM mappers (about 0.25 s of a process's start, more than the whole
budget of `due`, issue 5).

They describe the tables models.py declares and Alembic creates; they never create anything.
tests/domain/test_tables.py checks every column here against the model's table.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Date, Integer, String, column, table

from insurtrack.domain.types import UTCDateTime

followup = table(
    "followup",
    column("id", Integer), column("rule", String), column("rule_fp", String),
    column("kind", String), column("subject", String), column("anchor_ref", String),
    column("anchor_date", Date), column("occurrence", Integer), column("customer_id", Integer),
    column("department", String), column("assignee_id", Integer), column("title", String),
    column("status", String), column("opened_at", UTCDateTime()),
    column("started_at", UTCDateTime()), column("due_at", UTCDateTime()),
    column("warn_at", UTCDateTime()), column("paused_at", UTCDateTime()),
    column("pauses", JSON), column("history", JSON), column("closed_at", UTCDateTime()),
)

staff = table(
    "staff",
    column("id", Integer), column("code", String), column("name", String),
    column("department", String), column("email", String), column("active", Boolean),
)

customer = table("customer", column("id", Integer), column("code", String))
