"""The calendar as it really goes: staff cancel a session for one group or a whole
location on a date (with a reason), or move it to another time. A cancelled session raises
no absence and no follow-up case (open ones close themselves); a moved one is judged at its
new time; kiosks learn of both with the roster."""
import re
from datetime import date

from flask import Blueprint, g, jsonify, request

from common.db import transaction
from common.schedule import CalendarChange, parse_hhmm

from .audit import audit
from .auth import api_error, api_roles
from .db import bump_roster, now_iso

api_bp = Blueprint("cancellations_api", __name__, url_prefix="/api/v1")
CALENDAR_ROLES = ("admin", "coordinator")


class Invalid(ValueError):
    """A change that cannot be stored; the message says why."""


def _body(body):
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    text = body.get("date")
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise Invalid("'date' must be a date YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Invalid("'date' must be a date YYYY-MM-DD") from None
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 200:
        raise Invalid("'reason' is required (text, at most 200 characters)")
    moved = (body.get("moved_start"), body.get("moved_end"))
    if moved == (None, None):
        return day, reason.strip(), None
    try:
        start, end = parse_hhmm(moved[0]), parse_hhmm(moved[1])
    except (AttributeError, TypeError, ValueError):
        raise Invalid("'moved_start' and 'moved_end' must be HH:MM") from None
    if start >= end:
        raise Invalid("'moved_end' must be after 'moved_start'")
    return day, reason.strip(), moved


def change(conn, actor, body, group_id=None, location=None):
    """Cancel (or move) the session(s) of a group or a location on a date; returns the id."""
    day, reason, moved = _body(body)
    if location is not None and moved is not None:
        raise Invalid("a whole location can be cancelled, not moved; move each group's session")
    with transaction(conn):
        if group_id is not None:
            groups = [r[0] for r in conn.execute("SELECT id FROM groups WHERE id = ?", (group_id,))]
        else:
            groups = [r[0] for r in conn.execute("SELECT id FROM groups WHERE location = ?", (location,))]
        if not groups:
            raise LookupError("no such group" if group_id is not None else "no group at that location")
        change_id = conn.execute(
            "INSERT INTO calendar_changes(group_id, location, date, reason, moved_start, moved_end, created_by, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (group_id, location, day.isoformat(), reason, *(moved or (None, None)), actor.id, now_iso())).lastrowid
        marks = ",".join("?" * len(groups))
        conn.execute(f"UPDATE groups SET roster_version = ? WHERE id IN ({marks})", (bump_roster(conn), *groups))
        if moved is None:
            # Cases opened for a session that turned out not to take place close themselves.
            conn.execute(f"UPDATE follow_ups SET closed_at = ?, updated_at = ?, resolution = 'cancelled' "
                         f"WHERE session_date = ? AND group_id IN ({marks}) AND closed_at IS NULL",
                         (now_iso(), now_iso(), day.isoformat(), *groups))
        what = "moved" if moved else "cancelled"
        audit(conn, actor, None, "change", f"session of {day.isoformat()} {what} for groups {groups}")
    return change_id


def changes_for(conn, groups, since=None):
    """{group id: (CalendarChange, …)} for the given group rows (id, location); a group's own
    change wins over its location's on the same date."""
    if not groups:
        return {}
    ids = [gr["id"] for gr in groups]
    locations = sorted({gr["location"] for gr in groups})
    rows = conn.execute(
        f"SELECT * FROM calendar_changes WHERE (group_id IN ({','.join('?' * len(ids))}) "
        f"OR location IN ({','.join('?' * len(locations))})) AND date >= ? ORDER BY id",
        (*ids, *locations, since or "0000")).fetchall()
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
                                               (r["moved_start"], r["moved_end"]) if r["moved_start"] else None)
                                for d, r in sorted(by_day.items()))
    return found


def _create(group_id=None, location=None):
    from .db import get_db
    try:
        change_id = change(get_db(), g.actor, request.get_json(silent=True), group_id, location)
    except Invalid as exc:
        return api_error(400, str(exc))
    except LookupError as exc:
        return api_error(404, str(exc))
    return jsonify(id=change_id), 201


@api_bp.post("/groups/<int:group_id>/cancellations")
@api_roles(*CALENDAR_ROLES)
def cancel_group(group_id):
    """{"date", "reason", "moved_start"?, "moved_end"?}: one group's session does not take place (or moves)."""
    return _create(group_id=group_id)


@api_bp.post("/locations/<path:location>/cancellations")
@api_roles(*CALENDAR_ROLES)
def cancel_location(location):
    """{"date", "reason"}: no session at the location that day."""
    return _create(location=location)
