"""Stored calendar components (feed_components): each task's serialised VEVENT or VTODO
with the version of the data it was built from.

Revision ID: 5ca1ef33d0c5
Revises: a7e3c91d5b20
Create Date: 2026-11-28 02:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5ca1ef33d0c5'
down_revision = 'a7e3c91d5b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feed_components',
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('variant', sa.String(length=200), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_feed_components_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'variant', name=op.f('pk_feed_components'))
    )


def downgrade():
    op.drop_table('feed_components')
