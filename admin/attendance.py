"""Attendance, computed at request time, so a flag appears the instant it is true. The
rules themselves (which session a tap counts for, present / late / excused / expected /
unknown / absent) live once in common.schedule, shared with the kiosk's greeting."""
import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from common.clock import iso, parse_iso
from common.db import all_of, database, get_meta
from common.schedule import (
    EARLY_MINUTES,
    Group,
    Slot,
    attendance_status,
    cancelled_on,
    first_checkins,
    parse_hhmm,
    sessions_on,
)
from common.vocabulary import ACTIVE_STATUSES

from .cancellations import changes_for


def group_from_row(row, slots, calendar=()):
    """A schedule Group from a groups row, its slot rows and its calendar changes."""
    return Group(id=row["id"], name=row["name"], location=row["location"],
                 starts_on=date.fromisoformat(row["starts_on"]), weeks=row["weeks"],
                 grace_minutes=row["grace_minutes"], timezone=row["timezone"],
                 slots=tuple(Slot(s["weekday"], s["start"], s["end"]) for s in slots), calendar=calendar)


def load_groups(conn, group_id=None, day=None):
    """Every group (or one) with its weekly slots; with `day`, only groups whose programme
    runs on that date (a year of finished cohorts costs nothing then)."""
    on = day.isoformat() if day is not None else None
    # The same range as Group.ends_on: starts_on + 7 * weeks - 1 days.
    where, args = all_of(("id = ?", group_id),
                         ("starts_on <= ? AND date(starts_on, '+' || (7 * weeks - 1) || ' days') >= ?", on, on))
    rows = list(database(conn)["groups"].rows_where(where, args, order_by="location, name"))
    slots = {}
    if args:
        slot_rows = _select_in(conn, "SELECT * FROM schedule_slots WHERE group_id IN ({}) ORDER BY weekday, start",
                               [row["id"] for row in rows])
        slot_rows.sort(key=lambda s: (s["weekday"], s["start"]))
    else:
        slot_rows = conn.execute("SELECT * FROM schedule_slots ORDER BY weekday, start")
    for slot in slot_rows:
        slots.setdefault(slot["group_id"], []).append(slot)
    calendars = changes_for(conn, rows, day.isoformat() if day is not None else None)
    return [group_from_row(row, slots.get(row["id"], []), calendars.get(row["id"], ())) for row in rows]


def _select_in(conn, sql, values, *args):
    """Rows of `sql` whose one `IN ({})` takes `values`, in chunks SQLite accepts (then `args`)."""
    rows = []
    for i in range(0, len(values), 500):
        chunk = values[i:i + 500]
        rows += conn.execute(sql.format(",".join("?" * len(chunk))), (*chunk, *args)).fetchall()
    return rows


def kiosk_delivery(conn, location):
    """The location's active check-in kiosks (a station records no check-ins): (name,
    watermark or None, last heard or None)."""
    return [(k["name"], parse_iso(k["watermark_at"]) if k["watermark_at"] else None, k["last_heard_at"])
            for k in conn.execute("SELECT name, watermark_at, last_heard_at FROM kiosks "
                                  "WHERE location = ? AND revoked_at IS NULL AND coalesce(role, 'checkin') = 'checkin' "
                                  "ORDER BY name",
                                  (location,))]


def lagging_kiosk(kiosks, moment):
    """The first kiosk that has not delivered everything up to `moment`, or None."""
    for name, watermark, last_heard in kiosks:
        if watermark is None or watermark < moment:
            return name, last_heard
    return None


_CACHE_SIZE = 32
_cache = OrderedDict()
_cache_lock = threading.Lock()
_compute_lock = threading.Lock()


def attendance(conn, day, now, group_id=None):
    """Sessions of `day` with every participant's status, as the API returns them.

    Computed at request time, but not recomputed when nothing it depends on moved: the
    data (a version that triggers bump, plus the newest check-in), which deadlines `now`
    has passed, and which deadlines each location's kiosks have delivered up to. Treat
    the answer as read-only: it may be shared with the next request."""
    key = (conn.execute("PRAGMA database_list").fetchone()[2], day, group_id)
    # The newest check-in that can count: unknown badges and flagged taps (another
    # location's kiosk) change nobody's status, so they need no recomputation.
    newest = conn.execute("SELECT rowid FROM checkins WHERE participant_id IS NOT NULL AND flag IS NULL "
                          "ORDER BY rowid DESC LIMIT 1").fetchone()
    data = (get_meta(conn, "generation"), get_meta(conn, "attendance_version", "0"), newest and newest[0])
    kiosks = conn.execute("SELECT location, name, watermark_at, last_heard_at FROM kiosks "
                          "WHERE revoked_at IS NULL AND coalesce(role, 'checkin') = 'checkin' "
                          "ORDER BY location, name").fetchall()
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] == data and cached[1] == _moment(cached[3], cached[4], now, kiosks):
        return cached[2]
    # One computation at a time: when a tap changes the board, every open board asks at
    # once; the others wait for the first and take its answer instead of all computing it.
    with _compute_lock:
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None and cached[0] == data and cached[1] == _moment(cached[3], cached[4], now, kiosks):
            return cached[2]
        return _compute_and_keep(conn, key, data, kiosks, day, now, group_id)


