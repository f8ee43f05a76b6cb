"""The calendar as it really goes: a session cancelled for a group or a whole location, or
moved to another time. Cancelled sessions raise no absence and no case (open ones close
themselves), moved ones are judged at their new time, attendance percentages count only
sessions that took place, and kiosks learn of it with the roster."""
import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from admin.auth import new_api_token
from common.schedule import (
    CalendarChange,
    Group,
    Slot,
    attendance_status,
    cancelled_on,
    first_checkins,
    session_at,
    sessions_on,
)
from tests.support.live import auth, session_slot_now, tap, tap_with_clock_at, wait_for
from tests.support.site import Site, ram_dir

MONDAY = date(2026, 11, 30)


def today():
    """Today in Amsterdam, where the groups' schedules are."""
    return datetime.now(ZoneInfo("Europe/Amsterdam")).date()
GROUP = Group(1, "Groep B", "Rotterdam-Zuid", MONDAY - timedelta(days=14), 12, 10,
              slots=(Slot(0, "09:00", "12:00"), Slot(2, "09:00", "12:00")))


def with_changes(*changes):
    return Group(**{**GROUP.__dict__, "calendar": changes})


def test_a_cancelled_day_has_no_sessions_and_says_why():
    group = with_changes(CalendarChange(MONDAY, "zaal gesloten"))
    assert sessions_on(group, MONDAY) == []
    assert cancelled_on(group, MONDAY) == [(Slot(0, "09:00", "12:00"), "zaal gesloten")]
    assert len(sessions_on(group, MONDAY + timedelta(days=2))) == 1      # the Wednesday stays


def test_a_cancellation_counts_on_the_programmes_first_and_last_day_and_not_a_day_beyond():
    # Starts on a Wednesday with a Tuesday and a Wednesday session: its last day is a Tuesday.
    wednesday = MONDAY + timedelta(days=2)
    group = Group(1, "Groep B", "Rotterdam-Zuid", wednesday, 2, 10, slots=(Slot(1, "09:00", "12:00"),
                                                                           Slot(2, "09:00", "12:00")))
    first, last = group.starts_on, group.ends_on
    assert (first.weekday(), last.weekday()) == (2, 1) and last == first + timedelta(days=13)
    for day in (first, last):
        cancelled = Group(**{**group.__dict__, "calendar": (CalendarChange(day, "zaal gesloten"),)})
        assert [(slot.weekday, reason) for slot, reason in cancelled_on(cancelled, day)] == [
            (day.weekday(), "zaal gesloten")]
        assert sessions_on(cancelled, day) == []
    for day in (first - timedelta(days=1), last + timedelta(days=1)):   # outside: nothing to cancel
        outside = Group(**{**group.__dict__, "calendar": (CalendarChange(day, "x"),)})
        assert cancelled_on(outside, day) == []


def test_a_moved_session_is_held_and_judged_at_its_new_time():
    group = with_changes(CalendarChange(MONDAY, "trainer later", ("13:00", "16:00")))
    [session] = sessions_on(group, MONDAY)
    assert (session.start_local, session.end_local) == ("13:00", "16:00")
    assert session.start == datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)   # 13:00 in Amsterdam, winter
    assert session.grace_until == session.start + timedelta(minutes=10)
    assert cancelled_on(group, MONDAY) == []


@pytest.fixture
def site():
    with ram_dir() as tmp:
        s = Site(tmp)
        s.coordinator = s.staff("coordinator@example.test", "coordinator")
        coach = s.staff("coach@example.test", "lifecoach")
        conn = s.conn()
        s.token = new_api_token(conn, s.coordinator)
        conn.close()
        s.group_id = s.group(grace=0)                       # in session now, started 30 minutes ago
        s.other_group = s.group(name="Groep C", slot=session_slot_now(minutes_before=20))
        s.pid = s.participant("Anoeshka", s.group_id, lifecoach_id=coach)
        s.participant("Mohamed", s.other_group)
        s.kiosk_id, s.kiosk_token = s.kiosk()
        s.kiosk_delivered(s.kiosk_id)
        yield s


def api(site, method, path, **kwargs):
    return site.app.test_client().open(f"/api/v1{path}", method=method, headers=auth(site.token), **kwargs)


def sessions(site):
    return api(site, "GET", "/attendance").get_json()["sessions"]


