"""A kiosk token is only good for its own place and role, and only for honest numbers:
each refusal on the real processes (gunicorn admin, kiosk sync), with nothing lost on the
kiosk and nothing changed on the server."""
import json
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from common.db import connect
from kiosk import store
from tests.support.live import auth, db_rows, tap, wait_for


def rows(admin, sql, *args):
    """Rows from the admin's database, read directly."""
    return db_rows(admin.db, sql, *args)


def held(admin):
    """What a refused push must not change: every stored record and stream."""
    conn = connect(admin.db)
    try:
        return [list(map(tuple, conn.execute(f"SELECT * FROM {table} ORDER BY 1")))
                for table in ("checkins", "measurements", "streams", "kiosk_boots")]
    finally:
        conn.close()


def now_iso(delta=timedelta()):
    return (datetime.now(timezone.utc) + delta).isoformat(timespec="milliseconds")


def body(records, **change):
    return {"generation": "forged-gen", "boot_id": "forged-boot", "boot_s": 500.0, "clock": now_iso(),
            "clock_synced": True, "pending": 0, "captured_through": {"boot_s": 499.0}, "records": records,
            **change}


def checkin(uid, seq=1, **change):
    return {"id": str(uuid.uuid4()), "seq": seq, "kind": "checkin", "badge_uid": uid, "result": "on_time",
            "wall_at": now_iso(), "clock_synced": True, "boot_id": "forged-boot", "boot_s": 400.0, **change}


def measurement(participant_id, seq=1, taken_by=None, **values):
    return {"id": str(uuid.uuid4()), "seq": seq, "kind": "measurement", "participant_id": participant_id,
            "moment": "intake", "values": values or {"weight_kg": 80.5}, "sources": {"scale": {"driver": "tanita"}},
            "taken_by": taken_by, "wall_at": now_iso(), "clock_synced": True, "boot_id": "forged-boot",
            "boot_s": 400.0}


def push(admin, token, payload, raw=None):
    return requests.post(f"{admin.url}/api/v1/sync/push", json=None if raw else payload, data=raw,
                         headers={**auth(token), "Content-Type": "application/json"}, timeout=10)


def test_a_check_in_at_a_kiosk_of_another_location_is_kept_but_never_attendance(live_admin, make_kiosk):
    noord = live_admin.flask("add-kiosk", "kiosk-noord", "--location", "Noord").strip().splitlines()[-1]
    kiosk = make_kiosk(live_admin, extra_env={"KIOSK_TOKEN": noord})
    store.open_db(kiosk.db).close()
    kiosk.start_sync()
    wait_for(lambda: kiosk.db_rows("SELECT 1 FROM meta WHERE key = 'roster_version'"), message="roster pulled")
    uid = live_admin.people["Anoeshka"]["uid"]
    assert tap(kiosk, uid)["result"] == "unknown_badge"  # Noord's roster does not carry Zuid's people
    # A forger with Noord's token claims an on-time check-in of the same badge.
    assert push(live_admin, noord, body([checkin(uid)])).status_code == 200
    wait_for(lambda: len(rows(live_admin, "SELECT * FROM checkins")) == 2, message="both taps stored")
    wait_for(lambda: not kiosk.db_rows("SELECT 1 FROM outbox WHERE acked_at IS NULL"), message="acked")
    stored = rows(live_admin, "SELECT participant_id, flag FROM checkins")
    assert stored == [{"participant_id": live_admin.people["Anoeshka"]["id"], "flag": "other_location"}] * 2
    assert live_admin.status_of("Anoeshka") == "expected" and live_admin.checkins() == []
    (noord_row,) = [k for k in live_admin.api("GET", "/kiosks").json()["kiosks"] if k["name"] == "kiosk-noord"]
    assert noord_row["flagged"] == 2


def test_a_measurement_from_a_check_in_kiosk_is_refused_and_stays_on_the_kiosk(live_admin, make_kiosk):
    # A Pi set up as a station locally, but registered with a check-in kiosk's token.
    kiosk = make_kiosk(live_admin, role="station", extra_env={"KIOSK_TOKEN": live_admin.kiosk_token})
    conn = store.open_db(kiosk.db)
    store.save_measurement(conn, live_admin.people["Anoeshka"]["id"], "intake", {"weight_kg": 80.5},
                           {"scale": {"driver": "tanita"}}, None)
    conn.close()
    before = held(live_admin)
    kiosk.start_sync()
    wait_for(lambda: "403" in str(kiosk.db_rows("SELECT detail FROM process_status WHERE name = 'sync'")),
             timeout=20, message="the server's refusal seen by the kiosk")
    assert "check-in kiosk" in kiosk.db_rows("SELECT detail FROM process_status WHERE name = 'sync'")[0]["detail"]
    kiosk.stop_sync()
    assert len(kiosk.db_rows("SELECT * FROM outbox WHERE acked_at IS NULL")) == 1  # nothing lost
    assert held(live_admin) == before  # nothing stored
    # The push body's own "role" changes nothing: the server decides.
    r = push(live_admin, live_admin.kiosk_token, body([measurement(live_admin.people["Anoeshka"]["id"])],
                                                       role="station"))
    assert r.status_code == 403 and "check-in kiosk" in r.json()["error"]
    assert held(live_admin) == before