def _compute_and_keep(conn, key, data, kiosks, day, now, group_id):
    """Compute and cache the answer (under the compute lock)."""
    result, deadlines = _compute(conn, day, now, group_id)
    has_unknown = any(p["status"] == "unknown" for s in result for p in s["participants"])
    with _cache_lock:
        _cache[key] = (data, _moment(deadlines, has_unknown, now, kiosks), result, deadlines, has_unknown)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _moment(deadlines, has_unknown, now, kiosks):
    """Where `now` and the kiosks' delivery stand against each session's start + grace."""
    marks, wanted = {}, {location for location, _deadline in deadlines}
    for row in kiosks:
        if row["location"] not in wanted:
            continue   # a country's worth of kiosks: only the locations in session today matter
        mark = parse_iso(row["watermark_at"]) if row["watermark_at"] else None
        if row["location"] not in marks or (marks[row["location"]] is not None and (mark is None or mark < marks[row["location"]])):
            marks[row["location"]] = mark
    passed = tuple((now > deadline, location not in marks or (marks[location] is not None and marks[location] >= deadline))
                   for location, deadline in deadlines)
    # "unknown" names a kiosk and when it was last heard: that moves with every heartbeat.
    return passed, tuple(tuple(row) for row in kiosks) if has_unknown else None


def _compute(conn, day, now, group_id=None):
    """The attendance of `day` and each session's (location, start + grace), in order."""
    groups = load_groups(conn, group_id, day)
    running = [(group, sessions) for group in groups if (sessions := sessions_on(group, day))]
    # A cancelled session is listed, so the board can say so, with nobody expected in it.
    cancelled = [{"group_id": group.id, "group_name": group.name, "location": group.location,
                  "date": day.isoformat(), "cancelled": True, "reason": reason,
                  "start": _local_iso(group, day, slot.start), "end": _local_iso(group, day, slot.end),
                  "moved_to": _moved_to(group, day), "participants": []}
                 for group in groups for slot, reason in cancelled_on(group, day)]
    if not running:
        return sorted(cancelled, key=lambda s: (s["start"], s["location"], s["group_id"])), []
    # One query each for everybody of the day's groups, not one per group (the board asks
    # for all of them every 2 s per open screen).
    people = {}
    for person_id, first_name, in_group in _select_in(
            conn, "SELECT id, first_name, group_id FROM participants WHERE group_id IN ({}) "
            f"AND status IN ({','.join('?' * len(ACTIVE_STATUSES))}) ORDER BY first_name, id",
            [group.id for group, _ in running], *ACTIVE_STATUSES):
        people.setdefault(in_group, []).append((person_id, first_name))
    ids = [person_id for members in people.values() for person_id, _ in members]
    excused = {r[0] for r in conn.execute("SELECT participant_id FROM excuses WHERE date = ?", (day.isoformat(),))}
    # Every session's window lies within the day's earliest window start and latest end;
    # first_checkins (the kiosk's rule) decides which session each tap counts for.
    window_start = iso(min(s[0].start.timestamp() for _, s in running) - EARLY_MINUTES * 60)
    window_end = iso(max(x.end.timestamp() for _, s in running for x in s))
    taps = {}
    for person_id, at in _select_in(conn, "SELECT participant_id, at FROM checkins WHERE participant_id IN ({}) "
                                    "AND at BETWEEN ? AND ? AND flag IS NULL", ids, window_start, window_end):
        taps.setdefault(person_id, []).append(parse_iso(at))  # first_checkins puts them in order
    kiosks = {}
    result = []
    for group, sessions in running:
        if group.location not in kiosks:
            kiosks[group.location] = kiosk_delivery(conn, group.location)
        zone = _zone(group)
        firsts = {person_id: first_checkins(group, taps[person_id])
                  for person_id, _ in people.get(group.id, ()) if person_id in taps}
        for session in sessions:
            lagging = lagging_kiosk(kiosks[group.location], session.grace_until) if now > session.grace_until else None
            entries = []
            for person_id, first_name in people.get(group.id, ()):
                checkin_at = firsts.get(person_id, {}).get(session.key)
                status = attendance_status(session, checkin_at, now, person_id in excused, lagging)
                entry = {"participant_id": person_id, "first_name": first_name, "status": status,
                         "checked_in_at": checkin_at.isoformat(timespec="seconds") if checkin_at else None}
                if status == "unknown":
                    entry["unknown_reason"] = {"kiosk": lagging[0], "last_heard_at": lagging[1]}
                entries.append(entry)
            result.append({
                "group_id": group.id, "group_name": group.name, "location": group.location,
                "date": day.isoformat(),
                "start": session.start.astimezone(zone).isoformat(),
                "end": session.end.astimezone(zone).isoformat(),
                "grace_until": session.grace_until.astimezone(zone).isoformat(),
                "cancelled": False,
                "participants": entries,
            })
    deadlines = [(s["location"], parse_iso(s["grace_until"])) for s in result]
    result += cancelled
    result.sort(key=lambda s: (s["start"], s["location"], s["group_id"]))
    return result, deadlines


