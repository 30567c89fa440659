"""The migrations build exactly the schema the models describe."""

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tracker.core.paths import MIGRATIONS

MIGRATIONS_DIR = str(MIGRATIONS)
from tracker.core.types import render_item
from tracker.extensions import db


def test_upgrade_to_head_matches_the_models_and_downgrades_cleanly(fresh_app):
    flask_migrate.upgrade(directory=MIGRATIONS_DIR)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_item": render_item})
        diff = compare_metadata(context, db.metadata)
    assert diff == []
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables

    flask_migrate.downgrade(directory=MIGRATIONS_DIR, revision="base")
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
