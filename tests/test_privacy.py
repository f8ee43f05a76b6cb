"""Privacy rights and retention on the real app and its database files: a participant's
data exported (art. 15) and erased (art. 17) down to the bytes of the files, on the server
and on a kiosk; legal holds; retention per kind with a dry run; and an audit log whose hash
chain shows an edited, removed or reordered entry."""
import json
from datetime import date, timedelta

import pytest

from admin.auth import new_api_token
from tests.support.live import auth, tap, wait_for
from tests.support.site import KioskPusher, Site, post, ram_dir

SURNAME, PHONE = "Zwanenburg-Oudkerk", "06-98765432"


@pytest.fixture
def site():
    with ram_dir() as tmp:
        s = Site(tmp)
        s.admin_id = s.staff("beheer@example.test", "admin", name="Beheer")
        s.coach_id = s.staff("coach@example.test", "lifecoach", name="Coach Karin")
        s.physio_id = s.staff("fysio@example.test", "physio", name="Fysio Pieter")
        s.group_id = s.group()
        s.pid = s.participant("Anoeshka", s.group_id, lifecoach_id=s.coach_id, phone=PHONE,
                              badge_uid="04497622D93881")
        s.sql("UPDATE participants SET last_name = ? WHERE id = ?", SURNAME, s.pid)
        s.other = s.participant("Mohamed", s.group_id, badge_uid="04497622D93882")
        s.kiosk_id, s.kiosk_token = s.kiosk()
        conn = s.conn()
        s.admin_token = new_api_token(conn, s.admin_id)
        conn.close()
        yield s


def api(site, method, path, token=None, **kwargs):
    client = site.app.test_client()
    return client.open(f"/api/v1{path}", method=method, headers=auth(token or site.admin_token), **kwargs)


def file_bytes(path):
    """The database file and its write-ahead log, as bytes."""
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def with_history(site):
    """A tap, a measurement, an excuse and a follow-up case for Anoeshka."""
    client = site.app.test_client()
    pusher = KioskPusher(lambda path, body, token: client.post(path, json=body, headers=auth(token)),
                         site.kiosk_token)
    assert pusher.checkin("04497622D93881").status_code == 200
    site.measurement(site.pid, site.kiosk_id, "2026-11-20T09:00:00+00:00",
                     {"weight_kg": 81.4, "systolic_mmhg": 128, "diastolic_mmhg": 84},
                     {"weight_kg": {"driver": "tanita", "device_model": "MC-780MA", "device_serial": "TN123"}})
    assert api(site, "POST", f"/participants/{site.pid}/excuses",
               json={"date": (date.today() + timedelta(days=2)).isoformat(),
                     "reason": "tandarts"}).status_code == 201
    site.sql("INSERT INTO follow_ups(participant_id, session_date, session_start, lifecoach_id, opened_at, "
             "reason, note, updated_at) VALUES (?, '2026-11-02', '09:00', ?, '2026-11-02T08:20:00+00:00', "
             "'ziek', 'belt morgen terug', '2026-11-02T08:20:00+00:00')", site.pid, site.coach_id)


# --- access -----------------------------------------------------------------------

def test_an_export_holds_everything_about_the_person_and_who_viewed_it(site):
    with_history(site)
    assert api(site, "GET", f"/participants/{site.pid}/measurements").status_code == 200
    r = api(site, "GET", f"/participants/{site.pid}/export")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    data = r.get_json()
    assert data["participant"]["last_name"] == SURNAME and data["participant"]["phone"] == PHONE
    assert data["lifecoach"] == "Coach Karin" and data["group"]["name"] == "Groep B"
    held = data["data"]
    assert [b["uid"] for b in held["badges"]] == ["04497622D93881"]
    assert len(held["checkins"]) == 1 and held["excuses"][0]["reason"] == "tandarts"
    assert held["measurements"][0]["values"]["weight_kg"] == 81.4
    assert held["measurements"][0]["sources"]["weight_kg"]["device_serial"] == "TN123"
    assert held["follow_ups"][0]["note"] == "belt morgen terug"
    assert any(e["what"] == "measurements" and e["action"] == "view" for e in data["access_log"])
    # Nothing of the other participant.
    assert "04497622D93882" not in json.dumps(data)
    # The export is itself in the audit log.
    last = site.sql("SELECT action, what, participant_id FROM audit_log ORDER BY id DESC LIMIT 1")[0]
    assert last == {"action": "export", "what": "everything held (art. 15)", "participant_id": site.pid}


