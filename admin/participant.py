"""The participant pages: the list (searched by POST, so no name lands in a URL), one
participant's page — details, attendance history per week, follow-ups, excuses for the
coaches; measurements and trend charts for physio and admin — and its exports.
Participants are addressed by number only."""
import csv
import io
import json

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext, pgettext
from flask_babel import lazy_gettext as _l

from common.clock import utc_now
from common.db import all_of
from common.schedule import local_date
from common.vocabulary import (
    ATTENDANCE_STATUSES,
    COACH_ROLES,
    FOLLOW_UP_ROLES,
    HEALTH_ROLES,
    MANAGER_ROLES,
    MEASUREMENT_FIELDS,
    MOMENTS,
    PARTICIPANT_STATUSES,
    ROLES,
    SEXES,
)

from . import attendance as attendance_rules
from . import programme
from .api import measurement_rows
from .audit import audit
from .auth import has_role, web_roles
from .charts import line_chart, series_from
from .db import get_db
from .errors import Invalid
from .forms import form_error, htmx, int_or_none, page_or_fragment, see_other

bp = Blueprint("participant", __name__)
ALL_ROLES = tuple(ROLES)   # each sees only the sections of their role (page)
TIME_SOURCES = {"synced": _l("kioskklok gesynchroniseerd"),
                "boot_offset": _l("tijd gecorrigeerd (klok liep niet gelijk)"),
                "uncorrected": _l("tijd onzeker (klok niet gesynchroniseerd)")}
# The columns of the measurement table, and the fields of the physio's CSV export.
TABLE_FIELDS = ("weight_kg", "fat_pct", "bmi", "muscle_mass_kg", "systolic_mmhg", "diastolic_mmhg", "pulse_bpm")
EXPORT_FIELDS = ("weight_kg", "height_cm", "bmi", "fat_pct", "fat_mass_kg", "muscle_mass_kg", "water_pct",
                 "visceral_fat", "systolic_mmhg", "diastolic_mmhg", "pulse_bpm")


def _lists(conn):
    groups = conn.execute("SELECT id, name, location FROM groups ORDER BY location, name").fetchall()
    coaches = conn.execute(f"SELECT id, name, email FROM staff WHERE role IN ({','.join('?' * len(COACH_ROLES))}) "
                           "AND active = 1 ORDER BY name, email", COACH_ROLES).fetchall()
    return groups, coaches


def _participants(conn, group_id=None, text=None):
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" if text else None
    # A LifeCoach finds someone else's participant by first name only: a surname would tell.
    coach = g.staff["id"] if g.staff["role"] == "lifecoach" else None
    name = ("(CASE WHEN p.lifecoach_id = ? THEN p.first_name || ' ' || p.last_name ELSE p.first_name END) "
            "LIKE ? ESCAPE '\\'") if coach is not None else "(p.first_name || ' ' || p.last_name) LIKE ? ESCAPE '\\'"
    where, args = all_of(("p.group_id = ?", group_id), (name, coach, pattern) if coach is not None else (name, pattern))
    rows = conn.execute(
        "SELECT p.*, gr.name AS group_name, c.name AS coach_name, "
        "(SELECT uid FROM badges b WHERE b.participant_id = p.id AND b.revoked_at IS NULL) AS badge_uid "
        "FROM participants p JOIN groups gr ON gr.id = p.group_id LEFT JOIN staff c ON c.id = p.lifecoach_id "
        f"WHERE {where} ORDER BY gr.name, p.first_name, p.last_name, p.id", args).fetchall()
    return [dict(r) if _sees_all(r) else limited(r) for r in rows]


def _sees_all(person):
    return programme.sees_all_of(g.staff["role"], g.staff["id"], person["lifecoach_id"])


def limited(person):
    """What a LifeCoach sees of someone else's participant: first name, group, status."""
    return {"id": person["id"], "first_name": person["first_name"], "group_id": person["group_id"],
            "group_name": person["group_name"], "status": person["status"], "limited": True}


@bp.get("/participants")
@web_roles(*ALL_ROLES)
def index():
    """Every participant, optionally of one group (by number)."""
    conn = get_db()
    group_id = request.args.get("group_id", type=int_or_none)
    groups, _ = _lists(conn)
    audit(conn, g.actor, None, "view", "participant list")
    return page_or_fragment("participant/index.html", "participant/_list.html", group_id=group_id, groups=groups,
                            people=_participants(conn, group_id), statuses=PARTICIPANT_STATUSES)


@bp.post("/participants/search")
@web_roles(*ALL_ROLES)
def search():
    """Search by name: a POST, so the name never appears in a URL or an access log."""
    conn = get_db()
    group_id = int_or_none(request.form.get("group_id"))
    text = request.form.get("q", "").strip()[:100]
    groups, _ = _lists(conn)
    audit(conn, g.actor, None, "view", "participant list (search)")
    return page_or_fragment("participant/index.html", "participant/_list.html", group_id=group_id, groups=groups,
                            people=_participants(conn, group_id, text), statuses=PARTICIPANT_STATUSES, q=text)


