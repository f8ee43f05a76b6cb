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


def checkin_row(db, seq, participant_id, at):
    db.execute("INSERT INTO checkins(id, kiosk_id, generation, seq, badge_uid, participant_id, result, at, "
               "local_date, time_source, kiosk_wall_at, clock_synced, boot_id, boot_s, received_at) "
               "SELECT ?, id, 'g', ?, '0101', ?, 'on_time', ?, substr(?, 1, 10), 'synced', '', 1, 'b', 1.0, '' "
               "FROM kiosks", (f"c{seq}", seq, participant_id, at, at))


def test_a_participants_history_gives_each_session_since_enrolment_its_status_and_reason(db):
    from admin.attendance import participant_history, weekly_summary
    db.execute("UPDATE participants SET created_at = '2026-10-01T00:00:00+00:00' WHERE first_name = 'Anoeshka'")
    db.execute("UPDATE participants SET created_at = '2026-11-05T10:00:00+00:00' WHERE first_name = 'Mohamed'")
    db.execute("UPDATE kiosks SET watermark_at = '2026-11-16T12:00:00.000+00:00'")
    checkin_row(db, 1, 1, "2026-11-02T08:05:00.000+00:00")   # Anoeshka 09:05: present
    checkin_row(db, 2, 2, "2026-11-02T08:30:00.000+00:00")   # Mohamed, before he was enrolled: not his session
    checkin_row(db, 3, 2, "2026-11-16T08:25:00.000+00:00")   # Mohamed 09:25: late
    db.execute("INSERT INTO excuses(participant_id, date, reason, created_at) VALUES (1, '2026-11-09', 'ziek', '')")
    case = db.execute("INSERT INTO follow_ups(participant_id, session_date, session_start, opened_at, updated_at, "
                      "reason, excused) VALUES (2, '2026-11-09', '09:00', '', '', 'bus', 1)").lastrowid
    now = datetime(2026, 11, 16, 8, 5, tzinfo=timezone.utc)  # 09:05 on the third Monday: not yet late
    blank = {"start": "09:00", "end": "12:00", "checked_in_at": None, "reason": "", "excused_afterwards": False,
             "case_id": None}
    assert participant_history(db, 1, now) == [
        {**blank, "date": "2026-11-02", "week": 1, "status": "present", "checked_in_at": "2026-11-02T08:05:00+00:00"},
        {**blank, "date": "2026-11-09", "week": 2, "status": "excused", "reason": "ziek"},
        {**blank, "date": "2026-11-16", "week": 3, "status": "expected"}]
    later = now + timedelta(hours=1)
    assert participant_history(db, 2, later) == [
        {**blank, "date": "2026-11-09", "week": 2, "status": "absent", "reason": "bus", "excused_afterwards": True,
         "case_id": case},
        {**blank, "date": "2026-11-16", "week": 3, "status": "late", "checked_in_at": "2026-11-16T08:25:00+00:00"}]
    assert participant_history(db, 1, datetime(2026, 11, 2, 7, 59, tzinfo=timezone.utc)) == []  # before the start
    assert participant_history(db, 999, now) == []
    assert weekly_summary(participant_history(db, 2, later)) == [
        {"week": 2, "sessions": 1, "attended": 0, "late": 0, "excused": 1, "absent": 0, "open": 0, "reasons": ["bus"],
         "pct": None},
        {"week": 3, "sessions": 1, "attended": 1, "late": 1, "excused": 0, "absent": 0, "open": 0, "reasons": [],
         "pct": 100}]


def test_a_weeks_percentage_counts_attended_against_attended_and_absent():
    from admin.attendance import weekly_summary

    def entry(status, week=1, reason="", afterwards=False):
        return {"week": week, "status": status, "reason": reason, "excused_afterwards": afterwards}
    history = [entry("present"), entry("late"), entry("absent", reason="verslapen"), entry("excused", reason="ziek"),
               entry("unknown"), entry("absent", week=2, reason="bus", afterwards=True), entry("expected", week=2)]
    assert weekly_summary(history) == [
        {"week": 1, "sessions": 5, "attended": 2, "late": 1, "excused": 1, "absent": 1, "open": 1,
         "reasons": ["verslapen", "ziek"], "pct": 67},
        {"week": 2, "sessions": 2, "attended": 0, "late": 0, "excused": 1, "absent": 0, "open": 1,
         "reasons": ["bus"], "pct": None}]


def test_each_count_of_a_week_adds_up():
    from admin.attendance import weekly_summary

    def entry(status):
        return {"week": 1, "status": status, "reason": "", "excused_afterwards": False}
    history = [entry(s) for s in ("late", "late", "excused", "excused", "absent", "absent", "expected", "unknown")]
    assert weekly_summary(history) == [{"week": 1, "sessions": 8, "attended": 2, "late": 2, "excused": 2, "absent": 2,
                                        "open": 2, "reasons": [], "pct": 50}]


def add_group(client, tokens, name, sessions):
    group = {**GROUP, "name": name, "weeks": 12, "sessions": sessions}
    return client.post("/api/v1/groups", json=group, headers=auth(tokens["admin"])).json["id"]