def test_a_cancelled_session_raises_no_absence_and_closes_its_open_case(site):
    assert [p["status"] for s in sessions(site) if s["group_id"] == site.group_id for p in s["participants"]] == ["absent"]
    site.login("coordinator@example.test").get("/board")        # the board opens the case
    assert site.sql("SELECT closed_at FROM follow_ups WHERE participant_id = ?", site.pid)[0]["closed_at"] is None
    day = today().isoformat()
    r = api(site, "POST", f"/groups/{site.group_id}/cancellations", json={"date": day, "reason": "zaal gesloten"})
    assert r.status_code == 201 and r.get_json()["id"]
    [cancelled] = [s for s in sessions(site) if s["group_id"] == site.group_id]
    assert cancelled["cancelled"] is True and cancelled["reason"] == "zaal gesloten" and cancelled["participants"] == []
    other = [s for s in sessions(site) if s["group_id"] == site.other_group]
    assert other and other[0]["cancelled"] is False and other[0]["participants"]
    case = site.sql("SELECT closed_at, resolution FROM follow_ups WHERE participant_id = ?", site.pid)[0]
    assert case["closed_at"] and case["resolution"] == "cancelled"
    page = site.login("coordinator@example.test").get("/board").get_data(as_text=True)
    assert "gaat niet door: zaal gesloten" in page
    assert site.sql("SELECT COUNT(*) AS n FROM follow_ups WHERE closed_at IS NULL AND participant_id = ?", site.pid)[0]["n"] == 0


def test_the_board_says_where_a_session_moved_to(site):
    tomorrow = (today() + timedelta(days=1)).isoformat()
    r = api(site, "POST", f"/groups/{site.group_id}/cancellations",
            json={"date": today().isoformat(), "reason": "zaal gesloten", "moved_to": tomorrow})
    assert r.status_code == 201, r.get_data(as_text=True)
    page = site.login("coordinator@example.test").get("/board").get_data(as_text=True)
    assert f"verplaatst naar {tomorrow}: zaal gesloten" in page and "gaat niet door" not in page


def test_a_whole_location_is_cancelled_at_once(site):
    r = api(site, "POST", "/locations/Rotterdam-Zuid/cancellations",
            json={"date": today().isoformat(), "reason": "storing verwarming"})
    assert r.status_code == 201
    assert all(s["cancelled"] for s in sessions(site)) and len(sessions(site)) == 2
    assert api(site, "POST", "/locations/Nergens/cancellations",
               json={"date": today().isoformat(), "reason": "x"}).status_code == 404


def test_a_moved_session_is_judged_at_its_new_time(site):
    # The session began 30 minutes ago with no grace (absent now); moved to begin in a few
    # minutes, nobody is absent yet. session_slot_now keeps the window within today.
    moved_to = session_slot_now(minutes_before=-3, minutes_after=60)
    r = api(site, "POST", f"/groups/{site.group_id}/cancellations",
            json={"date": today().isoformat(), "reason": "verplaatst", "moved_start": moved_to["start"],
                  "moved_end": moved_to["end"]})
    assert r.status_code == 201, r.get_data(as_text=True)
    [moved] = [s for s in sessions(site) if s["group_id"] == site.group_id]
    assert moved["start"][11:16] == moved_to["start"] and moved["cancelled"] is False
    assert [p["status"] for p in moved["participants"]] == ["expected"]


@pytest.mark.parametrize("body, message", [
    ({"reason": "x"}, "'date' must be a date YYYY-MM-DD"),
    ({"date": "2026-02-30", "reason": "x"}, "'date' must be a date YYYY-MM-DD"),
    ({"date": "2026-12-01"}, "'reason' is required (text, at most 200 characters)"),
    ({"date": "2026-12-01", "reason": "x" * 201}, "'reason' is required (text, at most 200 characters)"),
    ({"date": "2026-12-01", "reason": "x", "moved_start": "13:00"}, "'moved_start' and 'moved_end' must be HH:MM"),
    ({"date": "2026-12-01", "reason": "x", "moved_start": "14:00", "moved_end": "13:00"},
     "'moved_end' must be after 'moved_start'"),
    ([], "body must be a JSON object"),
])
def test_a_bad_cancellation_is_refused_and_nothing_written(site, body, message):
    r = api(site, "POST", f"/groups/{site.group_id}/cancellations", json=body)
    assert r.status_code == 400 and r.get_json() == {"error": message}
    assert site.sql("SELECT COUNT(*) AS n FROM calendar_changes")[0]["n"] == 0


