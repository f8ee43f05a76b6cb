"""Attendance status, computed at request time, so a flag appears the instant it is true.

expected  before start + grace, not checked in
present   checked in by start + grace          late  checked in after start + grace
excused   an excuse was logged for the day
absent    start + grace passed, no check-in, no excuse, and every kiosk of the location
          has delivered everything up to that moment
unknown   start + grace passed, but a kiosk of the location has not delivered up to then
"""
import hashlib
import json
from datetime import date
from zoneinfo import ZoneInfo

from common.clock import iso, parse_iso
from common.schedule import EARLY_MINUTES, Group, Slot, sessions_on

ACTIVE_STATUSES = ("intake", "active")


def group_from_row(row, slots):
    """A schedule Group from a groups row and its slot rows."""
    return Group(id=row["id"], name=row["name"], location=row["location"],
                 starts_on=date.fromisoformat(row["starts_on"]), weeks=row["weeks"],
                 grace_minutes=row["grace_minutes"], timezone=row["timezone"],
                 slots=tuple(Slot(s["weekday"], s["start"], s["end"]) for s in slots))


def load_groups(conn, group_id=None):
    """Every group (or one) with its weekly slots."""
    where, args = ("WHERE id = ?", (group_id,)) if group_id is not None else ("", ())
    rows = conn.execute(f"SELECT * FROM groups {where} ORDER BY location, name", args).fetchall()
    slots = {}
    for slot in conn.execute("SELECT * FROM schedule_slots ORDER BY weekday, start"):
        slots.setdefault(slot["group_id"], []).append(slot)
    return [group_from_row(row, slots.get(row["id"], [])) for row in rows]


def kiosk_delivery(conn, location):
    """The location's active kiosks: (name, watermark or None, last heard or None)."""
    return [(k["name"], parse_iso(k["watermark_at"]) if k["watermark_at"] else None, k["last_heard_at"])
            for k in conn.execute("SELECT name, watermark_at, last_heard_at FROM kiosks "
                                  "WHERE location = ? AND revoked_at IS NULL ORDER BY name", (location,))]


def lagging_kiosk(kiosks, moment):
    """The first kiosk that has not delivered everything up to `moment`, or None."""
    for name, watermark, last_heard in kiosks:
        if watermark is None or watermark < moment:
            return name, last_heard
    return None


def participant_status(session, checkin_at, excused, now, lagging):
    """The status of one participant in one session."""
    if checkin_at is not None:
        return "present" if checkin_at <= session.grace_until else "late"
    if excused:
        return "excused"
    if now <= session.grace_until:
        return "expected"
    return "unknown" if lagging else "absent"


def attendance(conn, day, now, group_id=None):
    """Sessions of `day` with every participant's status, as the API returns them."""
    result = []
    for group in load_groups(conn, group_id):
        sessions = sessions_on(group, day)
        if not sessions:
            continue
        people = conn.execute(
            "SELECT p.id, p.first_name, p.lifecoach_id FROM participants p WHERE p.group_id = ? "
            f"AND p.status IN ({','.join('?' * len(ACTIVE_STATUSES))}) ORDER BY p.first_name, p.id",
            (group.id, *ACTIVE_STATUSES)).fetchall()
        ids = [p["id"] for p in people]
        excused = {r[0] for r in conn.execute(
            f"SELECT participant_id FROM excuses WHERE date = ? AND participant_id IN ({','.join('?' * len(ids))})",
            (day.isoformat(), *ids))} if ids else set()
        window_start = iso(sessions[0].start.timestamp() - EARLY_MINUTES * 60)
        window_end = iso(sessions[-1].end.timestamp())
        taps = {}
        if ids:
            for row in conn.execute(
                    f"SELECT participant_id, at FROM checkins WHERE participant_id IN ({','.join('?' * len(ids))}) "
                    "AND at BETWEEN ? AND ? ORDER BY at", (*ids, window_start, window_end)):
                taps.setdefault(row[0], []).append(parse_iso(row[1]))
        kiosks = kiosk_delivery(conn, group.location)
        for session in sessions:
            lagging = lagging_kiosk(kiosks, session.grace_until) if now > session.grace_until else None
            entries = []
            for person in people:
                checkin_at = next((t for t in taps.get(person["id"], []) if session.window_contains(t)), None)
                status = participant_status(session, checkin_at, person["id"] in excused, now, lagging)
                entry = {"participant_id": person["id"], "first_name": person["first_name"],
                         "status": status,
                         "checked_in_at": checkin_at.isoformat(timespec="seconds") if checkin_at else None}
                if status == "unknown":
                    entry["unknown_reason"] = {"kiosk": lagging[0], "last_heard_at": lagging[1]}
                entries.append(entry)
            result.append({
                "group_id": group.id, "group_name": group.name, "location": group.location,
                "date": day.isoformat(),
                "start": session.start.astimezone(_zone(group)).isoformat(),
                "end": session.end.astimezone(_zone(group)).isoformat(),
                "grace_until": session.grace_until.astimezone(_zone(group)).isoformat(),
                "participants": entries,
            })
    result.sort(key=lambda s: (s["start"], s["location"], s["group_id"]))
    return result


def _zone(group):
    return ZoneInfo(group.timezone)


def fingerprint(sessions):
    """A short stable digest of an attendance answer, to answer 'nothing changed'."""
    return hashlib.sha256(json.dumps(sessions, sort_keys=True).encode()).hexdigest()[:16]

