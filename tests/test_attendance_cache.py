"""Attendance is cached between requests, but never stale: whatever it depends on moves,
the next answer shows it."""
from datetime import date, datetime, timedelta, timezone

import pytest

from admin.attendance import attendance
from common.db import connect
from tests.support.live import auth

DAY = date(2026, 11, 9)  # a Monday
START = datetime(2026, 11, 9, 8, 0, tzinfo=timezone.utc)  # 09:00 in Amsterdam
GROUP = {"name": "Groep B", "location": "Zuid", "starts_on": "2026-11-02", "grace_minutes": 10,
         "sessions": [{"weekday": 0, "start": "09:00", "end": "12:00"}]}


@pytest.fixture
def db(admin_app, client, tokens, runner):
    gid = client.post("/api/v1/groups", json=GROUP, headers=auth(tokens["admin"])).json["id"]
    for name in ("Anoeshka", "Mohamed"):
        client.post("/api/v1/participants", json={"first_name": name, "last_name": "T", "group_id": gid},
                    headers=auth(tokens["admin"]))
    runner.invoke(args=["add-kiosk", "kiosk-1", "--location", "Zuid"])
    conn = connect(admin_app.config["ADMIN_DB"])
    conn.execute("UPDATE kiosks SET watermark_at = '2026-11-09T12:00:00.000+00:00'")
    return conn


def statuses(conn, now):
    (session,) = attendance(conn, DAY, now)
    return {p["first_name"]: p["status"] for p in session["participants"]}


def test_the_same_question_twice_gets_the_same_answer_object(db):
    now = START + timedelta(minutes=30)
    assert attendance(db, DAY, now) is attendance(db, DAY, now)


def test_a_new_check_in_shows_at_once(db):
    now = START + timedelta(minutes=5)
    assert statuses(db, now)["Anoeshka"] == "expected"
    db.execute("INSERT INTO checkins(id, kiosk_id, generation, seq, badge_uid, participant_id, result, at, "
               "local_date, time_source, kiosk_wall_at, clock_synced, boot_id, boot_s, received_at) "
               "SELECT 'c1', id, 'g', 1, '0101', 1, 'on_time', '2026-11-09T08:03:00.000+00:00', '2026-11-09', "
               "'synced', '', 1, 'b', 1.0, '' FROM kiosks")
    assert statuses(db, now)["Anoeshka"] == "present"


def test_the_grace_period_ending_turns_expected_into_absent(db):
    assert statuses(db, START + timedelta(minutes=10))["Mohamed"] == "expected"
    assert statuses(db, START + timedelta(minutes=10, seconds=1))["Mohamed"] == "absent"


def test_an_excuse_written_by_any_path_shows_at_once(db):
    now = START + timedelta(minutes=30)
    assert statuses(db, now)["Mohamed"] == "absent"
    db.execute("INSERT INTO excuses(participant_id, date, reason, created_at) VALUES (2, '2026-11-09', 'ziek', '')")
    assert statuses(db, now)["Mohamed"] == "excused"


def test_a_kiosk_falling_behind_and_catching_up_moves_absent_to_unknown_and_back(db):
    now = START + timedelta(minutes=30)
    assert statuses(db, now)["Mohamed"] == "absent"
    db.execute("UPDATE kiosks SET watermark_at = '2026-11-09T08:05:00.000+00:00'")
    assert statuses(db, now)["Mohamed"] == "unknown"
    db.execute("UPDATE kiosks SET watermark_at = '2026-11-09T08:20:00.000+00:00'")
    assert statuses(db, now)["Mohamed"] == "absent"


def test_a_heartbeat_that_changes_nothing_relevant_keeps_the_cached_answer(db):
    now = START + timedelta(minutes=30)
    first = attendance(db, DAY, now)
    db.execute("UPDATE kiosks SET watermark_at = '2026-11-09T12:00:05.000+00:00', last_heard_at = 'x'")
    assert attendance(db, DAY, now) is first


def test_a_changed_grace_period_or_status_shows_at_once(db):
    now = START + timedelta(minutes=15)
    assert statuses(db, now)["Mohamed"] == "absent"
    db.execute("UPDATE groups SET grace_minutes = 30")
    assert statuses(db, now)["Mohamed"] == "expected"
    db.execute("UPDATE participants SET status = 'withdrawn' WHERE first_name = 'Mohamed'")
    assert "Mohamed" not in statuses(db, now)


def test_the_database_finds_a_group_exactly_on_the_days_its_programme_runs(db):
    """load_groups' SQL date range is Group.ends_on written again: pinned at both ends."""
    from admin.attendance import load_groups
    (group,) = load_groups(db)
    assert (group.starts_on, group.ends_on) == (date(2026, 11, 2), date(2027, 1, 24))  # 12 weeks, Monday to Sunday
    for day in (group.starts_on, group.ends_on):
        for shift in (-1, 0, 1):
            on = day + timedelta(days=shift)
            assert bool(load_groups(db, day=on)) == (group.starts_on <= on <= group.ends_on), on