def test_attendance_percentages_count_only_sessions_that_took_place(site):
    from admin.attendance import participant_history, weekly_summary
    from admin.db import get_db
    yesterday = today() - timedelta(days=1)
    with site.app.app_context():
        conn = get_db()
        before = [h for h in participant_history(conn, site.pid, datetime.now(timezone.utc)) if h["date"] == yesterday.isoformat()]
    api(site, "POST", f"/groups/{site.group_id}/cancellations", json={"date": yesterday.isoformat(), "reason": "ziek"})
    with site.app.app_context():
        history = participant_history(get_db(), site.pid, datetime.now(timezone.utc))
    assert not [h for h in history if h["date"] == yesterday.isoformat()]
    assert sum(w["sessions"] for w in weekly_summary(history)) == len(history)
    assert len(before) in (0, 1)


@pytest.mark.slow
def test_a_participant_who_taps_on_a_cancelled_day_is_told_so_at_the_kiosk(live_admin, make_kiosk):
    kiosk = make_kiosk(live_admin, extra_env={"KIOSK_ROSTER_S": "1"})
    kiosk.start_sync()
    kiosk.wait_roster(badges=2)
    r = live_admin.api("POST", f"/groups/{live_admin.group_id}/cancellations",
                       json={"date": today().isoformat(), "reason": "de zaal is gesloten"})
    assert r.status_code == 201, r.text

    def calendar_on_kiosk():
        rows = kiosk.db_rows("SELECT calendar_json FROM roster_groups WHERE group_id = ?", live_admin.group_id)
        return rows and json.loads(rows[0]["calendar_json"])
    wait_for(calendar_on_kiosk, timeout=20, message="the cancellation on the kiosk")
    shown = tap(kiosk, live_admin.people["Anoeshka"]["uid"])
    assert shown["result"] == "no_session" and shown["detail"]["cancelled"] == "de zaal is gesloten"
    from kiosk import create_app
    from kiosk.db import get_db
    from kiosk.screen import tap_view
    app = create_app({"KIOSK_DB": str(kiosk.db), "KIOSK_ROLE": "checkin"})
    with app.test_request_context():
        row = get_db().execute("SELECT c.*, p.language FROM local_checkins c LEFT JOIN roster_people p "
                               "ON p.participant_id = c.participant_id ORDER BY c.id DESC LIMIT 1").fetchone()
        view = tap_view(row, datetime.now(timezone.utc))
    assert view["sub"] == "De sessie van vandaag gaat niet door" and "de zaal is gesloten" in view["extra"]
    wait_for(lambda: live_admin.status_of("Anoeshka") is None, timeout=10, message="nobody expected")


# --- a session moved to another day --------------------------------------------------

TUESDAY, WEDNESDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)


def amsterdam(day, hh, mm, ss=0, micro=0):
    return datetime(day.year, day.month, day.day, hh, mm, ss, micro, tzinfo=ZoneInfo("Europe/Amsterdam"))


def test_a_session_moved_to_another_day_is_held_there_at_its_own_times_and_not_on_its_day():
    group = with_changes(CalendarChange(MONDAY, "gym dicht", moved_to=TUESDAY))
    assert sessions_on(group, MONDAY) == []
    assert cancelled_on(group, MONDAY) == [(Slot(0, "09:00", "12:00"), "gym dicht")]
    [session] = sessions_on(group, TUESDAY)
    assert (session.day, session.start_local, session.end_local) == (TUESDAY, "09:00", "12:00")
    assert session.key == f"1:{TUESDAY.isoformat()}:09:00"
    assert session.start == datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
    assert len(sessions_on(group, WEDNESDAY)) == 1                         # the Wednesday stays


def test_a_session_moved_to_another_day_and_time_is_judged_at_the_new_start_plus_grace():
    group = with_changes(CalendarChange(MONDAY, "gym dicht", ("14:00", "16:00"), TUESDAY))
    [session] = sessions_on(group, TUESDAY)
    deadline = amsterdam(TUESDAY, 14, 10)                                  # 14:00 + 10 minutes' grace
    assert session.grace_until == deadline
    assert attendance_status(session, deadline, deadline) == "present"
    assert attendance_status(session, deadline + timedelta(microseconds=1), deadline) == "late"
    assert session.tap_result(deadline) == "on_time"
    assert session.tap_result(deadline + timedelta(microseconds=1)) == "late"
    # Its window: an hour before the new start up to the new end, on the new day only.
    assert session_at(group, amsterdam(TUESDAY, 13, 0)) == session
    assert session_at(group, amsterdam(TUESDAY, 12, 59, 59, 999_999)) is None
    assert session_at(group, amsterdam(TUESDAY, 16, 0)) == session
    assert session_at(group, amsterdam(MONDAY, 9, 5)) is None
    assert session_at(group, amsterdam(MONDAY, 14, 5)) is None
    assert attendance_status(session, None, deadline + timedelta(microseconds=1)) == "absent"


