"""Programme management pages: groups and their schedules, the badge enrolment queue,
kiosks (token shown once), and staff accounts. Validation lives in programme.py, shared
with the JSON API."""
from babel.dates import get_day_names
from flask import Blueprint, abort, current_app, g, redirect, request, url_for
from flask_babel import get_locale, gettext, pgettext
from flask_babel import lazy_gettext as _l

from common.badge_formats import FORMATS, shown_as
from common.clock import utc_now
from common.db import transaction
from common.vocabulary import ACTIVE_STATUSES, ATTENDANCE_STATUSES, MANAGER_ROLES, PARTICIPANT_STATUSES, ROLES

from . import attendance as attendance_rules
from . import programme
from .audit import audit
from .auth import hash_password, web_roles
from .board import KIOSK_SILENT_S
from .db import IntegrityError, get_db, now_iso
from .errors import Invalid, NotFound
from .forms import form_error, htmx, int_or_none, page_or_fragment, see_other
from .participant import csv_response

bp = Blueprint("manage", __name__)
KIOSK_ROLE_LABELS = {"checkin": _l("check-in"), "station": _l("intakestation")}
SLOT_ROWS = 3  # the programme meets three half-days a week


# --- groups ---------------------------------------------------------------------

def _group_body(form):
    slots = []
    for weekday, start, end in zip(form.getlist("weekday"), form.getlist("start"), form.getlist("end")):
        if not (start or end):
            continue  # an empty row of the form
        slots.append({"weekday": int_or_none(weekday), "start": start, "end": end})
    return {"name": form.get("name", ""), "location": form.get("location", ""), "starts_on": form.get("starts_on", ""),
            "weeks": int_or_none(form.get("weeks")), "grace_minutes": int_or_none(form.get("grace_minutes")),
            "sessions": slots}


def _slot_form_rows(form=None, slots=None):
    # What the schedule rows of a form show: what was typed, the saved slots, or the
    # usual three mornings; always at least SLOT_ROWS rows.
    if form is not None:
        rows = list(zip(form.getlist("weekday"), form.getlist("start"), form.getlist("end")))
    elif slots is not None:
        rows = [(s["weekday"], s["start"], s["end"]) for s in slots]
    else:
        rows = [(0, "09:00", "12:00"), (2, "09:00", "12:00"), (4, "09:00", "12:00")]
    return rows + [(None, "", "")] * max(0, SLOT_ROWS - len(rows))


def _groups(conn):
    rows = conn.execute(
        "SELECT gr.*, (SELECT count(*) FROM participants p WHERE p.group_id = gr.id "
        f"AND p.status IN ({','.join('?' * len(ACTIVE_STATUSES))})) AS members FROM groups gr "
        "ORDER BY gr.location, gr.name", ACTIVE_STATUSES).fetchall()
    slots = {}
    for slot in conn.execute("SELECT * FROM schedule_slots ORDER BY weekday, start"):
        slots.setdefault(slot["group_id"], []).append(slot)
    return rows, slots


def _groups_page(conn, error=None, form=None, status=200):
    rows, slots = _groups(conn)
    return page_or_fragment("manage/groups.html", "manage/_groups.html", status=status, groups=rows, slots=slots,
                            weekdays=weekdays(), error=error, form=form, slot_form_rows=_slot_form_rows(form))


@bp.get("/groups")
@web_roles(*MANAGER_ROLES)
def groups():
    """Groups with their weekly schedule; an admin can add one."""
    return _groups_page(get_db())


@bp.post("/groups")
@web_roles("admin")
def create_group():
    """Create a group: 12 weeks, three half-days a week, grace per group."""
    conn = get_db()
    try:
        group_id = programme.create_group(conn, _group_body(request.form), current_app.config["ADMIN_TIMEZONE"])
    except Invalid as exc:
        return _groups_page(conn, error=form_error(exc), form=request.form, status=422)
    return see_other(url_for("manage.group", group_id=group_id))


def _group_or_404(conn, group_id):
    row = conn.execute("SELECT * FROM groups WHERE id = ?", (group_id,)).fetchone()
    if row is None:
        abort(404)
    return row


