"""Follow-ups (the clocks `due` reads) and the notification outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('followup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=48), nullable=False),
    sa.Column('rule_fp', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('subject', sa.String(length=40), nullable=False),
    sa.Column('anchor_ref', sa.String(length=40), nullable=True),
    sa.Column('anchor_date', sa.Date(), nullable=True),
    sa.Column('occurrence', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('department', sa.String(length=24), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('warn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pauses', sa.JSON(), nullable=False),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('close_note', sa.Text(), nullable=True),
    sa.Column('breached', sa.Boolean(), nullable=True),
    sa.Column('opened_by_event_id', sa.Integer(), nullable=True),
    sa.Column('closed_by_event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['closed_by_event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['closed_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['opened_by_event_id'], ['event.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_followup_assignee_id', 'followup', ['assignee_id'], unique=False)
    op.create_index('ix_followup_customer_id', 'followup', ['customer_id'], unique=False)
    op.create_index('ix_followup_closed', 'followup', ['closed_at'], unique=False)
    op.create_index('ix_followup_rule_subject', 'followup', ['rule', 'subject', 'status'], unique=False)
    op.create_index('ix_followup_status_due', 'followup', ['status', 'due_at'], unique=False)
    op.create_index('ix_followup_status_rule_fp', 'followup', ['status', 'rule', 'rule_fp'], unique=False)
    op.create_index('ix_followup_status_warn', 'followup', ['status', 'warn_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('channel_label', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=40), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['followup_id'], ['followup.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('followup_id', 'stage', 'recipient', 'channel')
    )
    op.create_index('ix_outbox_pending', 'outbox', ['sent_at', 'claimed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_pending', table_name='outbox')
    op.drop_table('outbox')
    for name in ('ix_followup_status_warn', 'ix_followup_status_rule_fp', 'ix_followup_status_due',
                 'ix_followup_rule_subject', 'ix_followup_closed', 'ix_followup_customer_id',
                 'ix_followup_assignee_id'):
        op.drop_index(name, table_name='followup')
    op.drop_table('followup')
