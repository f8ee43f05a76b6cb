"""The kiosks' API: strict validation, hashed revocable tokens, limits, and a roster
that carries the least personal data and only what changed."""
import uuid

import pytest

from kiosk import store
from tests.support.live import auth

GROUP = {"name": "Groep B", "location": "Zuid", "starts_on": "2026-11-02", "weeks": 12, "grace_minutes": 10,
         "sessions": [{"weekday": 0, "start": "09:00", "end": "12:00"}]}


@pytest.fixture
def kiosk_token(runner, admin_app):
    result = runner.invoke(args=["add-kiosk", "kiosk-1", "--location", "Zuid"])
    assert result.exit_code == 0, result.output
    # Registered well before the records below (2026-11-09): a synced record from before
    # its kiosk was added would be flagged.
    from common.db import connect
    connect(admin_app.config["ADMIN_DB"]).execute("UPDATE kiosks SET created_at = '2026-01-01T00:00:00.000+00:00'")
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def enrolled(client, tokens):
    gid = client.post("/api/v1/groups", json=GROUP, headers=auth(tokens["admin"])).json["id"]
    pid = client.post("/api/v1/participants", json={"first_name": "Anoeshka", "last_name": "Ramdin",
                                                    "group_id": gid, "badge_uid": "01010501B00A0001"},
                      headers=auth(tokens["admin"])).json["id"]
    return gid, pid


def record(seq=1, **change):
    base = {"id": str(uuid.uuid4()), "seq": seq, "kind": "checkin", "badge_uid": "01010501B00A0001",
            "result": "on_time", "wall_at": "2026-11-09T08:02:00.000+00:00", "clock_synced": True,
            "boot_id": "boot-1", "boot_s": 100.0}
    return {**base, **change}


def measurement(seq=1, **change):
    return record(seq, **{"kind": "measurement", "participant_id": 1, "moment": "intake",
                          "values": {"weight_kg": 80.1}, "sources": {"scale": {"driver": "tanita"}}, **change})


def push_body(records, **change):
    base = {"generation": "gen-1", "boot_id": "boot-1", "boot_s": 200.0, "clock": "2026-11-09T08:03:00+00:00",
            "clock_synced": True, "pending": 0, "captured_through": {"boot_s": 199.0}, "records": records}
    return {**base, **change}


def test_a_kiosk_token_is_needed_and_a_staff_token_is_not_one(client, tokens):
    assert client.post("/api/v1/sync/push", json=push_body([])).status_code == 401
    assert client.post("/api/v1/sync/push", json=push_body([]), headers=auth(tokens["admin"])).status_code == 401


def test_a_revoked_kiosk_can_no_longer_sync(client, runner, kiosk_token):
    assert client.post("/api/v1/sync/push", json=push_body([]), headers=auth(kiosk_token)).status_code == 200
    assert runner.invoke(args=["revoke-kiosk", "kiosk-1"]).exit_code == 0
    assert client.post("/api/v1/sync/push", json=push_body([]), headers=auth(kiosk_token)).status_code == 401


@pytest.mark.parametrize("body, message", [
    (None, "JSON object"),
    (push_body([], generation=5), "generation"),
    (push_body([], clock="yesterday"), "ISO-8601"),
    (push_body([record(seq=0)]), "seq"),
    (push_body([record(id="not-a-uuid")]), "UUID"),
    (push_body([record(kind="selfie")]), "kind"),
    (push_body([record(result="maybe")]), "result"),
    (push_body([record(badge_uid="ZZZZ")]), "hex"),
    (push_body([record(clock_synced="yes")]), "clock_synced"),
    (push_body([record(kind="measurement", participant_id=1, moment="intake", values={"weight_kg": "80"},
                       sources={})]), "number"),
    (push_body([record(kind="measurement", participant_id=1, moment="intake", values={"iq": 120},
                       sources={})]), "unknown measurement field"),
    (push_body([record(seq=i + 1) for i in range(501)]), "at most"),
    (push_body([measurement(sources={"scale": {"driver": "tanita", "password": "x"}})]), "unknown key 'password'"),
    (push_body([measurement(sources={"fridge": {}})]), "unknown instrument"),
    (push_body([measurement(sources={"scale": {"manual": True, "reason": "x" * 201}})]), "at most 200"),
    (push_body([measurement(sources={"scale": {"inputs": {"sex": "other"}}})]), "'sex' must be one of"),
    (push_body([measurement(sources={"scale": {"inputs": {"age": 40.5}}})]), "'age' must be a number"),
    (push_body([measurement(sources={"scale": {"inputs": {"height_cm": True}}})]), "'height_cm' must be a number"),
    (push_body([measurement(sources={"scale": {"inputs": {"iq": 1}}})]), "unknown scale input"),
    (push_body([measurement(sources={"scale": {"weight_only": "guessed"}})]), "weight_only"),
    # A list where a name belongs cannot be looked up (unhashable): still a 400, never a 500.
    (push_body([measurement(sources={"bp": {"arm": ["left"]}})]), "'arm' must be one of"),
    (push_body([measurement(screening={"bp": {"answers": {"arm_left": ["no"]}}})]), "unknown question or answer"),
    (push_body([measurement(confirmed=[["weight_kg"]])]), "'confirmed' lists measurement fields"),
])
def test_an_invalid_push_is_refused_with_a_reason_and_stores_nothing(client, kiosk_token, admin_app, body, message):
    r = client.post("/api/v1/sync/push", json=body, headers=auth(kiosk_token))
    assert r.status_code == 400 and message in r.json["error"]
    from common.db import connect
    assert connect(admin_app.config["ADMIN_DB"]).execute("SELECT count(*) FROM checkins").fetchone()[0] == 0


