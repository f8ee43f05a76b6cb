"""The wheel `make dist` builds: htmx, its SSE extension, schema.sql and the compiled
translations inside, and both apps running from a fresh virtualenv outside the source
tree (no Node, no make, no checkout), as systemd/install.sh installs them on a Pi."""
import os
import subprocess
import sys
import tomllib
import zipfile

import pytest
import requests

from tests.support.live import PASSWORD, ROOT, Processes, free_port, wait_for

pytestmark = pytest.mark.slow
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
VENDORED = {"htmx.min.js": ROOT / "node_modules/htmx.org/dist/htmx.min.js",
            "sse.min.js": ROOT / "node_modules/htmx-ext-sse/dist/sse.min.js"}


@pytest.fixture(scope="module")
def built(wheel, tmp_path_factory):
    """The wheel `make dist` built, installed into a fresh venv outside the source tree."""
    base = tmp_path_factory.mktemp("wheel")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin/pip"), "install", "--quiet", str(wheel)], cwd=base, check=True,
                   capture_output=True, timeout=600)
    run = base / "run"   # the apps' working directory: nothing of the source tree in it
    run.mkdir()
    return {"wheel": wheel, "venv": venv, "run": run}


def test_the_wheel_carries_htmx_the_sse_extension_the_schema_and_the_translations(built):
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
        for app in ("admin", "kiosk"):
            for name, source in VENDORED.items():
                assert wheel.read(f"{app}/static/vendor/{name}") == source.read_bytes()
        assert wheel.read("common/schema.sql") == (ROOT / "schema.sql").read_bytes()
    assert built["wheel"].name == f"fitwerk-{VERSION}-py3-none-any.whl"
    catalogues = {str(po.relative_to(ROOT).with_suffix(".mo")) for po in ROOT.glob("common/translations/*/LC_MESSAGES/*.po")}
    assert catalogues <= names
    assert not {name.split("/")[0] for name in names} & {"tests", "bench", "node_modules", "systemd"}


def test_the_installed_package_is_the_wheel_not_the_source_tree(built):
    out = subprocess.run([str(built["venv"] / "bin/python"), "-c",
                          "import admin, kiosk, common; print(admin.__file__, kiosk.__file__, common.__version__)"],
                         cwd=built["run"], env=clean_env(), capture_output=True, text=True, check=True).stdout.split()
    assert all(path.startswith(str(built["venv"])) for path in out[:2]), out
    assert out[2] == VERSION


def clean_env(**extra):
    """This environment without anything that could point Python back at the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "FLASK_APP")}
    return {**env, **extra}


def test_both_apps_run_from_the_wheel_and_serve_htmx(built, tmp_path):
    venv, run = built["venv"], built["run"]
    procs = Processes(tmp_path)
    admin_env = clean_env(ADMIN_DB=str(tmp_path / "admin.sqlite"), SECRET_KEY="wheel-test")

    def flask(*args, stdin=None):
        result = subprocess.run([str(venv / "bin/flask"), "--app", "admin", *args], cwd=run, env=admin_env,
                                input=stdin, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    try:
        flask("init-db")
        flask("create-user", "beheer@example.test", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
        kiosk_token = flask("add-kiosk", "Entree", "--location", "Sporthal Noord")
        admin_url = f"http://127.0.0.1:{free_port()}"
        procs.start("admin", [str(venv / "bin/gunicorn"), "--bind", admin_url[7:], "--workers", "2",
                              "--threads", "4", "admin:create_app()"], admin_env, cwd=run)
        wait_for(lambda: up(admin_url + "/login"), 30, message="admin from the wheel")

        staff = requests.Session()
        login = staff.get(admin_url + "/login", timeout=10).text
        assert f"fitwerk {VERSION}</footer>" in login
        assert staff.post(admin_url + "/login", data={"email": "beheer@example.test", "password": PASSWORD},
                          timeout=10).status_code == 200   # followed to the board
        board = staff.get(admin_url + "/board", timeout=10)
        assert board.ok and "/static/vendor/htmx.min.js" in board.text
        assert_serves_vendored(admin_url, ("htmx.min.js",))

        kiosk_url = f"http://127.0.0.1:{free_port()}"
        kiosk_env = clean_env(KIOSK_DB=str(tmp_path / "kiosk.sqlite"), KIOSK_ADMIN_URL=admin_url,
                              KIOSK_TOKEN=kiosk_token, KIOSK_HEARTBEAT_S="1", KIOSK_NFC="udp:127.0.0.1:9")
        procs.start("screen", [str(venv / "bin/gunicorn"), "--bind", kiosk_url[7:], "--worker-class", "gthread",
                               "--threads", "8", "kiosk:create_app()"], kiosk_env, cwd=run)
        procs.start("sync", [str(venv / "bin/flask"), "--app", "kiosk", "sync"], kiosk_env, cwd=run)
        wait_for(lambda: up(kiosk_url + "/status.json"), 30, message="kiosk screen from the wheel")
        page = requests.get(kiosk_url + "/", timeout=10).text
        assert "vendor/htmx.min.js" in page and "vendor/sse.min.js" in page
        assert_serves_vendored(kiosk_url, VENDORED)
        # The sync process from the wheel reaches the admin from the wheel.
        status = wait_for(lambda: (s := requests.get(kiosk_url + "/status.json", timeout=5).json())["sync"][
            "server_reachable"] and s, 30, message="kiosk sync to reach the admin")
        assert status["version"] == VERSION and status["kiosk_id"]
    finally:
        procs.stop_all()
    for name in ("admin", "screen", "sync"):
        assert "Traceback" not in procs.log(name), procs.log(name)


def up(url):
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def assert_serves_vendored(url, names):
    for name in names:
        response = requests.get(f"{url}/static/vendor/{name}", timeout=10)
        assert response.status_code == 200 and response.content == VENDORED[name].read_bytes(), name
