"""The staff JSON API: bodies are validated, errors are JSON 4xx, nothing is half-written."""
from datetime import date, timedelta

import pytest

from tests.support.live import auth

GROUP = {"name": "Groep B", "location": "Zuid", "starts_on": "2026-11-02", "weeks": 12, "grace_minutes": 10,
         "sessions": [{"weekday": 0, "start": "09:00", "end": "12:00"}]}


@pytest.fixture
def group_id(client, tokens):
    r = client.post("/api/v1/groups", json=GROUP, headers=auth(tokens["admin"]))
    assert r.status_code == 201, r.json
    return r.json["id"]


def count(admin_app, table):
    from common.db import connect
    return connect(admin_app.config["ADMIN_DB"]).execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_init_db_is_idempotent(runner):
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert runner.invoke(args=["init-db"]).exit_code == 0


def test_openapi_describes_every_endpoint_of_the_contract(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/groups", "/api/v1/participants", "/api/v1/participants/{id}/badge",
                 "/api/v1/participants/{id}/excuses", "/api/v1/attendance", "/api/v1/checkins",
                 "/api/v1/participants/{id}/measurements", "/api/v1/badges/unknown", "/api/v1/audit"):
        assert path in paths


def test_without_a_token_the_api_answers_401_in_json(client):
    r = client.get("/api/v1/attendance")
    assert r.status_code == 401 and "error" in r.json


def test_a_made_up_token_is_refused(client):
    assert client.get("/api/v1/attendance", headers=auth("fws_nonsense")).status_code == 401


def test_tokens_are_stored_hashed(admin_app, tokens):
    from common.db import connect
    stored = [r[0] for r in connect(admin_app.config["ADMIN_DB"]).execute("SELECT token_hash FROM api_tokens")]
    assert tokens["admin"] not in stored and len(stored) == 4


def test_create_group_returns_201_with_id(client, tokens):
    r = client.post("/api/v1/groups", json=GROUP, headers=auth(tokens["admin"]))
    assert r.status_code == 201 and isinstance(r.json["id"], int)


@pytest.mark.parametrize("change, message", [
    ({"name": ""}, "name"),
    ({"location": None}, "location"),
    ({"starts_on": "02-11-2026"}, "starts_on"),
    ({"starts_on": "2026-02-30"}, "starts_on"),
    ({"weeks": 0}, "weeks"),
    ({"weeks": "12"}, "weeks"),
    ({"grace_minutes": -1}, "grace_minutes"),
    ({"sessions": []}, "sessions"),
    ({"sessions": [{"weekday": 7, "start": "09:00", "end": "12:00"}]}, "weekday"),
    ({"sessions": [{"weekday": 0, "start": "9:00", "end": "12:00"}]}, "HH:MM"),
    ({"sessions": [{"weekday": 0, "start": "12:00", "end": "09:00"}]}, "after"),
    ({"sessions": [{"weekday": 0, "start": "25:00", "end": "26:00"}]}, "HH:MM"),
])
def test_an_invalid_group_is_refused_with_a_clear_error_and_nothing_written(client, tokens, admin_app, change, message):
    r = client.post("/api/v1/groups", json={**GROUP, **change}, headers=auth(tokens["admin"]))
    assert r.status_code == 400
    assert message in r.json["error"]
    assert count(admin_app, "groups") == 0 and count(admin_app, "schedule_slots") == 0


@pytest.mark.parametrize("body", [None, "text", [1, 2], 42])
def test_a_body_that_is_not_a_json_object_is_refused(client, tokens, body):
    r = client.post("/api/v1/groups", data="not json" if body is None else __import__("json").dumps(body),
                    content_type="application/json", headers=auth(tokens["admin"]))
    assert r.status_code == 400 and "error" in r.json


def test_only_an_admin_may_create_groups(client, tokens):
    for role in ("coordinator", "lifecoach", "physio"):
        assert client.post("/api/v1/groups", json=GROUP, headers=auth(tokens[role])).status_code == 403


def test_a_participant_with_a_badge_is_enrolled(client, tokens, group_id):
    r = client.post("/api/v1/participants", json={"first_name": "Anoeshka", "last_name": "Ramdin",
                                                  "group_id": group_id, "badge_uid": "04:49:76:22:d9:38:81"},
                    headers=auth(tokens["admin"]))
    assert r.status_code == 201


