"""The ``tracker`` console script: Flask's CLI bound to the app factory."""

import click
from flask.cli import FlaskGroup

from tracker import create_app


def register_commands(app):
    """Attach every area's commands to ``app.cli`` (so ``flask --app tracker`` has them too)."""
    from tracker.assessment.cli import assessment_cli
    from tracker.auth.cli import user_cli
    from tracker.calendar.cli import feed_cli, ics_cli
    from tracker.core.commands import (backup_command, demo_command, init_db_command,
                                       restore_command)
    from tracker.core.serve import serve_command
    from tracker.phases.cli import plan_cli
    from tracker.reminders.cli import reminders_cli, scheduler_command
    from tracker.tasks.cli import tasks_cli
    from tracker.units.cli import unit_cli

    for command in (init_db_command, demo_command, plan_cli, unit_cli, user_cli, tasks_cli,
                    ics_cli, feed_cli, reminders_cli, scheduler_command, assessment_cli,
                    backup_command, restore_command, serve_command):
        app.cli.add_command(command)


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
def main():
    """tracker: the annual work plan, its tasks and deadlines."""


