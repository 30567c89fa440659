"""The README's paths are true: every file or folder it names exists (a moved file is
named anew), so a newcomer following it finds what it says."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
#: Folders of the checkout whose paths the README names in backquotes.
TOP = ("tracker/", "templates/", "static/", "tests/", "bench/", "docs/", ".ci/")
#: What exists only once the app ran or the tests installed it (git-ignored).
MADE_AT_RUN_TIME = ("bench/.cache/", "bench/results/<", "tests/browser/node_modules")


def named_paths() -> set[str]:
    """Paths in backquotes that start at a folder of the checkout (``<name>`` and ``*``
    stand for any name; a test named ``file::test`` is its file)."""
    return {re.sub(r"<\w+>", "*", p.split("::")[0]) for p in re.findall(r"`([^`\s]+)`", README)
            if p.startswith(TOP) and not p.startswith(MADE_AT_RUN_TIME)}


def exists(path: str) -> bool:
    return any(ROOT.glob(path)) if "*" in path else (ROOT / path).exists()


def layout_files() -> set[str]:
    """The modules the Layout section's tree names, each under its folder: the package's
    areas are indented under ``tracker/``, the checkout's own folders start the line."""
    tree = README.split("## Layout", 1)[1].split("```", 2)[1]
    files, folder = set(), ""
    for line in tree.splitlines():
        if re.match(r"^tracker/", line):
            folder = "tracker"
        elif re.match(r"^\S", line):
            folder = ""  # templates/, static/, tests/…: files of the checkout itself
        elif re.match(r"^  (\w+)/ \|", line):
            folder = "tracker"  # a row of siblings; each has its own line below
        elif area := re.match(r"^ {2,4}(\w+)/", line):
            folder = f"tracker/{area[1]}"
        elif re.match(r"^  \w", line):
            folder = "tracker"  # a module of the package itself
        for name in re.findall(r"\b(\w+\.py)\b", line):
            files.add(f"{folder}/{name}" if folder else name)
    return files


def test_readme_names_only_paths_that_exist():
    paths = named_paths()
    assert "tracker/tasks/states.py" in paths and len(paths) > 20
    assert sorted(p for p in paths if not exists(p)) == []


def test_the_layout_names_only_modules_that_exist():
    files = layout_files()
    assert "tracker/calendar/ical.py" in files and "tracker/reminders/robots.py" in files
    assert sorted(f for f in files if not exists(f)) == []
