"""The product of a one-line policy on the policy row (issue 5: `report portfolio` by product at
1,000,000 policies under 2 s). Earned premium, retention and 13th-month persistency by product
read a policy's product; from its line that is a lookup per policy (≈640,000 in the benchmark
book, seconds). With the product in the cover index, each figure is one ordered read of that index.
A policy of several lines keeps NULL here: its premium is shared among its lines, which the report
reads for those few, found through their own partial index (ix_policy_several).

Existing policies get their product from their lines. The two portfolio indexes are rebuilt with
the column.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 05:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

ENDED = "status IN ('cancelled', 'suspended')"
SEVERAL = "product IS NULL"
COVER = ['expiry_date', 'effective_date', 'frequency', 'term_months', 'status', 'premium',
         'in_force_at', 'renewed_from_id']
ENDED_COLUMNS = ['status', 'effective_date', 'expiry_date', 'frequency', 'term_months', 'premium',
                 'in_force_at', 'renewed_from_id', 'cancelled_at', 'suspended_at']


def _indexes(cover: list[str], ended: list[str]) -> None:
    op.create_index('ix_policy_cover', 'policy', cover, unique=False)
    op.create_index('ix_policy_ended', 'policy', ended, unique=False,
                    sqlite_where=sa.text(ENDED), postgresql_where=sa.text(ENDED))


def upgrade() -> None:
    op.add_column('policy', sa.Column('product', sa.String(length=64), nullable=True))
    # one statement: each policy's lines counted and read through ix_policy_line_product
    op.execute("UPDATE policy SET product = (SELECT CASE WHEN count(*) = 1 THEN min(product) END "
               "FROM policy_line WHERE policy_line.policy_id = policy.id)")
    op.drop_index('ix_policy_cover', table_name='policy')
    op.drop_index('ix_policy_ended', table_name='policy')
    _indexes(COVER[:2] + ['product'] + COVER[2:], ENDED_COLUMNS[:3] + ['product'] + ENDED_COLUMNS[3:])
    op.create_index('ix_policy_several', 'policy', ['effective_date', 'expiry_date'], unique=False,
                    sqlite_where=sa.text(SEVERAL), postgresql_where=sa.text(SEVERAL))
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'").first():
        # as 0003: a book that was analyzed gets its new indexes analyzed too
        bind.exec_driver_sql("ANALYZE ix_policy_cover")
        bind.exec_driver_sql("ANALYZE ix_policy_ended")
        bind.exec_driver_sql("ANALYZE ix_policy_several")


def downgrade() -> None:
    op.drop_index('ix_policy_several', table_name='policy')
    op.drop_index('ix_policy_ended', table_name='policy')
    op.drop_index('ix_policy_cover', table_name='policy')
    _indexes(COVER, ENDED_COLUMNS)
    # both databases drop a column natively (SQLite since 3.35), without rebuilding the table
    op.execute("ALTER TABLE policy DROP COLUMN product")
