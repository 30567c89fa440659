"""Working days: where a day set off or on comes from, the coordinator or the State
Council's holiday notice as imported.

Revision ID: f1a6b3c8d2e4
Revises: e5d0c7a1f2b9
Create Date: 2026-12-06 11:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f1a6b3c8d2e4'
down_revision = 'e5d0c7a1f2b9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('workday_overrides', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=False,
                                      server_default='override'))


def downgrade():
    with op.batch_alter_table('workday_overrides', schema=None) as batch_op:
        batch_op.drop_column('source')
