"""The programme's calendar and its attendance rules, each written once for the kiosk and
the admin: which sessions a group has on a day, which session a tap counts for, and the
status of a participant in a session (the grace boundary). Schedules are local time of
the location; everything returned is aware UTC."""
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
    calendar: tuple = field(default_factory=tuple)   # CalendarChange, one per date at most

    def change_on(self, day):
        """The calendar change of a local date (cancelled or moved), or None."""
        return next((c for c in self.calendar if c.date == day), None)

    @property
    def ends_on(self):
        """The last day of the programme."""
        return self.starts_on + timedelta(days=7 * self.weeks - 1)


@dataclass(frozen=True)
class CalendarChange:
    """What became of the sessions of `date`: cancelled (moved and moved_to None), held at
    `moved` = ('HH:MM', 'HH:MM') local time that day, or held on another date `moved_to`
    (at `moved`, or at the slots' own times)."""
    date: date
    reason: str
    moved: tuple = None
    moved_to: date = None

    @property
    def takes_away(self):
        """Whether no session of the group is held on `date` itself (cancelled or moved to another day)."""
        return self.moved is None and self.moved_to is None or self.moved_to not in (None, self.date)

    @classmethod
    def from_json(cls, item):
        """From the roster's {"date", "reason", "moved"?, "moved_to"?: {"date", "start"?, "end"?}} form."""
        away = item.get("moved_to")
        if away:
            times = (away["start"], away["end"]) if away.get("start") else None
            return cls(date.fromisoformat(item["date"]), item["reason"], times, date.fromisoformat(away["date"]))
        return cls(date.fromisoformat(item["date"]), item["reason"], tuple(item["moved"]) if item.get("moved") else None)

    def to_json(self):
        """The roster's form. A move to another day carries no "moved": a kiosk that predates
        "moved_to" reads it as a cancellation of `date` (true there) and does not crash."""
        if self.moved_to is not None:
            times = dict(zip(("start", "end"), self.moved)) if self.moved else {}
            return {"date": self.date.isoformat(), "reason": self.reason,
                    "moved_to": {"date": self.moved_to.isoformat(), **times}}
        return {"date": self.date.isoformat(), "reason": self.reason, **({"moved": list(self.moved)} if self.moved else {})}


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
        """What the kiosk shows for a first tap at `instant`: 'on_time' or 'late'."""
        return "on_time" if attendance_status(self, instant, instant) == "present" else "late"


def attendance_status(session, checkin_at, now, excused=False, lagging=None):
    """A participant's status in a session, the kiosk's greeting and the admin's board alike:

    present   checked in at or before start + grace (to the microsecond)
    late      checked in after start + grace
    excused   no check-in, an excuse was logged for the day
    expected  no check-in and no excuse, and `now` is at or before start + grace
    unknown   start + grace passed, but a kiosk (`lagging`) has not delivered up to then
    absent    start + grace passed and every kiosk has delivered up to then
    """
    if checkin_at is not None:
        return "present" if checkin_at <= session.grace_until else "late"
    if excused:
        return "excused"
    if now <= session.grace_until:
        return "expected"
    return "unknown" if lagging else "absent"


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
    """The group's sessions on a local date, in start order (none outside the programme):
    its own slots unless cancelled or moved away, at their moved times if moved within the
    day, and the sessions of other dates moved to this one."""
    if not (group.starts_on <= day <= group.ends_on):
        return []
    zone = ZoneInfo(group.timezone)
    grace = timedelta(minutes=group.grace_minutes)
    change = group.change_on(day)
    held = [] if change is not None and change.takes_away else [(day, change)]
    # A moved session keeps its identity by its own date: the change of that date governs it.
    held += [(c.date, c) for c in group.calendar
             if c.moved_to == day and c.date != day and group.change_on(c.date) is c]
    found = []
    for origin, moved in held:
        for slot in group.slots:
            if slot.weekday != origin.weekday():
                continue
            begin, finish = moved.moved if moved is not None and moved.moved else (slot.start, slot.end)
            start = _local(day, begin, zone)
            found.append(Session(group.id, group.name, day, begin, finish, start,
                                 _local(day, finish, zone), start + grace))
    return sorted(found, key=lambda s: s.start)


def cancelled_on(group, day):
    """The sessions a cancellation or a move to another day took away from a local date,
    with its reason: [(slot, reason)]."""
    change = group.change_on(day)
    if change is None or not change.takes_away or not (group.starts_on <= day <= group.ends_on):
        return []
    return [(slot, change.reason) for slot in group.slots if slot.weekday == day.weekday()]


def local_date(instant, tz_name):
    """The local calendar date of an instant in a zone."""
    return instant.astimezone(ZoneInfo(tz_name)).date()


def session_at(group, instant):
    """The session of the group a tap at `instant` counts for, or None: of the sessions
    on the tap's local date, the first whose window holds it (where two windows meet, the
    earlier session's end wins over the later one's early hour)."""
    return _holding(sessions_on(group, local_date(instant, group.timezone)), instant)


def _holding(sessions, instant):
    return next((session for session in sessions if session.window_contains(instant)), None)


def first_checkins(group, instants):
    """{session key: the first of `instants` that counts for that session}, as session_at
    decides (the sessions of each local date are worked out once)."""
    first, days = {}, {}
    for instant in sorted(instants):
        day = local_date(instant, group.timezone)
        if day not in days:
            days[day] = sessions_on(group, day)
        session = _holding(days[day], instant)
        if session is not None:
            first.setdefault(session.key, instant)
    return first


def next_session(group, instant, horizon_days=14):
    """The group's first session that has not ended yet after `instant`, or None."""
    day = local_date(instant, group.timezone)
    for offset in range(horizon_days + 1):
        for session in sessions_on(group, day + timedelta(days=offset)):
            if session.end > instant:
                return session
    return None
