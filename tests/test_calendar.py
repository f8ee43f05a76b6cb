"""The calendar as it really goes: a session cancelled for a group or a whole location, or
moved to another time. Cancelled sessions raise no absence and no case (open ones close
themselves), moved ones are judged at their new time, attendance percentages count only
sessions that took place, and kiosks learn of it with the roster."""
import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from admin.auth import new_api_token
from common.schedule import CalendarChange, Group, Slot, cancelled_on, sessions_on
from tests.support.live import auth, session_slot_now, tap, wait_for
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
    ([], "the body must be a JSON object"),
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
