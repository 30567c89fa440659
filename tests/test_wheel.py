"""The wheel: built from the checkout, installed (not editable) into a fresh virtualenv,
served from a folder outside the checkout: its pages, stylesheet, translations, plans and
migrations all come from the installed package."""

import os
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.headers, response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A virtualenv outside the checkout with the wheel installed; returns its bin folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(tmp / "dist"), str(ROOT)], check=True, cwd=tmp)
    wheel, = (tmp / "dist").glob("tracker-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, cwd=tmp)
    # The dependencies come from the test environment (appended after the new venv's own
    # site-packages, so the wheel's tracker is the one imported; .pth files of the test
    # environment, such as the editable install's finder, are not run from there).
    site = Path(subprocess.run([str(bin_dir / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return tmp, bin_dir


def test_the_installed_wheel_serves_pages_and_static_files(installed):
    tmp, bin_dir = installed
    env = {**os.environ, "TRACKER_INSTANCE_PATH": str(tmp / "instance"),
           "TRACKER_SECRET_KEY": "wheel-test", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    where = subprocess.run([str(bin_dir / "python"), "-c", "import tracker; print(tracker.__file__)"],
                           check=True, capture_output=True, text=True, cwd=tmp, env=env)
    assert where.stdout.startswith(str(tmp / "venv")), where.stdout
    assert str(ROOT) not in where.stdout

    tracker = str(bin_dir / "tracker")
    subprocess.run([tracker, "init-db"], check=True, cwd=tmp, env=env, capture_output=True)
    shown = subprocess.run([tracker, "plan", "show", "shuyuan-2020"], check=True, cwd=tmp,
                           env=env, capture_output=True, text=True)
    assert "Rubric: 100 points, 32 rows" in shown.stdout

    port = _free_port()
    server = subprocess.Popen([tracker, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                              cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        status, headers, body = _get(f"http://127.0.0.1:{port}/login")
        assert status == 200 and "<form" in body.decode()
        # The catalog is in the wheel too: the default locale is Chinese.
        assert "登录" in body.decode()
        status, headers, css = _get(f"http://127.0.0.1:{port}/static/style.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert css == (ROOT / "static" / "style.css").read_bytes()
        # The installable app: its worker, its icons (a subfolder of static/), its manifest.
        status, headers, worker = _get(f"http://127.0.0.1:{port}/sw.js")
        assert status == 200 and worker.endswith((ROOT / "static" / "sw.js").read_bytes())
        status, headers, icon = _get(f"http://127.0.0.1:{port}/static/icons/maskable-512.png")
        assert icon == (ROOT / "static" / "icons" / "maskable-512.png").read_bytes()
        status, headers, manifest = _get(f"http://127.0.0.1:{port}/manifest.webmanifest")
        assert status == 200 and "工作计划跟踪系统" in manifest.decode()
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert b"Traceback" not in errors, errors.decode(errors="replace")
