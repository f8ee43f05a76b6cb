"""The staff JSON API under /api/v1/ (bearer tokens; errors are JSON with a 4xx)."""
import json
import math
from datetime import date

from flask import Blueprint, current_app, g, jsonify, request

from common.clock import utc_now
from common.schedule import local_date
from common.vocabulary import FOLLOW_UP_ROLES, HEALTH_ROLES, MANAGER_ROLES, ROLES

from . import attendance as attendance_rules
from . import followup, intake, programme
from .audit import audit
from .auth import api_error, api_roles
from .db import get_db
from .errors import Forbidden, Invalid, NotFound
from .forms import int_or_none
from .openapi import spec

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _body():
    return request.get_json(silent=True)


def _run(fn, *args, created=None):
    try:
        value = fn(*args)
    except Invalid as exc:
        return api_error(400, str(exc))
    except NotFound as exc:
        return api_error(404, str(exc))
    except Forbidden as exc:
        return api_error(403, str(exc))
    if created:
        return jsonify(id=value), 201
    return jsonify(ok=True), 200


def _day_arg():
    text = request.args.get("date")
    if text is None:
        return local_date(utc_now(), current_app.config["ADMIN_TIMEZONE"])
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@bp.get("/openapi.json")
def openapi():
    """The API description."""
    return jsonify(spec())


@bp.post("/groups")
@api_roles("admin")
def create_group():
    """Create a group with its weekly sessions."""
    return _run(programme.create_group, get_db(), _body(), current_app.config["ADMIN_TIMEZONE"], created=True)


@bp.get("/groups")
@api_roles(*FOLLOW_UP_ROLES)
def list_groups():
    """Every group with its schedule."""
    groups = attendance_rules.load_groups(get_db())
    return jsonify(groups=[{"id": gr.id, "name": gr.name, "location": gr.location,
                            "starts_on": gr.starts_on.isoformat(), "weeks": gr.weeks,
                            "grace_minutes": gr.grace_minutes,
                            "sessions": [vars(s) for s in gr.slots]} for gr in groups])


@bp.post("/participants")
@api_roles("admin")
def create_participant():
    """Enrol a participant in a group."""
    return _run(programme.create_participant, get_db(), g.actor, _body(), created=True)


PARTICIPANT_FIELDS = ("id", "first_name", "last_name", "group_id", "group_name", "location", "status",
                      "lifecoach_id", "lifecoach", "phone", "language", "sex", "birth_date", "created_at")


@bp.get("/participants/<int:participant_id>")
@api_roles(*ROLES)
def participant(participant_id):
    """One participant as the caller may see them: all fields, or 403 for another's LifeCoach."""
    conn = get_db()
    row = conn.execute(
        "SELECT p.*, gr.name AS group_name, gr.location, c.email AS lifecoach FROM participants p "
        "JOIN groups gr ON gr.id = p.group_id LEFT JOIN staff c ON c.id = p.lifecoach_id WHERE p.id = ?",
        (participant_id,)).fetchone()
    if row is None:
        return api_error(404, "no such participant")
    if not programme.sees_all_of(g.staff["role"], g.staff["id"], row["lifecoach_id"]):
        return api_error(403, "a LifeCoach sees only their own participants")
    item = {key: row[key] for key in PARTICIPANT_FIELDS if key in row.keys()}
    if g.staff["role"] in MANAGER_ROLES:
        badge = conn.execute("SELECT uid FROM badges WHERE participant_id = ? AND revoked_at IS NULL",
                             (participant_id,)).fetchone()
        item["badge_uid"] = badge["uid"] if badge else None
    audit(conn, g.actor, participant_id, "view", "participant details")
    return jsonify(item)


@bp.put("/participants/<int:participant_id>/badge")
@api_roles(*MANAGER_ROLES)
def assign_badge(participant_id):
    """Assign a badge UID to a participant."""
    return _run(programme.assign_badge, get_db(), g.actor, participant_id, _body())


@bp.post("/participants/<int:participant_id>/excuses")
@api_roles(*FOLLOW_UP_ROLES)
def add_excuse(participant_id):
    """Log an advance notice of absence."""
    return _run(programme.add_excuse, get_db(), g.actor, participant_id, _body(), created=True)


@bp.get("/attendance")
@api_roles(*FOLLOW_UP_ROLES)
def attendance():
    """Today's (or a date's) sessions with each participant's computed status."""
    day = _day_arg()
    if day is None:
        return api_error(400, "'date' must be YYYY-MM-DD")
    group_id = request.args.get("group_id", type=int_or_none)
    now = utc_now()
    sessions = attendance_rules.attendance(get_db(), day, now, group_id)
    followup.after_attendance(get_db(), sessions, now)  # an absence opens its follow-up case at once
    return jsonify(sessions=sessions)


@bp.get("/checkins")
@api_roles(*FOLLOW_UP_ROLES)
def checkins():
    """Every check-in of participants received for a local date, once each."""
    day = _day_arg()
    if day is None:
        return api_error(400, "'date' must be YYYY-MM-DD")
    rows = get_db().execute(
        "SELECT id, participant_id, kiosk_id, at, result, time_source FROM checkins "
        "WHERE local_date = ? AND participant_id IS NOT NULL AND flag IS NULL ORDER BY at, kiosk_id, seq",
        (day.isoformat(),)).fetchall()
    return jsonify(checkins=[dict(r) for r in rows])


