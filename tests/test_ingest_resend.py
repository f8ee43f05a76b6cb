"""Ingest: (kiosk, generation, seq) is a record's identity. A resend under it, whatever
its body says, changes nothing stored and the answer says it was a duplicate."""
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from common.db import connect
from tests.conftest import auth, session_slot_now


@pytest.fixture
def kiosk_token(runner):
    result = runner.invoke(args=["add-kiosk", "kiosk-1", "--location", "Zuid"])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def station_token(runner):
    result = runner.invoke(args=["add-kiosk", "station-1", "--location", "Zuid", "--role", "station"])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def people(client, tokens):
    """A group in session since 30 minutes without grace, and two people with badges."""
    group = {"name": "Groep B", "location": "Zuid", "starts_on": (date.today() - timedelta(days=14)).isoformat(),
             "weeks": 12, "grace_minutes": 0, "sessions": [session_slot_now(minutes_before=30)]}
    gid = client.post("/api/v1/groups", json=group, headers=auth(tokens["admin"])).json["id"]
    ids = {}
    for name, uid in (("Anoeshka", "01010501B00A0001"), ("Mohamed", "01010501B00A0002")):
        ids[name] = client.post("/api/v1/participants", json={"first_name": name, "last_name": "Test", "group_id": gid,
                                                               "badge_uid": uid}, headers=auth(tokens["admin"])).json["id"]
    return ids


def now_iso(shift_s=0.0):
    return (datetime.now(timezone.utc) + timedelta(seconds=shift_s)).isoformat(timespec="milliseconds")


def push(client, token, records):
    body = {"generation": "gen-1", "boot_id": "boot-1", "boot_s": 500.0, "clock": now_iso(), "clock_synced": True,
            "pending": 0, "captured_through": {"boot_s": 500.0}, "records": records}
    r = client.post("/api/v1/sync/push", json=body, headers=auth(token))
    assert r.status_code == 200, r.json
    return r.json


def checkin(seq, uid, result, shift_s=0.0, **change):
    return {"id": str(uuid.uuid4()), "seq": seq, "kind": "checkin", "badge_uid": uid, "result": result,
            "wall_at": now_iso(shift_s), "clock_synced": True, "boot_id": "boot-1", "boot_s": 499.0, **change}


def rows(db, sql):
    conn = connect(db)
    try:
        return [dict(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def statuses(client, tokens):
    r = client.get("/api/v1/attendance", headers=auth(tokens["coordinator"]))
    assert r.status_code == 200
    return {p["first_name"]: p["status"] for s in r.json["sessions"] for p in s["participants"]}


def test_a_resend_with_another_body_changes_nothing_stored_and_is_answered_as_a_duplicate(
        client, tokens, kiosk_token, people, admin_app):
    db = admin_app.config["ADMIN_DB"]
    assert push(client, kiosk_token, [])["duplicates"] == 0   # a heartbeat: delivered up to now
    assert statuses(client, tokens) == {"Anoeshka": "absent", "Mohamed": "absent"}  # ... which opens cases
    first = push(client, kiosk_token, [checkin(1, "01010501B00A0001", "late")])
    assert (first["acked_seq"], first["stored"], first["duplicates"]) == (1, 1, 0)
    assert statuses(client, tokens)["Anoeshka"] == "late"     # ... which closes it: she checked in
    stored, cases = rows(db, "SELECT * FROM checkins"), rows(db, "SELECT * FROM follow_ups ORDER BY id")
    assert [(c["participant_id"], c["resolution"]) for c in cases] == [(people["Anoeshka"], "checked_in"),
                                                                       (people["Mohamed"], None)]

    # Same kiosk, generation and seq; another id, badge, time, result, clock and boot.
    other = checkin(1, "01010501B00A0002", "on_time", shift_s=-600, clock_synced=False, boot_id="boot-0",
                    boot_s=3.0)
    again = push(client, kiosk_token, [other])
    assert (again["acked_seq"], again["stored"], again["duplicates"]) == (1, 0, 1)
    assert set(again) >= {"acked_seq", "server_time", "clock_offset_s"}
    assert statuses(client, tokens) == {"Anoeshka": "late", "Mohamed": "absent"}
    assert rows(db, "SELECT * FROM checkins") == stored
    assert rows(db, "SELECT * FROM follow_ups ORDER BY id") == cases  # hers closed by the first, his open


def test_a_resent_measurement_keeps_the_first_values(client, station_token, people, admin_app):
    def measurement(weight):
        return {"id": str(uuid.uuid4()), "seq": 1, "kind": "measurement", "participant_id": people["Anoeshka"],
                "moment": "intake", "values": {"weight_kg": weight}, "sources": {"scale": {"driver": "tanita"}},
                "wall_at": now_iso(), "clock_synced": True, "boot_id": "boot-1", "boot_s": 499.0}
    assert push(client, station_token, [measurement(80.5)])["stored"] == 1
    stored = rows(admin_app.config["ADMIN_DB"], "SELECT * FROM measurements")
    answer = push(client, station_token, [measurement(95.0)])
    assert (answer["stored"], answer["duplicates"]) == (0, 1)
    assert rows(admin_app.config["ADMIN_DB"], "SELECT * FROM measurements") == stored


def test_a_batch_counts_its_new_records_and_its_duplicates(client, kiosk_token, people):
    push(client, kiosk_token, [checkin(1, "01010501B00A0001", "late")])
    answer = push(client, kiosk_token, [checkin(seq, "01010501B00A0002", "late") for seq in (1, 2, 3)])
    assert (answer["acked_seq"], answer["stored"], answer["duplicates"]) == (3, 2, 1)
