"""Real processes on 127.0.0.1 for the benchmarks. The admin under gunicorn, the kiosk's
screen/reader/sync and the process bookkeeping are the test suite's own (tests/support/live.py);
this adds what only benchmarks need: the admin with its production gunicorn settings and
an access log, kiosks in folders of their own, a logged-in staff browser session, headless
Chromium, and the memory of a process tree."""
import contextlib
import re
import time
from pathlib import Path
from types import SimpleNamespace

import requests

# Processes, PASSWORD, TZ and wait_for are used by the benchmark modules through this one.
from tests.support.live import BIN, CHROMIUM, CHROMIUM_ARGS, PASSWORD, TZ, Kiosk, LiveAdmin, Processes, wait_for  # noqa: F401

# As systemd/fitwerk-admin.service runs it.
ADMIN_GUNICORN = ["--workers", "2", "--worker-class", "gthread", "--threads", "16"]
ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(D)s"  # method, path, status, microseconds


class BenchAdmin(LiveAdmin):
    """LiveAdmin with production gunicorn settings and an access log of server times."""

    def __init__(self, procs, workdir, db=None):
        super().__init__(procs, workdir)
        if db is not None:
            self.db = Path(db)
            self.env["ADMIN_DB"] = str(self.db)
        self.access_log = workdir / "admin-access.log"

    def start(self):
        """Start gunicorn as in production and wait until it answers."""
        self.procs.start("admin", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", *ADMIN_GUNICORN,
                                   "--graceful-timeout", "2", "--access-logfile", str(self.access_log),
                                   "--access-logformat", ACCESS_FORMAT, "admin:create_app()"], self.env)
        wait_for(self._up, 30, message="admin to answer")

    def staff_session(self, email, password=PASSWORD):
        """A requests.Session logged in through POST /login (the staff site's cookie)."""
        http = requests.Session()
        response = http.post(f"{self.url}/login", data={"email": email, "password": password},
                             allow_redirects=False, timeout=30)
        if response.status_code != 302:
            raise RuntimeError(f"login as {email} answered {response.status_code}")
        return http

    def server_times(self, path_prefix, since=0):
        """(status, milliseconds) of requests to paths starting with `path_prefix`, from the
        access log, skipping its first `since` lines."""
        if not self.access_log.exists():
            return []
        found = []
        for line in self.access_log.read_text().splitlines()[since:]:
            parts = line.split()
            if len(parts) == 4 and parts[1].startswith(path_prefix):
                found.append((int(parts[2]), int(parts[3]) / 1000))
        return found

    def access_lines(self):
        """How many requests the access log holds so far."""
        return len(self.access_log.read_text().splitlines()) if self.access_log.exists() else 0


def kiosk_in(procs, folder, admin_url, token, **env):
    """A kiosk (tests.support.live.Kiosk) with its database in a folder of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    return Kiosk(procs, folder, SimpleNamespace(url=admin_url, kiosk_token=token),
                 extra_env={"KIOSK_HEARTBEAT_S": "5", **env})


def programme_with_kiosk(procs, workdir, people):
    """A live admin with `people` in a session now, and a check-in kiosk (schema made, nothing started)."""
    from kiosk import store
    admin = BenchAdmin(procs, workdir).setup_programme(people=people)
    kiosk = kiosk_in(procs, workdir / "kiosk", admin.url, admin.kiosk_token)
    store.open_db(kiosk.db).close()
    return admin, kiosk


@contextlib.contextmanager
def chromium():
    """Headless Debian Chromium driven by Playwright, with the test suite's settings."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _children():
    kids = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after its closing one.
        fields = text[text.rindex(")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return kids


def tree(pid):
    """A process and all its descendants."""
    kids, found, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(kids.get(current, []))
    return found


def memory_mb(pids):
    """(RSS, PSS) in MB summed over `pids`: RSS counts shared pages in every process, PSS
    shares them out, so the two bracket what the processes really cost."""
    rss = pss = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        rss += int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
        pss += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))
    return rss / 1024, pss / 1024


def board_version(html):
    """The `v` fingerprint a board page or fragment carries (data-version), or None."""
    marker = 'data-version="'
    start = html.find(marker)
    return html[start + len(marker):html.index('"', start + len(marker))] if start >= 0 else None


def ms_since(start):
    """Milliseconds since a time.perf_counter() value."""
    return (time.perf_counter() - start) * 1000


def timed_get(http, url, **kwargs):
    """(response, milliseconds) of one GET; the body is read in full."""
    start = time.perf_counter()
    response = http.get(url, timeout=30, **kwargs)
    _ = response.content
    return response, ms_since(start)
