"""Helpers the tests and the benchmarks share: real processes (the admin under gunicorn, a
kiosk's screen, reader and sync), waiting, ports, slots in session now, screenshots. No
pytest in here, so `python -m bench` runs without it."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
BIN = Path(sys.executable).parent
TZ = ZoneInfo("Europe/Amsterdam")
PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


def free_port(kind=socket.SOCK_STREAM):
    """A port nobody listens on right now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.05, message="condition"):
    """Poll until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def session_slot_now(minutes_before=5, minutes_after=120):
    """A weekly slot {weekday, start, end} running now in Amsterdam (within one day)."""
    now = datetime.now(TZ)
    if now.hour == 23 and now.minute >= 56:
        # Sessions do not cross midnight: wait for the new day rather than make a flaky slot.
        time.sleep((60 - now.minute) * 60 - now.second + 5)
        now = datetime.now(TZ)
    start = max(now - timedelta(minutes=minutes_before), now.replace(hour=0, minute=0))
    end = min(now + timedelta(minutes=minutes_after), now.replace(hour=23, minute=59))
    return {"weekday": now.weekday(), "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}


def passed_grace_slot(minutes_before=40, grace=10):
    """A slot that started `minutes_before` ago (at midnight at the earliest) and a grace
    period that has already ended: (slot, grace_minutes)."""
    now = datetime.now(TZ)
    if now.hour == 0 and now.minute < 2:
        time.sleep(125 - now.minute * 60 - now.second)  # a minute or two after midnight: wait
        now = datetime.now(TZ)
    elapsed = min(minutes_before, now.hour * 60 + now.minute)
    return session_slot_now(minutes_before=minutes_before), min(grace, elapsed - 1)


def make_staff(runner, email, role):
    """Create a staff account and return a bearer token for it."""
    result = runner.invoke(args=["create-user", email, "--role", role, "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-token", email])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def db_rows(path, sql, *args):
    """Rows of a query on a database file, as dicts, read directly."""
    from common.db import connect
    conn = connect(path)
    try:
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def auth(token):
    """Authorization header for a bearer token."""
    return {"Authorization": f"Bearer {token}"}


class Processes:
    """Subprocesses started by a test, with their logs, all stopped at teardown."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = {}

    def start(self, name, args, env=None, cwd=ROOT):
        """Start a process (in the source tree unless `cwd`); its output goes to <workdir>/<name>.log."""
        log = open(self.workdir / f"{name}.log", "ab")
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        proc = subprocess.Popen(args, cwd=cwd, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def stop(self, name, sig=signal.SIGTERM, timeout=10):
        """Stop a process (and its children) with `sig`, waiting for it."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def log(self, name):
        """A process's output so far."""
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self):
        """Stop everything still running."""
        for name in list(self.procs):
            self.stop(name)


