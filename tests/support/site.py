"""Helpers for the admin-site tests: an app over a fresh database with staff, groups and
people; logged-in test clients with their CSRF token; a real SMTP server (aiosmtpd);
and kiosk pushes in the wire format of common/protocol.py."""
import email
import email.policy
import os
import re
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from admin.auth import SYSTEM
from common.db import connect
from tests.support.live import PASSWORD, session_slot_now

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def ram_dir():
    """A temporary directory in RAM when the machine has /dev/shm: the database commits
    with synchronous=FULL, and fsync on a disk would make these tests crawl."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="fitwerk-test-", dir=base) as path:
        yield Path(path)


class Site:
    """The admin app in-process, with helpers to fill it."""

    def __init__(self, tmp_path, **config):
        from admin import create_app
        self.db = tmp_path / "admin.sqlite"
        self.app = create_app({"ADMIN_DB": str(self.db), "SECRET_KEY": "test", "TESTING": True, **config})

    def conn(self):
        """A fresh connection to the admin database (close it, or use sql())."""
        return connect(self.db)

    def flask(self, *args, env=None):
        """`flask --app admin ARGS` in a process of its own on this database; the CompletedProcess."""
        import subprocess

        from tests.support.live import BIN, ROOT
        return subprocess.run([str(BIN / "flask"), "--app", "admin", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "ADMIN_DB": str(self.db),
                                                          "SECRET_KEY": "test", **(env or {})})

    def sql(self, query, *args):
        """Run one statement; returns the rows as dicts."""
        conn = self.conn()
        try:
            return [dict(r) for r in conn.execute(query, args)]
        finally:
            conn.close()

    def staff(self, email_address, role, name="", phone="", notify=True):
        """Create a staff account (password PASSWORD); returns its id."""
        from admin.auth import hash_password
        conn = self.conn()
        try:
            return conn.execute(
                "INSERT INTO staff(email, name, phone, role, password_hash, notify_email, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (email_address, name, phone, role, hash_password(PASSWORD), int(notify),
                 datetime.now(timezone.utc).isoformat())).lastrowid
        finally:
            conn.close()

    def login(self, email_address, password=PASSWORD):
        """A test client logged in as that staff member, with `.csrf` set."""
        client = self.app.test_client()
        response = client.post("/login", data={"email": email_address, "password": password})
        assert response.status_code == 302, response.data[:500]
        client.csrf = csrf_of(client)
        return client

    def _with_request(self, fn, *args):
        with self.app.app_context():
            from admin.db import get_db
            return fn(get_db(), *args)

    def group(self, name="Groep B", location="Rotterdam-Zuid", slot=None, grace=0, starts_on=None):
        """A group whose session runs now (by default started 30 minutes ago, no grace)."""
        from datetime import date, timedelta

        from admin import programme
        body = {"name": name, "location": location,
                "starts_on": starts_on or (date.today() - timedelta(days=14)).isoformat(),
                "weeks": 12, "grace_minutes": grace, "sessions": [slot or session_slot_now(minutes_before=30)]}
        return self._with_request(programme.create_group, body, "Europe/Amsterdam")

    def participant(self, first_name, group_id, lifecoach_id=None, phone="06-12345678", badge_uid=None,
                    last_name="Test"):
        """Enrol a participant; returns the id."""
        from admin import programme
        body = {"first_name": first_name, "last_name": last_name, "group_id": group_id, "phone": phone,
                "lifecoach_id": lifecoach_id}
        if badge_uid:
            body["badge_uid"] = badge_uid
        participant_id = self._with_request(programme.create_participant, SYSTEM, body)
        # Enrolled well before today, so the whole programme counts as theirs.
        self.sql("UPDATE participants SET created_at = '2000-01-01T00:00:00+00:00' WHERE id = ?", participant_id)
        return participant_id

    def kiosk(self, name="kiosk-1", location="Rotterdam-Zuid"):
        """Register a kiosk; returns (id, token)."""
        from admin import programme
        return self._with_request(programme.add_kiosk, name, location)

    def kiosk_delivered(self, kiosk_id):
        """As if the kiosk just synced: everything it captured up to now is here."""
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self.sql("UPDATE kiosks SET watermark_at = ?, last_heard_at = ?, pending = 0, clock_offset_s = 0.2 "
                 "WHERE id = ?", now, now, kiosk_id)

    def measurement(self, participant_id, kiosk_id, at, values, sources=None, moment="other"):
        """A measurement as the sync ingest stores it."""
        import json
        self.sql("INSERT INTO measurements(id, kiosk_id, generation, seq, participant_id, taken_by, moment, "
                 "values_json, sources_json, at, time_source, kiosk_wall_at, received_at) "
                 "VALUES (?, ?, 'g', (SELECT coalesce(max(seq), 0) + 1 FROM measurements), ?, NULL, ?, ?, ?, ?, "
                 "'synced', ?, ?)",
                 str(uuid.uuid4()), kiosk_id, participant_id, moment, json.dumps(values),
                 json.dumps(sources or {"scale": {"driver": "tanita-bc418", "device_model": "BC-418",
                                                  "device_serial": "SN-4711"}}), at, at, at)


def csrf_of(client):
    """The CSRF token of a logged-in client's session, read from a page as a browser would."""
    page = client.get("/account").get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def post(client, url, data=None, htmx=False):
    """A form POST with the client's CSRF token (as the page's hidden field)."""
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data={"csrf_token": client.csrf, **(data or {})}, headers=headers)