def test_a_session_moved_in_beside_the_days_own_one_each_counts_its_own_taps():
    group = with_changes(CalendarChange(MONDAY, "gym dicht", ("13:00", "16:00"), WEDNESDAY))
    morning, afternoon = sessions_on(group, WEDNESDAY)
    assert (morning.start_local, afternoon.start_local) == ("09:00", "13:00")
    firsts = first_checkins(group, [amsterdam(WEDNESDAY, 9, 1), amsterdam(WEDNESDAY, 13, 5), amsterdam(WEDNESDAY, 13, 9)])
    assert firsts == {morning.key: amsterdam(WEDNESDAY, 9, 1), afternoon.key: amsterdam(WEDNESDAY, 13, 5)}


def test_a_moved_session_counts_once_over_the_programme():
    def held(group):
        return [s.day for n in range(group.weeks * 7) for s in sessions_on(group, group.starts_on + timedelta(days=n))]
    before, after = held(GROUP), held(with_changes(CalendarChange(MONDAY, "gym dicht", moved_to=TUESDAY)))
    assert len(after) == len(before) and MONDAY not in after and after.count(TUESDAY) == 1


def test_a_later_change_of_the_original_date_replaces_the_move():
    # The move is the Monday session's; cancelling that Monday cancels the moved session too.
    group = Group(**{**GROUP.__dict__, "calendar": (CalendarChange(MONDAY, "toch niet"),)})
    assert sessions_on(group, TUESDAY) == []
    # And a date the session was moved to may still be cancelled for its own sessions only.
    group = with_changes(CalendarChange(MONDAY, "gym dicht", ("13:00", "16:00"), WEDNESDAY),
                         CalendarChange(WEDNESDAY, "trainer ziek"))
    assert [s.start_local for s in sessions_on(group, WEDNESDAY)] == ["13:00"]


def test_the_roster_form_of_a_move_to_another_day_reads_back_and_reads_as_a_cancellation_on_an_older_kiosk():
    for change in (CalendarChange(MONDAY, "gym dicht", moved_to=TUESDAY),
                   CalendarChange(MONDAY, "gym dicht", ("14:00", "16:00"), TUESDAY),
                   CalendarChange(MONDAY, "later", ("13:00", "16:00")), CalendarChange(MONDAY, "dicht")):
        assert CalendarChange.from_json(json.loads(json.dumps(change.to_json()))) == change
    moved = CalendarChange(MONDAY, "gym dicht", ("14:00", "16:00"), TUESDAY).to_json()
    assert moved == {"date": MONDAY.isoformat(), "reason": "gym dicht",
                     "moved_to": {"date": TUESDAY.isoformat(), "start": "14:00", "end": "16:00"}}

    def older_kiosk(item):
        # How kiosks before "moved_to" read an entry (CalendarChange.from_json of that release).
        return CalendarChange(date.fromisoformat(item["date"]), item["reason"],
                              tuple(item["moved"]) if item.get("moved") else None)
    old = Group(**{**GROUP.__dict__, "calendar": (older_kiosk(moved),)})
    assert sessions_on(old, MONDAY) == [] and cancelled_on(old, MONDAY) == [(Slot(0, "09:00", "12:00"), "gym dicht")]


def this_monday():
    return today() - timedelta(days=today().weekday())


@pytest.fixture
def week_site():
    """Groep B (Monday and Wednesday 09:00–12:00) and Groep C (Monday 13:00–16:00) at
    Rotterdam-Zuid, Groep D (Monday 09:00–12:00) elsewhere; programmes from two weeks back."""
    from admin import programme
    with ram_dir() as tmp:
        s = Site(tmp)
        coordinator = s.staff("coordinator@example.test", "coordinator")
        conn = s.conn()
        s.token = new_api_token(conn, coordinator)
        conn.close()
        s.starts_on = this_monday() - timedelta(days=14)

        def group(name, location, *slots):
            return s._with_request(programme.create_group, {
                "name": name, "location": location, "starts_on": s.starts_on.isoformat(), "weeks": 12,
                "grace_minutes": 10, "sessions": [{"weekday": w, "start": a, "end": b} for w, a, b in slots]},
                "Europe/Amsterdam")
        s.b = group("Groep B", "Rotterdam-Zuid", (0, "09:00", "12:00"), (2, "09:00", "12:00"))
        s.c = group("Groep C", "Rotterdam-Zuid", (0, "13:00", "16:00"))
        s.d = group("Groep D", "Delft", (0, "09:00", "12:00"))
        for name, gid in (("Anoeshka", s.b), ("Mohamed", s.c), ("Ruud", s.d)):
            s.participant(name, gid)
        yield s