@bp.get("/participants/<int:participant_id>/measurements")
@api_roles(*HEALTH_ROLES)
def measurements(participant_id):
    """A participant's measurements with provenance, newest first (audited)."""
    conn = get_db()
    if conn.execute("SELECT 1 FROM participants WHERE id = ?", (participant_id,)).fetchone() is None:
        return api_error(404, "no such participant")
    rows = measurement_rows(conn, participant_id)
    audit(conn, g.actor, participant_id, "view", "measurements")
    response = jsonify(measurements=rows)
    response.headers["Cache-Control"] = "no-store"
    return response


def measurement_rows(conn, participant_id):
    """A participant's measurements as API dicts, newest first."""
    rows = conn.execute(
        "SELECT m.*, s.email AS taken_by_email, i.reason AS invalid_reason, i.at AS invalid_at "
        "FROM measurements m LEFT JOIN staff s ON s.id = m.taken_by "
        "LEFT JOIN measurement_invalidations i ON i.measurement_id = m.id "
        "WHERE m.participant_id = ? ORDER BY m.at DESC", (participant_id,)).fetchall()
    result = []
    for row in rows:
        item = {"id": row["id"], "participant_id": row["participant_id"], "moment": row["moment"],
                "at": row["at"], "time_source": row["time_source"], "kiosk_id": row["kiosk_id"],
                "taken_by": row["taken_by_email"], "sources": json.loads(row["sources_json"]),
                "flag": row["flag"], **json.loads(row["details_json"] or "{}"),
                "invalidated": ({"reason": row["invalid_reason"], "at": row["invalid_at"]}
                                if row["invalid_at"] else None)}
        # Stored before sync refused them: NaN or Infinity is no value (and no JSON).
        item.update({k: v for k, v in json.loads(row["values_json"]).items()
                     if not (isinstance(v, float) and not math.isfinite(v))})
        result.append(item)
    return result


@bp.get("/participants/<int:participant_id>/progress")
@api_roles(*HEALTH_ROLES)
def progress(participant_id):
    """Per moment and instrument: done, skipped, contraindicated or todo (audited)."""
    conn = get_db()
    if conn.execute("SELECT 1 FROM participants WHERE id = ?", (participant_id,)).fetchone() is None:
        return api_error(404, "no such participant")
    audit(conn, g.actor, participant_id, "view", "measurement progress")
    return jsonify(progress=intake.progress(conn, participant_id))


@bp.post("/measurements/<measurement_id>/invalidate")
@api_roles(*intake.WRITE_ROLES)
def invalidate(measurement_id):
    """Mark a saved measurement as not valid, with a reason (a new record; nothing is deleted)."""
    body = _body()
    try:
        intake.invalidate(get_db(), g.actor, measurement_id, body.get("reason") if isinstance(body, dict) else None)
    except intake.Invalid as exc:
        return api_error(400, str(exc))
    except intake.NotFound as exc:
        return api_error(404, str(exc))
    return jsonify(ok=True), 201


@bp.post("/device-checks")
@api_roles(*intake.WRITE_ROLES)
def device_check():
    """Log a device check: a scale on a reference weight, or a monitor's validation date."""
    try:
        check_id = intake.record_check(get_db(), g.actor, _body())
    except intake.Invalid as exc:
        return api_error(400, str(exc))
    return jsonify(id=check_id), 201


@bp.get("/device-checks")
@api_roles(*HEALTH_ROLES)
def device_checks():
    """Every device check, newest first."""
    return jsonify(checks=[dict(r) for r in intake.check_log(get_db())])


@bp.get("/groups/<int:group_id>/gaps")
@api_roles(*HEALTH_ROLES)
def group_gaps(group_id):
    """Per moment and instrument, the people of the group it is still to do for."""
    conn = get_db()
    if conn.execute("SELECT 1 FROM groups WHERE id = ?", (group_id,)).fetchone() is None:
        return api_error(404, "no such group")
    audit(conn, g.actor, None, "view", f"measurement gaps of group {group_id}")
    return jsonify(gaps=intake.group_gaps(conn, group_id))


@bp.get("/badges/unknown")
@api_roles(*MANAGER_ROLES)
def unknown_badges():
    """UIDs tapped at a kiosk that belong to nobody, for enrolment."""
    return jsonify(badges=[dict(r) for r in programme.unknown_badges(get_db())])


@bp.get("/audit")
@api_roles("admin")
def audit_trail():
    """Who viewed or changed a participant's data, when, what."""
    participant_id = request.args.get("participant_id", type=int_or_none)
    if participant_id is None:
        return api_error(400, "'participant_id' is required")
    rows = get_db().execute(
        "SELECT a.at, s.email AS staff, a.staff_role, a.participant_id, a.action, a.what, a.source "
        "FROM audit_log a LEFT JOIN staff s ON s.id = a.staff_id WHERE a.participant_id = ? ORDER BY a.id",
        (participant_id,)).fetchall()
    return jsonify(entries=[dict(r) for r in rows])


@bp.get("/kiosks")
@api_roles(*FOLLOW_UP_ROLES)
def kiosks():
    """Kiosk health: last heard, delivered-through watermark, pending records, clock offset."""
    rows = get_db().execute(
        "SELECT id, name, location, role, last_heard_at, watermark_at, pending, clock_offset_s, clock_synced, "
        "revoked_at, (SELECT count(*) FROM checkins c WHERE c.kiosk_id = k.id AND c.flag IS NOT NULL) + "
        "(SELECT count(*) FROM measurements m WHERE m.kiosk_id = k.id AND m.flag IS NOT NULL) AS flagged "
        "FROM kiosks k ORDER BY location, name").fetchall()
    return jsonify(kiosks=[dict(r) for r in rows])