def _moved_to(group, day):
    """The date a session of `day` was moved to (it is listed there, judged at its new time), or None."""
    moved_to = group.change_on(day).moved_to
    return moved_to.isoformat() if moved_to else None


def _zone(group):
    return ZoneInfo(group.timezone)


def _local_iso(group, day, hhmm):
    return datetime.combine(day, parse_hhmm(hhmm), tzinfo=_zone(group)).isoformat()





# --- a participant's history (appended for the participant page and the CSV export) ---

def participant_history(conn, participant_id, now):
    """Every session of a participant's programme so far, oldest first: date, start, week,
    status, check-in time and the reason (the excuse, or what the follow-up call found)."""
    person = conn.execute("SELECT id, group_id, created_at FROM participants WHERE id = ?",
                          (participant_id,)).fetchone()
    if person is None:
        return []
    groups = load_groups(conn, person["group_id"])
    if not groups:
        return []
    group = groups[0]
    zone = ZoneInfo(group.timezone)
    # Sessions before someone was enrolled are not theirs to miss.
    enrolled = parse_iso(person["created_at"]).astimezone(zone).date()
    first = max(group.starts_on, enrolled)
    last = min(group.ends_on, now.astimezone(zone).date())
    taps = [parse_iso(r[0]) for r in conn.execute(
        "SELECT at FROM checkins WHERE participant_id = ? AND flag IS NULL ORDER BY at", (participant_id,))]
    excuses = {r["date"]: r["reason"] for r in conn.execute(
        "SELECT date, reason FROM excuses WHERE participant_id = ? ORDER BY id", (participant_id,))}
    cases = {(r["session_date"], r["session_start"]): r for r in conn.execute(
        "SELECT id, session_date, session_start, reason, excused, contacted, closed_at, resolution "
        "FROM follow_ups WHERE participant_id = ?", (participant_id,))}
    kiosks = kiosk_delivery(conn, group.location)
    firsts = first_checkins(group, taps)
    history = []
    day = first
    while day <= last:
        for session in sessions_on(group, day):
            if session.start > now:
                continue
            checkin_at = firsts.get(session.key)
            lagging = lagging_kiosk(kiosks, session.grace_until) if now > session.grace_until else None
            status = attendance_status(session, checkin_at, now, day.isoformat() in excuses, lagging)
            case = cases.get((day.isoformat(), session.start_local))
            reason = excuses.get(day.isoformat(), "") if status == "excused" else ""
            excused_afterwards = bool(status == "absent" and case is not None and case["excused"])
            if status == "absent" and case is not None:
                reason = case["reason"]
            history.append({
                "date": day.isoformat(), "start": session.start_local, "end": session.end_local,
                "week": (day - group.starts_on).days // 7 + 1, "status": status,
                "checked_in_at": checkin_at.isoformat(timespec="seconds") if checkin_at else None,
                "reason": reason, "excused_afterwards": excused_afterwards,
                "case_id": case["id"] if case is not None else None,
            })
        day += timedelta(days=1)
    return history


def weekly_summary(history):
    """Per programme week: sessions, attended (present or late), late, excused (in advance or
    afterwards), absent, and the attendance percentage of the sessions that counted (excused
    and still-open sessions do not count)."""
    weeks = {}
    for entry in history:
        week = weeks.setdefault(entry["week"], {"week": entry["week"], "sessions": 0, "attended": 0, "late": 0,
                                                "excused": 0, "absent": 0, "open": 0, "reasons": []})
        week["sessions"] += 1
        if entry["status"] in ("present", "late"):
            week["attended"] += 1
            week["late"] += entry["status"] == "late"
        elif entry["status"] == "excused" or entry["excused_afterwards"]:
            week["excused"] += 1
        elif entry["status"] == "absent":
            week["absent"] += 1
        else:
            week["open"] += 1  # expected or unknown: not decided yet
        if entry["reason"]:
            week["reasons"].append(entry["reason"])
    for week in weeks.values():
        counted = week["attended"] + week["absent"]
        week["pct"] = round(100 * week["attended"] / counted) if counted else None
    return [weeks[k] for k in sorted(weeks)]