class LiveAdmin:
    """The admin under gunicorn on 127.0.0.1, with a kiosk, a group in session and people."""

    def __init__(self, procs, tmp_path):
        self.procs = procs
        self.db = tmp_path / "admin.sqlite"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"ADMIN_DB": str(self.db), "SECRET_KEY": "live-test", "FLASK_APP": "admin"}

    def flask(self, *args, input=None):
        """Run `flask --app admin ARGS`; returns stdout."""
        result = subprocess.run([str(BIN / "flask"), "--app", "admin", *args], cwd=ROOT, input=input,
                                capture_output=True, text=True, env={**os.environ, **self.env}, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def start(self):
        """Start gunicorn and wait until it answers."""
        self.procs.start("admin", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
                                   "--threads", "4", "--keep-alive", "5", "--graceful-timeout", "2",
                                   "admin:create_app()"], self.env)
        wait_for(self._up, 20, message="admin to answer")

    def _up(self):
        try:
            return requests.get(f"{self.url}/api/v1/openapi.json", timeout=1).ok
        except requests.RequestException:
            return False

    def stop(self, sig=signal.SIGTERM):
        """Stop gunicorn."""
        self.procs.stop("admin", sig)

    def api(self, method, path, **kwargs):
        """A staff API call as admin; returns the response."""
        return requests.request(method, f"{self.url}/api/v1{path}", headers=auth(self.token), timeout=10, **kwargs)

    def setup_programme(self, people=("Anoeshka", "Mohamed"), location="Rotterdam-Zuid", slot=None, grace=10,
                        sessions=None):
        """Init the DB, an admin token, a kiosk, a group in session now (or with `sessions`),
        people with badges."""
        self.flask("init-db")
        self.flask("create-user", "beheer@example.test", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
        self.token = self.flask("create-token", "beheer@example.test").strip().splitlines()[-1]
        out = self.flask("add-kiosk", "kiosk-1", "--location", location).strip().splitlines()
        self.kiosk_token = out[-1]
        self.kiosk_id = out[0].rsplit(" ", 1)[-1]
        self.location = location
        today = datetime.now(TZ).date()
        self.start()
        r = self.api("POST", "/groups", json={"name": "Groep B", "location": location,
                                               "starts_on": (today - timedelta(days=14)).isoformat(),
                                               "weeks": 12, "grace_minutes": grace,
                                               "sessions": sessions or [slot or session_slot_now()]})
        assert r.status_code == 201, r.text
        self.group_id = r.json()["id"]
        self.people = {}
        for i, name in enumerate(people):
            uid = f"01010501B00A{i + 1:04X}"
            r = self.api("POST", "/participants", json={"first_name": name, "last_name": "Test",
                                                        "group_id": self.group_id, "badge_uid": uid})
            assert r.status_code == 201, r.text
            self.people[name] = {"id": r.json()["id"], "uid": uid}
        return self

    def staff_site(self, email, password=PASSWORD):
        """A requests session logged in to the staff site, with its CSRF token as `.csrf`."""
        import re
        session = requests.Session()
        r = session.post(f"{self.url}/login", data={"email": email, "password": password}, timeout=10)
        assert r.ok and "/login" not in r.url, r.status_code
        session.csrf = re.search(r'name="csrf_token" value="([^"]+)"', session.get(f"{self.url}/account").text)[1]
        return session

    def set_pin(self, email, pin, password=PASSWORD):
        """Set a staff member's station PIN on the staff site, as they would."""
        site = self.staff_site(email, password)
        r = site.post(f"{self.url}/account/pin", data={"csrf_token": site.csrf, "current_password": password,
                                                         "pin": pin, "repeat_pin": pin}, timeout=10)
        assert r.ok and "Pincode opgeslagen" in r.text, r.text[-500:]

    def station_token(self):
        """The token of this location's intake station, registered on first use."""
        if not getattr(self, "_station_token", None):
            self._station_token = self.flask("add-kiosk", "station-1", "--location", self.location,
                                             "--role", "station").strip().splitlines()[-1]
        return self._station_token

    def status_of(self, name):
        """A participant's status today, from /api/v1/attendance."""
        r = self.api("GET", "/attendance")
        assert r.ok, r.text
        for session in r.json()["sessions"]:
            for p in session["participants"]:
                if p["participant_id"] == self.people[name]["id"]:
                    return p["status"]
        return None

    def checkins(self):
        """Today's check-ins as the API lists them."""
        r = self.api("GET", "/checkins")
        assert r.ok, r.text
        return r.json()["checkins"]


class Kiosk:
    """A kiosk's processes on this machine: screen, reader, sync."""

    def __init__(self, procs, tmp_path, admin, role="checkin", nfc=None, extra_env=None):
        self.procs, self.admin = procs, admin
        self.db = tmp_path / f"kiosk-{role}.sqlite"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.nfc_port = free_port(socket.SOCK_DGRAM)
        self.env = {"KIOSK_DB": str(self.db), "KIOSK_ROLE": role,
                    "KIOSK_NFC": nfc or f"udp:127.0.0.1:{self.nfc_port}",
                    "KIOSK_ADMIN_URL": admin.url if admin else "http://127.0.0.1:9",
                    "KIOSK_TOKEN": (admin.station_token() if role == "station" else admin.kiosk_token)
                    if admin else "none", "KIOSK_HEARTBEAT_S": "1",
                    **(extra_env or {})}
        self.role = role

    def start_screen(self, name=None, env=None):
        """The screen under gunicorn, as on the Pi. With a `name`, one more screen process over
        the same database on a port of its own (`env`: another language, say); returns its URL."""
        port = free_port() if name else self.port
        self.procs.start(f"screen-{name or self.role}", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                                                         "--worker-class", "gthread", "--threads", "8",
                                                         "--graceful-timeout", "1", "kiosk:create_app()"],
                         {**self.env, **(env or {})})
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: self._up(url), 20, message="kiosk screen")
        return url

    def _up(self, url=None):
        try:
            return requests.get(f"{url or self.url}/status.json", timeout=1).ok
        except requests.RequestException:
            return False

    def start_reader(self, env=None):
        """`flask --app kiosk reader` (`env`: extra variables for it alone)."""
        self.procs.start(f"reader-{self.role}", [str(BIN / "flask"), "--app", "kiosk", "reader"],
                         {**self.env, **(env or {})})

    def stop_reader(self):
        """Stop the reader process."""
        self.procs.stop(f"reader-{self.role}")

    def start_sync(self, name=None, env=None):
        """`flask --app kiosk sync`."""
        return self.procs.start(name or f"sync-{self.role}", [str(BIN / "flask"), "--app", "kiosk", "sync"],
                                {**self.env, **(env or {})})

    def stop_sync(self, name=None, sig=signal.SIGTERM):
        """Stop the sync process."""
        self.procs.stop(name or f"sync-{self.role}", sig)

    def status(self):
        """/status.json of the screen process."""
        return requests.get(f"{self.url}/status.json", timeout=5).json()

    def db_rows(self, sql, *args):
        """Rows from the kiosk database, read directly."""
        return db_rows(self.db, sql, *args)

    def badges_known(self):
        """How many badges the kiosk holds (0 while the sync process is still creating the schema)."""
        try:
            return len(self.db_rows("SELECT uid FROM roster_badges")) if self.db.exists() else 0
        except sqlite3.OperationalError:
            return 0

    def wait_reader_ok(self, timeout=20):
        """Until the reader process reports its reader ok (read from the kiosk database)."""
        def ok():
            try:
                return self.db.exists() and self.db_rows(
                    "SELECT 1 FROM process_status WHERE name = 'reader' AND state = 'ok'")
            except sqlite3.OperationalError:
                return False
        wait_for(ok, timeout, message="reader ok")

    def wait_roster(self, timeout=20, badges=1):
        """Until the sync process has pulled a roster with at least `badges` badges."""
        wait_for(lambda: self.badges_known() >= badges, timeout, message="roster on the kiosk")


