"""Changes to the programme's data — groups, participants, badges, excuses — validated
once here for both the JSON API and the staff pages. Each runs in one transaction."""
import re
from datetime import date

from common.badge import BadgeUidError, normalise_uid
from common.badge_formats import format_of_uid, to_uid
from common.db import database, transaction
from common.i18n import DEFAULT_LANGUAGE, LANGUAGES
from common.protocol import MAX_INT, one_of
from common.schedule import parse_hhmm
from common.vocabulary import COACH_ROLES, PARTICIPANT_STATUSES, SEXES

from .audit import audit
from .db import IntegrityError, bump_roster, now_iso
from .errors import Forbidden, Invalid, NotFound


def _text(body, key, max_len=100, required=True):
    value = body.get(key) if isinstance(body, dict) else None
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise Invalid(key, "required")
    if len(value) > max_len:
        raise Invalid(key, "too_long", max=max_len)
    return value.strip()


def _int(body, key, low, high, default=None):
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(key, "whole_number", low=low, high=high)
    return value


def _language(value):
    if not one_of(value, LANGUAGES):
        raise Invalid("language", "choice", choices=", ".join(LANGUAGES))
    return value


def _date(value, key):
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise Invalid(key, "date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(key, "no_such_date") from None


def _slots(raw):
    if not isinstance(raw, list) or not raw:
        raise Invalid("sessions", "no_sessions")
    slots = []
    for i, slot in enumerate(raw):
        where = {"index": i, "number": i + 1}
        if not isinstance(slot, dict):
            raise Invalid("sessions", "session_object", **where)
        weekday = slot.get("weekday")
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise Invalid("sessions", "weekday", **where)
        try:
            start, end = parse_hhmm(slot.get("start", "")), parse_hhmm(slot.get("end", ""))
        except (ValueError, AttributeError):
            raise Invalid("sessions", "session_times", **where) from None
        if end <= start:
            raise Invalid("sessions", "session_order", **where)
        slots.append((weekday, slot["start"], slot["end"]))
    return slots


def _group_fields(body):
    """Name, location, first day, weeks, grace minutes and weekly slots of a group body."""
    if not isinstance(body, dict):
        raise Invalid(None, "not_an_object")
    return (_text(body, "name"), _text(body, "location"), _date(body.get("starts_on"), "starts_on"),
            _int(body, "weeks", 1, 52, 12), _int(body, "grace_minutes", 0, 120, 10), _slots(body.get("sessions")))


def _body_facts(body):
    """`sex` and `birth_date` among the keys given (None clears one): what a scale computes with."""
    facts = {}
    if "sex" in body:
        if body["sex"] not in (*SEXES, None):
            raise Invalid("sex", "choice", choices=", ".join(SEXES))
        facts["sex"] = body["sex"]
    if "birth_date" in body:
        born = None if body["birth_date"] is None else _date(body["birth_date"], "birth_date")
        if born is not None and not date(1900, 1, 1) <= born <= date.today():
            raise Invalid("birth_date", "birth_date_range")
        facts["birth_date"] = born.isoformat() if born else None
    return facts


def create_group(conn, body, timezone):
    """Create a group and its weekly schedule; returns its id."""
    name, location, starts_on, weeks, grace, slots = _group_fields(body)
    with transaction(conn):
        version = bump_roster(conn)
        group_id = conn.execute(
            "INSERT INTO groups(name, location, starts_on, weeks, grace_minutes, timezone, "
            "roster_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, location, starts_on.isoformat(), weeks, grace, timezone, version, now_iso())).lastrowid
        conn.executemany("INSERT INTO schedule_slots(group_id, weekday, start, end) VALUES (?, ?, ?, ?)",
                         [(group_id, *slot) for slot in slots])
    return group_id


def _bump_participant(conn, participant_id):
    # The kiosk must hear of the person and of their badges together.
    version = bump_roster(conn)
    conn.execute("UPDATE participants SET roster_version = ? WHERE id = ?", (version, participant_id))
    conn.execute("UPDATE badges SET roster_version = ? WHERE participant_id = ?", (version, participant_id))


def _badge(value, fmt=None, field="uid"):
    """(canonical UID, format) of a badge number as tapped or typed; no format: a UID in hex."""
    if fmt is not None and not isinstance(fmt, str):
        raise Invalid("format", "text")
    try:
        if not fmt:
            uid = normalise_uid(value)
            return uid, format_of_uid(uid)
        return to_uid(value, fmt), fmt
    except BadgeUidError as exc:
        raise Invalid(field, "badge_number", detail=str(exc)) from None


def _assign(conn, badge, participant_id=None, staff_id=None):
    # Revoke the participant's old badge first: one active badge per person.
    version = bump_roster(conn)
    if participant_id is not None:
        conn.execute("UPDATE badges SET revoked_at = ?, roster_version = ? "
                     "WHERE participant_id = ? AND revoked_at IS NULL", (now_iso(), version, participant_id))
    else:
        conn.execute("UPDATE badges SET revoked_at = ?, roster_version = ? "
                     "WHERE staff_id = ? AND revoked_at IS NULL", (now_iso(), version, staff_id))
    try:
        conn.execute("INSERT INTO badges(uid, format, participant_id, staff_id, assigned_at, roster_version) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (*badge, participant_id, staff_id, now_iso(), version))
    except IntegrityError:
        raise Invalid("uid", "badge_taken") from None


def create_participant(conn, actor, body):
    """Create a participant (and badge, when given); returns the id."""
    if not isinstance(body, dict):
        raise Invalid(None, "not_an_object")
    first, last = _text(body, "first_name"), _text(body, "last_name")
    group_id = _int(body, "group_id", 1, 2 ** 62)
    badge = None if body.get("badge_uid") is None else _badge(body["badge_uid"], body.get("badge_format"), "badge_uid")
    status = body.get("status", "active")
    if not one_of(status, PARTICIPANT_STATUSES):
        raise Invalid("status", "choice", choices=", ".join(PARTICIPANT_STATUSES))
    phone = _text(body, "phone", 30, required=False) or ""
    language = _language(body.get("language", DEFAULT_LANGUAGE))
    facts = _body_facts(body)
    with transaction(conn):
        if conn.execute("SELECT 1 FROM groups WHERE id = ?", (group_id,)).fetchone() is None:
            raise Invalid("group_id", "no_such_group")
        lifecoach = _lifecoach(conn, body.get("lifecoach_id"))
        pid = conn.execute(
            "INSERT INTO participants(first_name, last_name, group_id, status, lifecoach_id, phone, language, "
            "created_at, sex, birth_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (first, last, group_id, status, lifecoach, phone, language, now_iso(), facts.get("sex"),
             facts.get("birth_date"))).lastrowid
        if badge:
            _assign(conn, badge, participant_id=pid)
        _bump_participant(conn, pid)
        audit(conn, actor, pid, "change", "participant created")
    return pid


def assign_badge(conn, actor, participant_id, body):
    """Give a participant a badge (revoking their previous one): {"uid", "format"?, see common.badge_formats}."""
    if not isinstance(body, dict):
        raise Invalid(None, "not_an_object")
    badge = _badge(body.get("uid"), body.get("format"))
    with transaction(conn):
        _require_participant(conn, participant_id)
        _assign(conn, badge, participant_id=participant_id)
        _bump_participant(conn, participant_id)
        audit(conn, actor, participant_id, "change", "badge assigned")


def unknown_badges(conn, limit=-1):
    """UIDs tapped at a kiosk that belong to nobody (the enrolment queue), last tapped first."""
    return conn.execute(
        "SELECT c.badge_uid AS uid, k.name AS kiosk, c.kiosk_id, max(c.at) AS last_tapped_at, count(*) AS taps "
        "FROM checkins c JOIN kiosks k ON k.id = c.kiosk_id WHERE c.participant_id IS NULL AND c.staff_id IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM badges b WHERE b.uid = c.badge_uid AND b.revoked_at IS NULL) "
        "GROUP BY c.badge_uid ORDER BY last_tapped_at DESC LIMIT ?", (limit,)).fetchall()


def assign_staff_badge(conn, staff_id, uid, fmt=None):
    """Give a staff member a badge (unlocks the station, opens the kiosk's staff menu)."""
    badge = _badge(uid, fmt)
    with transaction(conn):
        _assign(conn, badge, staff_id=staff_id)


def revoke_badge(conn, actor, participant_id):
    """Revoke a participant's active badge."""
    with transaction(conn):
        _require_participant(conn, participant_id)
        version = bump_roster(conn)
        conn.execute("UPDATE badges SET revoked_at = ?, roster_version = ? "
                     "WHERE participant_id = ? AND revoked_at IS NULL", (now_iso(), version, participant_id))
        audit(conn, actor, participant_id, "change", "badge revoked")


def set_status(conn, actor, participant_id, status):
    """Change a participant's programme status (kiosks forget people who left)."""
    if not one_of(status, PARTICIPANT_STATUSES):
        raise Invalid("status", "choice", choices=", ".join(PARTICIPANT_STATUSES))
    with transaction(conn):
        _require_participant(conn, participant_id)
        conn.execute("UPDATE participants SET status = ? WHERE id = ?", (status, participant_id))
        _bump_participant(conn, participant_id)
        audit(conn, actor, participant_id, "change", f"status {status}")


def add_excuse(conn, actor, participant_id, body):
    """Log an advance notice of absence for a date; returns its id."""
    _require_own(conn, actor, participant_id)  # before validating: someone else's is refused as such
    if not isinstance(body, dict):
        raise Invalid(None, "not_an_object")
    day = _date(body.get("date"), "date")
    reason = _text(body, "reason", 500)
    with transaction(conn):
        _require_participant(conn, participant_id)
        excuse_id = conn.execute(
            "INSERT INTO excuses(participant_id, date, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
            (participant_id, day.isoformat(), reason, actor.id, now_iso())).lastrowid
        audit(conn, actor, participant_id, "change", f"excuse for {day.isoformat()}")
    return excuse_id


def sees_all_of(role, staff_id, lifecoach_id):
    """Whether a staff member sees all of a participant: everyone but a LifeCoach does; a
    LifeCoach only of the participants assigned to them (of others: first name, group, status)."""
    return role != "lifecoach" or (lifecoach_id is not None and lifecoach_id == staff_id)


def _require_own(conn, actor, participant_id):
    row = conn.execute("SELECT lifecoach_id FROM participants WHERE id = ?", (participant_id,)).fetchone()
    if row is not None and not sees_all_of(actor.role, actor.id, row["lifecoach_id"]):
        raise Forbidden("participant_id", "not_yours")


def _require_participant(conn, participant_id):
    if conn.execute("SELECT 1 FROM participants WHERE id = ?", (participant_id,)).fetchone() is None:
        raise NotFound("participant_id", "no_such_participant")


# --- changes made from the staff pages (appended; the API's functions above are unchanged) ---

def _lifecoach(conn, value):
    """A LifeCoach's staff id from a body, or None when none is given."""
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_INT or conn.execute(
            f"SELECT 1 FROM staff WHERE id = ? AND active = 1 AND role IN ({','.join('?' * len(COACH_ROLES))})",
            (value, *COACH_ROLES)).fetchone() is None:
        raise Invalid("lifecoach_id", "not_a_lifecoach")
    return value


def update_participant(conn, actor, participant_id, body):
    """Change a participant's name, group, status, LifeCoach, phone, language, sex or birth date (keys given only)."""
    if not isinstance(body, dict):
        raise Invalid(None, "not_an_object")
    changes = {}
    for key in ("first_name", "last_name"):
        if key in body:
            changes[key] = _text(body, key)
    if "phone" in body:
        phone = body["phone"] if isinstance(body["phone"], str) else None
        if phone is None or len(phone.strip()) > 30:
            raise Invalid("phone", "too_long", max=30) if phone else Invalid("phone", "text")
        changes["phone"] = phone.strip()
    if "status" in body:
        if not one_of(body["status"], PARTICIPANT_STATUSES):
            raise Invalid("status", "choice", choices=", ".join(PARTICIPANT_STATUSES))
        changes["status"] = body["status"]
    if "group_id" in body:
        changes["group_id"] = _int(body, "group_id", 1, 2 ** 62)
    if "language" in body:
        changes["language"] = _language(body["language"])
    changes.update(_body_facts(body))
    with transaction(conn):
        _require_participant(conn, participant_id)
        if "lifecoach_id" in body:
            changes["lifecoach_id"] = _lifecoach(conn, body["lifecoach_id"])
        if "group_id" in changes and conn.execute("SELECT 1 FROM groups WHERE id = ?",
                                                  (changes["group_id"],)).fetchone() is None:
            raise Invalid("group_id", "no_such_group")
        if not changes:
            return
        database(conn)["participants"].update(participant_id, changes)
        _bump_participant(conn, participant_id)
        audit(conn, actor, participant_id, "change", "participant " + ", ".join(sorted(changes)))


def update_group(conn, group_id, body):
    """Change a group's name, location, start, weeks, grace or weekly sessions; kiosks learn of it."""
    name, location, starts_on, weeks, grace, slots = _group_fields(body)
    with transaction(conn):
        if conn.execute("SELECT 1 FROM groups WHERE id = ?", (group_id,)).fetchone() is None:
            raise NotFound("group_id", "no_such_group")
        version = bump_roster(conn)
        conn.execute("UPDATE groups SET name = ?, location = ?, starts_on = ?, weeks = ?, grace_minutes = ?, "
                     "roster_version = ? WHERE id = ?",
                     (name, location, starts_on.isoformat(), weeks, grace, version, group_id))
        conn.execute("DELETE FROM schedule_slots WHERE group_id = ?", (group_id,))
        conn.executemany("INSERT INTO schedule_slots(group_id, weekday, start, end) VALUES (?, ?, ?, ?)",
                         [(group_id, *slot) for slot in slots])
        # A new location changes which kiosks know the group's people.
        conn.execute("UPDATE participants SET roster_version = ? WHERE group_id = ?", (version, group_id))
        conn.execute("UPDATE badges SET roster_version = ? WHERE participant_id IN "
                     "(SELECT id FROM participants WHERE group_id = ?)", (version, group_id))


def revoke_badge_by_id(conn, actor, badge_id):
    """Revoke one badge (a participant's or a staff member's)."""
    with transaction(conn):
        badge = conn.execute("SELECT * FROM badges WHERE id = ?", (badge_id,)).fetchone()
        if badge is None:
            raise NotFound("badge_id", "no_such_badge")
        if badge["revoked_at"] is not None:
            return
        version = bump_roster(conn)
        conn.execute("UPDATE badges SET revoked_at = ?, roster_version = ? WHERE id = ?",
                     (now_iso(), version, badge_id))
        if badge["participant_id"] is not None:
            audit(conn, actor, badge["participant_id"], "change", "badge revoked")


def delete_excuse(conn, actor, excuse_id):
    """Withdraw an advance notice of absence entered by mistake; returns the participant id."""
    with transaction(conn):
        excuse = conn.execute("SELECT participant_id, date FROM excuses WHERE id = ?", (excuse_id,)).fetchone()
        if excuse is None:
            raise NotFound("excuse_id", "no_such_excuse")
        _require_own(conn, actor, excuse["participant_id"])
        conn.execute("DELETE FROM excuses WHERE id = ?", (excuse_id,))
        audit(conn, actor, excuse["participant_id"], "change", f"excuse for {excuse['date']} withdrawn")
    return excuse["participant_id"]


KIOSK_ROLES = ("checkin", "station")


def add_kiosk(conn, name, location, role="checkin"):
    """Register a kiosk for one location and role; returns (id, token) — the token is
    shown once and stored hashed. Its token is good for that place and role only."""
    import secrets
    import uuid

    from .auth import token_hash
    body = {"name": name, "location": location}
    name, location = _text(body, "name", 60), _text(body, "location")
    if role not in KIOSK_ROLES:
        raise Invalid("role", "choice", choices=", ".join(KIOSK_ROLES))
    kiosk_id, token = str(uuid.uuid4()), "fwk_" + secrets.token_urlsafe(32)
    with transaction(conn):
        if conn.execute("SELECT 1 FROM kiosks WHERE name = ?", (name,)).fetchone():
            raise Invalid("name", "kiosk_exists", name=name)
        conn.execute("INSERT INTO kiosks(id, name, location, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                     (kiosk_id, name, location, role, token_hash(token), now_iso()))
    return kiosk_id, token


def revoke_kiosk(conn, kiosk_id):
    """Revoke a kiosk's token: it can no longer sync, and stops counting for absence."""
    with transaction(conn):
        if conn.execute("SELECT 1 FROM kiosks WHERE id = ?", (kiosk_id,)).fetchone() is None:
            raise NotFound("kiosk_id", "no_such_kiosk")
        conn.execute("UPDATE kiosks SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", (now_iso(), kiosk_id))


# --- staff: offboarding and the station PIN ---------------------------------------

PIN_RE = re.compile(r"[0-9]{4,8}")


def staff_badges_changed(conn, staff_id):
    """Send a staff member's badges down again with the next roster (role, PIN or account changed)."""
    version = bump_roster(conn)
    conn.execute("UPDATE badges SET roster_version = ? WHERE staff_id = ?", (version, staff_id))


def deactivate_staff(conn, staff_id):
    """End a staff member's logins, API tokens and staff badges (kiosks drop the badge at the
    next roster pull); inside the caller's transaction."""
    from .auth import end_all_sessions
    conn.execute("UPDATE staff SET active = 0 WHERE id = ?", (staff_id,))
    end_all_sessions(conn, staff_id)
    version = bump_roster(conn)
    conn.execute("UPDATE badges SET revoked_at = coalesce(revoked_at, ?), roster_version = ? WHERE staff_id = ?",
                 (now_iso(), version, staff_id))


def set_pin(conn, staff_id, pin):
    """Set a staff member's station PIN (4-8 digits, stored hashed); stations learn it with the roster."""
    from common.hashing import hash_secret
    if not isinstance(pin, str) or not PIN_RE.fullmatch(pin):
        raise Invalid("pin", "pin")
    with transaction(conn):
        conn.execute("UPDATE staff SET pin_hash = ? WHERE id = ?", (hash_secret(pin), staff_id))
        staff_badges_changed(conn, staff_id)
