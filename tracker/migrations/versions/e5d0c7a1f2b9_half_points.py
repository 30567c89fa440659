"""Rubric points in halves: a row, item, group or a plan's total may be worth 9.5.

Revision ID: e5d0c7a1f2b9
Revises: dfe9ea3b353f
Create Date: 2026-12-06 11:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5d0c7a1f2b9'
down_revision = 'dfe9ea3b353f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rubric_nodes', schema=None) as batch_op:
        batch_op.alter_column('points', existing_type=sa.Integer(),
                              type_=sa.Numeric(precision=8, scale=1), existing_nullable=False)
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.alter_column('rubric_total', existing_type=sa.Integer(),
                              type_=sa.Numeric(precision=8, scale=1), existing_nullable=False)


def downgrade():
    # Points in halves do not survive a downgrade (PostgreSQL rounds them).
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.alter_column('rubric_total', existing_type=sa.Numeric(precision=8, scale=1),
                              type_=sa.Integer(), existing_nullable=False)
    with op.batch_alter_table('rubric_nodes', schema=None) as batch_op:
        batch_op.alter_column('points', existing_type=sa.Numeric(precision=8, scale=1),
                              type_=sa.Integer(), existing_nullable=False)
