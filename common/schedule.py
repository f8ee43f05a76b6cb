"""The programme's calendar: which sessions a group has on a day, and how a tap relates
to them. Schedules are local time of the location; everything returned is aware UTC."""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

EARLY_MINUTES = 60  # a tap up to an hour before the start counts for that session


@dataclass(frozen=True)
class Slot:
    """One weekly half-day: weekday (Monday 0) and local start/end 'HH:MM'."""
    weekday: int
    start: str
    end: str


@dataclass(frozen=True)
class Group:
    """The schedule facts of a group, as both databases hold them."""
    id: int
    name: str
    location: str
    starts_on: date
    weeks: int
    grace_minutes: int
    timezone: str = "Europe/Amsterdam"
    slots: tuple = field(default_factory=tuple)

    @property
    def ends_on(self):
        """The last day of the programme."""
        return self.starts_on + timedelta(days=7 * self.weeks - 1)


@dataclass(frozen=True)
class Session:
    """One occurrence of a slot on a local date."""
    group_id: int
    group_name: str
    day: date
    start_local: str
    end_local: str
    start: datetime
    end: datetime
    grace_until: datetime

    @property
    def key(self):
        """Identity of the session: group, date and start."""
        return f"{self.group_id}:{self.day.isoformat()}:{self.start_local}"

    def window_contains(self, instant):
        """Whether a tap at `instant` counts for this session."""
        return self.start - timedelta(minutes=EARLY_MINUTES) <= instant <= self.end

    def tap_result(self, instant):
        """'on_time' when the tap is by start + grace, else 'late'."""
        return "on_time" if instant <= self.grace_until else "late"


def parse_hhmm(text):
    """A local time from 'HH:MM' (ValueError when it is not one)."""
    hours, minutes = text.split(":")
    if len(hours) != 2 or len(minutes) != 2:
        raise ValueError(f"not HH:MM: {text!r}")
    return time(int(hours), int(minutes))


def _local(day, hhmm, zone):
    # zoneinfo applies the offset valid on that day, so summer and winter time are right.
    return datetime.combine(day, parse_hhmm(hhmm), tzinfo=zone).astimezone(timezone.utc)


def sessions_on(group, day):
    """The group's sessions on a local date, in start order (none outside the programme)."""
    if not (group.starts_on <= day <= group.ends_on):
        return []
    zone = ZoneInfo(group.timezone)
    grace = timedelta(minutes=group.grace_minutes)
    found = []
    for slot in group.slots:
        if slot.weekday != day.weekday():
            continue
        start = _local(day, slot.start, zone)
        found.append(Session(group.id, group.name, day, slot.start, slot.end, start,
                             _local(day, slot.end, zone), start + grace))
    return sorted(found, key=lambda s: s.start)


def local_date(instant, tz_name):
    """The local calendar date of an instant in a zone."""
    return instant.astimezone(ZoneInfo(tz_name)).date()


def session_at(group, instant):
    """The session of the group a tap at `instant` counts for, or None."""
    day = local_date(instant, group.timezone)
    for session in sessions_on(group, day):
        if session.window_contains(instant):
            return session
    return None


def next_session(group, instant, horizon_days=14):
    """The group's first session that has not ended yet after `instant`, or None."""
    day = local_date(instant, group.timezone)
    for offset in range(horizon_days + 1):
        for session in sessions_on(group, day + timedelta(days=offset)):
            if session.end > instant:
                return session
    return None