def test_a_day_whose_sessions_are_all_cancelled_lists_them_by_start_with_nobody_expected(db, client, tokens):
    late = add_group(client, tokens, "Groep A", [{"weekday": 0, "start": "10:00", "end": "11:00"}])  # listed first
    db.execute("INSERT INTO calendar_changes(location, date, reason, created_at) VALUES ('Zuid', ?, 'storing', '')",
               (DAY.isoformat(),))
    cancelled = {"location": "Zuid", "date": "2026-11-09", "cancelled": True, "reason": "storing", "moved_to": None,
                 "participants": []}
    assert attendance(db, DAY, START + timedelta(minutes=30)) == [
        {**cancelled, "group_id": 1, "group_name": "Groep B", "start": "2026-11-09T09:00:00+01:00",
         "end": "2026-11-09T12:00:00+01:00"},
        {**cancelled, "group_id": late, "group_name": "Groep A", "start": "2026-11-09T10:00:00+01:00",
         "end": "2026-11-09T11:00:00+01:00"}]


def test_one_groups_attendance_is_that_group_only(db, client, tokens):
    other = add_group(client, tokens, "Groep A", [{"weekday": 0, "start": "10:00", "end": "11:00"}])
    now = START + timedelta(minutes=30)
    assert [s["group_id"] for s in attendance(db, DAY, now)] == [1, other]
    assert [s["group_id"] for s in attendance(db, DAY, now, group_id=other)] == [other]
    assert [s["group_id"] for s in attendance(db, DAY, now, group_id=1)] == [1]


def test_a_tap_an_hour_before_the_start_counts_and_everyone_gets_their_own_first_tap(db):
    checkin_row(db, 1, 2, "2026-11-09T08:12:00.000+00:00")   # Mohamed: after the grace period
    checkin_row(db, 2, 1, "2026-11-09T08:30:00.000+00:00")   # Anoeshka, late, sent first ...
    checkin_row(db, 3, 1, "2026-11-09T07:00:00.000+00:00")   # ... but exactly an hour before the start: this counts
    assert attendance(db, DAY, START + timedelta(minutes=30)) == [{
        "group_id": 1, "group_name": "Groep B", "location": "Zuid", "date": "2026-11-09",
        "start": "2026-11-09T09:00:00+01:00", "end": "2026-11-09T12:00:00+01:00",
        "grace_until": "2026-11-09T09:10:00+01:00", "cancelled": False, "participants": [
            {"participant_id": 1, "first_name": "Anoeshka", "status": "present",
             "checked_in_at": "2026-11-09T07:00:00+00:00"},
            {"participant_id": 2, "first_name": "Mohamed", "status": "late", "checked_in_at": "2026-11-09T08:12:00+00:00"}]}]


def test_an_unknown_status_names_the_kiosk_and_follows_its_heartbeats(db):
    now = START + timedelta(minutes=30)
    db.execute("UPDATE kiosks SET watermark_at = '2026-11-09T08:05:00.000+00:00', last_heard_at = 'heard-1'")
    answer = attendance(db, DAY, now)
    assert attendance(db, DAY, now) is answer  # nothing moved: the same answer
    (session,) = answer
    assert session["participants"][0] == {"participant_id": 1, "first_name": "Anoeshka", "status": "unknown",
                                          "checked_in_at": None,
                                          "unknown_reason": {"kiosk": "kiosk-1", "last_heard_at": "heard-1"}}
    db.execute("UPDATE kiosks SET last_heard_at = 'heard-2'")  # a heartbeat, still behind
    (session,) = attendance(db, DAY, now)
    assert session["participants"][0]["unknown_reason"] == {"kiosk": "kiosk-1", "last_heard_at": "heard-2"}


def test_the_answer_follows_each_kiosk_of_the_location_in_session_to_the_deadline(db, runner):
    runner.invoke(args=["add-kiosk", "kiosk-2", "--location", "Zuid"])       # has delivered nothing yet
    runner.invoke(args=["add-kiosk", "kiosk-a", "--location", "Achterhoek"])  # listed first, not in session
    now = START + timedelta(minutes=30)

    def behind(name, mark):
        db.execute("UPDATE kiosks SET watermark_at = ? WHERE name = ?", (mark, name))
        return statuses(db, now)["Mohamed"]
    assert statuses(db, now)["Mohamed"] == "unknown"
    assert behind("kiosk-2", "2026-11-09T12:00:00.000+00:00") == "absent"
    assert behind("kiosk-1", "2026-11-09T08:05:00.000+00:00") == "unknown"
    assert behind("kiosk-1", "2026-11-09T12:00:00.000+00:00") == "absent"
    assert behind("kiosk-2", "2026-11-09T08:05:00.000+00:00") == "unknown"
    assert behind("kiosk-2", "2026-11-09T08:10:00.000+00:00") == "absent"  # up to start + grace exactly: delivered
    assert behind("kiosk-2", "2026-11-09T08:05:00.000+00:00") == "unknown"  # put back in time (a restore)


def test_a_database_put_back_in_its_place_is_read_anew(db):
    now = START + timedelta(minutes=30)
    first = attendance(db, DAY, now)
    db.execute("UPDATE meta SET value = 'restored' WHERE key = 'generation'")
    assert attendance(db, DAY, now) is not first


