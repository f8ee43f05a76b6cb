"""Ingest (admin.sync): (kiosk, generation, seq) is a record's identity, and a resend under
it, whatever its body says, changes nothing stored and is answered as a duplicate; the
true time of a record, the delivery watermark, the kiosk's heartbeat and its rate limit."""
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from common.db import connect
from tests.support.live import auth, session_slot_now


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


def push(client, token, records, **change):
    body = {"generation": "gen-1", "boot_id": "boot-1", "boot_s": 500.0, "clock": now_iso(), "clock_synced": True,
            "pending": 0, "captured_through": {"boot_s": 500.0}, "records": records, **change}
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


# --- true time, watermark, heartbeat ------------------------------------------------

def epoch(text):
    return datetime.fromisoformat(text).timestamp()


def registered_long_ago(admin_app):
    """A synced clock before the kiosk's registration is not believed: register it in 2020."""
    conn = connect(admin_app.config["ADMIN_DB"])
    conn.execute("UPDATE kiosks SET created_at = '2020-01-01T00:00:00.000+00:00'")
    conn.close()


def kiosk_row(admin_app):
    (row,) = rows(admin_app.config["ADMIN_DB"], "SELECT * FROM kiosks")
    return row


def stored_at(admin_app, seq):
    (row,) = rows(admin_app.config["ADMIN_DB"], f"SELECT at, time_source, local_date FROM checkins WHERE seq = {seq}")
    return epoch(row["at"]), row["time_source"], row["local_date"]


def test_a_record_is_timed_by_its_clock_its_boot_clock_or_not_at_all(client, kiosk_token, people, admin_app):
    uid = "01010501B00A0001"
    registered_long_ago(admin_app)
    push(client, kiosk_token, [], boot_id="boot-0", boot_s=1000.0)  # the server learns boot-0's base
    before = datetime.now(timezone.utc).timestamp()
    push(client, kiosk_token, [
        checkin(1, uid, "late", shift_s=-3600),                                           # synced: its wall clock
        checkin(2, uid, "late", shift_s=-3600, clock_synced=False, boot_s=440.0),          # this boot: base + boot_s
        checkin(3, uid, "late", shift_s=-3600, clock_synced=False, boot_id="boot-0", boot_s=990.0),  # a known boot
        checkin(4, uid, "late", shift_s=-7200, clock_synced=False, boot_id="boot-x", boot_s=5.0),  # unknown boot
    ], boot_s=500.0)
    after = datetime.now(timezone.utc).timestamp()
    at, source, _ = stored_at(admin_app, 1)
    assert source == "synced" and before - 3600 - 1 < at < after - 3600 + 1
    at, source, _ = stored_at(admin_app, 2)
    assert source == "boot_offset" and before - 60 - 0.5 < at < after - 60 + 0.5    # 60 s before the push
    at, source, _ = stored_at(admin_app, 3)
    assert source == "boot_offset" and before - 10 - 30 < at < after - 10 + 0.5     # 10 s before the first push
    at, source, _ = stored_at(admin_app, 4)
    assert source == "uncorrected" and before - 7200 - 1 < at < after - 7200 + 1