def _group_context(conn, group_id, form=None, **extra):
    group_row = _group_or_404(conn, group_id)
    slots = conn.execute("SELECT * FROM schedule_slots WHERE group_id = ? ORDER BY weekday, start",
                         (group_id,)).fetchall()
    members = conn.execute(
        "SELECT p.id, p.first_name, p.last_name, p.status, c.name AS coach_name FROM participants p "
        "LEFT JOIN staff c ON c.id = p.lifecoach_id WHERE p.group_id = ? ORDER BY p.first_name, p.last_name",
        (group_id,)).fetchall()
    group = attendance_rules.load_groups(conn, group_id)[0]
    return {"group": group_row, "slots": slots, "members": members, "weekdays": weekdays(), "statuses": PARTICIPANT_STATUSES,
            "ends_on": group.ends_on, "slot_form_rows": _slot_form_rows(form, slots), "error": None,
            "saved": False, "form": form, **extra}


@bp.get("/groups/<int:group_id>")
@web_roles(*MANAGER_ROLES)
def group(group_id):
    """One group: schedule, members, and (admin) the form to change it."""
    return page_or_fragment("manage/group.html", "manage/_group_form.html", **_group_context(get_db(), group_id))


@bp.post("/groups/<int:group_id>")
@web_roles("admin")
def update_group(group_id):
    """Change the group's schedule, grace or name; the kiosks pick it up with the roster."""
    conn = get_db()
    _group_or_404(conn, group_id)
    try:
        programme.update_group(conn, group_id, _group_body(request.form))
    except Invalid as exc:
        return page_or_fragment("manage/group.html", "manage/_group_form.html", status=422,
                                **_group_context(conn, group_id, error=form_error(exc), form=request.form))
    if not htmx:
        return redirect(url_for("manage.group", group_id=group_id), 303)
    return page_or_fragment("manage/group.html", "manage/_group_form.html",
                            **_group_context(conn, group_id, saved=True))


@bp.get("/groups/<int:group_id>/attendance.csv")
@web_roles(*MANAGER_ROLES)
def group_attendance_csv(group_id):
    """Every session of every member so far, with status and reason (an audited export per person)."""
    conn = get_db()
    _group_or_404(conn, group_id)
    now = utc_now()
    # TRANSLATORS: CSV column names: one word each, lower case, words joined by "_".
    table = [[pgettext("CSV", "deelnemer_id"), pgettext("CSV", "voornaam"), pgettext("CSV", "achternaam"),
              pgettext("CSV", "week"), pgettext("CSV", "datum"), pgettext("CSV", "begin"), pgettext("CSV", "status"),
              pgettext("CSV", "ingecheckt_om"), pgettext("CSV", "reden"), pgettext("CSV", "achteraf_verschoond")]]
    members = conn.execute("SELECT id, first_name, last_name FROM participants WHERE group_id = ? "
                           "ORDER BY first_name, last_name, id", (group_id,)).fetchall()
    for person in members:
        for entry in attendance_rules.participant_history(conn, person["id"], now):
            table.append([person["id"], person["first_name"], person["last_name"], entry["week"], entry["date"],
                          entry["start"], gettext(ATTENDANCE_STATUSES[entry["status"]]), entry["checked_in_at"] or "",
                          entry["reason"], gettext("ja") if entry["excused_afterwards"] else ""])
        audit(conn, g.actor, person["id"], "export", f"attendance CSV of group {group_id}")
    return csv_response(table, f"aanwezigheid-groep-{group_id}.csv")


# --- badges ---------------------------------------------------------------------

def _badges_context(conn, error=None, saved=None):
    queue = programme.unknown_badges(conn, limit=50)
    active = conn.execute(
        "SELECT b.id, b.uid, b.format, b.assigned_at, b.participant_id, b.staff_id, p.first_name, p.last_name, "
        "s.name AS staff_name, s.email AS staff_email FROM badges b "
        "LEFT JOIN participants p ON p.id = b.participant_id LEFT JOIN staff s ON s.id = b.staff_id "
        "WHERE b.revoked_at IS NULL ORDER BY b.staff_id IS NULL, p.first_name, p.last_name, s.name").fetchall()
    people = conn.execute(
        "SELECT p.id, p.first_name, p.last_name, gr.name AS group_name, "
        "EXISTS (SELECT 1 FROM badges b WHERE b.participant_id = p.id AND b.revoked_at IS NULL) AS has_badge "
        "FROM participants p JOIN groups gr ON gr.id = p.group_id "
        f"WHERE p.status IN ({','.join('?' * len(ACTIVE_STATUSES))}) ORDER BY has_badge, gr.name, p.first_name",
        ACTIVE_STATUSES).fetchall()
    return {"queue": queue, "active": active, "people": people, "error": error, "saved": saved,
            "formats": FORMATS, "shown_as": shown_as}


