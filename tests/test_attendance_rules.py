"""The programme's attendance rules: grace period, late, excused, absent, unknown,
the programme's first and last day, and summer/winter time."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from common.schedule import (
    Group,
    Slot,
    attendance_status,
    first_checkins,
    local_date,
    next_session,
    parse_hhmm,
    session_at,
    sessions_on,
)

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
    return attendance_status(session, checkin, at(MONDAY, now), excused, lagging)


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


# --- the one rule at its edges, to the second (and below) ---------------------------

SECOND, TICK = timedelta(seconds=1), timedelta(microseconds=1)
LAGGING = ("kiosk-1", "2026-11-02T07:55:00+00:00")


@pytest.mark.parametrize("offset, expected", [
    (-SECOND, "present"), (-TICK, "present"), (timedelta(0), "present"), (TICK, "late"), (SECOND, "late"),
])
def test_a_check_in_at_start_plus_grace_to_the_second_is_present_and_after_it_late(offset, expected):
    session = only_session(MONDAY)
    assert session.grace_until == at(MONDAY, "09:10")
    checkin = session.grace_until + offset
    # The moment of asking, excuses and lagging kiosks do not change a known check-in.
    for now, excused, lagging in ((checkin, False, None), (at(MONDAY, "11:00"), True, LAGGING)):
        assert attendance_status(session, checkin, now, excused, lagging) == expected
    assert session.tap_result(checkin) == {"present": "on_time", "late": "late"}[expected]


@pytest.mark.parametrize("offset, expected", [
    (-SECOND, "expected"), (timedelta(0), "expected"), (TICK, "absent"), (SECOND, "absent"),
])
def test_without_a_check_in_expected_up_to_start_plus_grace_and_absent_after(offset, expected):
    session = only_session(MONDAY)
    now = session.grace_until + offset
    assert attendance_status(session, None, now) == expected
    assert attendance_status(session, None, now, lagging=LAGGING) == ("unknown" if expected == "absent" else "expected")
    assert attendance_status(session, None, now, excused=True) == "excused"


def test_the_kiosk_greeting_and_the_admin_status_agree_around_the_boundary():
    session = only_session(MONDAY)
    for micro in range(-3_000_000, 3_000_001, 250_000):
        instant = session.grace_until + timedelta(microseconds=micro)
        status = attendance_status(session, instant, instant)
        assert (session.tap_result(instant), status) in (("on_time", "present"), ("late", "late")), instant


@pytest.mark.parametrize("instant, counts", [
    (at(MONDAY, "08:00") - SECOND, False), (at(MONDAY, "08:00"), True),   # an hour early, to the second
    (at(MONDAY, "12:00"), True), (at(MONDAY, "12:00") + SECOND, False),  # up to the end
])
def test_a_tap_counts_from_an_hour_before_the_start_to_the_end_to_the_second(instant, counts):
    assert (session_at(GROUP, instant) is not None) is counts
    assert (only_session(MONDAY).key in first_checkins(GROUP, [instant])) is counts


TWICE = Group(id=4, name="Dubbel", location="Zuid", starts_on=MONDAY, weeks=12, grace_minutes=10,
              slots=(Slot(0, "13:00", "16:00"), Slot(0, "09:00", "12:00")))


def test_where_two_windows_meet_a_tap_counts_for_the_earlier_session_and_once_only():
    morning, afternoon = sessions_on(TWICE, MONDAY)
    assert morning.start_local == "09:00"
    assert session_at(TWICE, at(MONDAY, "12:00")) == morning
    assert session_at(TWICE, at(MONDAY, "12:00") + SECOND) == afternoon
    taps = [at(MONDAY, "12:30"), at(MONDAY, "09:05"), at(MONDAY, "12:00"), at(MONDAY, "13:20")]
    assert first_checkins(TWICE, taps) == {morning.key: at(MONDAY, "09:05"), afternoon.key: at(MONDAY, "12:30")}
    assert first_checkins(TWICE, [at(MONDAY, "12:00")]) == {morning.key: at(MONDAY, "12:00")}


def test_a_tap_counts_only_on_its_own_local_date():
    tuesday_tap = at(MONDAY + timedelta(days=1), "09:05")
    assert session_at(GROUP, tuesday_tap) is None and first_checkins(GROUP, [tuesday_tap]) == {}
    wednesday = only_session(MONDAY + timedelta(days=2))
    assert first_checkins(GROUP, [at(MONDAY + timedelta(days=2), "09:05")]) == {wednesday.key: at(MONDAY + timedelta(days=2), "09:05")}


@pytest.mark.parametrize("text", ["9:00", "09:0", "0900", "09:00:00", "", "aa:bb"])
def test_a_time_of_day_is_written_hh_mm(text):
    with pytest.raises(ValueError):
        parse_hhmm(text)


def test_a_session_is_known_by_its_group_date_and_start():
    session = only_session(MONDAY)
    assert session.key == "1:2026-11-02:09:00"
    assert (session.group_id, session.group_name, session.day, session.start_local, session.end_local) == (
        1, "Groep B", MONDAY, "09:00", "12:00")
    assert session.end == at(MONDAY, "12:00") and parse_hhmm("23:59").minute == 59


def test_the_next_session_is_the_first_that_has_not_ended():
    assert next_session(GROUP, at(MONDAY, "11:59")) == only_session(MONDAY)         # still running
    assert next_session(GROUP, at(MONDAY, "12:00")) == only_session(MONDAY + timedelta(days=2))  # ended
    assert next_session(GROUP, at(MONDAY - timedelta(days=15), "09:00")) is None  # beyond two weeks
    assert next_session(GROUP, at(MONDAY - timedelta(days=14), "09:00")) == only_session(MONDAY)  # just within
    assert next_session(GROUP, at(MONDAY - timedelta(days=14), "09:00"), horizon_days=13) is None
    last_friday = MONDAY + timedelta(weeks=11, days=4)
    assert next_session(GROUP, at(last_friday, "16:00")) is None                  # the programme is over


def test_the_local_date_follows_the_zone():
    late_evening = datetime(2026, 11, 2, 23, 30, tzinfo=timezone.utc)  # 00:30 on Tuesday in Amsterdam
    assert local_date(late_evening, "Europe/Amsterdam") == date(2026, 11, 3)
    assert local_date(late_evening, "UTC") == date(2026, 11, 2)


def test_a_session_on_the_programmes_last_day_still_counts_and_times_are_utc():
    sunday = Group(5, "Zondag", "Zuid", MONDAY, 12, 10, slots=(Slot(6, "10:00", "12:00"),))
    assert sunday.ends_on == MONDAY + timedelta(weeks=12, days=-1) and sunday.ends_on.weekday() == 6
    (last,) = sessions_on(sunday, sunday.ends_on)
    assert sessions_on(sunday, sunday.ends_on + timedelta(days=7)) == []
    assert last.start.tzinfo is timezone.utc and last.end.tzinfo is timezone.utc


def test_a_bad_time_of_day_says_what_it_got():
    with pytest.raises(ValueError, match=r"^not HH:MM: '9:00'$"):
        parse_hhmm("9:00")