def without(body, *keys):
    return {k: v for k, v in body.items() if k not in keys}


def day_sessions(site, day):
    """{(group id, start HH:MM): session} of /api/v1/attendance on `day`."""
    r = api(site, "GET", f"/attendance?date={day.isoformat()}")
    assert r.status_code == 200
    return {(s["group_id"], s["start"][11:16]): s for s in r.get_json()["sessions"]}


def test_a_group_session_moved_to_another_day_is_listed_there_and_only_as_moved_on_its_own(week_site):
    monday = this_monday() + timedelta(days=7)
    tuesday = monday + timedelta(days=1)
    r = api(week_site, "POST", f"/groups/{week_site.b}/cancellations",
            json={"date": monday.isoformat(), "reason": "gym dicht", "moved_to": tuesday.isoformat()})
    assert r.status_code == 201, r.get_data(as_text=True)
    old = day_sessions(week_site, monday)
    assert old[(week_site.b, "09:00")]["cancelled"] is True and old[(week_site.b, "09:00")]["participants"] == []
    assert old[(week_site.b, "09:00")]["moved_to"] == tuesday.isoformat()
    assert old[(week_site.c, "13:00")]["cancelled"] is False                     # the other group keeps its day
    new = day_sessions(week_site, tuesday)
    assert list(new) == [(week_site.b, "09:00")]
    assert new[(week_site.b, "09:00")]["grace_until"][11:16] == "09:10"
    assert [p["first_name"] for p in new[(week_site.b, "09:00")]["participants"]] == ["Anoeshka"]


def test_a_whole_location_moved_to_another_day_and_time(week_site):
    monday = this_monday() + timedelta(days=7)
    thursday = monday + timedelta(days=3)
    r = api(week_site, "POST", "/locations/Rotterdam-Zuid/cancellations",
            json={"date": monday.isoformat(), "reason": "verbouwing", "moved_to": thursday.isoformat(),
                  "moved_start": "18:00", "moved_end": "20:00"})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert {k: s["cancelled"] for k, s in day_sessions(week_site, monday).items()} == {
        (week_site.b, "09:00"): True, (week_site.c, "13:00"): True, (week_site.d, "09:00"): False}
    assert set(day_sessions(week_site, thursday)) == {(week_site.b, "18:00"), (week_site.c, "18:00")}


def test_a_location_move_leaves_a_group_with_its_own_change_that_day_alone(week_site):
    monday = this_monday() + timedelta(days=7)
    assert api(week_site, "POST", f"/groups/{week_site.c}/cancellations",
               json={"date": monday.isoformat(), "reason": "trainer ziek"}).status_code == 201
    r = api(week_site, "POST", "/locations/Rotterdam-Zuid/cancellations",
            json={"date": monday.isoformat(), "reason": "verbouwing", "moved_to": (monday + timedelta(days=1)).isoformat()})
    assert r.status_code == 201
    assert set(day_sessions(week_site, monday + timedelta(days=1))) == {(week_site.b, "09:00")}


