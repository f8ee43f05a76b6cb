"""The kiosk's local database: capture (one transaction, before any feedback), the
roster it greets by, the outbox the sync process drains, and process health."""
import json
import uuid
from datetime import date

from common import clock
from common import db as common_db
from common.db import get_meta, set_meta, transaction
from common.schedule import CalendarChange, Group, Slot, local_date, next_session, session_at

RECORDED = ("on_time", "late", "unknown_badge", "no_session", "inactive")


def open_db(path):
    """Connect to the kiosk database, creating the schema when needed."""
    conn = common_db.connect(path, check_same_thread=False)
    try:
        common_db.init_schema(conn, "kiosk", path)
    except BaseException:
        conn.close()
        raise
    return conn


def best_now(conn, wall=None):
    """The kiosk's best idea of true time: its wall clock (read now unless given), or wall +
    the server's offset measured in this boot when the clock is not NTP-synchronised."""
    wall = clock.wall_epoch() if wall is None else wall
    if clock.clock_synced():
        return wall
    if get_meta(conn, "server_offset_boot") == clock.boot_id():
        return wall + float(get_meta(conn, "server_offset_s", 0))
    return wall


def _group(row):
    slots = tuple(Slot(s["weekday"], s["start"], s["end"]) for s in json.loads(row["slots_json"]))
    calendar = tuple(CalendarChange.from_json(c) for c in json.loads(row["calendar_json"]))
    return Group(row["group_id"], row["name"], row["location"], date.fromisoformat(row["starts_on"]),
                 row["weeks"], row["grace_minutes"], row["timezone"], slots, calendar)


def groups(conn):
    """The groups the kiosk knows (its location's)."""
    return [_group(r) for r in conn.execute("SELECT * FROM roster_groups ORDER BY name")]


def _session_json(session):
    return {"group": session.group_name, "start": session.start_local, "end": session.end_local,
            "date": session.day.isoformat()}


def _judge(conn, uid, now):
    """What a tap of `uid` at `now` means: (result, person row, detail dict, session key)."""
    badge = conn.execute("SELECT * FROM roster_badges WHERE uid = ?", (uid,)).fetchone()
    if badge is None:
        return "unknown_badge", None, {}, None
    if badge["staff_id"] is not None:
        return "staff", None, {"staff_id": badge["staff_id"], "staff_role": badge["staff_role"]}, None
    person = conn.execute("SELECT * FROM roster_people WHERE participant_id = ? AND active = 1",
                          (badge["participant_id"],)).fetchone() if badge["participant_id"] else None
    group_row = conn.execute("SELECT * FROM roster_groups WHERE group_id = ?",
                             (person["group_id"],)).fetchone() if person else None
    if person is None or group_row is None:
        return "inactive", None, {}, None
    group = _group(group_row)
    if local_date(now, group.timezone) > group.ends_on:
        return "inactive", person, {}, None
    session = session_at(group, now)
    if session is None:
        upcoming = next_session(group, now)
        detail = {"next": _session_json(upcoming) if upcoming else None}
        change = group.change_on(local_date(now, group.timezone))
        if change is not None and change.takes_away:
            detail["cancelled"] = change.reason   # the participant hears why, not just "no session"
        return "no_session", person, detail, None
    first = conn.execute(
        "SELECT at FROM local_checkins WHERE participant_id = ? AND session_key = ? "
        "AND result IN ('on_time', 'late') ORDER BY id LIMIT 1",
        (person["participant_id"], session.key)).fetchone()
    detail = {"session": _session_json(session)}
    if first is not None:
        detail["first_at"] = first["at"]
        return "already", person, detail, session.key
    return session.tap_result(now), person, detail, session.key


def capture_tap(conn, uid):
    """Judge and record a badge tap in one local transaction; returns what to show."""
    with transaction(conn):
        # Stamp the time inside the write lock: the sync process reads the outbox under
        # the same lock, so a record stamped before its read is always in that read.
        boot_s, wall = clock.boot_s(), clock.wall_epoch()
        # Judge the one clock reading the record carries, at the millisecond it is written
        # with: the admin judges that same instant, so both agree at start + grace.
        now_epoch = best_now(conn, wall)
        now = clock.parse_iso(clock.iso(now_epoch))
        result, person, detail, session_key = _judge(conn, uid, now)
        seq = None
        if result in RECORDED:
            body = {"kind": "checkin", "badge_uid": uid, "result": result, "wall_at": clock.iso(wall),
                    "clock_synced": clock.clock_synced(), "boot_id": clock.boot_id(), "boot_s": boot_s}
            seq = _outbox(conn, "checkin", body, wall)
        tap = show_tap(conn, uid, result, person, detail.get("staff_id"), detail, now_epoch, session_key, seq)
    return dict(tap, detail=detail, seq=seq)


def show_tap(conn, uid, result, person, staff_id, detail, at_epoch, session_key=None, seq=None):
    """Put a tap where the screen picks it up (inside the caller's transaction)."""
    first_name = person["first_name"] if person else None
    tap_id = conn.execute(
        "INSERT INTO local_checkins(seq, badge_uid, participant_id, staff_id, first_name, result, "
        "session_key, detail_json, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, uid, person["participant_id"] if person else None, staff_id, first_name, result, session_key,
         json.dumps(detail), clock.iso(at_epoch))).lastrowid
    return {"id": tap_id, "result": result, "first_name": first_name, "at": clock.iso(at_epoch)}


