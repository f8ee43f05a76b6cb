"""The intake measurements as the physio team follows them: per participant and moment what
is done, skipped or contraindicated and what is still to do; per group who still lacks
what; invalidating a saved measurement (a new record, never a delete); the device check log."""
import json
from datetime import date

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from common.db import transaction
from common.intake import PROGRAMME_MOMENTS, STATES, record_states, standing_answers
from common.vocabulary import HEALTH_ROLES, INSTRUMENTS, MOMENTS

from .audit import audit
from .auth import web_roles
from .db import bump_roster, get_db, now_iso

bp = Blueprint("intake", __name__)
WRITE_ROLES = ("admin", "physio")  # invalidate, log a device check; a doctor reads

CHECK_KINDS = ("reference_weight", "validation")
# A scale reading of a reference weight further off than this fails the check.
REFERENCE_TOLERANCE_KG = 0.2


class Invalid(ValueError):
    """A request that cannot be carried out; the message is for the user."""


class NotFound(LookupError):
    """No such record."""


def valid_rows(conn, participant_id):
    """The participant's measurements that were not invalidated, oldest first."""
    return conn.execute(
        "SELECT m.* FROM measurements m WHERE m.participant_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM measurement_invalidations i WHERE i.measurement_id = m.id) ORDER BY m.at",
        (participant_id,)).fetchall()


def progress(conn, participant_id):
    """{moment: {instrument: done | skipped | contraindicated | todo}} for the programme's moments."""
    status = {moment: {instrument: "todo" for instrument in INSTRUMENTS} for moment in PROGRAMME_MOMENTS}
    for row in valid_rows(conn, participant_id):
        details = json.loads(row["details_json"] or "{}")
        for instrument, state in record_states(json.loads(row["values_json"]), details.get("skipped")).items():
            if row["moment"] in status and status[row["moment"]][instrument] != "done":
                status[row["moment"]][instrument] = state
    return status


def station_facts(conn, participant_id):
    """What a station is told of a person: what is done per moment, and standing answers."""
    screenings = [json.loads(row["details_json"] or "{}").get("screening") for row in valid_rows(conn, participant_id)]
    return {"measured": progress(conn, participant_id), "standing": standing_answers(screenings)}


def after_ingest(conn, participant_id):
    """A measurement arrived: stations learn what is done (and standing answers) at their next pull."""
    conn.execute("UPDATE participants SET roster_version = ? WHERE id = ?", (bump_roster(conn), participant_id))


def group_gaps(conn, group_id):
    """Per moment and instrument, the active people of the group it is not done for (nor skipped
    or contraindicated with a reason): {moment: {instrument: [first names]}}."""
    gaps = {moment: {instrument: [] for instrument in INSTRUMENTS} for moment in PROGRAMME_MOMENTS}
    people = conn.execute("SELECT id, first_name FROM participants WHERE group_id = ? AND status IN "
                          "('intake', 'active', 'completed') AND anonymised_at IS NULL ORDER BY first_name",
                          (group_id,)).fetchall()
    for person in people:
        for moment, states in progress(conn, person["id"]).items():
            for instrument, state in states.items():
                if state == "todo":
                    gaps[moment][instrument].append(person["first_name"])
    return gaps