def test_a_boot_keeps_its_earliest_base_until_it_is_stale(client, kiosk_token, people, admin_app):
    push(client, kiosk_token, [], boot_s=500.0)
    base = rows(admin_app.config["ADMIN_DB"], "SELECT base_epoch FROM kiosk_boots")[0]["base_epoch"]
    push(client, kiosk_token, [], boot_s=400.0)   # a slow answer: the base looks 100 s later, kept as it was
    assert rows(admin_app.config["ADMIN_DB"], "SELECT base_epoch FROM kiosk_boots")[0]["base_epoch"] == base
    push(client, kiosk_token, [], boot_s=600.0)   # an earlier base: taken
    earlier = rows(admin_app.config["ADMIN_DB"], "SELECT base_epoch FROM kiosk_boots")[0]["base_epoch"]
    assert base - 101 < earlier < base - 99
    conn = connect(admin_app.config["ADMIN_DB"])
    conn.execute("UPDATE kiosk_boots SET seen_at = ?", (now_iso(-16 * 60),))  # older than 15 minutes: refreshed
    conn.close()
    push(client, kiosk_token, [], boot_s=400.0)
    assert rows(admin_app.config["ADMIN_DB"], "SELECT base_epoch FROM kiosk_boots")[0]["base_epoch"] > base + 99
    conn = connect(admin_app.config["ADMIN_DB"])
    conn.execute("UPDATE kiosk_boots SET seen_at = ?", (now_iso(-14 * 60),))  # younger: kept
    conn.close()
    fresh = rows(admin_app.config["ADMIN_DB"], "SELECT base_epoch FROM kiosk_boots")[0]["base_epoch"]
    push(client, kiosk_token, [], boot_s=300.0)
    assert rows(admin_app.config["ADMIN_DB"], "SELECT base_epoch FROM kiosk_boots")[0]["base_epoch"] == fresh


def test_a_check_in_is_dated_in_the_admins_zone(client, kiosk_token, people, admin_app):
    registered_long_ago(admin_app)
    record = checkin(1, "01010501B00A0001", "no_session", wall_at="2026-11-09T23:30:00.000+00:00")
    push(client, kiosk_token, [record])
    assert stored_at(admin_app, 1)[2] == "2026-11-10"  # half past midnight in Amsterdam


def test_the_watermark_moves_only_forward_and_only_when_everything_captured_is_here(
        client, kiosk_token, people, admin_app):
    uid = "01010501B00A0001"
    assert kiosk_row(admin_app)["watermark_at"] is None
    push(client, kiosk_token, [], pending=2)                            # more to come: not delivered yet
    assert kiosk_row(admin_app)["watermark_at"] is None
    push(client, kiosk_token, [], captured_through=None)                # no statement of what was captured
    assert kiosk_row(admin_app)["watermark_at"] is None
    push(client, kiosk_token, [checkin(2, uid, "late")])                # seq 1 is missing: a gap
    assert kiosk_row(admin_app)["watermark_at"] is None
    before = datetime.now(timezone.utc).timestamp()
    push(client, kiosk_token, [checkin(1, uid, "late")], boot_s=500.0, captured_through={"boot_s": 470.0})
    mark = epoch(kiosk_row(admin_app)["watermark_at"])
    assert before - 30 - 1 < mark < datetime.now(timezone.utc).timestamp() - 30 + 1   # the boot-clock moment given
    push(client, kiosk_token, [], boot_s=500.0, captured_through={"boot_s": 400.0})   # older: the mark stays
    assert epoch(kiosk_row(admin_app)["watermark_at"]) == mark


def test_a_push_is_a_heartbeat_with_the_kiosks_clock(client, kiosk_token, people, admin_app):
    answer = push(client, kiosk_token, [], clock=now_iso(-2.0), clock_synced=False, pending=0, role="station")
    row = kiosk_row(admin_app)
    assert 1.5 < answer["clock_offset_s"] < 3.0 and row["clock_offset_s"] == answer["clock_offset_s"]
    assert answer["clock_offset_s"] == round(answer["clock_offset_s"], 3)
    assert row["last_heard_at"] == answer["server_time"] and row["clock_synced"] == 0
    assert row["role"] == "checkin" and row["pending"] == 0  # the role is the registration's, not the push's
    push(client, kiosk_token, [], pending=7, clock_synced=True, role=None)
    row = kiosk_row(admin_app)
    assert row["role"] == "checkin" and row["pending"] == 7 and row["clock_synced"] == 1


def test_a_revoked_badge_belongs_to_nobody_when_its_tap_arrives(client, tokens, kiosk_token, people, admin_app):
    client.put(f"/api/v1/participants/{people['Anoeshka']}/badge", json={"uid": "0202020202020202"},
               headers=auth(tokens["admin"]))
    push(client, kiosk_token, [checkin(1, "01010501B00A0001", "on_time"), checkin(2, "0202020202020202", "on_time")])
    stored = rows(admin_app.config["ADMIN_DB"], "SELECT seq, participant_id FROM checkins ORDER BY seq")
    assert stored == [{"seq": 1, "participant_id": None}, {"seq": 2, "participant_id": people["Anoeshka"]}]


