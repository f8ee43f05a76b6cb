"""The kiosks' side of the API: idempotent ingest of captured records, heartbeats with
the delivery watermark and clock, and the incremental roster a kiosk pulls."""
import contextlib
import json
import threading
import time
from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, current_app, g, jsonify, request

from common.clock import iso, parse_iso, utc_now
from common.db import get_meta, transaction
from common.protocol import ProtocolError, parse_push
from common.schedule import local_date
from common.vocabulary import ACTIVE_STATUSES, UNLOCK_ROLES

from . import intake, warning_ranges
from .auth import api_error, bearer_token, token_hash
from .cancellations import changes_for
from .db import get_db, without_fsync
from .forms import int_or_none

bp = Blueprint("sync", __name__, url_prefix="/api/v1/sync")
BOOT_BASE_FRESH = timedelta(minutes=15)
CLOCK_AHEAD_MAX = timedelta(days=1)  # a "synced" clock further ahead than this is lying
TAKERS = ("physio", "admin")         # who may be named as having taken a measurement


class Refused(Exception):
    """A push this kiosk's token is not good for: (status, message); nothing is stored."""


class RateLimiter:
    """Requests per kiosk per minute, in this worker's memory."""

    def __init__(self):
        self.lock = threading.Lock()
        self.windows = {}

    def allow(self, key, limit):
        """Count a request; False when `key` is over `limit` this minute."""
        minute = int(time.time() // 60)
        with self.lock:
            window, count = self.windows.get(key, (minute, 0))
            if window != minute:
                window, count = minute, 0
            self.windows[key] = (window, count + 1)
            return count < limit


_limiter = RateLimiter()


@bp.before_request
def _kiosk_auth():
    token = bearer_token()
    kiosk = get_db().execute("SELECT * FROM kiosks WHERE token_hash = ? AND revoked_at IS NULL",
                             (token_hash(token),)).fetchone() if token else None
    if kiosk is None:
        return api_error(401, "a valid kiosk token is required")
    if not _limiter.allow(kiosk["id"], int(current_app.config["SYNC_RATE_PER_MINUTE"])):
        body, status = api_error(429, "too many requests from this kiosk")
        return body, status, {"Retry-After": "5"}
    g.kiosk = kiosk


def _boot_base(conn, kiosk_id, boot_id, observed, now):
    # server time = base + kiosk boot clock. Network delay only ever makes the observed
    # base later, so keep the smallest recent one; refresh it now and then for drift.
    row = conn.execute("SELECT base_epoch, seen_at FROM kiosk_boots WHERE kiosk_id = ? AND boot_id = ?",
                       (kiosk_id, boot_id)).fetchone()
    if row is None or observed < row["base_epoch"] or parse_iso(row["seen_at"]) < now - BOOT_BASE_FRESH:
        conn.execute("INSERT INTO kiosk_boots(kiosk_id, boot_id, base_epoch, seen_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT(kiosk_id, boot_id) DO UPDATE SET base_epoch = excluded.base_epoch, "
                     "seen_at = excluded.seen_at", (kiosk_id, boot_id, observed, iso(now.timestamp())))
        return observed
    return row["base_epoch"]


def clock_implausible(record, kiosk, now):
    """Whether a record claims a synchronised clock the server cannot believe: more than a
    day ahead of the server, or before the kiosk was registered."""
    return record["clock_synced"] and (record["wall_at"] > now + CLOCK_AHEAD_MAX
                                       or record["wall_at"] < parse_iso(kiosk["created_at"]))


def record_time(conn, kiosk_id, record, boot_id, base, *, trust_wall):
    """Best true time of a record and how it was found: synced | boot_offset | uncorrected."""
    if record["clock_synced"] and trust_wall:
        return record["wall_at"].timestamp(), "synced"
    if record["boot_id"] != boot_id:
        row = conn.execute("SELECT base_epoch FROM kiosk_boots WHERE kiosk_id = ? AND boot_id = ?",
                           (kiosk_id, record["boot_id"])).fetchone()
        if row is None:
            return record["wall_at"].timestamp(), "uncorrected"
        base = row["base_epoch"]
    return base + record["boot_s"], "boot_offset"


def _owner(conn, uid):
    row = conn.execute(
        "SELECT b.participant_id, b.staff_id, gr.location FROM badges b LEFT JOIN participants p "
        "ON p.id = b.participant_id LEFT JOIN groups gr ON gr.id = p.group_id "
        "WHERE b.uid = ? AND b.revoked_at IS NULL", (uid,)).fetchone()
    return (row["participant_id"], row["staff_id"], row["location"]) if row else (None, None, None)


def check_entitled(conn, kiosk, generation, records):
    """Refuse what this kiosk's token is not good for, before anything is stored (a resend
    of a record stored before stays a success, whatever changed since)."""
    for i, record in enumerate(records):
        where = f"records[{i}]"
        table = "measurements" if record["kind"] == "measurement" else "checkins"
        if conn.execute(f"SELECT 1 FROM {table} WHERE kiosk_id = ? AND generation = ? AND seq = ?",
                        (kiosk["id"], generation, record["seq"])).fetchone():
            continue
        if record["kind"] == "measurement":
            if kiosk["role"] != "station":
                raise Refused(403, f"{where}: this kiosk is registered as a check-in kiosk and may not send "
                                   "measurements")
            if conn.execute("SELECT 1 FROM participants WHERE id = ?", (record["participant_id"],)).fetchone() is None:
                raise Refused(422, f"{where}: no such participant")
            if record["taken_by"] is not None and conn.execute(
                    f"SELECT 1 FROM staff WHERE id = ? AND active = 1 AND role IN ({','.join('?' * len(TAKERS))})",
                    (record["taken_by"], *TAKERS)).fetchone() is None:
                raise Refused(422, f"{where}: 'taken_by' is not an active physio or admin")
        elif kiosk["role"] == "station":
            raise Refused(403, f"{where}: this kiosk is registered as a station and records no check-ins")


def _store(conn, kiosk, generation, record, at, source, received, tz, flag):
    """Insert a record unless its identity is known (then the first one stays as it was);
    returns 1 when stored, 0 for a duplicate."""
    common = (record["id"], kiosk["id"], generation, record["seq"])
    if record["kind"] == "checkin":
        participant_id, staff_id, location = _owner(conn, record["badge_uid"])
        if participant_id is not None and location != kiosk["location"]:
            flag = "other_location"  # kept, so nothing is lost, but never attendance
        return conn.execute(
            "INSERT OR IGNORE INTO checkins(id, kiosk_id, generation, seq, badge_uid, participant_id, staff_id, "
            "result, at, local_date, time_source, kiosk_wall_at, clock_synced, boot_id, boot_s, received_at, flag) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*common, record["badge_uid"], participant_id, staff_id, record["result"], iso(at),
             local_date(datetime.fromtimestamp(at, timezone.utc), tz).isoformat(), source, iso(record["wall_at"].timestamp()),
             int(record["clock_synced"]), record["boot_id"], record["boot_s"], received, flag)).rowcount
    stored = conn.execute(
        "INSERT OR IGNORE INTO measurements(id, kiosk_id, generation, seq, participant_id, taken_by, moment, "
        "values_json, sources_json, at, time_source, kiosk_wall_at, received_at, flag, details_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*common, record["participant_id"], record["taken_by"], record["moment"],
         json.dumps(record["values"]), json.dumps(record["sources"]), iso(at), source,
         iso(record["wall_at"].timestamp()), received, flag, json.dumps(record["details"]))).rowcount
    if stored:
        intake.after_ingest(conn, record["participant_id"])
    return stored


