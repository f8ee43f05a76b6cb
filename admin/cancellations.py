"""The calendar as it really goes: staff cancel a session for one group or a whole
location on a date (with a reason), or move it to another time or another date. A cancelled
session raises no absence and no follow-up case (open ones close themselves, as do those of
a session moved to another date); a moved one is judged at its new date and time; kiosks
learn of both with the roster."""
import re
from datetime import date

from flask import Blueprint, current_app, g, jsonify, redirect, request, url_for

from common.clock import utc_now
from common.db import transaction
from common.schedule import CalendarChange, Group, local_date, parse_hhmm, sessions_on

from .audit import audit
from .auth import api_error, api_roles, web_roles
from .db import bump_roster, get_db, now_iso
from .errors import Invalid
from .forms import form_error, htmx, int_or_none, page_or_fragment

api_bp = Blueprint("cancellations_api", __name__, url_prefix="/api/v1")
CALENDAR_ROLES = ("admin", "coordinator")


class Impossible(Invalid):
    """A well-formed change the calendar cannot take (422)."""
    status = 422


class Clash(Invalid):
    """A move onto a session the group already has (409)."""
    status = 409


def _date(body, name):
    text = body.get(name)
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise Invalid(name, "date")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(name, "date") from None


def _body(body):
    """(date, reason, moved times or None, moved_to date or None) from a request body."""
    if not isinstance(body, dict):
        raise Invalid(None, "not_an_object")
    day = _date(body, "date")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 200:
        raise Invalid("reason", "calendar_reason")
    moved_to = _date(body, "moved_to") if body.get("moved_to") is not None else None
    moved = (body.get("moved_start"), body.get("moved_end"))
    if moved == (None, None):
        moved = None
    else:
        try:
            start, end = parse_hhmm(moved[0]), parse_hhmm(moved[1])
        except (AttributeError, TypeError, ValueError):
            raise Invalid("moved_start", "moved_times") from None
        if start >= end:
            raise Invalid("moved_end", "moved_order")
    if moved_to == day:
        if moved is None:
            raise Impossible("moved_to", "move_same_day")
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
        if proposed.moved and sum(s.weekday == day.weekday() for s in group.slots) > 1:
            # One new begin and end for two sessions would put both at the same time.
            raise Impossible("moved_start", "several_sessions", group=group.name, day=day.isoformat())
        if not (group.starts_on <= target <= group.ends_on):
            raise Impossible("moved_to", "outside_programme", group=group.name, target=target.isoformat(),
                             start=group.starts_on.isoformat(), end=group.ends_on.isoformat())
        kept = tuple(c for c in group.calendar if c.date != day)
        # The day's own sessions, where they would be held; every other session of the target date.
        moving = Group(**{**group.__dict__, "slots": tuple(s for s in group.slots if s.weekday == day.weekday()),
                          "calendar": (proposed,) if target == day else (proposed, CalendarChange(target, "-"))})
        staying = Group(**{**group.__dict__, "calendar": (*kept, CalendarChange(day, "-"))})
        for new in sessions_on(moving, target):
            for old in sessions_on(staying, target):
                if new.start < old.end and old.start < new.end:
                    raise Clash("moved_to", "session_clash", group=group.name, target=target.isoformat(),
                                start=old.start_local, end=old.end_local)
    if not movable:
        if location is not None:
            raise Impossible("date", "nothing_to_move_here", location=location, day=day.isoformat())
        raise Impossible("date", "nothing_to_move", day=day.isoformat())


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
    try:
        change_id = change(get_db(), g.actor, request.get_json(silent=True), group_id, location)
    except Invalid as exc:
        return api_error(getattr(exc, "status", 400), str(exc))
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


# --- the staff page ---------------------------------------------------------------

bp = Blueprint("calendar", __name__)


def _context(conn, error=None, saved=False, form=None):
    today = local_date(utc_now(), current_app.config["ADMIN_TIMEZONE"]).isoformat()
    groups = conn.execute("SELECT id, name, location FROM groups WHERE date(starts_on, '+' || (7 * weeks - 1) || "
                          "' days') >= ? ORDER BY location, name", (today,)).fetchall()
    changes = conn.execute(
        "SELECT c.*, gr.name AS group_name, s.name AS by_name FROM calendar_changes c "
        "LEFT JOIN groups gr ON gr.id = c.group_id LEFT JOIN staff s ON s.id = c.created_by "
        "WHERE c.date >= ? OR c.moved_to >= ? ORDER BY c.date, c.id", (today, today)).fetchall()
    return {"groups": [(f"group:{gr['id']}", f"{gr['name']} · {gr['location']}") for gr in groups],
            "locations": [(f"location:{loc}", loc) for loc in sorted({gr["location"] for gr in groups})], "changes": changes,
            "today": today, "error": error, "saved": saved, "form": form or {}}


@bp.get("/calendar")
@web_roles(*CALENDAR_ROLES)
def index():
    """The coming calendar changes and the form to cancel or move a session."""
    return page_or_fragment("calendar/index.html", "calendar/_calendar.html", **_context(get_db()))


@bp.post("/calendar")
@web_roles(*CALENDAR_ROLES)
def create():
    """Cancel or move the session(s) of a group or a location on a date."""
    conn = get_db()
    kind, _, which = request.form.get("target", "").partition(":")
    body = {k: request.form[k] for k in ("date", "reason", "moved_to", "moved_start", "moved_end")
            if request.form.get(k, "").strip()}
    body.setdefault("date", request.form.get("date", ""))
    try:
        if kind == "group" and int_or_none(which) is not None:
            change(conn, g.actor, body, group_id=int_or_none(which))
        elif kind == "location" and which:
            change(conn, g.actor, body, location=which)
        else:
            raise Invalid("target", "choose")
    except LookupError:
        return page_or_fragment("calendar/index.html", "calendar/_calendar.html", status=422,
                                **_context(conn, error=form_error(Invalid("target", "choose")), form=request.form))
    except Invalid as exc:
        return page_or_fragment("calendar/index.html", "calendar/_calendar.html", status=422,
                                **_context(conn, error=form_error(exc), form=request.form))
    if not htmx:
        return redirect(url_for("calendar.index"), 303)
    return page_or_fragment("calendar/index.html", "calendar/_calendar.html", **_context(conn, saved=True))
