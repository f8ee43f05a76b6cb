"""Follow-up of every absence without notice: a case for the participant's LifeCoach,
opened the moment attendance says `absent` (board poll, API, or the every-minute
`flask --app admin follow-ups`), e-mailed once, escalated to the coordinator when
nobody picks it up in time."""
from datetime import date, timedelta

import click
from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from common.clock import stamp, utc_now
from common.db import all_of, transaction
from common.protocol import one_of
from common.schedule import local_date
from common.vocabulary import FOLLOW_UP_ROLES

from . import notify
from .audit import audit
from .auth import SYSTEM, api_error, api_roles, has_role, web_roles
from .db import get_db, now_iso
from .errors import Invalid
from .forms import form_error, htmx, wants_fragment

bp = Blueprint("followup", __name__, cli_group=None)
api_bp = Blueprint("followup_api", __name__, url_prefix="/api/v1/follow-ups")

ALL_CASES_ROLES = ("admin", "coordinator")
LOOKBACK_DAYS = 1  # absences of today and yesterday open cases; older days are history
# Labels shown on the pages, translated when shown; the API answers with the codes.
CONTACTED = {"reached": _l("bereikt"), "not_reached": _l("niet bereikt")}
RESOLUTIONS = {"handled": _l("afgehandeld"), "checked_in": _l("alsnog ingecheckt"), "excused": _l("alsnog afgemeld")}
MAIL_LABELS = {"opted_out": _l("uitgezet door de LifeCoach"), "no_lifecoach": _l("geen LifeCoach gekoppeld"),
               "no_address": _l("geen actief e-mailadres"), "closed": _l("niet nodig, al gesloten"),
               "demo": _l("demodata")}
VIEWS = {"open": _l("Open"), "escalated": _l("Geëscaleerd"), "closed": _l("Gesloten"), "all": _l("Alle")}
VIEW_FILTERS = {"open": ("f.closed_at IS NULL",), "closed": ("f.closed_at IS NOT NULL",), "all": None,
                "escalated": ("f.closed_at IS NULL AND f.escalated_at IS NOT NULL AND f.picked_up_at IS NULL",)}
TEXT_LIMITS = {"reason": 500, "note": 2000, "next_step": 500}


# --- the rules ------------------------------------------------------------------