@pytest.mark.parametrize("where, body, status, message", [
    ("b", {"reason": "x", "moved_to": "next week"}, 400, "'moved_to' must be a date YYYY-MM-DD"),
    ("b", {"reason": "x", "moved_to": "2026-02-30"}, 400, "'moved_to' must be a date YYYY-MM-DD"),
    ("b", {"reason": "x", "moved_to": 20261201}, 400, "'moved_to' must be a date YYYY-MM-DD"),
    ("b", {"moved_to": "+1"}, 400, "'reason' is required (text, at most 200 characters)"),
    ("b", {"reason": " ", "moved_to": "+1"}, 400, "'reason' is required (text, at most 200 characters)"),
    ("b", {"reason": "x", "moved_to": "+1", "moved_start": "14:00"}, 400, "'moved_start' and 'moved_end' must be HH:MM"),
    ("b", {"reason": "x", "moved_to": "+1", "moved_start": "14:00", "moved_end": "25:00"}, 400,
     "'moved_start' and 'moved_end' must be HH:MM"),
    ("b", {"reason": "x", "moved_to": "+1", "moved_start": "16:00", "moved_end": "14:00"}, 400,
     "'moved_end' must be after 'moved_start'"),
    ("b", {"reason": "x", "moved_to": "+0"}, 422,
     "'moved_to' is the session's own date: give 'moved_start' and 'moved_end' to move it within the day"),
    ("b", {"date": "+1", "reason": "x", "moved_to": "+3"}, 422, "no session of the group on {+1} to move"),
    ("b", {"reason": "x", "moved_to": "+84"}, 422,
     "Groep B: 'moved_to' {+84} is outside the programme ({start} to {end})"),
    ("b", {"date": "-21", "reason": "x", "moved_to": "-22"}, 422,
     "Groep B: 'moved_to' {-22} is outside the programme ({start} to {end})"),
    ("b", {"reason": "x", "moved_to": "+2"}, 409, "Groep B already has a session on {+2} from 09:00 to 12:00"),
    ("b", {"reason": "x", "moved_to": "+2", "moved_start": "11:59", "moved_end": "13:00"}, 409,
     "Groep B already has a session on {+2} from 09:00 to 12:00"),
    ("b", {"reason": "x", "moved_to": "+7", "moved_start": "08:00", "moved_end": "09:01"}, 409,
     "Groep B already has a session on {+7} from 09:00 to 12:00"),
    ("location", {"reason": "x", "moved_to": "+2", "moved_start": "13:00", "moved_end": "14:00"}, 201, None),
    ("location", {"reason": "x", "moved_to": "+2", "moved_start": "10:00", "moved_end": "11:00"}, 409,
     "Groep B already has a session on {+2} from 09:00 to 12:00"),
    ("location", {"date": "+1", "reason": "x", "moved_to": "+3"}, 422, "no session at Rotterdam-Zuid on {+1} to move"),
    ("location", {"reason": "x", "moved_to": "+84"}, 422,
     "Groep B: 'moved_to' {+84} is outside the programme ({start} to {end})"),
    ("b", {"reason": "x", "moved_to": "+2", "moved_start": "12:00", "moved_end": "13:00"}, 201, None),
])
def test_a_move_that_cannot_be_is_refused_with_its_reason_and_nothing_written(week_site, where, body, status, message):
    monday = this_monday() + timedelta(days=7)

    def on(text):
        return (monday + timedelta(days=int(text[1:]) * (1 if text[0] == "+" else -1))).isoformat()
    body = {**{"date": "+0"}, **body}
    body = {k: on(v) if k in ("date", "moved_to") and isinstance(v, str) and v[:1] in "+-" and v[1:].isdigit() else v
            for k, v in body.items()}
    path = f"/groups/{week_site.b}/cancellations" if where == "b" else "/locations/Rotterdam-Zuid/cancellations"
    r = api(week_site, "POST", path, json=body)
    assert r.status_code == status, r.get_data(as_text=True)
    if message is None:
        return
    ends_on = week_site.starts_on + timedelta(days=7 * 12 - 1)
    wanted = message.format(**{"+0": on("+0"), "+1": on("+1"), "+2": on("+2"), "+7": on("+7"), "+84": on("+84"),
                               "-22": on("-22"), "start": week_site.starts_on.isoformat(), "end": ends_on.isoformat()})
    assert r.get_json() == {"error": wanted}
    assert week_site.sql("SELECT COUNT(*) AS n FROM calendar_changes")[0]["n"] == 0


def test_two_sessions_on_one_day_are_not_moved_to_one_new_time(week_site):
    monday = this_monday() + timedelta(days=7)
    week_site.sql("INSERT INTO schedule_slots(group_id, weekday, start, end) VALUES (?, 0, '13:00', '15:00')", week_site.b)
    body = {"date": monday.isoformat(), "reason": "x", "moved_to": (monday + timedelta(days=3)).isoformat(),
            "moved_start": "18:00", "moved_end": "20:00"}
    r = api(week_site, "POST", f"/groups/{week_site.b}/cancellations", json=body)
    assert r.status_code == 422 and r.get_json() == {
        "error": f"Groep B has more than one session on {monday.isoformat()}: move them without new times, or cancel one"}
    assert week_site.sql("SELECT COUNT(*) AS n FROM calendar_changes")[0]["n"] == 0
    # Without new times the day moves whole: both sessions, each at its own time.
    r = api(week_site, "POST", f"/groups/{week_site.b}/cancellations", json=without(body, "moved_start", "moved_end"))
    assert r.status_code == 201, r.get_data(as_text=True)
    assert set(day_sessions(week_site, monday + timedelta(days=3))) == {(week_site.b, "09:00"), (week_site.b, "13:00")}