def test_a_body_over_the_size_limit_is_refused(client, kiosk_token):
    r = client.post("/api/v1/sync/push", data=b"x" * (3 * 1024 * 1024), content_type="application/json",
                    headers=auth(kiosk_token))
    assert r.status_code == 413 and "error" in r.json


def test_a_kiosk_over_its_rate_limit_is_told_to_wait(admin_app, client, kiosk_token):
    admin_app.config["SYNC_RATE_PER_MINUTE"] = 3
    codes = [client.post("/api/v1/sync/push", json=push_body([]), headers=auth(kiosk_token)).status_code
             for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[-1] == 429


def test_a_heartbeat_commits_without_waiting_for_the_disk_and_records_wait_for_it(admin_app, client, kiosk_token,
                                                                                   enrolled):
    from admin.db import get_db
    with admin_app.app_context():
        conn = get_db()   # this thread's connection: the one the requests below use
    statements = []
    conn.set_trace_callback(statements.append)
    try:
        def commits(body):
            statements.clear()
            assert client.post("/api/v1/sync/push", json=body, headers=auth(kiosk_token)).status_code == 200
            level = [s for s in statements if s.startswith("PRAGMA synchronous") or s == "COMMIT"]
            return level, conn.execute("PRAGMA synchronous").fetchone()[0]

        assert commits(push_body([])) == (["PRAGMA synchronous=NORMAL", "COMMIT", "PRAGMA synchronous=FULL"], 2)
        assert commits(push_body([record()])) == (["COMMIT"], 2)   # FULL: the fsync before the acknowledgement
    finally:
        conn.set_trace_callback(None)


def test_the_high_water_mark_only_advances_over_a_gapless_run(client, kiosk_token, enrolled):
    r = client.post("/api/v1/sync/push", json=push_body([record(seq=1), record(seq=3)]), headers=auth(kiosk_token))
    assert r.json["acked_seq"] == 1
    r = client.post("/api/v1/sync/push", json=push_body([record(seq=2)]), headers=auth(kiosk_token))
    assert r.json["acked_seq"] == 3


def test_a_check_in_is_tied_to_the_participant_by_the_server(client, tokens, kiosk_token, enrolled):
    _gid, pid = enrolled
    client.post("/api/v1/sync/push", json=push_body([record()]), headers=auth(kiosk_token))
    (checkin,) = client.get("/api/v1/checkins?date=2026-11-09", headers=auth(tokens["admin"])).json["checkins"]
    assert checkin["participant_id"] == pid and checkin["at"].startswith("2026-11-09T08:02")


def test_an_unknown_badge_lands_in_the_enrolment_queue_until_assigned(client, tokens, kiosk_token, enrolled):
    _gid, pid = enrolled
    client.post("/api/v1/sync/push", json=push_body([record(badge_uid="0A0B0C0D0E0F0102", result="unknown_badge")]),
                headers=auth(kiosk_token))
    queue = client.get("/api/v1/badges/unknown", headers=auth(tokens["coordinator"])).json["badges"]
    assert [b["uid"] for b in queue] == ["0A0B0C0D0E0F0102"] and queue[0]["kiosk"] == "kiosk-1"
    client.put(f"/api/v1/participants/{pid}/badge", json={"uid": "0A0B0C0D0E0F0102"}, headers=auth(tokens["admin"]))
    assert client.get("/api/v1/badges/unknown", headers=auth(tokens["coordinator"])).json["badges"] == []


def roster(client, token, since=0):
    r = client.get(f"/api/v1/sync/roster?since={since}", headers=auth(token))
    assert r.status_code == 200
    return r.json


def test_the_roster_holds_first_names_badges_and_groups_but_no_last_names_or_phones(client, kiosk_token, enrolled):
    data = roster(client, kiosk_token)
    assert data["people"] == [{"participant_id": enrolled[1], "first_name": "Anoeshka", "group_id": enrolled[0],
                               "language": "nl"}]
    assert data["badges"] == [{"uid": "01010501B00A0001", "participant_id": enrolled[1]}]
    assert "Ramdin" not in str(data)


def test_the_roster_is_incremental(client, tokens, kiosk_token, enrolled):
    version = roster(client, kiosk_token)["version"]
    assert roster(client, kiosk_token, version)["people"] == []
    client.put(f"/api/v1/participants/{enrolled[1]}/badge", json={"uid": "0202020202020202"},
               headers=auth(tokens["admin"]))
    changes = roster(client, kiosk_token, version)
    assert {b["uid"]: b for b in changes["badges"]} == {
        "01010501B00A0001": {"uid": "01010501B00A0001", "inactive": True},
        "0202020202020202": {"uid": "0202020202020202", "participant_id": enrolled[1]}}


def test_a_changed_language_reaches_the_kiosk_with_the_next_roster(client, kiosk_token, enrolled, tmp_path, admin_app):
    conn = store.open_db(tmp_path / "kiosk.sqlite")
    store.apply_roster(conn, roster(client, kiosk_token))
    from admin import programme
    from admin.auth import SYSTEM
    with admin_app.app_context():
        from admin.db import get_db
        programme.update_participant(get_db(), SYSTEM, enrolled[1], {"language": "ar"})
    (person,) = roster(client, kiosk_token, int(store.get_meta(conn, "roster_version")))["people"]
    assert person["language"] == "ar"
    store.apply_roster(conn, {**roster(client, kiosk_token), "people": [person]})
    assert conn.execute("SELECT language FROM roster_people").fetchone()[0] == "ar"


def test_a_kiosk_elsewhere_gets_nobody_from_this_location(client, runner, enrolled):
    token = runner.invoke(args=["add-kiosk", "kiosk-noord", "--location", "Noord"]).output.strip().splitlines()[-1]
    data = roster(client, token)
    assert data["people"] == [{"participant_id": enrolled[1], "removed": True}]
    assert data["groups"] == []


def test_the_kiosk_forgets_a_participant_who_left_and_greets_the_badge_as_inactive(client, kiosk_token, enrolled, tmp_path, admin_app):
    conn = store.open_db(tmp_path / "kiosk.sqlite")
    store.apply_roster(conn, roster(client, kiosk_token))
    assert conn.execute("SELECT count(*) FROM roster_people").fetchone()[0] == 1
    from admin import programme
    from admin.auth import SYSTEM
    with admin_app.app_context():
        from admin.db import get_db
        programme.set_status(get_db(), SYSTEM, enrolled[1], "withdrawn")
    store.apply_roster(conn, roster(client, kiosk_token, int(store.get_meta(conn, "roster_version"))))
    assert conn.execute("SELECT count(*) FROM roster_people").fetchone()[0] == 0
    assert store.capture_tap(conn, "01010501B00A0001")["result"] == "inactive"


def test_a_station_kiosk_gets_sex_and_birth_year_a_check_in_kiosk_never(client, runner, tokens, enrolled,
                                                                        kiosk_token, admin_app):
    gid, _ = enrolled
    fatma = client.post("/api/v1/participants", json={"first_name": "Fatma", "last_name": "Yilmaz", "group_id": gid,
                                                      "sex": "female", "birth_date": "1985-03-14"},
                        headers=auth(tokens["admin"])).json["id"]
    station_token = runner.invoke(args=["add-kiosk", "station-1", "--location", "Zuid", "--role", "station"]
                                  ).output.strip().splitlines()[-1]
    at_station = {p["participant_id"]: p for p in roster(client, station_token)["people"]}
    assert {k: v for k, v in at_station[fatma].items() if k != "station"} == {
        "participant_id": fatma, "first_name": "Fatma", "group_id": gid, "language": "nl", "sex": "female",
        "birth_year": 1985}
    assert at_station[enrolled[1]]["sex"] is None and at_station[enrolled[1]]["birth_year"] is None
    at_checkin = roster(client, kiosk_token)
    assert "1985" not in str(at_checkin) and "female" not in str(at_checkin)
    assert all(set(p) == {"participant_id", "first_name", "group_id", "language"} for p in at_checkin["people"])