def tap(kiosk, uid):
    """Capture a tap straight into the kiosk database, as the reader process does."""
    from kiosk import store
    conn = store.open_db(kiosk.db)
    try:
        return store.capture_tap(conn, uid)
    finally:
        conn.close()


def tap_with_clock_at(kiosk, card, name, uid, at):
    """Tap `uid` on a reader whose wall clock is frozen at `at` (synced); returns the kiosk's
    local check-in row {result, at} for `name`. The reader is left running."""
    kiosk.start_reader(env={"FITWERK_CLOCK_FROZEN_AT": at.isoformat(), "FITWERK_CLOCK_SYNCED": "1"})
    kiosk.wait_reader_ok()
    card.tap(uid)
    wait_for(lambda: kiosk.db_rows("SELECT result, at FROM local_checkins WHERE first_name = ?", name),
             message=f"{name}'s tap on the kiosk")
    (row,) = kiosk.db_rows("SELECT result, at FROM local_checkins WHERE first_name = ?", name)
    return row


def screenshot(page, name):
    """Keep a screenshot as a test artefact under tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def dump(obj):
    """Pretty JSON for assertion messages."""
    return json.dumps(obj, indent=1, default=str)


def registered_long_ago(admin):
    """The kiosk was added before the programme began: a synced clock from two weeks back is
    then believable (a record from before its kiosk existed is flagged and never counts)."""
    from common.db import connect
    conn = connect(admin.db)
    try:
        conn.execute("UPDATE kiosks SET created_at = '2000-01-01T00:00:00.000+00:00'")
    finally:
        conn.close()


def attendance(admin, day):
    """{(first name, session start HH:MM): status} from /api/v1/attendance."""
    r = admin.api("GET", f"/attendance?date={day.isoformat()}")
    assert r.ok, r.text
    return {(p["first_name"], s["start"][11:16]): p["status"] for s in r.json()["sessions"] for p in s["participants"]}