def test_a_station_measures_only_existing_people_named_by_an_active_physio(live_admin):
    station = live_admin.station_token()
    pid = live_admin.people["Anoeshka"]["id"]
    live_admin.flask("create-user", "fysio@example.test", "--role", "physio", "--password-stdin",
                     input="correct horse battery\n")
    live_admin.flask("create-user", "coach@example.test", "--role", "lifecoach", "--password-stdin",
                     input="correct horse battery\n")
    staff = {r["email"]: r["id"] for r in rows(live_admin, "SELECT id, email FROM staff")}
    before = held(live_admin)
    r = push(live_admin, station, body([measurement(999999)]))
    assert r.status_code == 422 and "no such participant" in r.json()["error"]
    r = push(live_admin, station, body([measurement(pid, taken_by=staff["coach@example.test"])]))
    assert r.status_code == 422 and "taken_by" in r.json()["error"]
    r = push(live_admin, station, body([measurement(pid, taken_by=424242)]))
    assert r.status_code == 422
    r = push(live_admin, station, body([checkin(live_admin.people["Anoeshka"]["uid"])]))
    assert r.status_code == 403 and "station" in r.json()["error"]
    assert held(live_admin) == before
    r = push(live_admin, station, body([measurement(pid, taken_by=staff["fysio@example.test"])]))
    assert r.status_code == 200 and r.json()["acked_seq"] == 1
    (m,) = live_admin.api("GET", f"/participants/{pid}/measurements").json()["measurements"]
    assert m["taken_by"] == "fysio@example.test" and m["flag"] is None


@pytest.mark.parametrize("raw, message", [
    ('{"weight_kg": NaN}', "NaN is not JSON"),
    ('{"weight_kg": Infinity}', "Infinity is not JSON"),
    ('{"weight_kg": -Infinity}', "Infinity is not JSON"),
    ('{"weight_kg": 1e999}', "finite"),
    ('{"weight_kg": 9000}', "between 0 and 650"),
    ('{"weight_kg": -3}', "between 0 and 650"),
], ids=["nan", "infinity", "minus-infinity", "overflow", "too-heavy", "negative"])
def test_nan_infinity_and_impossible_values_are_refused(live_admin, raw, message):
    station = live_admin.station_token()
    record = measurement(live_admin.people["Anoeshka"]["id"])
    text = json.dumps(body([record])).replace('{"weight_kg": 80.5}', raw)
    before = held(live_admin)
    r = push(live_admin, station, None, raw=text)
    assert r.status_code == 400 and message in r.json()["error"], r.text
    assert held(live_admin) == before


@pytest.mark.parametrize("change, message", [
    ({"seq": 2 ** 64}, "'seq' must be a whole number"),
    ({"seq": 2 ** 63}, "'seq' must be a whole number"),
    ({"boot_s": 1e12}, "'boot_s' must be between"),
    ({"boot_s": -5}, "'boot_s' must be between"),
    ({"boot_id": "x" * 65}, "'boot_id' must be 1-64"),
    ({"wall_at": "0001-01-01T00:00:00+01:00"}, "ISO-8601"),
    ({"wall_at": "1960-01-01T00:00:00+00:00"}, "before 1970"),
], ids=["seq-beyond-64-bits", "seq-beyond-sqlite", "absurd-boot-s", "negative-boot-s", "long-boot-id",
        "year-one", "before-1970"])
def test_absurd_record_fields_are_refused(live_admin, change, message):
    before = held(live_admin)
    r = push(live_admin, live_admin.kiosk_token, body([checkin(live_admin.people["Anoeshka"]["uid"], **change)]))
    assert r.status_code == 400 and message in r.json()["error"], r.text
    assert held(live_admin) == before


@pytest.mark.parametrize("change, message", [
    ({"boot_s": float("1e300")}, "'boot_s' must be between"),
    ({"pending": -1}, "'pending' must be a whole number"),
    ({"pending": 2 ** 70}, "'pending' must be a whole number"),
    ({"captured_through": {"boot_s": 1e15}}, "captured_through"),
], ids=["boot-s", "negative-pending", "huge-pending", "captured-through"])
def test_absurd_push_fields_are_refused(live_admin, change, message):
    before = held(live_admin)
    r = push(live_admin, live_admin.kiosk_token, body([], **change))
    assert r.status_code == 400 and message in r.json()["error"], r.text
    assert held(live_admin) == before
    assert rows(live_admin, "SELECT last_heard_at FROM kiosks WHERE name = 'kiosk-1'")[0]["last_heard_at"] is None