def test_the_last_32_answers_are_kept(db):
    now = START + timedelta(minutes=30)
    first = attendance(db, DAY, now)
    for i in range(1, 32):
        attendance(db, DAY + timedelta(days=i), now)
    assert attendance(db, DAY, now) is first
    attendance(db, DAY + timedelta(days=32), now)  # a 33rd: the oldest goes
    assert attendance(db, DAY, now) is not first


def test_a_history_is_of_the_persons_own_group_from_the_local_date_of_enrolment(db, client, tokens):
    from admin.attendance import participant_history
    gid = add_group(client, tokens, "Groep C", [{"weekday": 2, "start": "10:00", "end": "11:00"},
                                                {"weekday": 6, "start": "10:00", "end": "11:00"}])
    pid = client.post("/api/v1/participants", json={"first_name": "Zoë", "last_name": "T", "group_id": gid},
                      headers=auth(tokens["admin"])).json["id"]
    # Sunday 23:30 UTC is Monday 00:30 in Amsterdam: that Sunday's session was before her time.
    db.execute("UPDATE participants SET created_at = '2026-11-08T23:30:00+00:00' WHERE id = ?", (pid,))
    db.execute("UPDATE kiosks SET watermark_at = '2026-11-16T00:00:00.000+00:00'")
    db.execute("INSERT INTO excuses(participant_id, date, reason, created_at) VALUES (?, '2026-11-11', 'tandarts', '')",
               (pid,))
    checkin_row(db, 1, pid, "2026-11-11T09:05:00.000+00:00")  # came anyway, on time: no excuse to show
    blank = {"start": "10:00", "end": "11:00", "checked_in_at": None, "reason": "", "excused_afterwards": False,
             "case_id": None}
    assert participant_history(db, pid, datetime(2026, 11, 18, 9, 30, tzinfo=timezone.utc)) == [
        {**blank, "date": "2026-11-11", "week": 2, "status": "present", "checked_in_at": "2026-11-11T09:05:00+00:00"},
        {**blank, "date": "2026-11-15", "week": 2, "status": "absent"},      # no follow-up case: no reason
        {**blank, "date": "2026-11-18", "week": 3, "status": "unknown"}]     # the kiosk delivered up to Monday only
    at_start = participant_history(db, pid, datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc))
    assert at_start[-1] == {**blank, "date": "2026-11-18", "week": 3, "status": "expected"}  # from its start on


def test_a_history_runs_to_todays_local_date(db, client, tokens):
    from admin.attendance import participant_history
    gid = add_group(client, tokens, "Nacht", [{"weekday": 2, "start": "00:15", "end": "00:45"}])
    pid = client.post("/api/v1/participants", json={"first_name": "Uil", "last_name": "T", "group_id": gid},
                      headers=auth(tokens["admin"])).json["id"]
    db.execute("UPDATE participants SET created_at = '2026-11-01T00:00:00+00:00' WHERE id = ?", (pid,))
    # Tuesday 23:30 UTC is Wednesday 00:30 in Amsterdam: that night's session has begun.
    history = participant_history(db, pid, datetime(2026, 11, 17, 23, 30, tzinfo=timezone.utc))
    assert [entry["date"] for entry in history] == ["2026-11-04", "2026-11-11", "2026-11-18"]


def test_a_session_moved_to_another_date_says_where_it_went_on_its_old_day(db):
    db.execute("INSERT INTO calendar_changes(group_id, date, reason, created_at, moved_to) "
               "VALUES (1, ?, 'zaal bezet', '', '2026-11-10')", (DAY.isoformat(),))
    (session,) = attendance(db, DAY, START + timedelta(minutes=30))
    assert (session["cancelled"], session["reason"], session["moved_to"]) == (True, "zaal bezet", "2026-11-10")
    (held,) = attendance(db, DAY + timedelta(days=1), START + timedelta(days=1, minutes=30))
    assert (held["cancelled"], held["date"], held["start"]) == (False, "2026-11-10", "2026-11-10T09:00:00+01:00")


def test_a_long_list_of_ids_is_asked_in_chunks_and_every_chunks_rows_are_kept(db):
    from admin.attendance import _select_in
    many = list(range(1, 1204))  # three chunks; the two people are in the first
    rows = _select_in(db, "SELECT id FROM participants WHERE id IN ({}) AND first_name != ? ORDER BY id", many, "x")
    assert [row["id"] for row in rows] == [1, 2]


def test_a_group_keeps_the_time_zone_it_was_made_in(db):
    # Groups are scheduled in the admin's zone when they are made; a group made elsewhere keeps its own.
    from admin.attendance import load_groups
    db.execute("UPDATE groups SET timezone = 'Europe/London' WHERE id = 1")
    (group,) = load_groups(db)
    assert group.timezone == "Europe/London"
    (session,) = [s for s in attendance(db, DAY, START + timedelta(hours=2)) if s["group_id"] == 1]
    assert session["start"] == "2026-11-09T09:00:00+00:00"   # 09:00 in London, not in Amsterdam