def invalidate(conn, actor, measurement_id, reason):
    """Mark a saved measurement as not valid, with why; it stays stored and visible as such."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > 500:
        raise Invalid("'reason' is required (text, at most 500 characters)")
    with transaction(conn):
        row = conn.execute("SELECT participant_id FROM measurements WHERE id = ?", (measurement_id,)).fetchone()
        if row is None:
            raise NotFound("no such measurement")
        if conn.execute("SELECT 1 FROM measurement_invalidations WHERE measurement_id = ?",
                        (measurement_id,)).fetchone():
            raise Invalid("this measurement was invalidated already")
        conn.execute("INSERT INTO measurement_invalidations(measurement_id, reason, by_staff, at) VALUES (?, ?, ?, ?)",
                     (measurement_id, reason, actor.id, now_iso()))
        after_ingest(conn, row["participant_id"])
        audit(conn, actor, row["participant_id"], "change", "measurement invalidated")
    return row["participant_id"]


def _kg(value):
    """A weight as the API (a number) or the page (text) gives it; None when it is neither."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def record_check(conn, actor, body, today=None):
    """Log a device check: a scale on a reference weight, or a monitor's validation date."""
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    serial = body.get("device_serial")
    if not isinstance(serial, str) or not serial.strip() or len(serial) > 64:
        raise Invalid("'device_serial' is required (text)")
    kind = body.get("kind")
    if kind not in CHECK_KINDS:
        raise Invalid("'kind' must be one of reference_weight, validation")
    try:
        checked_on = date.fromisoformat(body.get("checked_on") or "")
    except (TypeError, ValueError):
        raise Invalid("'checked_on' must be a date YYYY-MM-DD") from None
    if checked_on > (today or date.today()):
        raise Invalid("'checked_on' lies in the future")
    reference = measured = None
    if kind == "reference_weight":
        reference, measured = _kg(body.get("reference_kg")), _kg(body.get("measured_kg"))
        if reference is None or measured is None:
            raise Invalid("'reference_kg' and 'measured_kg' are required (numbers)")
        if not (0 < reference <= 300 and 0 < measured <= 300):
            raise Invalid("'reference_kg' and 'measured_kg' must be weights from 0 to 300 kg")
        passed = abs(reference - measured) <= REFERENCE_TOLERANCE_KG
    else:
        passed = True
    note = "" if body.get("note") is None else body["note"]
    if not isinstance(note, str) or len(note) > 500:
        raise Invalid("'note' must be text of at most 500 characters")
    with transaction(conn):
        check_id = conn.execute(
            "INSERT INTO device_checks(device_serial, kind, checked_on, reference_kg, measured_kg, passed, note, "
            "by_staff, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (serial.strip(), kind, checked_on.isoformat(), reference, measured, int(passed), note.strip(),
             actor.id, now_iso())).lastrowid
        bump_roster(conn)  # stations learn of it at their next pull
    return check_id


def latest_checks(conn):
    """The newest check per device serial: [{device_serial, kind, checked_on, passed}]."""
    return [dict(r) for r in conn.execute(
        "SELECT device_serial, kind, checked_on, passed = 1 AS passed FROM device_checks d WHERE id = "
        "(SELECT id FROM device_checks WHERE device_serial = d.device_serial ORDER BY checked_on DESC, id DESC "
        "LIMIT 1) ORDER BY device_serial")]


def check_log(conn):
    """Every device check, newest first, for the staff site."""
    return conn.execute("SELECT d.*, s.name AS by_name FROM device_checks d LEFT JOIN staff s ON s.id = d.by_staff "
                        "ORDER BY d.checked_on DESC, d.id DESC").fetchall()



# --- the staff site: what is left per group, the device check log, invalidating ---------

def _page(conn, error=None, form=None, status=200):
    groups = conn.execute("SELECT id, name, location FROM groups ORDER BY location, name").fetchall()
    gaps = {g["id"]: group_gaps(conn, g["id"]) for g in groups}
    return render_template("intake/index.html", groups=groups, gaps=gaps, moments=MOMENTS, instruments=INSTRUMENTS,
                           checks=check_log(conn), error=error, form=form or {}, states=STATES), status


@bp.get("/intake")
@web_roles(*HEALTH_ROLES)
def index():
    """Per group and moment, how many people still lack an instrument; the device check log."""
    conn = get_db()
    audit(conn, g.actor, None, "view", "measurement gaps per group")
    return _page(conn)


@bp.post("/intake/device-checks")
@web_roles(*WRITE_ROLES)
def add_check():
    """Log a device check from the form."""
    conn = get_db()
    try:
        record_check(conn, g.actor, request.form.to_dict())
    except Invalid as exc:
        return _page(conn, error=str(exc), form=request.form, status=422)
    return redirect(url_for("intake.index"), 303)


@bp.post("/participants/<int:participant_id>/measurements/<measurement_id>/invalidate")
@web_roles(*WRITE_ROLES)
def invalidate_page(participant_id, measurement_id):
    """Invalidate a measurement from the participant's page, with a reason."""
    conn = get_db()
    row = conn.execute("SELECT participant_id FROM measurements WHERE id = ?", (measurement_id,)).fetchone()
    if row is None or row["participant_id"] != participant_id:
        abort(404)
    try:
        invalidate(conn, g.actor, measurement_id, request.form.get("reason"))
    except Invalid:
        pass  # an empty reason or a second invalidation changes nothing; the page shows the state
    return redirect(url_for("participant.page", participant_id=participant_id) + "#measurements", 303)
