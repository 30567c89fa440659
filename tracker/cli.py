"""The ``tracker`` console script: Flask's CLI bound to the app factory."""

import click
from flask.cli import FlaskGroup

from tracker import create_app


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
def main():
    """tracker: the annual work plan, its tasks and deadlines."""