@bp.get("/badges")
@web_roles(*MANAGER_ROLES)
def badges():
    """The enrolment queue (unknown badges tapped at a kiosk) and the active badges."""
    return page_or_fragment("manage/badges.html", "manage/_badges.html", **_badges_context(get_db()))


@bp.post("/badges/assign")
@web_roles(*MANAGER_ROLES)
def assign_badge():
    """Give a badge from the queue (or typed in) to a participant."""
    conn = get_db()
    participant_id = int_or_none(request.form.get("participant_id"))
    error = None
    try:
        if participant_id is None:
            raise Invalid("participant_id", "choose")
        programme.assign_badge(conn, g.actor, participant_id, {"uid": request.form.get("uid", "").strip(),
                                                               "format": request.form.get("format") or None})
    except (Invalid, NotFound) as exc:
        error = form_error(exc)
    if not htmx and error is None:
        return redirect(url_for("manage.badges"), 303)
    return page_or_fragment("manage/badges.html", "manage/_badges.html", status=422 if error else 200,
                            **_badges_context(conn, error=error, saved=None if error else "Badge toegekend."))


@bp.post("/badges/<int:badge_id>/revoke")
@web_roles(*MANAGER_ROLES)
def revoke_badge(badge_id):
    """Revoke a badge (lost, broken, or its holder left)."""
    conn = get_db()
    try:
        programme.revoke_badge_by_id(conn, g.actor, badge_id)
    except NotFound:
        abort(404)
    if not htmx:
        return redirect(url_for("manage.badges"), 303)
    return page_or_fragment("manage/badges.html", "manage/_badges.html",
                            **_badges_context(conn, saved=gettext("Badge ingetrokken.")))


# --- kiosks ---------------------------------------------------------------------

def _kiosks_context(conn, error=None, new_kiosk=None):
    rows = [dict(r) for r in conn.execute(
        "SELECT k.*, (SELECT count(*) FROM checkins c WHERE c.kiosk_id = k.id AND c.flag IS NOT NULL) + "
        "(SELECT count(*) FROM measurements m WHERE m.kiosk_id = k.id AND m.flag IS NOT NULL) AS flagged "
        "FROM kiosks k ORDER BY revoked_at IS NOT NULL, location, name")]
    now = utc_now()
    from common.clock import parse_iso
    for row in rows:
        heard = row["last_heard_at"]
        row["silent"] = heard is None or (now - parse_iso(heard)).total_seconds() > KIOSK_SILENT_S
    return {"kiosks": rows, "error": error, "new_kiosk": new_kiosk, "kiosk_roles": KIOSK_ROLE_LABELS}


@bp.get("/kiosks")
@web_roles("admin")
def kiosks():
    """Kiosks and their health; add one (its token is shown once) or revoke one."""
    return page_or_fragment("manage/kiosks.html", "manage/_kiosks.html", **_kiosks_context(get_db()))


@bp.post("/kiosks")
@web_roles("admin")
def add_kiosk():
    """Register a kiosk; the page shows its token this once (only a hash is kept)."""
    conn = get_db()
    try:
        kiosk_id, token = programme.add_kiosk(conn, request.form.get("name", ""), request.form.get("location", ""),
                                              request.form.get("role", "checkin"))
    except Invalid as exc:
        return page_or_fragment("manage/kiosks.html", "manage/_kiosks.html", status=422,
                                **_kiosks_context(conn, error=form_error(exc)))
    new_kiosk = {"id": kiosk_id, "name": request.form.get("name", "").strip(), "token": token}
    return page_or_fragment("manage/kiosks.html", "manage/_kiosks.html", **_kiosks_context(conn, new_kiosk=new_kiosk))


@bp.post("/kiosks/<kiosk_id>/revoke")
@web_roles("admin")
def revoke_kiosk(kiosk_id):
    """Revoke a kiosk: it can no longer sync and stops counting for absence."""
    conn = get_db()
    try:
        programme.revoke_kiosk(conn, kiosk_id)
    except NotFound:
        abort(404)
    if not htmx:
        return redirect(url_for("manage.kiosks"), 303)
    return page_or_fragment("manage/kiosks.html", "manage/_kiosks.html", **_kiosks_context(conn))


