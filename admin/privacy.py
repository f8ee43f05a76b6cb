"""Privacy rights and retention (GDPR art. 15 and 17, storage limitation): everything held
about one participant exported, a participant erased, legal holds, and the nightly purge of
what is past its retention period. Rules take the connection and the acting staff member, so
a view, the API, the CLI and a timer run the same code."""
import json
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta

import click
from flask import Blueprint, current_app, g, jsonify, make_response, render_template, request
from flask.cli import with_appcontext
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from common.db import transaction

from . import audit as audit_log
from . import outcomes
from .auth import api_error, api_roles, web_roles
from .db import bump_roster, get_db, now_iso

bp = Blueprint("privacy", __name__)
api_bp = Blueprint("privacy_api", __name__, url_prefix="/api/v1")

# Kept whatever happens to a person: the accountability trail (no personal data in it
# but the participant's number), the participant row itself (anonymised), and the anonymous
# figures the outcome report needs once the data they came from is gone.
KEPT_ON_ERASURE = ("audit_log", "participants", "outcome_snapshots", "placements", "ladder_rungs")

# What identifies a person in rows that are kept for the outcome figures: blanked, not deleted.
# (table, SET clause, which rows still hold something to blank)
BLANKED = {
    "screenings": ("reason = '', referred_to = ''", "reason != '' OR referred_to != ''"),
    "goals": ("text = '', levels_json = '{}'", "text != '' OR levels_json != '{}'"),
    "goal_evaluations": ("note = ''", "note != ''"),
}


class Refused(Exception):
    """The request cannot be carried out (a legal hold, nothing to erase)."""


@dataclass(frozen=True)
class Kind:
    """A kind of data with its retention: which tables go, which are blanked, how long, and why."""
    name: str
    tables: tuple
    days: int
    reason: str
    blanked: tuple = ()
    after_follow_up: bool = False   # counted from the last placement or ladder record, if later


# Counted from the end of the person's programme (group start + weeks). Each period can be
# changed with RETENTION_<NAME>_DAYS; docs/privacy.md gives the reasoning at length.
PERSON_KINDS = (
    Kind("measurements", ("measurements", "load_tests"), 20 * 365,
         "part of the physiotherapist's and doctor's medical record: the WGBO (art. 7:454 BW) keeps it 20 years",
         blanked=("screenings",)),
    Kind("goals", ("goal_revisions", "handover_notes"), 2 * 365,
         "the LifeCoach works with the goals and the handover for 15 months after the programme",
         blanked=("goals", "goal_evaluations"), after_follow_up=True),
    Kind("attendance", ("checkins", "excuses"), 365,
         "needed for follow-up and the programme's figures; a year covers the reporting cycle"),
    Kind("follow_ups", ("follow_ups",), 183,
         "call notes and reasons for absence are needed only while the person is followed up"),
)
# Counted from the entry itself.
AUDIT_DAYS = 5 * 365          # NEN 7513 accountability: who saw which health data, for five years
SESSION_DAYS = 30             # staff logins and failed attempts: for investigating misuse only


def periods(config):
    """Each kind's retention in days, with the operator's RETENTION_<NAME>_DAYS overrides."""
    result = {kind.name: int(config.get(f"RETENTION_{kind.name.upper()}_DAYS", kind.days)) for kind in PERSON_KINDS}
    result["audit"] = int(config.get("RETENTION_AUDIT_DAYS", AUDIT_DAYS))
    result["sessions"] = int(config.get("RETENTION_SESSIONS_DAYS", SESSION_DAYS))
    return result


def participant_tables(conn):
    """Every table with a participant_id column: where a person's data lives."""
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return [t for t in tables if "participant_id" in {c[1] for c in conn.execute(f"PRAGMA table_info([{t}])")}]


def _person(conn, participant_id):
    row = conn.execute("SELECT * FROM participants WHERE id = ?", (participant_id,)).fetchone()
    if row is None:
        raise LookupError("no such participant")
    return row


# --- access (art. 15) -----------------------------------------------------------------

