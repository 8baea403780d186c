"""Indexes the reports read (issue 5): each report figure is a range over its own date column,
and every column it reads is in the index, so a report reads the index entries of its period
only (a lookup of each row through an index costs ten times a read in order: at 1,000,000
policies that is seconds). Two partial indexes: renewals, and the policies whose cover ended
early (cancelled or suspended).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 23:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

RENEWALS = "renewed_from_id IS NOT NULL"
ENDED = "status IN ('cancelled', 'suspended')"
PARTIAL = [
    # renewals only: a book with few renewals (statistics showing one NULL value for
    # renewed_from_id) still looks a renewal up instead of scanning the policies for each
    ('ix_policy_renewal', 'policy', ['renewed_from_id', 'status'], RENEWALS),
    # the policies whose cover ended early, with the instant it ended (portfolio)
    ('ix_policy_ended', 'policy',
     ['status', 'effective_date', 'expiry_date', 'frequency', 'term_months', 'premium',
      'in_force_at', 'renewed_from_id', 'cancelled_at', 'suspended_at'], ENDED),
]

INDEXES = [
    # report pipeline
    ('ix_application_created_report', 'application', ['created_at', 'status', 'owner_id']),
    ('ix_application_submitted_report', 'application', ['submitted_at', 'decision', 'owner_id']),
    ('ix_application_decided_report', 'application',
     ['decided_at', 'decision', 'status', 'owner_id', 'submitted_at', 'decline_reason']),
    ('ix_application_line_product', 'application_line', ['application_id', 'product']),
    # reports sales, tendency, portfolio
    ('ix_policy_issued_report', 'policy',
     ['issued_at', 'customer_id', 'owner_id', 'premium', 'renewed_from_id', 'application_id']),
    ('ix_policy_customer_issued', 'policy', ['customer_id', 'issued_at']),
    ('ix_policy_cover', 'policy',
     ['expiry_date', 'effective_date', 'frequency', 'term_months', 'status', 'premium',
      'in_force_at', 'renewed_from_id']),
    ('ix_policy_line_product', 'policy_line', ['policy_id', 'product', 'premium']),
    # report claims, portfolio (claims incurred)
    ('ix_claim_reported_report', 'claim',
     ['reported_at', 'contacted_at', 'amount_claimed', 'product', 'cause']),
    ('ix_claim_approved_report', 'claim',
     ['approved_at', 'approved_amount', 'reported_at', 'product', 'cause']),
    ('ix_claim_rejected_report', 'claim', ['rejected_at', 'reported_at', 'product', 'cause']),
    ('ix_claim_paid_report', 'claim',
     ['paid_at', 'paid_amount', 'reported_at', 'product', 'cause']),
    ('ix_claim_incident_report', 'claim',
     ['incident_at', 'approved_amount', 'approved_at', 'rejected_at', 'product', 'policy_id']),
    # report service
    ('ix_followup_closed_report', 'followup',
     ['closed_at', 'status', 'breached', 'rule', 'department', 'assignee_id']),
    ('ix_followup_rule_due_report', 'followup',
     ['rule', 'due_at', 'status', 'breached', 'department', 'assignee_id']),
    ('ix_revisit_occurred_report', 'revisit', ['occurred_at', 'kind', 'actor_id', 'satisfaction']),
    # report risk
    ('ix_customer_rating_report', 'customer', ['credit_rating', 'risk_level', 'created_at']),
    # reports sales and tendency: the customers whose age band changes in the period
    ('ix_customer_birth_report', 'customer', ['birth_date', 'kind']),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    for name, table, columns, where in PARTIAL:
        op.create_index(name, table, columns, unique=False, sqlite_where=sa.text(where),
                        postgresql_where=sa.text(where))
    _analyze_new_indexes()


def _analyze_new_indexes() -> None:
    """SQLite plans with the statistics ANALYZE leaves in sqlite_stat1 when there are some: an
    index without them would look worse than the older ones that have them (e.g. a line's
    product read through the table instead of from the new index). So a book that has been
    analyzed gets its new indexes analyzed too (each index read once); one that never was keeps
    SQLite's defaults for all. PostgreSQL keeps its statistics itself (autovacuum)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if not bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'").first():
        return
    for name in [n for n, _, _ in INDEXES] + [n for n, _, _, _ in PARTIAL]:
        bind.exec_driver_sql(f"ANALYZE {name}")


def downgrade() -> None:
    for name, table, _, _ in reversed(PARTIAL):
        op.drop_index(name, table_name=table)
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
