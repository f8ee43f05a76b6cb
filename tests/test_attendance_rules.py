"""The programme's attendance rules: grace period, late, excused, absent, unknown,
the programme's first and last day, and summer/winter time."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from admin.attendance import participant_status
from common.schedule import Group, Slot, session_at, sessions_on

AMS = ZoneInfo("Europe/Amsterdam")
MONDAY = date(2026, 11, 2)  # a Monday in winter time (UTC+1)
GROUP = Group(id=1, name="Groep B", location="Zuid", starts_on=MONDAY, weeks=12, grace_minutes=10,
              slots=(Slot(0, "09:00", "12:00"), Slot(2, "09:00", "12:00"), Slot(4, "13:00", "16:00")))


def at(day, hhmm):
    """An aware instant at local time hh:mm on a day."""
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=AMS)


def only_session(day):
    sessions = sessions_on(GROUP, day)
    assert len(sessions) == 1
    return sessions[0]


def test_a_group_has_sessions_only_on_its_weekdays():
    assert [len(sessions_on(GROUP, MONDAY + timedelta(days=d))) for d in range(7)] == [1, 0, 1, 0, 1, 0, 0]


def test_no_sessions_before_the_programme_starts():
    assert sessions_on(GROUP, MONDAY - timedelta(days=7)) == []


def test_the_last_session_is_in_week_twelve_and_none_after():
    last_friday = MONDAY + timedelta(weeks=11, days=4)
    assert len(sessions_on(GROUP, last_friday)) == 1
    assert sessions_on(GROUP, MONDAY + timedelta(weeks=12)) == []


@pytest.mark.parametrize("tap, expected", [
    ("08:30", "on_time"),   # early is fine
    ("09:00", "on_time"),
    ("09:10", "on_time"),   # the grace period's last minute still counts
    ("09:11", "late"),
    ("11:59", "late"),
])
def test_a_tap_is_on_time_until_start_plus_grace(tap, expected):
    session = only_session(MONDAY)
    assert session.tap_result(at(MONDAY, tap).astimezone(timezone.utc)) == expected


def test_a_tap_more_than_an_hour_early_or_after_the_end_belongs_to_no_session():
    assert session_at(GROUP, at(MONDAY, "07:59")) is None
    assert session_at(GROUP, at(MONDAY, "08:00")) is not None
    assert session_at(GROUP, at(MONDAY, "12:01")) is None


def status(tap=None, excused=False, now="10:00", lagging=None):
    session = only_session(MONDAY)
    checkin = at(MONDAY, tap) if tap else None
    return participant_status(session, checkin, excused, at(MONDAY, now), lagging)


def test_before_start_plus_grace_without_a_tap_the_participant_is_expected():
    assert status(now="09:10") == "expected"


def test_a_tap_by_start_plus_grace_is_present_and_after_it_late():
    assert status(tap="09:05") == "present"
    assert status(tap="09:25") == "late"


def test_absent_the_moment_the_grace_period_ends():
    assert status(now="09:10") == "expected"
    assert status(now="09:11") == "absent"


def test_an_excuse_prevents_the_absence_flag():
    assert status(excused=True, now="09:30") == "excused"


def test_a_check_in_wins_over_an_excuse():
    assert status(tap="09:02", excused=True) == "present"


def test_while_a_kiosk_has_not_delivered_up_to_the_deadline_the_status_is_unknown_not_absent():
    assert status(now="09:30", lagging=("kiosk-1", "2026-11-02T07:55:00+00:00")) == "unknown"


def test_sessions_follow_local_time_across_the_switch_to_summer_time():
    group = Group(2, "Lente", "Zuid", date(2026, 3, 2), 12, 10, slots=(Slot(6, "09:00", "12:00"),))
    winter, summer = sessions_on(group, date(2026, 3, 22))[0], sessions_on(group, date(2026, 3, 29))[0]
    assert winter.start.hour == 8 and summer.start.hour == 7  # 09:00 CET = 08:00 UTC, CEST = 07:00 UTC
    assert summer.grace_until == summer.start + timedelta(minutes=10)


def test_on_the_dst_day_itself_a_morning_session_starts_at_nine_local():
    group = Group(3, "Herfst", "Zuid", date(2026, 10, 5), 12, 10, slots=(Slot(6, "09:00", "12:00"),))
    session = sessions_on(group, date(2026, 10, 25))[0]  # clocks go back at 03:00 that Sunday
    assert session.start.astimezone(AMS).strftime("%H:%M") == "09:00"
    assert session.start.strftime("%H:%M") == "08:00"  # UTC+1 again
