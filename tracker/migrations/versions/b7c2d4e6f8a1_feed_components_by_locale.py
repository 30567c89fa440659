"""Stored calendar components emptied: their variant now names the feed's language, so
those stored before would never be read again (each is rebuilt on the next request).

Revision ID: b7c2d4e6f8a1
Revises: 88ffffa52948
Create Date: 2026-12-06 16:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7c2d4e6f8a1'
down_revision = '88ffffa52948'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM feed_components")


def downgrade():
    # The older code's variants have no language: what this one stored it would not read.
    op.execute("DELETE FROM feed_components")
