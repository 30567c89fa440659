"""Hardening: password guesses counted per place (login_throttles), and when an
assessment was begun (a unit's self-assessment no longer begins it).

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
    op.create_table('login_throttles',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.Column('next_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('email', 'address', name=op.f('pk_login_throttles'))
    )
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.create_index('ix_login_throttles_last_at', ['last_at'], unique=False)
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('begun_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE assessments SET begun_at = created_at")


def downgrade():
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_column('begun_at')
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.drop_index('ix_login_throttles_last_at')
    op.drop_table('login_throttles')
