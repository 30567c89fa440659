"""Where tracker's files are, in a checkout and in an installed wheel."""

from pathlib import Path

#: The ``tracker`` package folder.
PACKAGE = Path(__file__).resolve().parent.parent


def shared_folder(name: str) -> Path:
    """A folder kept at the top of the checkout (``templates``, ``static``).

    A wheel carries it inside the package (``tracker/templates``: setup.py puts it
    there), since site-packages has no checkout around the package.
    """
    packaged = PACKAGE / name
    return packaged if packaged.is_dir() else PACKAGE.parent / name


TEMPLATES = shared_folder("templates")
STATIC = shared_folder("static")
MIGRATIONS = PACKAGE / "migrations"
