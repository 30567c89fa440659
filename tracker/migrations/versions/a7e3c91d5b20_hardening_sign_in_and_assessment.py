"""Hardening: when an assessment was begun (a unit's self-assessment no longer begins it).

Existing assessments were begun when they were made.

Revision ID: a7e3c91d5b20
Revises: fc37c0b38c10
Create Date: 2026-11-28 01:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7e3c91d5b20'
down_revision = 'fc37c0b38c10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('begun_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE assessments SET begun_at = created_at")


def downgrade():
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_column('begun_at')