def _advance(conn, kiosk_id, generation):
    acked = conn.execute("SELECT acked_seq FROM streams WHERE kiosk_id = ? AND generation = ?",
                         (kiosk_id, generation)).fetchone()[0]
    seqs = {r[0] for r in conn.execute(
        "SELECT seq FROM checkins WHERE kiosk_id = ? AND generation = ? AND seq > ? "
        "UNION SELECT seq FROM measurements WHERE kiosk_id = ? AND generation = ? AND seq > ?",
        (kiosk_id, generation, acked, kiosk_id, generation, acked))}
    while acked + 1 in seqs:
        acked += 1
    conn.execute("UPDATE streams SET acked_seq = ? WHERE kiosk_id = ? AND generation = ?",
                 (acked, kiosk_id, generation))
    return acked


@bp.post("/push")
def push():
    """Store a kiosk's records once each (a resend is a success, counted as a duplicate) and
    note its heartbeat."""
    try:
        body = parse_push(request.get_json(silent=True))
    except ProtocolError as exc:
        return api_error(400, str(exc))
    conn, kiosk, now = get_db(), g.kiosk, utc_now()
    received = iso(now.timestamp())
    tz = current_app.config["ADMIN_TIMEZONE"]
    generation = body["generation"]
    try:
        check_entitled(conn, kiosk, body["generation"], body["records"])
    except Refused as exc:
        return api_error(*exc.args)
    # A heartbeat without records need not wait for the disk: one lost in a power cut is
    # replaced by the next, seconds later. Records are on disk before they are acknowledged.
    durable = contextlib.nullcontext() if body["records"] else without_fsync(conn)
    with durable, transaction(conn):
        base = _boot_base(conn, kiosk["id"], body["boot_id"], now.timestamp() - body["boot_s"], now)
        conn.execute("INSERT OR IGNORE INTO streams(kiosk_id, generation) VALUES (?, ?)", (kiosk["id"], generation))
        stored = 0
        for record in sorted(body["records"], key=lambda r: r["seq"]):
            # A lying "synced" clock: keep the record, flag it, time it by the boot clock if we can.
            suspect = clock_implausible(record, kiosk, now)
            at, source = record_time(conn, kiosk["id"], record, body["boot_id"], base, trust_wall=not suspect)
            stored += _store(conn, kiosk, generation, record, at, source, received, tz, "clock" if suspect else None)
        acked = _advance(conn, kiosk["id"], generation)
        delivered_all = body["pending"] == 0 and all(r["seq"] <= acked for r in body["records"])
        watermark = kiosk["watermark_at"]
        if delivered_all and body["captured_through_boot_s"] is not None:
            # Everything the kiosk captured up to that boot-clock moment is now stored.
            through = iso(base + body["captured_through_boot_s"])
            watermark = max(watermark or through, through)
        offset = now.timestamp() - body["clock"].timestamp()
        conn.execute("UPDATE kiosks SET last_heard_at = ?, watermark_at = ?, pending = ?, clock_offset_s = ?, "
                     "clock_synced = ? WHERE id = ?",
                     (received, watermark, body["pending"], round(offset, 3), int(body["clock_synced"]),
                      kiosk["id"]))
    return jsonify(acked_seq=acked, server_time=received, clock_offset_s=round(offset, 3), stored=stored,
                   duplicates=len(body["records"]) - stored)