def export(conn, participant_id):
    """Everything fitwerk holds about one person, table by table, and who viewed their data."""
    person = dict(_person(conn, participant_id))
    group = conn.execute("SELECT name, location, starts_on, weeks FROM groups WHERE id = ?",
                         (person["group_id"],)).fetchone()
    held = {}
    for table in participant_tables(conn):
        if table in ("audit_log", "participants"):
            continue
        rows = [dict(r) for r in conn.execute(f"SELECT * FROM [{table}] WHERE participant_id = ? ORDER BY rowid",
                                              (participant_id,))]
        for row in rows:
            for key in [k for k in row if k.endswith("_json") and isinstance(row[k], str)]:
                row[key[:-5]] = json.loads(row.pop(key))
        held[table] = rows
    viewed = [dict(r) for r in conn.execute(
        "SELECT a.at, s.name AS staff_name, a.staff_role, a.action, a.what FROM audit_log a "
        "LEFT JOIN staff s ON s.id = a.staff_id WHERE a.participant_id = ? ORDER BY a.id", (participant_id,))]
    coach = conn.execute("SELECT name FROM staff WHERE id = ?", (person.get("lifecoach_id"),)).fetchone()
    return {"exported_at": now_iso(), "participant": person, "lifecoach": coach["name"] if coach else None,
            "group": dict(group) if group else None, "data": held, "access_log": viewed}


# --- erasure (art. 17) ----------------------------------------------------------------

def set_legal_hold(conn, actor, participant_id, reason):
    """Set (reason text) or lift (empty) a legal hold: while set, nothing of the person is erased."""
    reason = reason.strip() or None
    with transaction(conn):
        if _person(conn, participant_id)["legal_hold"] == reason:
            return
        conn.execute("UPDATE participants SET legal_hold = ? WHERE id = ?", (reason, participant_id))
        audit_log.audit(conn, actor, participant_id, "change", "legal hold set" if reason else "legal hold lifted")


def erase(conn, actor, participant_id, reason):
    """Erase a person: personal fields and every row of their data gone, badges off every roster.
    The participant row stays, anonymised, so group counts still add up."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("'reason' is required")
    with transaction(conn):
        person = _person(conn, participant_id)
        if person["legal_hold"]:
            raise Refused(f"a legal hold is set on this participant ({person['legal_hold']}); lift it first")
        if person["erased_at"]:
            raise Refused("this participant was erased already")
        outcomes.snapshot(conn, participant_id)
        removed = _remove_rows(conn, participant_id, [t for t in participant_tables(conn)
                                                      if t not in KEPT_ON_ERASURE and t not in BLANKED])
        for table in BLANKED:
            _blank(conn, table, [participant_id])
        _anonymise(conn, participant_id, erased=True)
        audit_log.audit(conn, actor, participant_id, "change", f"erased ({reason.strip()[:200]})")
    wipe_free_pages(conn)
    return removed


# Rows that refer to a person's rows by a foreign key go first (an invalidation names its
# measurement): table → (dependent table, its column pointing at the table's id).
DEPENDENTS = {"measurements": ("measurement_invalidations", "measurement_id")}


def _remove_dependents(conn, table, where, args):
    if table in DEPENDENTS:
        dependent, column = DEPENDENTS[table]
        conn.execute(f"DELETE FROM [{dependent}] WHERE [{column}] IN (SELECT id FROM [{table}] WHERE {where})", args)


def _remove_rows(conn, participant_id, tables):
    counts = {}
    for table in tables:
        _remove_dependents(conn, table, "participant_id = ?", (participant_id,))
        counts[table] = conn.execute(f"DELETE FROM [{table}] WHERE participant_id = ?", (participant_id,)).rowcount
    return counts


def _anonymise(conn, participant_id, erased=False):
    """Blank every field that says who the person is; keep group, status and dates."""
    conn.execute(
        "UPDATE participants SET first_name = '', last_name = '', phone = '', lifecoach_id = NULL, "
        "anonymised_at = ?, erased_at = CASE WHEN ? THEN ? ELSE erased_at END, roster_version = ? WHERE id = ?",
        (now_iso(), erased, now_iso(), bump_roster(conn), participant_id))
    columns = {c[1] for c in conn.execute("PRAGMA table_info(participants)")}
    conn.execute("UPDATE participants SET language = 'nl' WHERE id = ?", (participant_id,))
    for column in {"sex", "birth_date"} & columns:
        conn.execute(f"UPDATE participants SET {column} = NULL WHERE id = ?", (participant_id,))


def wipe_free_pages(conn):
    """Make deleted rows unreadable in the file: secure_delete has zeroed their pages; the
    write-ahead log still holds older copies until it is checkpointed and truncated."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# --- retention ------------------------------------------------------------------------