def test_a_kiosk_over_its_rate_limit_is_told_to_wait_from_the_first_request_too_many(admin_app, client, kiosk_token):
    admin_app.config["SYNC_RATE_PER_MINUTE"] = 3
    answers = [client.post("/api/v1/sync/push", json={}, headers=auth(kiosk_token)) for _ in range(5)]
    assert [a.status_code for a in answers] == [400, 400, 400, 429, 429]
    assert answers[3].headers["Retry-After"] == "5" and "error" in answers[3].json


def test_a_kiosks_count_starts_again_with_each_minute_of_the_clock(monkeypatch):
    from admin.sync import RateLimiter
    limiter, clock = RateLimiter(), [1000 * 60 + 59.9]   # the last tenth of a second of minute 1000
    monkeypatch.setattr("admin.sync.time.time", lambda: clock[0])
    assert [limiter.allow("kiosk-1", 2) for _ in range(3)] == [True, True, False]
    assert limiter.allow("kiosk-2", 2)                   # another kiosk has its own count
    clock[0] = 1001 * 60                                 # the next minute: a fresh count
    assert [limiter.allow("kiosk-1", 2) for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "bearer {token}", "Token {token}", "{token}", "Bearer x{token}"])
def test_only_a_kiosk_bearer_token_opens_the_sync_api(client, kiosk_token, header):
    r = client.post("/api/v1/sync/push", json={}, headers={"Authorization": header.format(token=kiosk_token)})
    assert r.status_code == 401 and r.json == {"error": "a valid kiosk token is required"}
    ok = client.post("/api/v1/sync/push", json={}, headers={"Authorization": f"Bearer  {kiosk_token} "})
    assert ok.status_code == 400  # through the door, then refused for its body


# --- what a kiosk's token is good for ------------------------------------------------

def measurement(seq, participant_id, taken_by=None, weight=80.5):
    return {"id": str(uuid.uuid4()), "seq": seq, "kind": "measurement", "participant_id": participant_id,
            "moment": "intake", "values": {"weight_kg": weight}, "sources": {"scale": {"driver": "tanita"}},
            "taken_by": taken_by, "wall_at": now_iso(), "clock_synced": True, "boot_id": "boot-1", "boot_s": 499.0}


def held(admin_app):
    """What a refused push must not change: every stored record, stream and boot."""
    return [rows(admin_app.config["ADMIN_DB"], f"SELECT * FROM {table} ORDER BY 1")
            for table in ("checkins", "measurements", "streams", "kiosk_boots")]


def staff_id(admin_app, role):
    (row,) = rows(admin_app.config["ADMIN_DB"], f"SELECT id FROM staff WHERE email = '{role}@example.test'")
    return row["id"]


def refusal(client, token, records):
    r = client.post("/api/v1/sync/push", headers=auth(token), json={
        "generation": "gen-1", "boot_id": "boot-1", "boot_s": 500.0, "clock": now_iso(), "clock_synced": True,
        "pending": 0, "captured_through": {"boot_s": 500.0}, "records": records})
    return r.status_code, r.json


@pytest.mark.parametrize("kiosk, record, status, reason", [
    ("station", lambda p, s: measurement(2, 999999), 422, "no such participant"),
    ("station", lambda p, s: measurement(2, p, taken_by=s["lifecoach"]), 422,
     "'taken_by' is not an active physio or admin"),
    ("station", lambda p, s: measurement(2, p, taken_by=s["coordinator"]), 422,
     "'taken_by' is not an active physio or admin"),
    ("station", lambda p, s: measurement(2, p, taken_by=424242), 422, "'taken_by' is not an active physio or admin"),
    ("station", lambda p, s: checkin(2, "01010501B00A0002", "late"), 403,
     "this kiosk is registered as a station and records no check-ins"),
    ("checkin", lambda p, s: measurement(2, p), 403,
     "this kiosk is registered as a check-in kiosk and may not send measurements"),
], ids=["no-such-participant", "taken-by-a-lifecoach", "taken-by-a-coordinator", "taken-by-nobody",
        "check-in-from-a-station", "measurement-from-a-check-in-kiosk"])