def _outbox(conn, kind, body, wall):
    record_id = str(uuid.uuid4())
    body = dict(body, id=record_id)
    return conn.execute("INSERT INTO outbox(id, kind, body_json, created_at) VALUES (?, ?, ?, ?)",
                        (record_id, kind, json.dumps(body), clock.iso(wall))).lastrowid


def save_measurement(conn, participant_id, moment, values, sources, taken_by, details=None):
    """Record a station measurement in one local transaction; returns its sequence number.
    `details`: how it was taken (screening, skipped, bp_readings, confirmed; common/protocol.py)."""
    with transaction(conn):
        boot_s, wall = clock.boot_s(), clock.wall_epoch()
        body = {"kind": "measurement", "participant_id": participant_id, "moment": moment,
                "values": values, "sources": sources, "taken_by": taken_by, **(details or {}),
                "wall_at": clock.iso(wall),
                "clock_synced": clock.clock_synced(), "boot_id": clock.boot_id(), "boot_s": boot_s}
        return _outbox(conn, "measurement", body, wall)


# --- what the sync process needs ------------------------------------------------

def pending_count(conn):
    """Records not yet acknowledged by the server."""
    return conn.execute("SELECT count(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0]


def apply_roster(conn, roster):
    """Apply an incremental roster answer in one transaction."""
    with transaction(conn):
        for g in roster["groups"]:
            conn.execute(
                "INSERT OR REPLACE INTO roster_groups(group_id, name, location, starts_on, weeks, grace_minutes, "
                "timezone, slots_json, calendar_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (g["group_id"], g["name"], g["location"], g["starts_on"], g["weeks"], g["grace_minutes"],
                 g["timezone"], json.dumps(g["slots"]), json.dumps(g.get("calendar", []))))
        for p in roster["people"]:
            if p.get("erased"):
                forget_person(conn, p["participant_id"])
            if p.get("removed"):
                conn.execute("DELETE FROM roster_people WHERE participant_id = ?", (p["participant_id"],))
            else:
                # An admin older than the language column sends none: greet in the kiosk's fallback.
                conn.execute("INSERT OR REPLACE INTO roster_people(participant_id, first_name, group_id, language, "
                             "active, sex, birth_year, station_json) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
                             (p["participant_id"], p["first_name"], p["group_id"], p.get("language", "nl"),
                              p.get("sex"), p.get("birth_year"), json.dumps(p.get("station", {}))))
        for b in roster["badges"]:
            if b.get("removed"):
                conn.execute("DELETE FROM roster_badges WHERE uid = ?", (b["uid"],))
            else:
                conn.execute("INSERT OR REPLACE INTO roster_badges(uid, participant_id, staff_id, staff_role, pin_hash) "
                             "VALUES (?, ?, ?, ?, ?)", (b["uid"], b.get("participant_id"), b.get("staff_id"),
                                                        b.get("staff_role"), b.get("pin_hash")))
        if "device_checks" in roster:  # a station's: the newest check of every instrument serial
            set_meta(conn, "device_checks", json.dumps(roster["device_checks"]))
        if "warn_ranges" in roster:  # a station's: the physio team's ranges (an older admin sends none)
            set_meta(conn, "warn_ranges", json.dumps(roster["warn_ranges"]))
        set_meta(conn, "roster_version", roster["version"])
        set_meta(conn, "kiosk_id", roster["kiosk_id"])
        set_meta(conn, "location", roster["location"])
    if any(p.get("erased") for p in roster["people"]):
        # secure_delete zeroed the rows' pages; the write-ahead log still has older copies.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def forget_person(conn, participant_id):
    """An erased participant: their badges, taps and delivered records go from this kiosk too.
    Records not yet delivered stay (the outbox never drops what the server has not acked)."""
    uids = [r[0] for r in conn.execute("SELECT uid FROM roster_badges WHERE participant_id = ?", (participant_id,))]
    uids += [r[0] for r in conn.execute("SELECT DISTINCT badge_uid FROM local_checkins WHERE participant_id = ?",
                                         (participant_id,)) if r[0] not in uids]
    conn.execute("DELETE FROM roster_badges WHERE participant_id = ?", (participant_id,))
    conn.execute("DELETE FROM local_checkins WHERE participant_id = ?", (participant_id,))
    conn.execute("DELETE FROM bp_series WHERE participant_id = ?", (participant_id,))
    conn.execute("UPDATE station_state SET participant_id = NULL, first_name = NULL, identified_at = NULL "
                 "WHERE participant_id = ?", (participant_id,))
    for uid in uids:
        conn.execute("DELETE FROM outbox WHERE acked_at IS NOT NULL AND json_extract(body_json, '$.badge_uid') = ?",
                     (uid,))
    conn.execute("DELETE FROM outbox WHERE acked_at IS NOT NULL AND json_extract(body_json, '$.participant_id') = ?",
                 (participant_id,))


def set_status(conn, name, state, detail="", **extra):
    """Record a process's health for /status.json (its own small transaction)."""
    conn.execute(
        "INSERT INTO process_status(name, state, detail, updated_at, extra_json) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET state = excluded.state, detail = excluded.detail, "
        "updated_at = excluded.updated_at, extra_json = excluded.extra_json",
        (name, state, detail, clock.iso(clock.wall_epoch()), json.dumps(extra)))


def get_status(conn, name):
    """A process's last recorded health, or None."""
    row = conn.execute("SELECT * FROM process_status WHERE name = ?", (name,)).fetchone()
    if row is None:
        return None
    return {"state": row["state"], "detail": row["detail"], "updated_at": row["updated_at"],
            **json.loads(row["extra_json"])}