@bp.get("/roster")
def roster():
    """Changes to the roster this kiosk needs since version `since`: least personal data."""
    since = request.args.get("since", default=0, type=int_or_none)
    if since is None:
        return api_error(400, "'since' must be a roster version (a whole number)")
    conn, kiosk = get_db(), g.kiosk
    version = int(get_meta(conn, "roster_version", 0))
    here = {r["id"] for r in conn.execute("SELECT id FROM groups WHERE location = ?", (kiosk["location"],))}
    groups = []
    changed = conn.execute("SELECT * FROM groups WHERE location = ? AND roster_version > ?",
                           (kiosk["location"], since)).fetchall()
    # Cancelled and moved sessions from yesterday on: what the kiosk may still be asked about.
    calendars = changes_for(conn, changed, (date.today() - timedelta(days=1)).isoformat())
    for row in changed:
        slots = [{"weekday": s["weekday"], "start": s["start"], "end": s["end"]} for s in conn.execute(
            "SELECT weekday, start, end FROM schedule_slots WHERE group_id = ? ORDER BY weekday, start", (row["id"],))]
        groups.append({"group_id": row["id"], "name": row["name"], "location": row["location"],
                       "starts_on": row["starts_on"], "weeks": row["weeks"], "grace_minutes": row["grace_minutes"],
                       "timezone": row["timezone"], "slots": slots,
                       "calendar": [c.to_json() for c in calendars.get(row["id"], ())]})
    people = []
    station = kiosk["role"] == "station"
    for row in conn.execute("SELECT id, first_name, group_id, status, language, anonymised_at, sex, birth_date "
                            "FROM participants WHERE roster_version > ?", (since,)):
        if row["anonymised_at"]:
            # The kiosk forgets them entirely: roster, badges, its own taps and acked records.
            people.append({"participant_id": row["id"], "removed": True, "erased": True})
        elif row["group_id"] in here and row["status"] in ACTIVE_STATUSES:
            person = {"participant_id": row["id"], "first_name": row["first_name"], "group_id": row["group_id"],
                      "language": row["language"]}
            if station:  # what the scale computes with, what is done; a check-in kiosk never gets it
                person.update(sex=row["sex"], birth_year=int(row["birth_date"][:4]) if row["birth_date"] else None,
                              station=intake.station_facts(conn, row["id"]))
            people.append(person)
        else:
            people.append({"participant_id": row["id"], "removed": True})
    badges = []
    for row in conn.execute(
            "SELECT b.uid, b.participant_id, b.staff_id, b.revoked_at, s.role AS staff_role, s.active AS staff_active, "
            "s.pin_hash, p.group_id, p.status FROM badges b LEFT JOIN staff s ON s.id = b.staff_id "
            "LEFT JOIN participants p ON p.id = b.participant_id WHERE b.roster_version > ? "
            "ORDER BY b.revoked_at IS NULL, b.id", (since,)):
        if row["staff_id"] is None and row["group_id"] not in here:
            badges.append({"uid": row["uid"], "removed": True})
        elif row["revoked_at"] is not None or (row["staff_id"] is None and row["status"] not in ACTIVE_STATUSES) \
                or (row["staff_id"] is not None and not row["staff_active"]):
            # Kept on the kiosk as a bare UID, so the holder hears a kind "inactive"; the roster
            # never carries a deactivated staff member.
            badges.append({"uid": row["uid"], "inactive": True})
        elif row["staff_id"] is not None:
            entry = {"uid": row["uid"], "staff_id": row["staff_id"], "staff_role": row["staff_role"]}
            if kiosk["role"] == "station" and row["staff_role"] in UNLOCK_ROLES:
                entry["pin_hash"] = row["pin_hash"]  # the station asks the PIN after the badge, offline too
            badges.append(entry)
        else:
            badges.append({"uid": row["uid"], "participant_id": row["participant_id"]})
    # A station's: the newest device checks, and the physio team's warning ranges (always the
    # whole set, so a range taken away is gone at the next pull).
    extra = {"device_checks": intake.latest_checks(conn),
             "warn_ranges": warning_ranges.for_station(conn)} if station else {}
    return jsonify(version=version, kiosk_id=kiosk["id"], location=kiosk["location"],
                   groups=groups, people=people, badges=badges, **extra)