def test_a_record_this_kiosk_may_not_send_refuses_the_whole_push_with_its_place_and_reason(
        client, tokens, kiosk_token, station_token, people, admin_app, kiosk, record, status, reason):
    token = station_token if kiosk == "station" else kiosk_token
    first = measurement(1, people["Anoeshka"]) if kiosk == "station" else checkin(1, "01010501B00A0001", "late")
    staff = {role: staff_id(admin_app, role) for role in tokens}
    before = held(admin_app)
    assert refusal(client, token, [first, record(people["Anoeshka"], staff)]) == (status, {"error": f"records[1]: {reason}"})
    assert held(admin_app) == before  # not even the first, good record


def test_an_active_physio_or_admin_or_nobody_may_be_named_as_having_taken_a_measurement(
        client, tokens, station_token, people, admin_app):
    pid = people["Anoeshka"]
    staff = {role: staff_id(admin_app, role) for role in tokens}
    answer = push(client, station_token, [measurement(1, pid, taken_by=staff["physio"]),
                                          measurement(2, pid, taken_by=staff["admin"]), measurement(3, pid)])
    assert (answer["acked_seq"], answer["stored"]) == (3, 3)
    stored = rows(admin_app.config["ADMIN_DB"], "SELECT taken_by, values_json FROM measurements ORDER BY seq")
    assert [m["taken_by"] for m in stored] == [staff["physio"], staff["admin"], None]
    assert [m["values_json"] for m in stored] == ['{"weight_kg": 80.5}'] * 3
    conn = connect(admin_app.config["ADMIN_DB"])
    conn.execute("UPDATE staff SET active = 0 WHERE id = ?", (staff["physio"],))
    conn.close()
    assert refusal(client, station_token, [measurement(4, pid, taken_by=staff["physio"])]) == (
        422, {"error": "records[0]: 'taken_by' is not an active physio or admin"})


def test_a_resend_stays_a_success_whatever_changed_since_but_the_rest_of_its_batch_is_still_checked(
        client, tokens, station_token, people, admin_app):
    pid = people["Anoeshka"]
    physio = staff_id(admin_app, "physio")
    first = measurement(1, pid, taken_by=physio)
    push(client, station_token, [first])
    conn = connect(admin_app.config["ADMIN_DB"])
    conn.execute("UPDATE staff SET active = 0 WHERE id = ?", (physio,))
    conn.close()
    answer = push(client, station_token, [first])
    assert (answer["acked_seq"], answer["stored"], answer["duplicates"]) == (1, 0, 1)
    before = held(admin_app)
    assert refusal(client, station_token, [first, measurement(2, 999999)]) == (
        422, {"error": "records[1]: no such participant"})
    assert held(admin_app) == before


def test_a_stored_seq_of_one_kind_lets_no_record_of_the_other_kind_through(
        client, kiosk_token, station_token, people, admin_app):
    push(client, kiosk_token, [checkin(1, "01010501B00A0001", "late")])
    assert refusal(client, kiosk_token, [measurement(1, people["Anoeshka"])]) == (
        403, {"error": "records[0]: this kiosk is registered as a check-in kiosk and may not send measurements"})
    push(client, station_token, [measurement(1, people["Anoeshka"])])
    assert refusal(client, station_token, [checkin(1, "01010501B00A0001", "late")]) == (
        403, {"error": "records[0]: this kiosk is registered as a station and records no check-ins"})