def open_cases(conn, sessions, now, tz):
    """Open a case per `absent` participant of computed `sessions`, and close untouched
    cases whose absence is no longer true (checked in after all, excused afterwards).
    Idempotent; returns (opened ids, closed ids)."""
    today = local_date(now, tz)
    oldest = today - timedelta(days=LOOKBACK_DAYS)
    absent, settled = [], []
    for session in sessions:
        if not oldest <= date.fromisoformat(session["date"]) <= today:
            continue
        start = session["start"][11:16]
        for person in session["participants"]:
            key = (person["participant_id"], session["date"], start)
            if person["status"] == "absent":
                absent.append((key, session["group_id"]))
            elif person["status"] in ("present", "late", "excused"):
                settled.append((key, person["status"]))
    if not absent and not settled:
        return [], []
    days = sorted({key[1] for key, _ in absent + settled})
    # Read first: a board poll every second must not take the write lock when nothing is new.
    existing = {(r["participant_id"], r["session_date"], r["session_start"]): r for r in conn.execute(
        "SELECT id, participant_id, session_date, session_start, picked_up_at, closed_at FROM follow_ups "
        f"WHERE session_date IN ({','.join('?' * len(days))})", days)}
    to_open = [(key, group_id) for key, group_id in absent if key not in existing]
    to_close = [(existing[key]["id"], key[0], status) for key, status in settled
                if key in existing and existing[key]["closed_at"] is None and existing[key]["picked_up_at"] is None]
    if not to_open and not to_close:
        return [], []
    opened, closed, at = [], [], stamp(now)
    with transaction(conn):
        for (participant_id, day, start), group_id in to_open:
            coach = conn.execute("SELECT lifecoach_id FROM participants WHERE id = ?", (participant_id,)).fetchone()
            coach_id = coach["lifecoach_id"] if coach else None
            # Without a LifeCoach nobody would pick it up: straight to the coordinator.
            cursor = conn.execute(
                "INSERT OR IGNORE INTO follow_ups(participant_id, session_date, session_start, group_id, "
                "lifecoach_id, opened_at, updated_at, escalated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (participant_id, day, start, group_id, coach_id, at, at, at if coach_id is None else None))
            if cursor.rowcount:
                opened.append(cursor.lastrowid)
                audit(conn, SYSTEM, participant_id, "change",
                      f"follow-up case {cursor.lastrowid} opened: absent without notice {day} {start}")
        for case_id, participant_id, status in to_close:
            resolution = "excused" if status == "excused" else "checked_in"
            changed = conn.execute(
                "UPDATE follow_ups SET closed_at = ?, resolution = ?, excused = CASE WHEN ? = 'excused' THEN 1 "
                "ELSE excused END, updated_at = ? WHERE id = ? AND closed_at IS NULL AND picked_up_at IS NULL",
                (at, resolution, resolution, at, case_id)).rowcount
            if changed:
                closed.append(case_id)
                audit(conn, SYSTEM, participant_id, "change", f"follow-up case {case_id} closed: {resolution}")
    return opened, closed


def escalate_overdue(conn, now, minutes):
    """Escalate open cases nobody picked up within `minutes`; returns their ids."""
    cutoff = stamp(now - timedelta(minutes=minutes))
    due = [r[0] for r in conn.execute(
        "SELECT id FROM follow_ups WHERE escalated_at IS NULL AND closed_at IS NULL AND picked_up_at IS NULL "
        "AND opened_at <= ?", (cutoff,))]
    if not due:
        return []
    escalated = []
    with transaction(conn):
        for case_id in due:
            if conn.execute("UPDATE follow_ups SET escalated_at = ?, updated_at = ? WHERE id = ? "
                            "AND escalated_at IS NULL AND closed_at IS NULL AND picked_up_at IS NULL",
                            (stamp(now), stamp(now), case_id)).rowcount:
                participant_id = conn.execute("SELECT participant_id FROM follow_ups WHERE id = ?",
                                              (case_id,)).fetchone()[0]
                audit(conn, SYSTEM, participant_id, "change", f"follow-up case {case_id} escalated")
                escalated.append(case_id)
    return escalated


def escalate_minutes(config):
    """The configured time a LifeCoach has to pick up a case."""
    return int(config.get("FOLLOW_UP_ESCALATE_MINUTES") or 120)


def after_attendance(conn, sessions, now):
    """Hook for every computation of attendance in a request: open, settle, escalate,
    and have the e-mails sent at once (in the background, claimed so only once)."""
    config = current_app.config
    opened, _closed = open_cases(conn, sessions, now, config["ADMIN_TIMEZONE"])
    escalated = escalate_overdue(conn, now, escalate_minutes(config))
    if (opened or escalated) and config.get("SMTP_HOST"):
        notify.send_soon(current_app._get_current_object())
    return opened


def run_once(conn, config, now):
    """What `flask --app admin follow-ups` does: open, settle, escalate, send; returns counts."""
    from .attendance import attendance
    tz = config["ADMIN_TIMEZONE"]
    today = local_date(now, tz)
    opened, closed = [], []
    for day in (today - timedelta(days=LOOKBACK_DAYS), today):
        new, settled = open_cases(conn, attendance(conn, day, now), now, tz)
        opened += new
        closed += settled
    escalated = escalate_overdue(conn, now, escalate_minutes(config))
    mail = notify.send_due(conn, config, now)
    return {"opened": len(opened), "closed": len(closed), "escalated": len(escalated), **mail}


@bp.cli.command("follow-ups")
def follow_ups_command():
    """Open cases for absences, escalate overdue ones, send due e-mails (run every minute)."""
    counts = run_once(get_db(), current_app.config, utc_now())
    click.echo(" ".join(f"{key}={value}" for key, value in counts.items()))
    if not current_app.config.get("SMTP_HOST"):
        click.echo("SMTP_HOST is not set: no e-mail sent", err=True)


# --- one case -------------------------------------------------------------------

CASE_SQL = (
    "SELECT f.*, p.first_name, p.last_name, p.phone, p.group_id AS current_group_id, gr.name AS group_name, "
    "c.name AS coach_name, c.email AS coach_email, c.phone AS coach_phone, c.active AS coach_active, "
    "c.notify_email AS coach_notify "
    "FROM follow_ups f JOIN participants p ON p.id = f.participant_id "
    "LEFT JOIN groups gr ON gr.id = coalesce(f.group_id, p.group_id) "
    "LEFT JOIN staff c ON c.id = f.lifecoach_id ")


def load_case(conn, case_id):
    """A case with its participant, group and LifeCoach, or None."""
    return conn.execute(CASE_SQL + "WHERE f.id = ?", (case_id,)).fetchone()


def may_handle(staff, case):
    """Coordinators and admins handle every case; a LifeCoach their own."""
    return staff["role"] in ALL_CASES_ROLES or (staff["role"] == "lifecoach" and case["lifecoach_id"] == staff["id"])


def case_state(case):
    """One word for where a case stands."""
    if case["closed_at"]:
        return "closed"
    if case["picked_up_at"]:
        return "picked_up"
    return "escalated" if case["escalated_at"] else "open"


STATE_LABELS = {"open": _l("open"), "escalated": _l("geëscaleerd"), "picked_up": _l("in behandeling"),
                "closed": _l("gesloten")}


def _clean_text(value, key):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(key, "text")
    value = value.strip()
    if len(value) > TEXT_LIMITS[key]:
        raise Invalid(key, "too_long", max=TEXT_LIMITS[key])
    return value


def update_case(conn, actor, case_id, changes):
    """Apply `changes` (contacted, reason, excused, note, next_step, closed) to a case,
    validated as a whole; returns the updated case. Only keys present change."""
    if not isinstance(changes, dict):
        raise Invalid(None, "not_an_object")
    unknown = set(changes) - {"contacted", "reason", "excused", "note", "next_step", "closed"}
    if unknown:
        raise Invalid(None, "unknown_field", name=sorted(unknown)[0])
    with transaction(conn):
        case = load_case(conn, case_id)
        if case is None:
            raise LookupError("no such follow-up case")
        if case["closed_at"]:
            raise Invalid(None, "case_closed")
        merged = {k: case[k] for k in ("contacted", "reason", "excused", "note", "next_step")}
        if "contacted" in changes:
            contacted = None if changes["contacted"] in (None, "") else changes["contacted"]
            if contacted is not None and not one_of(contacted, CONTACTED):
                raise Invalid("contacted", "choice", choices="reached, not_reached or empty")
            merged["contacted"] = contacted
        if "excused" in changes:
            excused = changes["excused"]
            if excused is not None and not isinstance(excused, bool):
                raise Invalid("excused", "choice", choices="true, false or null")
            merged["excused"] = None if excused is None else int(excused)
        for key in ("reason", "note", "next_step"):
            if key in changes:
                merged[key] = _clean_text(changes[key], key)
        closing = changes.get("closed") is True
        if closing and merged["contacted"] is None:
            raise Invalid("contacted", "reached_to_close")
        if closing and merged["contacted"] == "reached" and merged["excused"] is None:
            raise Invalid("excused", "excused_to_close")
        at = now_iso()
        conn.execute(
            "UPDATE follow_ups SET contacted = ?, reason = ?, excused = ?, note = ?, next_step = ?, "
            "picked_up_at = coalesce(picked_up_at, ?), updated_at = ?, updated_by = ?, "
            "closed_at = ?, closed_by = ?, resolution = ? WHERE id = ?",
            (merged["contacted"], merged["reason"], merged["excused"], merged["note"], merged["next_step"],
             at, at, actor.id, at if closing else None, actor.id if closing else None,
             "handled" if closing else None, case_id))
        audit(conn, actor, case["participant_id"], "change", f"follow-up case {case_id} {'closed' if closing else 'updated'}")
    return load_case(conn, case_id)


def reopen_case(conn, actor, case_id):
    """Open a closed case again (a call to make after all)."""
    with transaction(conn):
        case = load_case(conn, case_id)
        if case is None:
            raise LookupError("no such follow-up case")
        if case["closed_at"] is None:
            return
        conn.execute("UPDATE follow_ups SET closed_at = NULL, closed_by = NULL, resolution = NULL, "
                     "updated_at = ?, updated_by = ? WHERE id = ?", (now_iso(), actor.id, case_id))
        audit(conn, actor, case["participant_id"], "change", f"follow-up case {case_id} reopened")


def list_cases(conn, staff, view="open", limit=300):
    """Cases the staff member may handle, filtered by view (open, escalated, closed, all)."""
    where, args = all_of(None if staff["role"] in ALL_CASES_ROLES else ("f.lifecoach_id = ?", staff["id"]),
                         VIEW_FILTERS[view])
    return conn.execute(CASE_SQL + f"WHERE {where} ORDER BY f.closed_at IS NOT NULL, f.escalated_at IS NULL, "
                        "f.session_date DESC, f.session_start DESC, f.id DESC LIMIT ?", (*args, limit)).fetchall()


def open_count(conn, staff):
    """How many open cases wait for this staff member (for the menu)."""
    if staff["role"] in ALL_CASES_ROLES:
        return conn.execute("SELECT count(*) FROM follow_ups WHERE closed_at IS NULL").fetchone()[0]
    return conn.execute("SELECT count(*) FROM follow_ups WHERE closed_at IS NULL AND lifecoach_id = ?",
                        (staff["id"],)).fetchone()[0]


# --- pages ----------------------------------------------------------------------

def _form_changes(form):
    return {"contacted": form.get("contacted") or None,
            "excused": {"yes": True, "no": False}.get(form.get("excused", "")),
            "reason": form.get("reason", ""), "note": form.get("note", ""),
            "next_step": form.get("next_step", ""), "closed": form.get("close") == "1"}


def _case_or_404(conn, case_id):
    case = load_case(conn, case_id)
    if case is None:
        abort(404)
    if not may_handle(g.staff, case):
        abort(403)
    return case


@bp.get("/follow-ups")
@web_roles(*FOLLOW_UP_ROLES)
def index():
    """The cases waiting: a LifeCoach sees their own, coordinators and admins all."""
    conn = get_db()
    escalate_overdue(conn, utc_now(), escalate_minutes(current_app.config))
    view = request.args.get("view", "open")
    if view not in VIEWS:
        view = "open"
    cases = list_cases(conn, g.staff, view)
    audit(conn, g.actor, None, "view", f"follow-up list ({view})")
    template = "followup/_list.html" if wants_fragment() else "followup/index.html"
    return render_template(template, cases=cases, view=view, views=VIEWS, state=case_state,
                           state_labels=STATE_LABELS, contacted_labels=CONTACTED)


def _render_case(case, error=None, saved=False, status=200, close=False):
    template = "followup/_case.html" if htmx else "followup/case.html"
    return render_template(template, case=case, error=error, saved=saved, state=case_state(case), close=close,
                           state_labels=STATE_LABELS, contacted_labels=CONTACTED, resolutions=RESOLUTIONS,
                           mail_labels=MAIL_LABELS), status


@bp.get("/follow-ups/<int:case_id>")
@web_roles(*FOLLOW_UP_ROLES)
def case_page(case_id):
    """One case: whom to call, and the form to log the call."""
    conn = get_db()
    case = _case_or_404(conn, case_id)
    audit(conn, g.actor, case["participant_id"], "view", f"follow-up case {case_id}")
    return _render_case(case)


@bp.post("/follow-ups/<int:case_id>")
@web_roles(*FOLLOW_UP_ROLES)
def save_case(case_id):
    """Log the call: contacted, reason, excused, note, next step; close when done."""

    conn = get_db()
    case = _case_or_404(conn, case_id)
    try:
        case = update_case(conn, g.actor, case_id, _form_changes(request.form))
    except Invalid as exc:
        # Show what was typed again, with the message.
        shown = dict(case)
        shown.update({k: v for k, v in _form_changes(request.form).items() if k != "closed"})
        if shown["excused"] is not None:
            shown["excused"] = int(shown["excused"])
        return _render_case(shown, error=form_error(exc), status=422, close=request.form.get("close") == "1")
    if not htmx:
        return redirect(url_for("followup.case_page", case_id=case_id), 303)
    return _render_case(case, saved=True)


@bp.post("/follow-ups/<int:case_id>/reopen")
@web_roles(*FOLLOW_UP_ROLES)
def reopen(case_id):
    """Reopen a closed case."""
    conn = get_db()
    _case_or_404(conn, case_id)
    reopen_case(conn, g.actor, case_id)
    if not htmx:
        return redirect(url_for("followup.case_page", case_id=case_id), 303)
    return _render_case(load_case(conn, case_id))


@bp.app_context_processor
def _menu_counts():
    staff = g.get("staff")
    if staff is None or not has_role(*FOLLOW_UP_ROLES):
        return {}
    return {"open_follow_ups": open_count(get_db(), staff)}


# --- API ------------------------------------------------------------------------

API_FIELDS = ("id", "participant_id", "first_name", "session_date", "session_start", "group_id", "group_name",
              "lifecoach_id", "coach_email", "opened_at", "escalated_at", "picked_up_at", "closed_at",
              "resolution", "mail_sent_at")


def _api_case(case, full=False):
    item = {k: case[k] for k in API_FIELDS}
    item["lifecoach"] = item.pop("coach_email")
    item["state"] = case_state(case)
    if full:
        item.update(last_name=case["last_name"], phone=case["phone"], contacted=case["contacted"],
                    reason=case["reason"], note=case["note"], next_step=case["next_step"],
                    excused=None if case["excused"] is None else bool(case["excused"]))
    return item


@api_bp.get("")
@api_roles(*FOLLOW_UP_ROLES)
def api_list():
    """Cases (a LifeCoach: their own), ?status=open|escalated|closed|all; no call notes in the list."""
    view = request.args.get("status", "open")
    if view not in VIEWS:
        return api_error(400, "'status' must be open, escalated, closed or all")
    return jsonify(follow_ups=[_api_case(c) for c in list_cases(get_db(), g.staff, view, limit=1000)])


def _api_case_or_error(conn, case_id):
    case = load_case(conn, case_id)
    if case is None:
        return None, api_error(404, "no such follow-up case")
    if not may_handle(g.staff, case):
        return None, api_error(403, "your role may not do this")
    return case, None


@api_bp.get("/<int:case_id>")
@api_roles(*FOLLOW_UP_ROLES)
def api_get(case_id):
    """One case with the call notes (audited)."""
    conn = get_db()
    case, error = _api_case_or_error(conn, case_id)
    if error:
        return error
    audit(conn, g.actor, case["participant_id"], "view", f"follow-up case {case_id}")
    return jsonify(_api_case(case, full=True))


@api_bp.patch("/<int:case_id>")
@api_roles(*FOLLOW_UP_ROLES)
def api_update(case_id):
    """Log the call: {contacted, reason, excused, note, next_step, closed}; only given keys change."""
    conn = get_db()
    case, error = _api_case_or_error(conn, case_id)
    if error:
        return error
    try:
        case = update_case(conn, g.actor, case_id, request.get_json(silent=True))
    except Invalid as exc:
        return api_error(400, str(exc))
    return jsonify(_api_case(case, full=True))