def test_a_move_onto_a_session_moved_in_before_is_refused(week_site):
    monday = this_monday() + timedelta(days=7)
    tuesday, wednesday = monday + timedelta(days=1), monday + timedelta(days=2)
    assert api(week_site, "POST", f"/groups/{week_site.b}/cancellations",
               json={"date": monday.isoformat(), "reason": "gym dicht", "moved_to": tuesday.isoformat()}).status_code == 201
    r = api(week_site, "POST", f"/groups/{week_site.b}/cancellations",
            json={"date": wednesday.isoformat(), "reason": "x", "moved_to": tuesday.isoformat(),
                  "moved_start": "11:00", "moved_end": "13:00"})
    assert r.status_code == 409 and r.get_json() == {
        "error": f"Groep B already has a session on {tuesday.isoformat()} from 09:00 to 12:00"}
    # Moving the Monday again (to another time that Tuesday) does not clash with itself.
    r = api(week_site, "POST", f"/groups/{week_site.b}/cancellations",
            json={"date": monday.isoformat(), "reason": "gym dicht", "moved_to": tuesday.isoformat(),
                  "moved_start": "10:00", "moved_end": "13:00"})
    assert r.status_code == 201
    assert set(day_sessions(week_site, tuesday)) == {(week_site.b, "10:00")}
    assert api(week_site, "POST", "/groups/9999/cancellations",
               json={"date": monday.isoformat(), "reason": "x", "moved_to": tuesday.isoformat()}).status_code == 404
    assert api(week_site, "POST", "/locations/Nergens/cancellations",
               json={"date": monday.isoformat(), "reason": "x", "moved_to": tuesday.isoformat()}).status_code == 404


def test_a_session_moved_away_closes_its_open_case_and_counts_once_in_the_history(site):
    from admin.attendance import participant_history
    from admin.db import get_db
    site.login("coordinator@example.test").get("/board")        # the board opens today's case
    assert site.sql("SELECT closed_at FROM follow_ups WHERE participant_id = ?", site.pid)[0]["closed_at"] is None
    now = datetime.now(timezone.utc)
    with site.app.app_context():
        before = participant_history(get_db(), site.pid, now + timedelta(days=2))
    day, tomorrow = today(), today() + timedelta(days=1)
    r = api(site, "POST", f"/groups/{site.group_id}/cancellations",
            json={"date": day.isoformat(), "reason": "gym dicht", "moved_to": tomorrow.isoformat()})
    assert r.status_code == 201, r.get_data(as_text=True)
    case = site.sql("SELECT closed_at, resolution FROM follow_ups WHERE participant_id = ?", site.pid)[0]
    assert case["closed_at"] and case["resolution"] == "cancelled"
    assert not [p for s in sessions(site) if s["group_id"] == site.group_id for p in s["participants"]]
    with site.app.app_context():
        after = participant_history(get_db(), site.pid, now + timedelta(days=2))
    assert len(after) == len(before)
    assert [h["date"] for h in after if h["date"] in (day.isoformat(), tomorrow.isoformat())] == [tomorrow.isoformat()]