def test_a_check_in_of_someone_of_another_location_is_kept_flagged_and_never_attendance(
        client, tokens, runner, kiosk_token, people, admin_app):
    result = runner.invoke(args=["add-kiosk", "kiosk-noord", "--location", "Noord"])
    noord = result.output.strip().splitlines()[-1]
    push(client, noord, [checkin(1, "01010501B00A0001", "on_time"), checkin(2, "0303030303030303", "on_time")])
    push(client, kiosk_token, [checkin(1, "01010501B00A0002", "on_time")])
    stored = rows(admin_app.config["ADMIN_DB"], "SELECT badge_uid, participant_id, flag FROM checkins ORDER BY id")
    assert sorted((r["badge_uid"], r["participant_id"], r["flag"]) for r in stored) == [
        ("01010501B00A0001", people["Anoeshka"], "other_location"),  # Zuid's, tapped at Noord
        ("01010501B00A0002", people["Mohamed"], None),               # at home
        ("0303030303030303", None, None),                            # nobody's: no location to differ
    ]
    assert statuses(client, tokens) == {"Anoeshka": "absent", "Mohamed": "late"}  # 30 min in, no grace


# --- the server's own clock at its edges (frozen at a whole second) --------------------

def frozen_server_clock(monkeypatch):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    monkeypatch.setattr("admin.sync.utc_now", lambda: now)
    return now


def at_ms(moment):
    return moment.isoformat(timespec="milliseconds")


def test_a_synced_clock_is_believed_up_to_a_day_ahead_and_from_the_kiosks_registration_to_the_millisecond(
        client, kiosk_token, people, admin_app, monkeypatch):
    now = frozen_server_clock(monkeypatch)
    registered, day, ms = now - timedelta(hours=1), timedelta(days=1), timedelta(milliseconds=1)
    conn = connect(admin_app.config["ADMIN_DB"])
    conn.execute("UPDATE kiosks SET created_at = ?", (at_ms(registered),))
    conn.close()
    uid = "01010501B00A0001"
    push(client, kiosk_token, [
        checkin(1, uid, "late", wall_at=at_ms(now + day)),
        checkin(2, uid, "late", wall_at=at_ms(now + day + ms)),
        checkin(3, uid, "late", wall_at=at_ms(registered)),
        checkin(4, uid, "late", wall_at=at_ms(registered - ms)),
        checkin(5, uid, "late", wall_at=at_ms(now + 2 * day), clock_synced=False),  # claims nothing: not flagged
    ])
    stored = rows(admin_app.config["ADMIN_DB"], "SELECT flag, time_source FROM checkins ORDER BY seq")
    assert [(r["flag"], r["time_source"]) for r in stored] == [
        (None, "synced"), ("clock", "boot_offset"), (None, "synced"), ("clock", "boot_offset"), (None, "boot_offset")]


def test_a_boot_base_is_replaced_by_a_later_one_only_when_more_than_15_minutes_old(
        client, kiosk_token, people, admin_app, monkeypatch):
    now = frozen_server_clock(monkeypatch)
    db = admin_app.config["ADMIN_DB"]

    def aged(delta):
        conn = connect(db)
        conn.execute("UPDATE kiosk_boots SET seen_at = ?", (at_ms(now - delta),))
        conn.close()

    def boot():
        (row,) = rows(db, "SELECT base_epoch, seen_at FROM kiosk_boots")
        return row["base_epoch"], row["seen_at"]

    push(client, kiosk_token, [], boot_s=500.0)
    base = now.timestamp() - 500.0
    assert boot() == (base, at_ms(now))
    aged(timedelta(minutes=10))
    push(client, kiosk_token, [], boot_s=500.0)   # the same base again: nothing learnt, its age stays
    assert boot() == (base, at_ms(now - timedelta(minutes=10)))
    aged(timedelta(minutes=15))
    push(client, kiosk_token, [], boot_s=400.0)   # a later base at exactly 15 minutes: still fresh, kept
    assert boot() == (base, at_ms(now - timedelta(minutes=15)))
    aged(timedelta(minutes=15, milliseconds=1))
    push(client, kiosk_token, [], boot_s=400.0)   # a millisecond older: stale, replaced
    assert boot() == (now.timestamp() - 400.0, at_ms(now))