def _ended_before(conn, cutoff, after_follow_up=False):
    """Participants (not on hold) whose programme — or, with after_follow_up, their last
    placement or ladder record — ended before `cutoff`."""
    ended = "date(g.starts_on, '+' || (g.weeks * 7) || ' days')"
    if after_follow_up:
        ended = (f"max({ended}, coalesce((SELECT max(coalesce(ends_on, starts_on)) FROM placements x "
                 f"WHERE x.participant_id = p.id), ''), coalesce((SELECT max(date(recorded_at)) FROM ladder_rungs x "
                 f"WHERE x.participant_id = p.id), ''))")
    return [r["id"] for r in conn.execute(
        f"SELECT p.id FROM participants p JOIN groups g ON g.id = p.group_id "
        f"WHERE p.legal_hold IS NULL AND {ended} < ?", (cutoff.isoformat(),))]


def retention(conn, config, today, dry_run=False):
    """Erase or anonymise what is past its period; returns {kind: rows} (what would go, with dry_run)."""
    days = periods(config)
    counts = {}
    with transaction(conn):
        for kind in PERSON_KINDS:
            people = _ended_before(conn, today - timedelta(days=days[kind.name]), kind.after_follow_up)
            if not dry_run:
                for person in people:
                    outcomes.snapshot(conn, person)   # the report's figures, before their sources go
            counts[kind.name] = sum(_count_or_remove(conn, table, people, dry_run) for table in kind.tables) + sum(
                _count_blank(conn, table, people) if dry_run else _blank(conn, table, people)
                for table in kind.blanked)
        # A person none of whose data is kept any more is anonymised.
        longest = max(days[kind.name] for kind in PERSON_KINDS)
        people = [p for p in _ended_before(conn, today - timedelta(days=longest), True) if not conn.execute(
            "SELECT anonymised_at FROM participants WHERE id = ?", (p,)).fetchone()[0]]
        counts["people_anonymised"] = len(people)
        if not dry_run:
            for person in people:
                _remove_rows(conn, person, ["badges"])
                _anonymise(conn, person)
        cutoff = (today - timedelta(days=days["sessions"])).isoformat()
        session_queries = [("login_sessions", "seen_at < ?"), ("login_failures", "at < ?")]
        counts["sessions"] = sum(
            conn.execute(f"SELECT COUNT(*) FROM {t} WHERE {w}", (cutoff,)).fetchone()[0] if dry_run
            else conn.execute(f"DELETE FROM {t} WHERE {w}", (cutoff,)).rowcount for t, w in session_queries)
        audit_cutoff = (today - timedelta(days=days["audit"])).isoformat()
        if dry_run:
            counts["audit"] = conn.execute("SELECT COUNT(*) FROM audit_log WHERE at < ?", (audit_cutoff,)).fetchone()[0]
        else:
            counts["audit"] = audit_log.cut(conn, audit_log.audit_key(current_app), audit_cutoff)
    if not dry_run:
        wipe_free_pages(conn)
    return counts


def _blank(conn, table, people):
    if not people:
        return 0
    set_clause, holding = BLANKED[table]
    marks = ",".join("?" * len(people))
    return conn.execute(f"UPDATE [{table}] SET {set_clause} WHERE participant_id IN ({marks}) AND ({holding})",
                        people).rowcount


def _count_blank(conn, table, people):
    if not people:
        return 0
    marks = ",".join("?" * len(people))
    return conn.execute(f"SELECT COUNT(*) FROM [{table}] WHERE participant_id IN ({marks}) AND ({BLANKED[table][1]})",
                        people).fetchone()[0]


def _count_or_remove(conn, table, people, dry_run):
    if not people:
        return 0
    marks = ",".join("?" * len(people))
    if dry_run:
        return conn.execute(f"SELECT COUNT(*) FROM [{table}] WHERE participant_id IN ({marks})", people).fetchone()[0]
    _remove_dependents(conn, table, f"participant_id IN ({marks})", people)
    return conn.execute(f"DELETE FROM [{table}] WHERE participant_id IN ({marks})", people).rowcount


# --- API and pages --------------------------------------------------------------------

@api_bp.get("/participants/<int:participant_id>/export")
@api_roles("admin")
def export_api(participant_id):
    """Everything held about one person, as JSON (audited)."""
    conn = get_db()
    try:
        data = export(conn, participant_id)
    except LookupError as exc:
        return api_error(404, str(exc))
    audit_log.audit(conn, g.actor, participant_id, "export", "everything held (art. 15)")
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