@pytest.mark.parametrize("body, message", [
    ({"last_name": "X", "group_id": 1}, "first_name"),
    ({"first_name": "A", "last_name": "X", "group_id": 999}, "no such group"),
    ({"first_name": "A", "last_name": "X", "group_id": 1, "badge_uid": "xyz"}, "hex"),
    ({"first_name": "A" * 101, "last_name": "X", "group_id": 1}, "longer"),
    ({"first_name": "A", "last_name": "X", "group_id": 1, "language": "xx"}, "language"),
    ({"first_name": "A", "last_name": "X", "group_id": 1, "language": None}, "language"),
])
def test_an_invalid_participant_is_refused_and_nothing_written(client, tokens, group_id, admin_app, body, message):
    r = client.post("/api/v1/participants", json=body, headers=auth(tokens["admin"]))
    assert r.status_code == 400 and message in r.json["error"]
    assert count(admin_app, "participants") == 0 and count(admin_app, "badges") == 0


def test_a_participant_has_a_preferred_language_dutch_unless_given(client, tokens, group_id, admin_app):
    from common.db import connect
    for name, language in (("Büşra", "tr"), ("Henk", None)):
        body = {"first_name": name, "last_name": "X", "group_id": group_id}
        r = client.post("/api/v1/participants", json=body | ({"language": language} if language else {}),
                        headers=auth(tokens["admin"]))
        assert r.status_code == 201
    stored = connect(admin_app.config["ADMIN_DB"]).execute("SELECT first_name, language FROM participants")
    assert {row[0]: row[1] for row in stored} == {"Büşra": "tr", "Henk": "nl"}


def test_a_badge_uid_belongs_to_at_most_one_active_person(client, tokens, group_id, admin_app):
    a = client.post("/api/v1/participants", json={"first_name": "A", "last_name": "X", "group_id": group_id,
                                                  "badge_uid": "04497622D93881"}, headers=auth(tokens["admin"]))
    b = client.post("/api/v1/participants", json={"first_name": "B", "last_name": "Y", "group_id": group_id,
                                                  "badge_uid": "04497622D93881"}, headers=auth(tokens["admin"]))
    assert a.status_code == 201 and b.status_code == 400 and "belongs" in b.json["error"]
    assert count(admin_app, "participants") == 1


def test_assigning_a_new_badge_revokes_the_old_one(client, tokens, group_id, admin_app):
    pid = client.post("/api/v1/participants", json={"first_name": "A", "last_name": "X", "group_id": group_id,
                                                    "badge_uid": "0101010101010101"}, headers=auth(tokens["admin"])).json["id"]
    r = client.put(f"/api/v1/participants/{pid}/badge", json={"uid": "0202020202020202"}, headers=auth(tokens["admin"]))
    assert r.status_code == 200
    from common.db import connect
    active = connect(admin_app.config["ADMIN_DB"]).execute(
        "SELECT uid FROM badges WHERE revoked_at IS NULL").fetchall()
    assert [row[0] for row in active] == ["0202020202020202"]


def test_badge_for_an_unknown_participant_is_404(client, tokens):
    r = client.put("/api/v1/participants/999/badge", json={"uid": "0202020202020202"}, headers=auth(tokens["admin"]))
    assert r.status_code == 404 and "error" in r.json


def test_an_excuse_needs_a_date_and_a_reason(client, tokens, group_id, admin_app):
    from common.db import connect
    coach = connect(admin_app.config["ADMIN_DB"]).execute(
        "SELECT id FROM staff WHERE email = 'lifecoach@example.test'").fetchone()[0]
    pid = client.post("/api/v1/participants", json={"first_name": "A", "last_name": "X", "group_id": group_id,
                                                    "lifecoach_id": coach}, headers=auth(tokens["admin"])).json["id"]
    assert client.post(f"/api/v1/participants/{pid}/excuses", json={"date": "2026-11-02"},
                       headers=auth(tokens["lifecoach"])).status_code == 400
    assert client.post(f"/api/v1/participants/{pid}/excuses", json={"date": "2026-11-02", "reason": "tandarts"},
                       headers=auth(tokens["lifecoach"])).status_code == 201


