"""The audit trail (issue 6.3: every change of a row, chained by SHA-256 hash, and the chain's
head) and verifications (issue 6.2, D2, K4: a record checked by a second person).

The chain starts empty: rows written before this revision have no audit entry (their history is
in the event log); the first change after the upgrade is entry 1.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 02:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=40), nullable=True),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_entry_subject', 'audit_entry', ['subject', 'id'], unique=False)
    op.create_index('ix_audit_entry_record', 'audit_entry', ['table_name', 'record_id', 'action'],
                    unique=False)
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('verification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('part', sa.String(length=24), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['entered_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['verified_by_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'record_id', 'part')
    )
    op.create_index('ix_verification_code', 'verification', ['code'], unique=False)
    op.create_index('ix_verification_verified_by_id', 'verification', ['verified_by_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_verification_verified_by_id', table_name='verification')
    op.drop_index('ix_verification_code', table_name='verification')
    op.drop_table('verification')
    op.drop_table('audit_head')
    op.drop_index('ix_audit_entry_record', table_name='audit_entry')
    op.drop_index('ix_audit_entry_subject', table_name='audit_entry')
    op.drop_table('audit_entry')