def test_the_readable_export_is_plain_dutch_and_audited(site):
    with_history(site)
    client = site.login("beheer@example.test")
    r = client.get(f"/participants/{site.pid}/export")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Uw gegevens bij fitwerk" in page and SURNAME in page
    assert "Metingen (met apparaat en serienummer)" in page and "TN123" in page
    assert "Wie uw gegevens heeft bekeken of gewijzigd" in page
    r = client.get(f"/participants/{site.pid}/export?format=json")
    assert r.headers["Content-Disposition"] == f'attachment; filename="gegevens-deelnemer-{site.pid}.json"'
    assert json.loads(r.get_data(as_text=True))["participant"]["id"] == site.pid
    exports = site.sql("SELECT what FROM audit_log WHERE action = 'export' AND participant_id = ?", site.pid)
    assert [e["what"] for e in exports] == ["everything held (art. 15)", "everything held (art. 15) as JSON"]


def test_an_export_of_nobody_is_a_json_404(site):
    r = api(site, "GET", "/participants/999999/export")
    assert r.status_code == 404 and r.get_json() == {"error": "no such participant"}


# --- erasure ----------------------------------------------------------------------

def test_erasure_removes_the_person_from_the_database_file_down_to_the_bytes(site):
    with_history(site)
    before = file_bytes(site.db)
    assert SURNAME.encode() in before and PHONE.encode() in before
    r = api(site, "POST", f"/participants/{site.pid}/erase", json={"reason": "verzoek van de deelnemer"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["removed"]["checkins"] == 1 and r.get_json()["removed"]["measurements"] == 1
    person = site.sql("SELECT * FROM participants WHERE id = ?", site.pid)[0]
    assert (person["first_name"], person["last_name"], person["phone"]) == ("", "", "")
    assert person["erased_at"] and person["group_id"] == site.group_id
    for table in ("badges", "checkins", "measurements", "excuses", "follow_ups"):
        assert site.sql(f"SELECT COUNT(*) AS n FROM {table} WHERE participant_id = ?", site.pid)[0]["n"] == 0
    after = file_bytes(site.db)
    for secret in (SURNAME, PHONE, "04497622D93881", "belt morgen terug", "tandarts"):
        assert secret.encode() not in after, secret
    # The other participant is untouched, and the erasure is accounted for.
    assert site.sql("SELECT first_name FROM participants WHERE id = ?", site.other)[0]["first_name"] == "Mohamed"
    assert site.sql("SELECT what FROM audit_log WHERE participant_id = ? ORDER BY id DESC LIMIT 1",
                    site.pid)[0]["what"] == "erased (verzoek van de deelnemer)"
    assert api(site, "POST", f"/participants/{site.pid}/erase", json={"reason": "nog eens"}).status_code == 409


@pytest.mark.parametrize("body, status, message", [
    (None, 400, "the body must be a JSON object with 'reason'"),
    ({}, 400, "'reason' is required"),
    ({"reason": "   "}, 400, "'reason' is required"),
    ({"reason": 42}, 400, "'reason' is required"),
])
def test_an_erasure_without_a_reason_is_refused_and_changes_nothing(site, body, status, message):
    r = api(site, "POST", f"/participants/{site.pid}/erase", json=body)
    assert r.status_code == status and r.get_json() == {"error": message}
    assert site.sql("SELECT last_name FROM participants WHERE id = ?", site.pid)[0]["last_name"] == SURNAME


def test_a_legal_hold_refuses_erasure_until_it_is_lifted(site):
    client = site.login("beheer@example.test")
    r = post(client, f"/participants/{site.pid}/legal-hold", {"reason": "lopende bezwaarprocedure"})
    assert r.status_code == 200 and "lopende bezwaarprocedure" in r.get_data(as_text=True)
    r = api(site, "POST", f"/participants/{site.pid}/erase", json={"reason": "verzoek"})
    assert r.status_code == 409 and "legal hold" in r.get_json()["error"]
    assert site.sql("SELECT last_name FROM participants WHERE id = ?", site.pid)[0]["last_name"] == SURNAME
    post(client, f"/participants/{site.pid}/legal-hold", {"reason": ""})
    assert api(site, "POST", f"/participants/{site.pid}/erase", json={"reason": "verzoek"}).status_code == 200


def test_the_staff_site_erases_only_after_the_number_is_typed(site):
    client = site.login("beheer@example.test")
    page = client.get(f"/participants/{site.pid}/privacy").get_data(as_text=True)
    assert "Definitief wissen" in page
    r = post(client, f"/participants/{site.pid}/erase", {"reason": "verzoek", "confirm": str(site.other)})
    assert r.status_code == 400 and "Typ het nummer" in r.get_data(as_text=True)
    assert site.sql("SELECT last_name FROM participants WHERE id = ?", site.pid)[0]["last_name"] == SURNAME
    r = post(client, f"/participants/{site.pid}/erase", {"reason": "verzoek", "confirm": str(site.pid)})
    assert r.status_code == 200 and "zijn gewist" in r.get_data(as_text=True)
    assert site.sql("SELECT last_name FROM participants WHERE id = ?", site.pid)[0]["last_name"] == ""


def test_an_erased_badge_leaves_the_kiosk_roster_and_the_kiosk_forgets_its_copy(site, tmp_path):
    from kiosk import store
    client = site.app.test_client()
    kiosk = store.open_db(tmp_path / "kiosk.sqlite")
    roster = client.get("/api/v1/sync/roster?since=0", headers=auth(site.kiosk_token)).get_json()
    store.apply_roster(kiosk, roster)
    tapped = store.capture_tap(kiosk, "04497622D93881")
    assert tapped["first_name"] == "Anoeshka"
    kiosk.execute("UPDATE outbox SET acked_at = '2026-11-29T10:00:00+00:00'")
    assert api(site, "POST", f"/participants/{site.pid}/erase", json={"reason": "verzoek"}).status_code == 200
    roster = client.get(f"/api/v1/sync/roster?since={roster['version']}", headers=auth(site.kiosk_token)).get_json()
    assert {"participant_id": site.pid, "removed": True, "erased": True} in roster["people"]
    store.apply_roster(kiosk, roster)
    assert store.capture_tap(kiosk, "04497622D93881")["result"] == "unknown_badge"
    assert not kiosk.execute("SELECT 1 FROM local_checkins WHERE participant_id = ?", (site.pid,)).fetchall()
    kiosk.execute("DELETE FROM local_checkins WHERE result = 'unknown_badge'")
    kiosk.execute("DELETE FROM outbox WHERE acked_at IS NULL")
    kiosk.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    kiosk.close()
    data = file_bytes(tmp_path / "kiosk.sqlite")
    assert b"Anoeshka" not in data and b"04497622D93881" not in data and b"Mohamed" in data


@pytest.mark.slow
def test_a_real_kiosk_drops_an_erased_participant_at_its_next_roster_pull(live_admin, make_kiosk):
    kiosk = make_kiosk(live_admin, extra_env={"KIOSK_ROSTER_S": "1"})
    kiosk.start_sync()
    kiosk.wait_roster(badges=2)
    anoeshka = live_admin.people["Anoeshka"]
    assert tap(kiosk, anoeshka["uid"])["result"] == "on_time"
    wait_for(lambda: live_admin.status_of("Anoeshka") == "present", message="tap delivered")
    r = live_admin.api("POST", f"/participants/{anoeshka['id']}/erase", json={"reason": "verzoek"})
    assert r.status_code == 200, r.text
    wait_for(lambda: not kiosk.db_rows("SELECT 1 FROM roster_badges WHERE uid = ?", anoeshka["uid"]),
             timeout=20, message="badge gone from the kiosk")
    assert not kiosk.db_rows("SELECT 1 FROM local_checkins WHERE participant_id = ?", anoeshka["id"])
    assert tap(kiosk, anoeshka["uid"])["result"] == "unknown_badge"
    assert tap(kiosk, live_admin.people["Mohamed"]["uid"])["result"] == "on_time"


# --- retention --------------------------------------------------------------------

def ended(site, days_ago):
    """Make the group's programme have ended `days_ago` days ago."""
    starts = date.today() - timedelta(days=days_ago + 12 * 7)
    site.sql("UPDATE groups SET starts_on = ?, weeks = 12 WHERE id = ?", starts.isoformat(), site.group_id)


def counts(site):
    return {t: site.sql(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]
            for t in ("checkins", "excuses", "follow_ups", "measurements", "badges")}


def test_a_dry_run_counts_what_would_go_and_changes_nothing(site):
    with_history(site)
    ended(site, 400)
    before = counts(site)
    result = site.flask("retention", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["attendance"] == "would remove 2" and lines["follow_ups"] == "would remove 1"
    assert lines["measurements"] == "would remove 0" and lines["people_anonymised"] == "would remove 0"
    assert counts(site) == before


def test_retention_removes_each_kind_after_its_own_period(site):
    with_history(site)
    ended(site, 200)     # past the follow-up notes' half year only
    result = site.flask("retention")
    assert result.returncode == 0 and "follow_ups: removed 1" in result.stdout
    assert counts(site)["follow_ups"] == 0 and counts(site)["checkins"] == 1
    ended(site, 400)     # past attendance's year
    assert "attendance: removed 2" in site.flask("retention").stdout
    assert counts(site)["checkins"] == 0 and counts(site)["measurements"] == 1
    ended(site, 21 * 365)  # past the medical record's 20 years: nothing identifying is left
    out = site.flask("retention").stdout
    assert "measurements: removed 1" in out and "people_anonymised: removed 2" in out
    people = site.sql("SELECT first_name, last_name, phone, anonymised_at, group_id FROM participants")
    assert all(p["first_name"] == p["last_name"] == p["phone"] == "" and p["anonymised_at"] for p in people)
    assert counts(site)["badges"] == 0 and len(people) == 2
    assert SURNAME.encode() not in file_bytes(site.db)


def test_retention_leaves_a_person_under_legal_hold_alone(site):
    with_history(site)
    site.sql("UPDATE participants SET legal_hold = 'rechtszaak' WHERE id = ?", site.pid)
    ended(site, 21 * 365)
    assert site.flask("retention").returncode == 0
    assert site.sql("SELECT last_name FROM participants WHERE id = ?", site.pid)[0]["last_name"] == SURNAME
    assert counts(site)["measurements"] == 1
    assert site.sql("SELECT first_name FROM participants WHERE id = ?", site.other)[0]["first_name"] == ""


def test_periods_are_configurable_per_kind(site):
    with_history(site)
    ended(site, 40)
    assert "follow_ups: removed 0" in site.flask("retention").stdout
    out = site.flask("retention", env={"RETENTION_FOLLOW_UPS_DAYS": "30"}).stdout
    assert "follow_ups: removed 1" in out


def test_old_staff_sessions_and_failed_logins_are_purged(site):
    site.sql("INSERT INTO login_failures(email, at, client) VALUES ('x@example.test', '2020-01-01T00:00:00+00:00', '')")
    site.login("coach@example.test")
    out = site.flask("retention").stdout
    assert "sessions: removed 1" in out
    assert site.sql("SELECT COUNT(*) AS n FROM login_sessions")[0]["n"] == 1


# --- the audit log's hash chain ---------------------------------------------------

def test_verify_audit_accepts_an_untouched_log(site):
    with_history(site)
    api(site, "GET", f"/participants/{site.pid}/measurements")
    result = site.flask("verify-audit")
    assert result.returncode == 0 and result.stdout.startswith("audit log intact: ")


def test_an_entry_edited_in_the_database_file_is_caught(site):
    with_history(site)
    api(site, "GET", f"/participants/{site.pid}/measurements")
    entry = site.sql("SELECT id FROM audit_log WHERE what = 'measurements'")[0]["id"]
    conn = site.conn()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = site.db.read_bytes()
    # Someone with the file rewrites "measurements" (a health-data view) as something harmless.
    tampered = data.replace(b"view" + b"measurements", b"viewbadge-list!!", 1)
    assert tampered != data
    site.db.write_bytes(tampered)
    result = site.flask("verify-audit")
    assert result.returncode == 1
    assert f"entry {entry}: its content does not match its hash" in result.stderr


def test_a_removed_entry_is_caught(site):
    for _ in range(3):
        api(site, "GET", f"/participants/{site.pid}/measurements")
    ids = [r["id"] for r in site.sql("SELECT id FROM audit_log ORDER BY id")]
    conn = site.conn()
    conn.execute("DROP TRIGGER audit_log_delete_only_behind_a_checkpoint")
    conn.execute("DELETE FROM audit_log WHERE id = ?", (ids[1],))
    conn.close()
    result = site.flask("verify-audit")
    assert result.returncode == 1 and f"entry {ids[2]}: does not follow the entry before it" in result.stderr


def test_the_log_refuses_edits_and_deletes_that_no_checkpoint_covers(site):
    import sqlite3
    api(site, "GET", f"/participants/{site.pid}/measurements")
    conn = site.conn()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit_log SET what = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit_log")
    conn.close()


def test_retention_cuts_the_audit_log_at_a_signed_checkpoint_and_the_chain_still_verifies(site):
    api(site, "GET", f"/participants/{site.pid}/measurements")
    old = site.sql("SELECT COUNT(*) AS n FROM audit_log")[0]["n"]
    later = (date.today() + timedelta(days=5 * 365 + 2)).isoformat()
    result = site.flask("retention", "--today", later)
    assert result.returncode == 0 and f"audit: removed {old}" in result.stdout
    assert site.sql("SELECT COUNT(*) AS n FROM audit_log")[0]["n"] == 0
    api(site, "GET", f"/participants/{site.pid}/measurements")   # chains onto the checkpoint
    assert site.flask("verify-audit").returncode == 0
    # A checkpoint signed with another key is not trusted.
    result = site.flask("verify-audit", env={"AUDIT_KEY": "another key"})
    assert result.returncode == 1 and "signature does not match" in result.stderr


def test_an_invalidated_measurement_is_erased_with_its_invalidation(site):
    with_history(site)
    measurement = site.sql("SELECT id FROM measurements WHERE participant_id = ?", site.pid)[0]["id"]
    site.sql("INSERT INTO measurement_invalidations(measurement_id, reason, by_staff, at) VALUES (?, ?, ?, ?)",
             measurement, "weegschaal niet op nul", site.physio_id, "2026-11-20T10:00:00+00:00")
    r = api(site, "POST", f"/participants/{site.pid}/erase", json={"reason": "verzoek"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert site.sql("SELECT COUNT(*) AS n FROM measurement_invalidations")[0]["n"] == 0
    assert b"weegschaal niet op nul" not in file_bytes(site.db)