def test_attendance_of_a_past_session_day_shows_absent_and_excused(client, tokens, group_id):
    ids = [client.post("/api/v1/participants", json={"first_name": n, "last_name": "X", "group_id": group_id},
                       headers=auth(tokens["admin"])).json["id"] for n in ("Anoeshka", "Mohamed")]
    client.post(f"/api/v1/participants/{ids[1]}/excuses", json={"date": "2026-11-09", "reason": "ziek"},
                headers=auth(tokens["coordinator"]))
    r = client.get("/api/v1/attendance?date=2026-11-09", headers=auth(tokens["lifecoach"]))
    assert r.status_code == 200
    (session,) = r.json["sessions"]
    assert session["start"] == "2026-11-09T09:00:00+01:00"
    statuses = {p["first_name"]: p["status"] for p in session["participants"]}
    assert statuses == {"Anoeshka": "absent", "Mohamed": "excused"}


def test_attendance_with_a_bad_date_is_400(client, tokens):
    assert client.get("/api/v1/attendance?date=morgen", headers=auth(tokens["admin"])).status_code == 400


def test_a_date_outside_the_programme_has_no_sessions(client, tokens, group_id):
    day = date(2026, 11, 2) + timedelta(weeks=13)
    r = client.get(f"/api/v1/attendance?date={day}", headers=auth(tokens["admin"]))
    assert r.json["sessions"] == []


def test_measurements_are_health_data_for_physio_and_admin_only(client, tokens, group_id):
    pid = client.post("/api/v1/participants", json={"first_name": "A", "last_name": "X", "group_id": group_id},
                      headers=auth(tokens["admin"])).json["id"]
    for role, expected in (("physio", 200), ("admin", 200), ("lifecoach", 403), ("coordinator", 403)):
        r = client.get(f"/api/v1/participants/{pid}/measurements", headers=auth(tokens[role]))
        assert r.status_code == expected, role
    assert r.json["error"]


def test_every_measurement_view_is_in_the_audit_trail(client, tokens, group_id):
    pid = client.post("/api/v1/participants", json={"first_name": "A", "last_name": "X", "group_id": group_id},
                      headers=auth(tokens["admin"])).json["id"]
    client.get(f"/api/v1/participants/{pid}/measurements", headers=auth(tokens["physio"]))
    entries = client.get(f"/api/v1/audit?participant_id={pid}", headers=auth(tokens["admin"])).json["entries"]
    views = [e for e in entries if e["action"] == "view"]
    assert views and views[0]["staff"] == "physio@example.test" and views[0]["what"] == "measurements"
    assert client.get(f"/api/v1/audit?participant_id={pid}", headers=auth(tokens["physio"])).status_code == 403


def test_the_audit_log_cannot_be_changed_or_deleted(admin_app, client, tokens, group_id):
    import sqlite3

    from common.db import connect
    client.post("/api/v1/participants", json={"first_name": "A", "last_name": "X", "group_id": group_id},
                headers=auth(tokens["admin"]))
    conn = connect(admin_app.config["ADMIN_DB"])
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE audit_log SET what = 'nothing'")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("DELETE FROM audit_log")


def test_unknown_api_paths_answer_json_404(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and "error" in r.json


def test_a_participant_has_a_sex_and_a_birth_date_for_the_scale(client, tokens, group_id, admin_app):
    r = client.post("/api/v1/participants", json={"first_name": "Fatma", "last_name": "Yilmaz", "group_id": group_id,
                                                  "sex": "female", "birth_date": "1985-03-14"},
                    headers=auth(tokens["admin"]))
    assert r.status_code == 201, r.json
    from common.db import connect
    row = connect(admin_app.config["ADMIN_DB"]).execute("SELECT sex, birth_date FROM participants WHERE id = ?",
                                                        (r.json["id"],)).fetchone()
    assert tuple(row) == ("female", "1985-03-14")


@pytest.mark.parametrize("change, message", [
    ({"sex": "x"}, "'sex' must be one of male, female"),
    ({"sex": 1}, "'sex' must be one of male, female"),
    ({"birth_date": "14-03-1985"}, "'birth_date' must be a date YYYY-MM-DD"),
    ({"birth_date": "1985-02-30"}, "'birth_date' is not a real date"),
    ({"birth_date": (date.today() + timedelta(days=1)).isoformat()}, "between 1900 and today"),
    ({"birth_date": "1899-12-31"}, "between 1900 and today"),
])
def test_a_wrong_sex_or_birth_date_is_refused_and_nobody_is_enrolled(client, tokens, group_id, admin_app, change,
                                                                      message):
    body = {"first_name": "Fatma", "last_name": "Yilmaz", "group_id": group_id, **change}
    r = client.post("/api/v1/participants", json=body, headers=auth(tokens["admin"]))
    assert r.status_code == 400 and message in r.json["error"]
    assert count(admin_app, "participants") == 0
