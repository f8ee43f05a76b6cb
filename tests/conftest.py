"""Shared fixtures: admin app and client, a live admin under gunicorn, kiosk processes, a
local SMTP server and headless Chromium. The helpers behind them live in tests/support."""
import subprocess
from pathlib import Path

import pytest

from tests.support.live import CHROMIUM, CHROMIUM_ARGS, ROOT, Kiosk, LiveAdmin, Processes, free_port, make_staff
from tests.support.site import Inbox, make_site, ram_dir

pytest_plugins = ["tests.pcscd"]  # the pcscd fixture, with the virtual smart-card reader behind it


@pytest.fixture
def admin_app(tmp_path):
    """The admin app over a fresh database file."""
    from admin import create_app
    return create_app({"ADMIN_DB": str(tmp_path / "admin.sqlite"), "SECRET_KEY": "test",
                       "TESTING": True})


@pytest.fixture
def client(admin_app):
    """A test client of the admin app."""
    return admin_app.test_client()


@pytest.fixture
def runner(admin_app):
    """A CLI runner of the admin app."""
    return admin_app.test_cli_runner()


@pytest.fixture
def tokens(runner):
    """A bearer token per role."""
    return {role: make_staff(runner, f"{role}@example.test", role)
            for role in ("admin", "coordinator", "lifecoach", "physio")}


@pytest.fixture
def procs(tmp_path):
    """Start processes; all are stopped when the test ends."""
    p = Processes(tmp_path)
    yield p
    p.stop_all()


@pytest.fixture
def live_admin(procs, tmp_path):
    """A live admin with a programme in session (see LiveAdmin.setup_programme)."""
    return LiveAdmin(procs, tmp_path).setup_programme()


@pytest.fixture
def make_kiosk(procs, tmp_path):
    """Factory for kiosks: make_kiosk(admin, role='checkin', ...)."""
    def make(admin, **kwargs):
        return Kiosk(procs, tmp_path, admin, **kwargs)
    return make


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """The wheel `make dist` builds from this tree, built once per test run."""
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "dist", f"DIST={dist}"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    wheels = list(dist.glob("fitwerk-*.whl"))
    assert len(wheels) == 1 and list(dist.glob("fitwerk-*.tar.gz")), sorted(dist.iterdir())
    return wheels[0]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium missing: `make test` installs it (Debian package chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_at(browser):
    """page_at(width, height): a new page of that size; closed after the test."""
    contexts = []

    def make(width=800, height=480):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def smtp_server():
    """A local SMTP server on 127.0.0.1 (aiosmtpd); yields its Inbox with `.port`."""
    from aiosmtpd.controller import Controller
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def site():
    """The staff site in-process with staff of every role, a group in session and two people
    (see tests.support.site.make_site)."""
    with ram_dir() as path:
        yield make_site(path)
