#!/usr/bin/env python3
"""Set up and run tracker from a checkout. Needs only Python 3.11+.

    python3 dev.py run     # virtualenv, install, demo town, serve on 127.0.0.1:5000
    python3 dev.py test    # virtualenv, install with test extras, the layers check, the suite
    python3 dev.py bench   # run the benchmarks under bench/ and print one table
    python3 dev.py bench --db postgresql   # the same on PostgreSQL (127.0.0.1:5432)
    python3 dev.py --help  # this text

Extra arguments go to the underlying command (``tracker run`` or pytest).
``python3 dev.py test --at "2027-01-04 02:00"`` runs the suite with the clock set to that
UTC instant (Debian's faketime), to check that it keeps its meaning on any day.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def say(message):
    print(f"[dev] {message}", flush=True)


def ensure_env(extras: str = "") -> None:
    """Create .venv and install the project into it when setup.cfg changed."""
    if sys.version_info < (3, 11):
        sys.exit(f"tracker needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    python = BIN / "python"
    if not python.exists():
        say(f"creating the virtualenv in {VENV}")
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256()
    for name in ("setup.cfg", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed{extras or '-app'}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    say("installing tracker and its dependencies (once, and again when setup.cfg changes)")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
                   check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-e", f".{extras}"],
                   check=True, cwd=ROOT)
    stamp.write_text(digest.hexdigest())


#: Debian packages the 工作台账 PDF needs (WeasyPrint: Pango, HarfBuzz's subsetter, a font
#: that carries Chinese), and those its tests read it back with.
PDF_PACKAGES = {"libpango-1.0-0": "pango-1.0", "libpangoft2-1.0-0": "pangoft2-1.0",
                "libharfbuzz-subset0": "harfbuzz-subset"}
TEST_PACKAGES = {"poppler-utils": "pdftotext"}


def missing_packages(testing: bool) -> list[str]:
    """The Debian packages of PDF_PACKAGES (and TEST_PACKAGES) not installed here."""
    from ctypes.util import find_library

    missing = [name for name, library in PDF_PACKAGES.items() if not find_library(library)]
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,
                           text=True).stdout if shutil.which("fc-list") else ""
    if not fonts.strip():
        missing += ["fontconfig", "fonts-noto-cjk"]
    if testing:
        missing += [name for name, tool in TEST_PACKAGES.items() if not shutil.which(tool)]
    return missing


def ensure_system(testing: bool = False) -> None:
    """Install the missing Debian packages where we may (root with apt-get); else say which
    to install: without them the app runs, but cannot make the 工作台账 PDF."""
    missing = missing_packages(testing)
    if not missing:
        return
    if os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"installing Debian packages for the PDF binder: {' '.join(missing)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env)
        if subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env,
                          stdout=subprocess.DEVNULL).returncode == 0:
            return
    say(f"the PDF binder (工作台账) needs Debian packages not installed here; install them "
        f"with: sudo apt-get install {' '.join(missing)}")


def run(args):
    ensure_env()
    ensure_system()
    tracker = str(BIN / "tracker")
    say("setting up the demo town (SQLite database in instance/)")
    subprocess.run([tracker, "demo"], check=True, cwd=ROOT)
    say("serving on http://127.0.0.1:5000 with the reminder scheduler; mails are written "
        "to instance/outbox/ (Ctrl+C stops)")
    os.chdir(ROOT)
    os.environ.setdefault("TRACKER_SCHEDULER_ENABLED", "1")
    os.execv(tracker, [tracker, "run", "--host", "127.0.0.1", "--port", "5000", *args])


def test(args):
    """The layers contract (import-linter), then pytest; ``--at INSTANT`` fakes the clock."""
    ensure_env("[test]")
    ensure_system(testing=True)
    os.chdir(ROOT)
    lint = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], capture_output=True,
                          text=True)
    if lint.returncode:
        print(lint.stdout[lint.stdout.find("Broken contracts"):] or lint.stdout, lint.stderr)
        sys.exit("[dev] lint-imports: an import runs up the layers (see setup.cfg)")
    say("lint-imports: the layers contract is kept")
    python = str(BIN / "python")
    command = [python, "-m", "pytest"]
    if args[:1] == ["--at"]:
        if len(args) < 2 or not shutil.which("faketime"):
            sys.exit("[dev] --at needs an instant and Debian's faketime (apt-get install faketime)")
        say(f"the clock reads {args[1]} UTC for this run")
        os.environ["TZ"] = "UTC"
        command = ["faketime", args[1], *command]
        args = args[2:]
    os.execvp(command[0], [*command, *args])


def bench(args):
    """Run every benchmark (or those named), then print one table of all figures.

    ``--db postgresql`` runs them on scratch databases of the PostgreSQL server on
    127.0.0.1:5432 (user postgres; ``TRACKER_BENCH_PG`` for another server URL)."""
    ensure_env("[test]")
    if args[:1] == ["--db"]:
        if len(args) < 2 or args[1] not in ("sqlite", "postgresql"):
            sys.exit("[dev] --db takes sqlite or postgresql")
        os.environ["TRACKER_BENCH_DB"] = args[1]
        args = args[2:]
    scripts = sorted((ROOT / "bench").glob("bench_*.py"))
    if args:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args]
    names = []
    for script in scripts:
        say(f"running {script.name}")
        subprocess.run([str(BIN / "python"), str(script)], cwd=ROOT)
        names.append(script.stem.removeprefix("bench_"))
    sys.exit(subprocess.run([str(BIN / "python"), str(ROOT / "bench" / "summary.py"), *names],
                            cwd=ROOT).returncode)


COMMANDS = {"run": run, "test": test, "bench": bench}

if __name__ == "__main__":
    if sys.argv[1:2] in (["-h"], ["--help"], ["help"]):
        print(__doc__.strip())
        sys.exit(0)
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    COMMANDS[sys.argv[1]](sys.argv[2:])