# --- staff ----------------------------------------------------------------------

def _staff_context(conn, error=None, saved=None, form=None):
    rows = conn.execute("SELECT id, email, name, phone, role, active, notify_email, created_at FROM staff "
                        "ORDER BY active DESC, role, name, email").fetchall()
    return {"staff": rows, "roles": ROLES, "error": error, "saved": saved, "form": form or {}}


def _staff_page(conn, status=200, **extra):
    return page_or_fragment("manage/staff.html", "manage/_staff.html", status=status, **_staff_context(conn, **extra))


@bp.get("/staff")
@web_roles("admin")
def staff():
    """Staff accounts: add, change role, deactivate."""
    return _staff_page(get_db())


def _check_staff_fields(form, password_required):
    email = form.get("email", "").strip()
    if "@" not in email or len(email) > 200 or any(c.isspace() for c in email):
        raise Invalid("email", "email")
    if form.get("role") not in ROLES:
        raise Invalid("role", "choose")
    password = form.get("password", "")
    if (password or password_required) and len(password) < 10:
        raise Invalid("password", "too_short", min=10)
    for field, limit in (("name", 100), ("phone", 30)):
        if len(form.get(field, "")) > limit:
            raise Invalid(field, "too_long", max=limit)
    return email, password


@bp.post("/staff")
@web_roles("admin")
def create_staff():
    """Create a staff account with a first password (the user changes it under 'Mijn account')."""
    conn = get_db()
    try:
        email, password = _check_staff_fields(request.form, password_required=True)
        with transaction(conn):
            conn.execute("INSERT INTO staff(email, name, phone, role, password_hash, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (email, request.form.get("name", "").strip(), request.form.get("phone", "").strip(),
                          request.form["role"], hash_password(password), now_iso()))
    except Invalid as exc:
        return _staff_page(conn, 422, error=form_error(exc), form=request.form)
    except IntegrityError:
        return _staff_page(conn, 422, error=form_error(Invalid("email", "email_taken")), form=request.form)
    if not htmx:
        return redirect(url_for("manage.staff"), 303)
    return _staff_page(conn, saved=gettext("Account %(email)s aangemaakt.", email=email))


@bp.post("/staff/<int:staff_id>")
@web_roles("admin")
def update_staff(staff_id):
    """Change name, phone, role, active or password; deactivating ends every session and token."""
    conn = get_db()
    row = conn.execute("SELECT * FROM staff WHERE id = ?", (staff_id,)).fetchone()
    if row is None:
        abort(404)
    form = dict(request.form, email=row["email"])
    active = request.form.get("active") == "1"
    try:
        _, password = _check_staff_fields(form, password_required=False)
        if staff_id == g.staff["id"] and (not active or form["role"] != "admin"):
            raise Invalid("role", "own_admin")
        with transaction(conn):
            conn.execute("UPDATE staff SET name = ?, phone = ?, role = ?, active = ? WHERE id = ?",
                         (form.get("name", "").strip(), form.get("phone", "").strip(), form["role"], int(active),
                          staff_id))
            if password:
                conn.execute("UPDATE staff SET password_hash = ? WHERE id = ?", (hash_password(password), staff_id))
            if not active and row["active"]:
                programme.deactivate_staff(conn, staff_id)
            elif form["role"] != row["role"] or not row["active"]:
                programme.staff_badges_changed(conn, staff_id)  # kiosks learn the new role
            if active and password:
                # A new password logs out every session opened with the old one.
                conn.execute("DELETE FROM login_sessions WHERE staff_id = ?", (staff_id,))
    except Invalid as exc:
        return _staff_page(conn, 422, error=form_error(exc))
    if not htmx:
        return redirect(url_for("manage.staff"), 303)
    return _staff_page(conn, saved=gettext("Account %(email)s bijgewerkt.", email=row["email"]))


def weekdays():
    """The weekday names, Monday first, in the staff site's language (Babel's, lower case in Dutch)."""
    names = get_day_names("wide", locale=get_locale())
    return [names[day] for day in range(7)]


@bp.app_template_filter("weekday")
def weekday_name(number):
    """The weekday name of 0-6 (Monday 0)."""
    return weekdays()[int(number)]


@bp.app_template_filter("role_label")
def role_label(role):
    """The name of a staff role (or of the system itself, in the audit log), translated."""
    return gettext("systeem") if role == "system" else gettext(ROLES[role]) if role in ROLES else role