def _load(conn, participant_id):
    person = conn.execute(
        "SELECT p.*, gr.name AS group_name, gr.location, c.name AS coach_name, c.phone AS coach_phone, "
        "c.email AS coach_email FROM participants p JOIN groups gr ON gr.id = p.group_id "
        "LEFT JOIN staff c ON c.id = p.lifecoach_id WHERE p.id = ?", (participant_id,)).fetchone()
    if person is None:
        abort(404)
    return person


def _measurement_context(conn, participant_id):
    rows = measurement_rows(conn, participant_id)
    kiosks = {r["id"]: r["name"] for r in conn.execute("SELECT id, name FROM kiosks")}
    tz = current_app.config["ADMIN_TIMEZONE"]
    valid = [m for m in rows if not m.get("invalidated")]  # an invalidated measurement draws no point
    weight = series_from(valid, "weight_kg")
    fat = series_from(valid, "fat_pct")
    pressure = series_from(valid, "systolic_mmhg", "diastolic_mmhg")
    charts = [
        line_chart("gewicht", gettext("Gewicht"), "kg", {gettext("gewicht"): weight["weight_kg"]}, tz),
        line_chart("vetpercentage", gettext("Vetpercentage"), "%", {gettext("vet"): fat["fat_pct"]}, tz),
        line_chart("bloeddruk", gettext("Bloeddruk"), "mmHg", {gettext("bovendruk"): pressure["systolic_mmhg"],
                                                              gettext("onderdruk"): pressure["diastolic_mmhg"]}, tz),
    ]
    columns = [MEASUREMENT_FIELDS[f] for f in TABLE_FIELDS if any(m.get(f) is not None for m in rows)]
    return {"measurements": rows, "charts": charts, "kiosk_names": kiosks, "columns": columns,
            "moments": MOMENTS, "time_sources": TIME_SOURCES}


def _attendance_context(conn, participant_id):
    now = utc_now()
    history = attendance_rules.participant_history(conn, participant_id, now)
    today = local_date(now, current_app.config["ADMIN_TIMEZONE"]).isoformat()
    excuses = conn.execute(
        "SELECT e.*, s.name AS by_name FROM excuses e LEFT JOIN staff s ON s.id = e.created_by "
        "WHERE e.participant_id = ? AND e.date >= ? ORDER BY e.date", (participant_id, today)).fetchall()
    cases = conn.execute("SELECT * FROM follow_ups WHERE participant_id = ? ORDER BY session_date DESC, "
                         "session_start DESC", (participant_id,)).fetchall()
    return {"history": list(reversed(history)), "weeks": attendance_rules.weekly_summary(history),
            "excuses": excuses, "cases": cases, "today": today, "labels": ATTENDANCE_STATUSES}


@bp.get("/participants/<int:participant_id>")
@web_roles(*ALL_ROLES)
def page(participant_id):
    """One participant: what each role may see of them, and nothing more."""
    conn = get_db()
    person = _load(conn, participant_id)
    if not _sees_all(person):
        audit(conn, g.actor, participant_id, "view", "participant page: first name, group, status")
        return render_template("participant/page.html", person=limited(person), statuses=PARTICIPANT_STATUSES)
    context = {"person": person, "statuses": PARTICIPANT_STATUSES, "sexes": SEXES}
    sections = ["details"]
    if has_role(*FOLLOW_UP_ROLES):
        context.update(_attendance_context(conn, participant_id))
        sections.append("attendance history")
    if has_role(*HEALTH_ROLES):
        context.update(_measurement_context(conn, participant_id))
        sections.append("measurements")
    if has_role(*MANAGER_ROLES):
        context["groups"], context["coaches"] = _lists(conn)
    audit(conn, g.actor, participant_id, "view", "participant page: " + ", ".join(sections))
    return render_template("participant/page.html", **context)


def _details_response(conn, participant_id, error=None, saved=False, status=200):
    person = _load(conn, participant_id)
    groups, coaches = _lists(conn)
    if not htmx:
        if error is None:
            return redirect(url_for("participant.page", participant_id=participant_id), 303)
    return page_or_fragment("participant/edit.html", "participant/_details.html", status=status, person=person,
                            groups=groups, coaches=coaches, statuses=PARTICIPANT_STATUSES, error=error, saved=saved,
                            sexes=SEXES)


def _sex_and_birth_date(form):
    """Sex and birth date from a form that has them; an empty field means unknown."""
    return {key: form[key].strip() or None for key in ("sex", "birth_date") if key in form}


@bp.post("/participants/<int:participant_id>")
@web_roles(*MANAGER_ROLES)
def update(participant_id):
    """Change name, group, programme status, LifeCoach, phone or language."""
    conn = get_db()
    _load(conn, participant_id)
    form = request.form
    body = {key: form.get(key, "") for key in ("first_name", "last_name", "phone", "status")}
    if "language" in form:
        body["language"] = form["language"]
    body.update(_sex_and_birth_date(form))
    body["group_id"] = int_or_none(form.get("group_id"))
    body["lifecoach_id"] = int_or_none(form.get("lifecoach_id"))
    try:
        programme.update_participant(conn, g.actor, participant_id, body)
    except Invalid as exc:
        return _details_response(conn, participant_id, error=form_error(exc), status=422)
    return _details_response(conn, participant_id, saved=True)


