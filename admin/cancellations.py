"""The calendar as it really goes: staff cancel a session for one group or a whole
location on a date (with a reason), or move it to another time or another date. A cancelled
session raises no absence and no follow-up case (open ones close themselves, as do those of
a session moved to another date); a moved one is judged at its new date and time; kiosks
learn of both with the roster."""
import re
from datetime import date

from flask import Blueprint, g, jsonify, request

from common.db import transaction
from common.schedule import CalendarChange, Group, parse_hhmm, sessions_on

from .audit import audit
from .auth import api_error, api_roles
from .db import bump_roster, now_iso

api_bp = Blueprint("cancellations_api", __name__, url_prefix="/api/v1")
CALENDAR_ROLES = ("admin", "coordinator")


class Invalid(ValueError):
    """A change that cannot be stored; the message says why (400 malformed, 422 not possible, 409 a clash)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def _date(body, name):
    text = body.get(name)
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise Invalid(f"'{name}' must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"'{name}' must be a date YYYY-MM-DD") from None


def _body(body):
    """(date, reason, moved times or None, moved_to date or None) from a request body."""
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    day = _date(body, "date")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 200:
        raise Invalid("'reason' is required (text, at most 200 characters)")
    moved_to = _date(body, "moved_to") if body.get("moved_to") is not None else None
    moved = (body.get("moved_start"), body.get("moved_end"))
    if moved == (None, None):
        moved = None
    else:
        try:
            start, end = parse_hhmm(moved[0]), parse_hhmm(moved[1])
        except (AttributeError, TypeError, ValueError):
            raise Invalid("'moved_start' and 'moved_end' must be HH:MM") from None
        if start >= end:
            raise Invalid("'moved_end' must be after 'moved_start'")
    if moved_to == day:
        if moved is None:
            raise Invalid("'moved_to' is the session's own date: give 'moved_start' and 'moved_end' to move "
                          "it within the day", 422)
        moved_to = None
    return day, reason.strip(), moved, moved_to


def _check_move(conn, groups, proposed, location):
    """Refuse a move that a group cannot take: no session that day to move, a new date
    outside its programme, or a clash with a session it already has then."""
    from .attendance import load_groups
    day, target = proposed.date, proposed.moved_to or proposed.date
    own = {r[0] for r in conn.execute("SELECT group_id FROM calendar_changes WHERE date = ? AND group_id IS NOT NULL",
                                      (day.isoformat(),))}
    movable = 0
    for group in load_groups(conn, groups[0] if location is None else None):
        if group.id not in groups or (location is not None and group.id in own):
            continue   # a group's own change of that date wins over its location's
        if not (group.starts_on <= day <= group.ends_on and any(s.weekday == day.weekday() for s in group.slots)):
            continue
        movable += 1
        if not (group.starts_on <= target <= group.ends_on):
            raise Invalid(f"{group.name}: 'moved_to' {target.isoformat()} is outside the programme "
                          f"({group.starts_on.isoformat()} to {group.ends_on.isoformat()})", 422)
        kept = tuple(c for c in group.calendar if c.date != day)
        # The day's own sessions, where they would be held; every other session of the target date.
        moving = Group(**{**group.__dict__, "slots": tuple(s for s in group.slots if s.weekday == day.weekday()),
                          "calendar": (proposed,) if target == day else (proposed, CalendarChange(target, "-"))})
        staying = Group(**{**group.__dict__, "calendar": (*kept, CalendarChange(day, "-"))})
        for new in sessions_on(moving, target):
            for old in sessions_on(staying, target):
                if new.start < old.end and old.start < new.end:
                    raise Invalid(f"{group.name} already has a session on {target.isoformat()} from "
                                  f"{old.start_local} to {old.end_local}", 409)
    if not movable:
        where = f"at {location}" if location is not None else "of the group"
        raise Invalid(f"no session {where} on {day.isoformat()} to move", 422)


def change(conn, actor, body, group_id=None, location=None):
    """Cancel or move the session(s) of a group or a location on a date; returns the id."""
    day, reason, moved, moved_to = _body(body)
    with transaction(conn):
        if group_id is not None:
            groups = [r[0] for r in conn.execute("SELECT id FROM groups WHERE id = ?", (group_id,))]
        else:
            groups = [r[0] for r in conn.execute("SELECT id FROM groups WHERE location = ?", (location,))]
        if not groups:
            raise LookupError("no such group" if group_id is not None else "no group at that location")
        proposed = CalendarChange(day, reason, moved, moved_to)
        if moved is not None or moved_to is not None:
            _check_move(conn, groups, proposed, location)
        change_id = conn.execute(
            "INSERT INTO calendar_changes(group_id, location, date, reason, moved_start, moved_end, moved_to, "
            "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (group_id, location, day.isoformat(), reason, *(moved or (None, None)),
             moved_to.isoformat() if moved_to else None, actor.id, now_iso())).lastrowid
        marks = ",".join("?" * len(groups))
        conn.execute(f"UPDATE groups SET roster_version = ? WHERE id IN ({marks})", (bump_roster(conn), *groups))
        if proposed.takes_away:
            # Cases opened for a session that turned out not to take place that day close themselves.
            conn.execute(f"UPDATE follow_ups SET closed_at = ?, updated_at = ?, resolution = 'cancelled' "
                         f"WHERE session_date = ? AND group_id IN ({marks}) AND closed_at IS NULL",
                         (now_iso(), now_iso(), day.isoformat(), *groups))
        what = f"moved to {moved_to.isoformat()}" if moved_to else "moved" if moved else "cancelled"
        audit(conn, actor, None, "change", f"session of {day.isoformat()} {what} for groups {groups}")
    return change_id


def changes_for(conn, groups, since=None):
    """{group id: (CalendarChange, …)} for the given group rows (id, location): the changes
    of dates from `since` on or moving a session to one; a group's own change wins over its
    location's on the same date."""
    if not groups:
        return {}
    ids = [gr["id"] for gr in groups]
    locations = sorted({gr["location"] for gr in groups})
    rows = conn.execute(
        f"SELECT * FROM calendar_changes WHERE (group_id IN ({','.join('?' * len(ids))}) "
        f"OR location IN ({','.join('?' * len(locations))})) AND date IN (SELECT date FROM calendar_changes "
        f"WHERE date >= ? OR moved_to >= ?) ORDER BY id",   # every change of such a date: which one wins needs them all
        (*ids, *locations, since or "0000", since or "0000")).fetchall()
    found = {}
    for gr in groups:
        by_day = {}
        for row in rows:
            if row["location"] == gr["location"] and row["date"] not in by_day:
                by_day[row["date"]] = row
        for row in rows:
            if row["group_id"] == gr["id"]:
                by_day[row["date"]] = row
        found[gr["id"]] = tuple(CalendarChange(date.fromisoformat(d), r["reason"],
                                               (r["moved_start"], r["moved_end"]) if r["moved_start"] else None,
                                               date.fromisoformat(r["moved_to"]) if r["moved_to"] else None)
                                for d, r in sorted(by_day.items()))
    return found


def _create(group_id=None, location=None):
    from .db import get_db
    try:
        change_id = change(get_db(), g.actor, request.get_json(silent=True), group_id, location)
    except Invalid as exc:
        return api_error(exc.status, str(exc))
    except LookupError as exc:
        return api_error(404, str(exc))
    return jsonify(id=change_id), 201


@api_bp.post("/groups/<int:group_id>/cancellations")
@api_roles(*CALENDAR_ROLES)
def cancel_group(group_id):
    """{"date", "reason", "moved_to"?, "moved_start"?, "moved_end"?}: one group's session does not take place (or moves)."""
    return _create(group_id=group_id)


@api_bp.post("/locations/<path:location>/cancellations")
@api_roles(*CALENDAR_ROLES)
def cancel_location(location):
    """The same body: no session at the location that day, or each group's session there moved."""
    return _create(location=location)