@pytest.mark.parametrize("wall", [timedelta(days=2), -timedelta(days=1)], ids=["two-days-ahead", "before-the-kiosk"])
def test_a_synced_clock_far_from_the_servers_is_kept_flagged_and_not_trusted(live_admin, wall):
    uid = live_admin.people["Anoeshka"]["uid"]
    r = push(live_admin, live_admin.kiosk_token, body([checkin(uid, wall_at=now_iso(wall))]))
    assert r.status_code == 200 and r.json()["acked_seq"] == 1  # kept: the stream goes on
    (row,) = rows(live_admin, "SELECT flag, time_source, at, kiosk_wall_at FROM checkins")
    assert row["flag"] == "clock" and row["time_source"] == "boot_offset"
    # Timed by the boot clock of this very push (100 s before it), not by the lying wall clock.
    at = datetime.fromisoformat(row["at"])
    assert abs((datetime.now(timezone.utc) - timedelta(seconds=100) - at).total_seconds()) < 30
    assert live_admin.status_of("Anoeshka") == "expected" and live_admin.checkins() == []


def test_2001_and_2099_from_an_unknown_boot_are_flagged_and_count_nowhere(live_admin):
    uid = live_admin.people["Anoeshka"]["uid"]
    records = [checkin(uid, seq=1, wall_at="2001-03-04T08:00:00+00:00", boot_id="old-boot"),
               checkin(uid, seq=2, wall_at="2099-03-04T08:00:00+00:00", boot_id="old-boot")]
    assert push(live_admin, live_admin.kiosk_token, body(records)).json()["acked_seq"] == 2
    stored = rows(live_admin, "SELECT flag, time_source FROM checkins ORDER BY seq")
    assert stored == [{"flag": "clock", "time_source": "uncorrected"}] * 2
    assert live_admin.status_of("Anoeshka") == "expected"


def test_nan_in_the_staff_api_is_refused_with_a_reason(live_admin):
    r = requests.post(f"{live_admin.url}/api/v1/participants", data='{"first_name": "A", "last_name": "B", '
                      '"group_id": NaN}', headers={**auth(live_admin.token), "Content-Type": "application/json"},
                      timeout=10)
    assert r.status_code == 400 and r.json() == {"error": "NaN is not JSON: numbers must be finite"}
    r = live_admin.api("POST", "/participants", json={"first_name": "A", "last_name": "B", "group_id": 1e308})
    assert r.status_code == 400 and "group_id" in r.json()["error"]
    assert len(rows(live_admin, "SELECT id FROM participants")) == 2


def test_an_infinity_stored_before_the_checks_breaks_neither_the_page_nor_the_json(live_admin):
    pid = live_admin.people["Anoeshka"]["id"]
    conn = sqlite3.connect(live_admin.db)
    conn.execute("INSERT INTO measurements(id, kiosk_id, generation, seq, participant_id, moment, values_json, "
                 "sources_json, at, time_source, kiosk_wall_at, received_at) VALUES (?, ?, 'old', 1, ?, 'intake', "
                 "?, '{}', ?, 'synced', ?, ?)", (str(uuid.uuid4()), live_admin.kiosk_id, pid,
                                                 '{"weight_kg": Infinity, "fat_pct": NaN, "pulse_bpm": 71}',
                                                 now_iso(), now_iso(), now_iso()))
    conn.commit()
    conn.close()
    r = live_admin.api("GET", f"/participants/{pid}/measurements")
    assert r.status_code == 200
    (m,) = json.loads(r.text, parse_constant=lambda name: pytest.fail(f"{name} in the API's JSON"))["measurements"]
    assert m["pulse_bpm"] == 71 and "weight_kg" not in m and "fat_pct" not in m
    session = requests.Session()
    assert session.post(f"{live_admin.url}/login", data={"email": "beheer@example.test",
                                                         "password": "correct horse battery"}).ok
    page = session.get(f"{live_admin.url}/participants/{pid}")
    assert page.status_code == 200 and "71" in page.text


def test_an_api_error_is_json_even_a_500(admin_app):
    admin_app.testing = False  # let the error handler answer, as under gunicorn

    def broken():
        raise RuntimeError("a bug")
    admin_app.add_url_rule("/api/v1/broken", view_func=broken)
    client = admin_app.test_client()
    r = client.get("/api/v1/broken")
    assert r.status_code == 500 and r.json == {"error": "internal server error"}
    for method, path in (("GET", "/api/v1/nothing-here"), ("DELETE", "/api/v1/groups"),
                         ("GET", "/api/v1/participants/1/measurements")):
        r = client.open(path, method=method)
        assert r.is_json and set(r.json) == {"error"}, (method, path, r.data)