@pytest.mark.slow
def test_a_session_moved_to_another_day_is_on_time_at_the_kiosk_there_and_nobody_is_absent_on_its_own_day(
        procs, tmp_path, make_kiosk):
    """Gunicorn, the kiosk's sync and reader processes, an emulated badge. The programme's
    weekly session was nine days ago (09:00–12:00); that one is moved to yesterday 14:00–16:00,
    and the reader's clock stands still at the moments the test taps (any hour of the run)."""
    from devices.card import CardProcess
    from tests.support.live import LiveAdmin, attendance, registered_long_ago
    own_day, yesterday = today() - timedelta(days=9), today() - timedelta(days=1)
    admin = LiveAdmin(procs, tmp_path).setup_programme(
        people=("Anoeshka", "Mohamed", "Ruud"), grace=10,
        sessions=[{"weekday": own_day.weekday(), "start": "09:00", "end": "12:00"}])
    registered_long_ago(admin)
    kiosk = make_kiosk(admin, extra_env={"KIOSK_ROSTER_S": "1"})
    kiosk.start_sync()
    kiosk.wait_roster(badges=3)
    r = admin.api("POST", f"/groups/{admin.group_id}/cancellations",
                  json={"date": own_day.isoformat(), "reason": "gym dicht", "moved_to": yesterday.isoformat(),
                        "moved_start": "14:00", "moved_end": "16:00"})
    assert r.status_code == 201, r.text

    def moved_on_kiosk():
        rows = kiosk.db_rows("SELECT calendar_json FROM roster_groups WHERE group_id = ?", admin.group_id)
        return rows and json.loads(rows[0]["calendar_json"])
    wait_for(moved_on_kiosk, timeout=20, message="the move on the kiosk")
    deadline = amsterdam(yesterday, 14, 10)
    with CardProcess(kiosk.env["KIOSK_NFC"]) as card:
        for name, at, kiosk_says in (("Ruud", amsterdam(own_day, 9, 5), "no_session"),
                                     ("Anoeshka", deadline, "on_time"),
                                     ("Mohamed", deadline + timedelta(seconds=1), "late")):
            row = tap_with_clock_at(kiosk, card, name, admin.people[name]["uid"], at)
            assert row["result"] == kiosk_says, name
            kiosk.stop_reader()
    wanted = {("Anoeshka", "14:00"): "present", ("Mohamed", "14:00"): "late", ("Ruud", "14:00"): "absent"}
    wait_for(lambda: attendance(admin, yesterday) == wanted, timeout=20, message="the moved session judged on the admin")
    [old] = admin.api("GET", f"/attendance?date={own_day.isoformat()}").json()["sessions"]
    assert old["cancelled"] is True and old["moved_to"] == yesterday.isoformat() and old["participants"] == []


def test_the_calendar_page_moves_a_session_and_shows_a_refusal_next_to_its_field(week_site):
    import re

    from tests.support.site import post
    staff = week_site.login("coordinator@example.test")
    page = staff.get("/calendar").get_data(as_text=True)
    assert 'name="moved_to"' in page and "Met een nieuwe datum: verplaatst naar die dag" in page
    monday = this_monday() + timedelta(days=7)
    tuesday, wednesday = monday + timedelta(days=1), monday + timedelta(days=2)
    form = {"target": f"group:{week_site.b}", "date": monday.isoformat(), "reason": "gym dicht",
            "moved_to": wednesday.isoformat(), "moved_start": "", "moved_end": ""}
    r = post(staff, "/calendar", form)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    label = re.search(r"<label>Nieuwe datum (.*?)</label>", page, re.S)[1]
    assert 'aria-invalid="true"' in label and f'value="{wednesday.isoformat()}"' in label
    assert (f'<span class="field-error" id="error-moved_to">Groep B heeft op {wednesday.isoformat()} al een sessie '
            "van 09:00 tot 12:00.</span>") in label
    assert page.count("aria-invalid") == 1
    assert week_site.sql("SELECT COUNT(*) AS n FROM calendar_changes")[0]["n"] == 0
    r = post(staff, "/calendar", {**form, "reason": " "}, htmx=True)
    assert r.status_code == 422 and 'id="error-reason">Geef een reden van hoogstens 200 tekens.</span>' in r.get_data(as_text=True)
    r = post(staff, "/calendar", {**form, "target": "location:Nergens"})
    assert r.status_code == 422 and 'id="error-target">Kies een groep of locatie.</span>' in r.get_data(as_text=True)
    r = post(staff, "/calendar", {**form, "moved_to": tuesday.isoformat(), "moved_start": "14:00", "moved_end": "16:00"})
    assert r.status_code == 303
    assert set(day_sessions(week_site, tuesday)) == {(week_site.b, "14:00")}
    page = staff.get("/calendar").get_data(as_text=True)
    assert f"verplaatst naar {tuesday.isoformat()}, 14:00–16:00" in page and "gym dicht" in page
    r = post(staff, "/calendar", {"target": "location:Rotterdam-Zuid", "date": wednesday.isoformat(),
                                  "reason": "verbouwing"}, htmx=True)
    assert r.status_code == 200 and "Wijziging vastgelegd." in r.get_data(as_text=True)
    assert day_sessions(week_site, wednesday)[(week_site.b, "09:00")]["cancelled"] is True
