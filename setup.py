"""Packaging beyond what setup.cfg can say: the checkout keeps ``templates/`` and
``static/`` at its top level (the project's layout), and a wheel carries them inside the
package, as ``tracker/templates`` and ``tracker/static`` (``tracker.core.paths`` finds
them in either place)."""

from setuptools import find_namespace_packages, setup


def shared(package: str, folder: str) -> dict[str, str]:
    """``folder`` and its subfolders as ``package`` and its subpackages."""
    subfolders = find_namespace_packages(where=folder)
    return {package: folder,
            **{f"{package}.{sub}": f"{folder}/{sub.replace('.', '/')}" for sub in subfolders}}


SHARED = {**shared("tracker.templates", "templates"), **shared("tracker.static", "static")}
#: The package's own data files. They are named here, not in setup.cfg's
#: [options.package_data]: setuptools (84 seen) lets setup()'s package_data replace that
#: section whole, and the wheel then lacked plans, translations and alembic.ini.
DATA = {"tracker.plans": ["*.toml"],
        "tracker.migrations": ["alembic.ini", "script.py.mako"],
        "tracker.translations": ["*/LC_MESSAGES/*.mo", "*/LC_MESSAGES/*.po"]}

setup(
    packages=find_namespace_packages(include=["tracker", "tracker.*"]) + list(SHARED),
    package_dir=SHARED,
    package_data={**DATA, **{name: ["*"] for name in SHARED}},
)