@api_bp.post("/participants/<int:participant_id>/erase")
@api_roles("admin")
def erase_api(participant_id):
    """Erase a person's personal and health data (refused under a legal hold)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return api_error(400, "the body must be a JSON object with 'reason'")
    try:
        removed = erase(get_db(), g.actor, participant_id, body.get("reason"))
    except LookupError as exc:
        return api_error(404, str(exc))
    except ValueError as exc:
        return api_error(400, str(exc))
    except Refused as exc:
        return api_error(409, str(exc))
    return jsonify(erased=True, removed=removed)


@bp.get("/participants/<int:participant_id>/privacy")
@web_roles("admin")
def page(participant_id):
    """The admin's privacy page for one person: export, legal hold, erasure."""
    conn = get_db()
    try:
        person = _person(conn, participant_id)
    except LookupError:
        return gettext("Deelnemer niet gevonden"), 404
    return render_template("privacy/page.html", person=person, error=None)


@bp.get("/participants/<int:participant_id>/export")
@web_roles("admin")
def export_page(participant_id):
    """Everything held about one person, readable (HTML to print or save as PDF), or as JSON."""
    conn = get_db()
    try:
        data = export(conn, participant_id)
    except LookupError:
        return gettext("Deelnemer niet gevonden"), 404
    as_json = request.args.get("format") == "json"
    audit_log.audit(conn, g.actor, participant_id, "export", "everything held (art. 15)" + (" as JSON" if as_json else ""))
    if as_json:
        response = make_response(json.dumps(data, ensure_ascii=False, indent=2))
        response.headers["Content-Type"] = "application/json; charset=utf-8"
        response.headers["Content-Disposition"] = f'attachment; filename="gegevens-deelnemer-{participant_id}.json"'
    else:
        response = make_response(render_template("privacy/export.html", data=data, labels=TABLE_LABELS))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/participants/<int:participant_id>/legal-hold")
@web_roles("admin")
def legal_hold(participant_id):
    """Set or lift the legal hold."""
    conn = get_db()
    set_legal_hold(conn, g.actor, participant_id, request.form.get("reason", "")[:500])
    return render_template("privacy/page.html", person=_person(conn, participant_id), error=None, saved=True)


@bp.post("/participants/<int:participant_id>/erase")
@web_roles("admin")
def erase_page(participant_id):
    """Erase, after the admin typed the participant's number to confirm."""
    conn = get_db()
    person = _person(conn, participant_id)
    if request.form.get("confirm", "").strip() != str(participant_id):
        error = gettext("Typ het nummer van de deelnemer om te bevestigen.")
    else:
        try:
            erase(conn, g.actor, participant_id, request.form.get("reason", ""))
            return render_template("privacy/page.html", person=_person(conn, participant_id), error=None, erased=True)
        except ValueError:
            error = gettext("Geef een reden voor het wissen.")
        except Refused as exc:
            error = str(exc)
    return render_template("privacy/page.html", person=person, error=error), 400


# Headings of the readable export (the JSON export keeps the table names).
TABLE_LABELS = {
    "badges": _l("Passen"), "checkins": _l("Aanmeldingen bij de kiosk"), "excuses": _l("Afmeldingen vooraf"),
    "follow_ups": _l("Opvolging na afwezigheid"), "measurements": _l("Metingen (met apparaat en serienummer)"),
    "screenings": _l("Medische screening"), "load_tests": _l("Belastbaarheidstesten"), "goals": _l("Doelen"),
    "goal_revisions": _l("Eerdere formuleringen van doelen"), "goal_evaluations": _l("Wekelijkse scores van doelen"),
    "placements": _l("Werk en vrijwilligerswerk na het programma"), "ladder_rungs": _l("Participatieladder"),
    "handover_notes": _l("Slotnotitie van de beweegadviseur"), "outcome_snapshots": _l("Samenvatting voor de cijfers"),
}


# --- commands -------------------------------------------------------------------------

@click.command("verify-audit")
@with_appcontext
def verify_audit_command():
    """Check the audit log's hash chain; exits non-zero naming the first broken entry."""
    conn = get_db()
    checked, problem = audit_log.verify(conn, audit_log.audit_key(current_app))
    if problem:
        click.echo(f"audit log broken: {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"audit log intact: {checked} entries since the last checkpoint; head {audit_log.head(conn)}")


@click.command("retention")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="count what would go; change nothing")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="as if it were this day")
def retention_command(dry_run, today):
    """Erase or anonymise what is past its retention period; prints counts per kind."""
    day = today.date() if today else date.today()
    try:
        counts = retention(get_db(), current_app.config, day, dry_run)
    except (ValueError, sqlite3.DatabaseError) as exc:
        raise click.ClickException(str(exc)) from None
    verb = "would remove" if dry_run else "removed"
    for kind, count in counts.items():
        click.echo(f"{kind}: {verb} {count}")


def init_app(app):
    """Register the blueprints and the commands."""
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.cli.add_command(verify_audit_command)
    app.cli.add_command(retention_command)