# --- kiosk pushes -----------------------------------------------------------------

class KioskPusher:
    """Sends /api/v1/sync/push bodies as a kiosk does: heartbeats and check-ins."""

    def __init__(self, post_json, token):
        self.post_json, self.token = post_json, token
        self.generation, self.boot_id = uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
        self.seq = 0
        self.t0 = time.monotonic() - 1000.0

    def _body(self, records):
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        boot_s = time.monotonic() - self.t0
        return {"generation": self.generation, "boot_id": self.boot_id, "boot_s": boot_s, "clock": now,
                "clock_synced": True, "pending": 0, "role": "checkin",
                "captured_through": {"clock": now, "boot_s": boot_s}, "records": records}

    def heartbeat(self):
        """An empty push: everything captured up to now is delivered."""
        return self.post_json("/api/v1/sync/push", self._body([]), self.token)

    def checkin(self, uid, result="on_time"):
        """One tap, delivered at once."""
        self.seq += 1
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        record = {"id": str(uuid.uuid4()), "seq": self.seq, "kind": "checkin", "wall_at": now,
                  "clock_synced": True, "boot_id": self.boot_id, "boot_s": time.monotonic() - self.t0,
                  "badge_uid": uid, "result": result}
        return self.post_json("/api/v1/sync/push", self._body([record]), self.token)


# --- a real SMTP server -----------------------------------------------------------

class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"to": list(envelope.rcpt_tos), "subject": message["Subject"],
                              "body": message.get_body(("plain",)).get_content(), "message": message})
        return "250 Message accepted"

    def to(self, address):
        """Messages sent to one address."""
        return [m for m in self.messages if address in m["to"]]


def make_site(path):
    """Staff of every role, a group in session now (started 30 minutes ago, no grace), Anoeshka
    and Mohamed with LifeCoach Lars, and a kiosk that has delivered everything."""
    s = Site(path)
    s.admin = s.staff("beheer@example.test", "admin", name="Beheer")
    s.coordinator = s.staff("coordinator@example.test", "coordinator", name="Carla de Wit")
    s.coach = s.staff("coach@example.test", "lifecoach", name="Lars Visser", phone="010-5550001")
    s.physio = s.staff("fysio@example.test", "physio", name="Fenna Bakker")
    s.group_id = s.group()
    s.anoeshka = s.participant("Anoeshka", s.group_id, s.coach, phone="06-11112222", last_name="Ramdin",
                               badge_uid="01010501B00A0001")
    s.mohamed = s.participant("Mohamed", s.group_id, s.coach, phone="06-33334444", last_name="El Amrani",
                              badge_uid="01010501B00A0002")
    s.kiosk_id, s.kiosk_token = s.kiosk()
    s.kiosk_delivered(s.kiosk_id)
    return s