@bp.post("/participants/<int:participant_id>/badge")
@web_roles(*MANAGER_ROLES)
def assign_badge(participant_id):
    """Give the participant a badge (their previous one is revoked)."""
    conn = get_db()
    _load(conn, participant_id)
    try:
        programme.assign_badge(conn, g.actor, participant_id, {"uid": request.form.get("uid", "")})
    except Invalid as exc:
        return _details_response(conn, participant_id, error=form_error(exc), status=422)
    return _details_response(conn, participant_id, saved=True)


@bp.post("/participants/<int:participant_id>/badge/revoke")
@web_roles(*MANAGER_ROLES)
def revoke_badge(participant_id):
    """Revoke the participant's badge (lost, or left the programme)."""
    conn = get_db()
    _load(conn, participant_id)
    programme.revoke_badge(conn, g.actor, participant_id)
    return _details_response(conn, participant_id, saved=True)


@bp.post("/participants/<int:participant_id>/excuses")
@web_roles(*FOLLOW_UP_ROLES)
def add_excuse(participant_id):
    """An advance notice of absence (afmelding): that day's sessions are not flagged."""
    conn = get_db()
    _load(conn, participant_id)
    error = None
    try:
        programme.add_excuse(conn, g.actor, participant_id, {"date": request.form.get("date", ""),
                                                             "reason": request.form.get("reason", "")})
    except Invalid as exc:
        error = form_error(exc)
    if not htmx and error is None:
        return redirect(url_for("participant.page", participant_id=participant_id), 303)
    context = _attendance_context(conn, participant_id)
    return page_or_fragment("participant/excuses_page.html", "participant/_excuses.html",
                            status=422 if error else 200, person=_load(conn, participant_id), error=error,
                            saved=error is None, **context)


@bp.get("/participants/new")
@web_roles(*MANAGER_ROLES)
def new():
    """The enrolment form."""
    groups, coaches = _lists(get_db())
    return render_template("participant/new.html", groups=groups, coaches=coaches, statuses=PARTICIPANT_STATUSES,
                           form={}, error=None, group_id=request.args.get("group_id", type=int), sexes=SEXES)


@bp.post("/participants")
@web_roles(*MANAGER_ROLES)
def create():
    """Enrol a participant (with a badge when one is given)."""
    conn = get_db()
    form = request.form
    body = {"first_name": form.get("first_name", ""), "last_name": form.get("last_name", ""),
            "group_id": int_or_none(form.get("group_id")), "status": form.get("status", "intake"),
            "phone": form.get("phone", "") or None, "lifecoach_id": int_or_none(form.get("lifecoach_id")),
            "language": form.get("language", "nl"),
            "badge_uid": form.get("badge_uid", "").strip() or None, **_sex_and_birth_date(form)}
    if body["group_id"] is None:
        body.pop("group_id")
    try:
        participant_id = programme.create_participant(conn, g.actor, body)
    except Invalid as exc:
        groups, coaches = _lists(conn)
        return render_template("participant/new.html", groups=groups, coaches=coaches, statuses=PARTICIPANT_STATUSES,
                               form=form, error=form_error(exc), group_id=None, sexes=SEXES), 422
    return see_other(url_for("participant.page", participant_id=participant_id))


def csv_cell(value):
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_response(rows, filename):
    """A CSV download (semicolon-separated, as Dutch spreadsheets expect), never cached."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@bp.get("/participants/<int:participant_id>/measurements.csv")
@web_roles(*HEALTH_ROLES)
def measurements_csv(participant_id):
    """The participant's measurements with provenance, for the physio's records (audited export)."""
    conn = get_db()
    _load(conn, participant_id)
    rows = measurement_rows(conn, participant_id)
    # TRANSLATORS: CSV column names (the measurement fields keep their wire names).
    table = [[pgettext("CSV", "meting_id"), pgettext("CSV", "deelnemer_id"), pgettext("CSV", "moment"),
              pgettext("CSV", "tijd_utc"), pgettext("CSV", "tijdbron"), pgettext("CSV", "kiosk_id"),
              pgettext("CSV", "afgenomen_door"), *EXPORT_FIELDS, pgettext("CSV", "bronnen")]]
    for m in rows:
        table.append([m["id"], participant_id, m["moment"], m["at"], m["time_source"], m["kiosk_id"],
                      m["taken_by"], *[m.get(f) for f in EXPORT_FIELDS], json.dumps(m["sources"], sort_keys=True)])
    audit(conn, g.actor, participant_id, "export", "measurements CSV")
    return csv_response(table, f"metingen-deelnemer-{participant_id}.csv")
