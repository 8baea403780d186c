"""The first schema: staff, customers, plans and applications, policies and their premium
schedules, payments and reminders, claims, revisits, feedback and the event log.

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 06:19:15.270497
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sequence',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department', sa.String(length=24), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('ix_staff_department', 'staff', ['department'], unique=False)

    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('id_number', sa.String(length=64), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('credit_rating', sa.String(length=24), nullable=True),
    sa.Column('risk_level', sa.String(length=24), nullable=True),
    sa.Column('rating_reason', sa.Text(), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('ix_customer_id_number', 'customer', ['id_number'], unique=False)
    op.create_index('ix_customer_name', 'customer', ['name'], unique=False)
    op.create_index('ix_customer_owner_id', 'customer', ['owner_id'], unique=False)
    op.create_index('ix_customer_phone', 'customer', ['phone'], unique=False)
    op.create_index('ix_customer_region', 'customer', ['region'], unique=False)
    op.create_index('ix_customer_risk_level', 'customer', ['risk_level'], unique=False)

    op.create_table('application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('frequency', sa.String(length=24), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('promised_date', sa.Date(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('info_requested', sa.Text(), nullable=True),
    sa.Column('decision', sa.String(length=24), nullable=True),
    sa.Column('conditions', sa.Text(), nullable=True),
    sa.Column('rate_loading', sa.BigInteger(), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('decline_advice', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('withdraw_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('ix_application_customer_id', 'application', ['customer_id'], unique=False)
    op.create_index('ix_application_owner_id', 'application', ['owner_id'], unique=False)
    op.create_index('ix_application_status', 'application', ['status'], unique=False)

    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=48), nullable=False),
    sa.Column('subject', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_event_customer_occurred', 'event', ['customer_id', 'occurred_at'], unique=False)
    op.create_index('ix_event_subject_occurred', 'event', ['subject', 'occurred_at'], unique=False)
    op.create_index('ix_event_type_occurred', 'event', ['type', 'occurred_at'], unique=False)

    op.create_table('needs_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('needs', sa.Text(), nullable=False),
    sa.Column('risk_situation', sa.Text(), nullable=True),
    sa.Column('recommended', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_needs_record_customer_id', 'needs_record', ['customer_id'], unique=False)

    op.create_table('application_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.ForeignKeyConstraint(['received_by_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('application_id', 'name')
    )
    op.create_index('ix_application_document_application_id', 'application_document', ['application_id'], unique=False)

    op.create_table('application_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=False),
    sa.Column('sum_insured', sa.BigInteger(), nullable=False),
    sa.Column('premium', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_application_line_application_id', 'application_line', ['application_id'], unique=False)

    op.create_table('policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('frequency', sa.String(length=24), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('expiry_date', sa.Date(), nullable=False),
    sa.Column('sum_insured', sa.BigInteger(), nullable=False),
    sa.Column('premium', sa.BigInteger(), nullable=False),
    sa.Column('rate_loading', sa.BigInteger(), nullable=True),
    sa.Column('conditions', sa.Text(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('in_force_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('renewed_from_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['renewed_from_id'], ['policy.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('renewed_from_id')
    )
    op.create_index('ix_policy_application_id', 'policy', ['application_id'], unique=False)
    op.create_index('ix_policy_customer_id', 'policy', ['customer_id'], unique=False)
    op.create_index('ix_policy_expiry_date', 'policy', ['expiry_date'], unique=False)
    op.create_index('ix_policy_owner_id', 'policy', ['owner_id'], unique=False)
    op.create_index('ix_policy_status', 'policy', ['status'], unique=False)

    op.create_table('claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('handler_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=True),
    sa.Column('cause', sa.String(length=64), nullable=True),
    sa.Column('incident_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.Text(), nullable=False),
    sa.Column('circumstances', sa.Text(), nullable=False),
    sa.Column('reporter_name', sa.String(length=200), nullable=True),
    sa.Column('reporter_phone', sa.String(length=40), nullable=True),
    sa.Column('amount_claimed', sa.BigInteger(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('contacted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('complexity', sa.String(length=24), nullable=True),
    sa.Column('investigation_plan', sa.Text(), nullable=True),
    sa.Column('assessed_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_amount', sa.BigInteger(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_amount', sa.BigInteger(), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payment_method', sa.String(length=24), nullable=True),
    sa.Column('payment_reference', sa.String(length=100), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['assessed_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['handler_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['policy_id'], ['policy.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('ix_claim_customer_id', 'claim', ['customer_id'], unique=False)
    op.create_index('ix_claim_handler_id', 'claim', ['handler_id'], unique=False)
    op.create_index('ix_claim_policy_id', 'claim', ['policy_id'], unique=False)
    op.create_index('ix_claim_status', 'claim', ['status'], unique=False)

    op.create_table('installment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('paid_amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['policy_id'], ['policy.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('policy_id', 'seq')
    )
    op.create_index('ix_installment_policy_id', 'installment', ['policy_id'], unique=False)
    op.create_index('ix_installment_status_due', 'installment', ['status', 'due_date'], unique=False)

    op.create_table('policy_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=False),
    sa.Column('sum_insured', sa.BigInteger(), nullable=False),
    sa.Column('premium', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['policy.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_policy_line_policy_id', 'policy_line', ['policy_id'], unique=False)

    op.create_table('claim_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_claim_document_claim_id', 'claim_document', ['claim_id'], unique=False)

    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=True),
    sa.Column('claim_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('department', sa.String(length=24), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('informed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('informed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['informed_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['opened_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['policy_id'], ['policy.id'], ),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('ix_feedback_assignee_id', 'feedback', ['assignee_id'], unique=False)
    op.create_index('ix_feedback_customer_id', 'feedback', ['customer_id'], unique=False)
    op.create_index('ix_feedback_department', 'feedback', ['department'], unique=False)
    op.create_index('ix_feedback_status', 'feedback', ['status'], unique=False)

    op.create_table('investigation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=True),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_investigation_assignee_id', 'investigation', ['assignee_id'], unique=False)
    op.create_index('ix_investigation_claim_id', 'investigation', ['claim_id'], unique=False)

    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('installment_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=24), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['installment_id'], ['installment.id'], ),
    sa.ForeignKeyConstraint(['policy_id'], ['policy.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_payment_installment_id', 'payment', ['installment_id'], unique=False)
    op.create_index('ix_payment_policy_id', 'payment', ['policy_id'], unique=False)

    op.create_table('reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('installment_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('result', sa.String(length=24), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['installment_id'], ['installment.id'], ),
    sa.ForeignKeyConstraint(['policy_id'], ['policy.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_reminder_installment_id', 'reminder', ['installment_id'], unique=False)
    op.create_index('ix_reminder_policy_id', 'reminder', ['policy_id'], unique=False)

    op.create_table('revisit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=True),
    sa.Column('claim_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('changed_needs', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['policy_id'], ['policy.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('ix_revisit_actor_id', 'revisit', ['actor_id'], unique=False)
    op.create_index('ix_revisit_claim_id', 'revisit', ['claim_id'], unique=False)
    op.create_index('ix_revisit_customer_id', 'revisit', ['customer_id'], unique=False)
    op.create_index('ix_revisit_kind', 'revisit', ['kind'], unique=False)
    op.create_index('ix_revisit_occurred_at', 'revisit', ['occurred_at'], unique=False)
    op.create_index('ix_revisit_policy_id', 'revisit', ['policy_id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_revisit_policy_id', table_name='revisit')
    op.drop_index('ix_revisit_occurred_at', table_name='revisit')
    op.drop_index('ix_revisit_kind', table_name='revisit')
    op.drop_index('ix_revisit_customer_id', table_name='revisit')
    op.drop_index('ix_revisit_claim_id', table_name='revisit')
    op.drop_index('ix_revisit_actor_id', table_name='revisit')

    op.drop_table('revisit')
    op.drop_index('ix_reminder_policy_id', table_name='reminder')
    op.drop_index('ix_reminder_installment_id', table_name='reminder')

    op.drop_table('reminder')
    op.drop_index('ix_payment_policy_id', table_name='payment')
    op.drop_index('ix_payment_installment_id', table_name='payment')

    op.drop_table('payment')
    op.drop_index('ix_investigation_claim_id', table_name='investigation')
    op.drop_index('ix_investigation_assignee_id', table_name='investigation')

    op.drop_table('investigation')
    op.drop_index('ix_feedback_status', table_name='feedback')
    op.drop_index('ix_feedback_department', table_name='feedback')
    op.drop_index('ix_feedback_customer_id', table_name='feedback')
    op.drop_index('ix_feedback_assignee_id', table_name='feedback')

    op.drop_table('feedback')
    op.drop_index('ix_claim_document_claim_id', table_name='claim_document')

    op.drop_table('claim_document')
    op.drop_index('ix_policy_line_policy_id', table_name='policy_line')

    op.drop_table('policy_line')
    op.drop_index('ix_installment_status_due', table_name='installment')
    op.drop_index('ix_installment_policy_id', table_name='installment')

    op.drop_table('installment')
    op.drop_index('ix_claim_status', table_name='claim')
    op.drop_index('ix_claim_policy_id', table_name='claim')
    op.drop_index('ix_claim_handler_id', table_name='claim')
    op.drop_index('ix_claim_customer_id', table_name='claim')

    op.drop_table('claim')
    op.drop_index('ix_policy_status', table_name='policy')
    op.drop_index('ix_policy_owner_id', table_name='policy')
    op.drop_index('ix_policy_expiry_date', table_name='policy')
    op.drop_index('ix_policy_customer_id', table_name='policy')
    op.drop_index('ix_policy_application_id', table_name='policy')

    op.drop_table('policy')
    op.drop_index('ix_application_line_application_id', table_name='application_line')

    op.drop_table('application_line')
    op.drop_index('ix_application_document_application_id', table_name='application_document')

    op.drop_table('application_document')
    op.drop_index('ix_needs_record_customer_id', table_name='needs_record')

    op.drop_table('needs_record')
    op.drop_index('ix_event_type_occurred', table_name='event')
    op.drop_index('ix_event_subject_occurred', table_name='event')
    op.drop_index('ix_event_customer_occurred', table_name='event')

    op.drop_table('event')
    op.drop_index('ix_application_status', table_name='application')
    op.drop_index('ix_application_owner_id', table_name='application')
    op.drop_index('ix_application_customer_id', table_name='application')

    op.drop_table('application')
    op.drop_index('ix_customer_risk_level', table_name='customer')
    op.drop_index('ix_customer_region', table_name='customer')
    op.drop_index('ix_customer_phone', table_name='customer')
    op.drop_index('ix_customer_owner_id', table_name='customer')
    op.drop_index('ix_customer_name', table_name='customer')
    op.drop_index('ix_customer_id_number', table_name='customer')

    op.drop_table('customer')
    op.drop_index('ix_staff_department', table_name='staff')

    op.drop_table('staff')
    op.drop_table('sequence')
