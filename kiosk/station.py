"""The intake station's rules: a staff badge unlocks it, a participant's badge (or a
search by first name) picks whom to measure, instruments fill in readings by
themselves, and a save is one local transaction synced like a check-in."""
import json
import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime

from common import clock
from common.db import database, get_meta, transaction
from common.hashing import check_secret
from common.intake import contraindicated
from common.protocol import MAX_INT, MEASUREMENT_LIMITS
from common.vocabulary import INSTRUMENTS, MEASUREMENT_FIELDS, MOMENTS, UNLOCK_ROLES, instrument_fields
from devices import personal

from . import intake, store


def N_(text):
    """Mark a message for the catalogue; the screen translates it (this module knows no Flask)."""
    return text

INSTRUMENT_FIELDS = {name: instrument_fields(name) for name in INSTRUMENTS}
# What staff may type in by hand when an instrument does not work.
MANUAL_FIELDS = {"scale": ("weight_kg", "fat_pct"), "bp": ("systolic_mmhg", "diastolic_mmhg", "pulse_bpm")}
PROVENANCE_KEYS = ("driver", "device_model", "device_serial", "measured_at")
# What a body-composition analyser computes; without the person's sex and age it is not theirs.
BODY_COMPOSITION = ("fat_pct", "fat_mass_kg", "fat_free_mass_kg", "muscle_mass_kg", "bone_mass_kg", "water_kg",
                    "water_pct", "visceral_fat", "bmr_kcal", "metabolic_age", "impedance_ohm")
INPUT_LABELS = {"sex": N_("geslacht"), "age": N_("leeftijd"), "height_cm": N_("lengte"),
                "body_type": N_("lichaamstype"), "tare_kg": N_("kledingtarra")}  # translated where shown


# Two weighings further apart than this ask for a third.
WEIGHT_AGREEMENT_KG = 0.2


@dataclass(frozen=True)
class Settings:
    """How this station measures: its instruments, default clothes tare, blood-pressure series,
    warning ranges set by the physio team, how old a device check may be."""

    instruments: tuple = ("scale", "bp")
    default_tare_kg: float = 0.5
    series: intake.SeriesRules = intake.SeriesRules()
    warn_ranges: dict = field(default_factory=dict)
    check_days: int = 90


def warn_ranges(text):
    """'systolic_mmhg=90-180,pulse_bpm=40-120' → {field: (low, high)}; ValueError when malformed."""
    ranges = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        name, _, span = part.partition("=")
        low, _, high = span.partition("-")
        if name not in MEASUREMENT_FIELDS:
            raise ValueError(f"KIOSK_WARN_RANGES: unknown field {name!r}")
        ranges[name] = (float(low), float(high))
    return ranges


def team_ranges(conn):
    """The physio team's warning ranges from the roster: {field: (low, high)}; {} when none are set."""
    return {name: tuple(span) for name, span in json.loads(get_meta(conn, "warn_ranges", "{}")).items()
            if name in MEASUREMENT_FIELDS}


def ranges_in_use(conn, configured):
    """The team's ranges when it has set any (the whole set), else this station's own configuration."""
    return team_ranges(conn) or configured


Invalid = intake.Invalid


PIN_WAIT_S = 60    # after the staff badge, this long to type the PIN
PIN_TRIES = 3      # wrong PINs in a row before the badge is locked ...
PIN_LOCK_S = 300   # ... for this long (a cloned UID gets three guesses per five minutes)
NO_PIN = {"pin_staff_id": None, "pin_staff_role": None, "pin_uid": None, "pin_epoch": None}


def state(conn, lock_s):
    """The station's state, with `locked` computed from the idle time on the boot clock, and
    `pin_pending` while a staff badge waits for its PIN."""
    row = conn.execute("SELECT * FROM station_state WHERE id = 1").fetchone()
    current = dict(row) if row else {"staff_id": None}
    now = clock.boot_s()
    idle = now - (current.get("activity_epoch") or 0)
    # A negative idle time means the kiosk rebooted since: locked.
    current["locked"] = current.get("staff_id") is None or not 0 <= idle <= lock_s
    if current["locked"]:
        current["participant_id"] = current["first_name"] = None
    current.update(sex=None, birth_year=None, age=None, known={})
    if current["participant_id"]:
        person = conn.execute("SELECT sex, birth_year, station_json FROM roster_people WHERE participant_id = ?",
                              (current["participant_id"],)).fetchone()
        if person is not None:
            current.update(sex=person["sex"], birth_year=person["birth_year"], age=age_from(person["birth_year"]),
                           known=json.loads(person["station_json"] or "{}"))
    current["pin_pending"] = bool(current["locked"] and current.get("pin_uid")
                                  and 0 <= now - (current.get("pin_epoch") or 0) <= PIN_WAIT_S)
    return current


def age_from(birth_year):
    """The age reached this calendar year: the roster carries the birth year, never the date."""
    return datetime.now().year - birth_year if birth_year else None


def pin_locked_s(conn, uid):
    """Seconds this staff badge stays locked after too many wrong PINs (0: not locked)."""
    row = conn.execute("SELECT locked_until FROM pin_failures WHERE uid = ?", (uid,)).fetchone()
    return max(0.0, row["locked_until"] - store.best_now(conn)) if row and row["locked_until"] else 0.0


class PinRefused(ValueError):
    """A PIN that does not unlock the station; the message (Dutch, for the screen) says why
    and what next."""


def enter_pin(conn, pin, lock_s):
    """Unlock the station when `pin` is the PIN of the staff badge just tapped; count a
    wrong one (PIN_TRIES in a row lock that badge for PIN_LOCK_S)."""
    current = state(conn, lock_s)
    if not current["pin_pending"]:
        raise PinRefused("houd eerst je medewerkerspas tegen de lezer")
    uid = current["pin_uid"]
    if pin_locked_s(conn, uid):
        raise PinRefused(f"te veel foute pincodes: deze pas is {_minutes(pin_locked_s(conn, uid))} geblokkeerd")
    badge = conn.execute("SELECT * FROM roster_badges WHERE uid = ?", (uid,)).fetchone()
    # scrypt takes a moment: outside the write lock, so taps are not kept waiting.
    right = badge is not None and badge["staff_id"] == current["pin_staff_id"] and \
        check_secret(badge["pin_hash"], pin or "")
    with transaction(conn):
        if right:
            conn.execute("DELETE FROM pin_failures WHERE uid = ?", (uid,))
            _write(conn, staff_id=current["pin_staff_id"], staff_role=current["pin_staff_role"],
                   unlocked_at=clock.iso(clock.wall_epoch()), participant_id=None, first_name=None,
                   identified_at=None, **NO_PIN)
            return
        row = conn.execute("SELECT failures FROM pin_failures WHERE uid = ?", (uid,)).fetchone()
        failures = (row["failures"] if row else 0) + 1
        locked_until = store.best_now(conn) + PIN_LOCK_S if failures >= PIN_TRIES else None
        conn.execute("INSERT OR REPLACE INTO pin_failures(uid, failures, locked_until) VALUES (?, ?, ?)",
                     (uid, 0 if locked_until else failures, locked_until))
        if locked_until:
            _write(conn, **NO_PIN)
    if locked_until:
        raise PinRefused(f"te veel foute pincodes: deze pas is {_minutes(PIN_LOCK_S)} geblokkeerd")
    raise PinRefused(f"de pincode klopt niet (nog {PIN_TRIES - failures} "
                     f"{'poging' if PIN_TRIES - failures == 1 else 'pogingen'})")


def _minutes(seconds):
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minuut" if minutes == 1 else f"{minutes} minuten"


def _write(conn, **fields):
    database(conn)["station_state"].upsert({"id": 1, **fields, "activity_epoch": clock.boot_s()}, pk="id")


def _plausible(field, value, ranges=None):
    low, high = (ranges or {}).get(field) or MEASUREMENT_FIELDS[field].plausible
    return low <= value <= high


def touch(conn):
    """Note activity, so the station does not lock while someone works on it."""
    conn.execute("UPDATE station_state SET activity_epoch = ? WHERE id = 1", (clock.boot_s(),))


def lock(conn):
    """Lock the station and forget whom it was measuring."""
    with transaction(conn):
        _write(conn, staff_id=None, staff_role=None, participant_id=None, first_name=None, identified_at=None,
               **NO_PIN)


def select(conn, participant_id, lock_s):
    """Pick a participant (badge forgotten: found by first name); returns their first name."""
    with transaction(conn):
        if state(conn, lock_s)["locked"]:
            raise Invalid(None, "locked")
        if not isinstance(participant_id, int) or not 0 < participant_id <= MAX_INT:
            raise Invalid("participant_id", "no_participant")  # no number, or beyond SQLite's integers
        person = conn.execute("SELECT * FROM roster_people WHERE participant_id = ? AND active = 1",
                              (participant_id,)).fetchone()
        if person is None:
            raise Invalid("participant_id", "no_participant")
        _write(conn, participant_id=person["participant_id"], first_name=person["first_name"],
               identified_at=clock.iso(clock.wall_epoch()))
    return person["first_name"]


def find(conn, first_name):
    """Participants whose first name starts with the text, with their group."""
    pattern = first_name.strip().replace("%", "").replace("_", "") + "%"
    return [dict(r) for r in conn.execute(
        "SELECT p.participant_id, p.first_name, g.name AS group_name FROM roster_people p "
        "LEFT JOIN roster_groups g ON g.group_id = p.group_id WHERE p.active = 1 AND p.first_name LIKE ? "
        "ORDER BY p.first_name LIMIT 12", (pattern,))] if first_name.strip() else []


def tap(conn, uid, lock_s):
    """A badge at the station: staff unlock, participants are identified. Records no check-in."""
    with transaction(conn):
        badge = conn.execute("SELECT * FROM roster_badges WHERE uid = ?", (uid,)).fetchone()
        current = state(conn, lock_s)
        person, detail = None, {}
        if badge is None:
            result = "unknown_badge"
        elif badge["staff_id"] is not None:
            if badge["staff_role"] in UNLOCK_ROLES:
                # A UID is easy to clone: the badge only asks for its holder's PIN.
                if pin_locked_s(conn, uid):
                    result, detail = "pin_locked", {"minutes": _minutes(pin_locked_s(conn, uid))}
                elif not badge["pin_hash"]:
                    result = "no_pin"
                else:
                    result = "pin"
                _write(conn, staff_id=None, staff_role=None, participant_id=None, first_name=None,
                       identified_at=None, **(NO_PIN if result != "pin" else {
                           "pin_staff_id": badge["staff_id"], "pin_staff_role": badge["staff_role"],
                           "pin_uid": uid, "pin_epoch": clock.boot_s()}))
            else:
                result, detail = "locked", {"reason": "role"}
        elif current["locked"]:
            result = "locked"
        else:
            person = conn.execute("SELECT * FROM roster_people WHERE participant_id = ? AND active = 1",
                                  (badge["participant_id"],)).fetchone() if badge["participant_id"] else None
            if person is None:
                result = "inactive"
            else:
                result = "identified"
                _write(conn, participant_id=person["participant_id"], first_name=person["first_name"],
                       identified_at=clock.iso(clock.wall_epoch()))
        return store.show_tap(conn, uid, result, person, badge["staff_id"] if badge else None, detail,
                              store.best_now(conn))


# --- instruments ----------------------------------------------------------------

def record_reading(conn, instrument, values=None, error=None):
    """Store what an instrument sent: a measurement, or the reason a frame was refused."""
    with transaction(conn):
        conn.execute("INSERT INTO instrument_readings(instrument, values_json, error, at) VALUES (?, ?, ?, ?)",
                     (instrument, json.dumps(values) if values is not None else None, error,
                      clock.iso(clock.wall_epoch())))
        conn.execute("DELETE FROM instrument_readings WHERE id NOT IN "
                     "(SELECT id FROM instrument_readings ORDER BY id DESC LIMIT 200)")


def latest_readings(conn, since):
    """Per instrument, the newest reading (values or error) since `since` (ISO text)."""
    found = {}
    for name in INSTRUMENT_FIELDS:
        row = conn.execute("SELECT * FROM instrument_readings WHERE instrument = ? AND at >= ? "
                           "ORDER BY id DESC LIMIT 1", (name, since or "")).fetchone()
        if row is not None:
            found[name] = {"id": row["id"], "at": row["at"], "error": row["error"],
                           "values": json.loads(row["values_json"]) if row["values_json"] else None}
    return found


def queue_command(conn, instrument, payload):
    """Ask the reader process to start a measurement or send personal data to a device."""
    with transaction(conn):
        touch(conn)
        conn.execute("INSERT INTO instrument_commands(instrument, payload_json, created_at) VALUES (?, ?, ?)",
                     (instrument, json.dumps(payload), clock.iso(clock.wall_epoch())))


def take_commands(conn):
    """Commands not yet carried out, oldest first, marked as taken."""
    with transaction(conn):
        rows = conn.execute("SELECT * FROM instrument_commands WHERE done_at IS NULL ORDER BY id").fetchall()
        conn.execute("UPDATE instrument_commands SET done_at = ? WHERE done_at IS NULL",
                     (clock.iso(clock.wall_epoch()),))
    return [(r["instrument"], json.loads(r["payload_json"])) for r in rows]


# --- the body-composition scale ----------------------------------------------------------

def scale_setup(current, form, default_tare_kg):
    """What the scale must compute with for this person (sex, age, height, tare, body type),
    or None when their sex or age is unknown or impedance is contraindicated: then the scale
    is told nothing and only the weight is kept."""
    screening = intake.screening_from(form)
    intake.require_answers(screening, "scale")
    if not current.get("sex") or not current.get("age") or contraindicated(screening, "scale"):
        return None
    if not str(form.get("height_cm") or "").strip():
        raise Invalid("height_cm", "height_for_scale")
    try:
        return personal.normalise(sex=current["sex"], age=current["age"],
                                  height_cm=_number(form.get("height_cm"), "height_cm"),
                                  tare_kg=_number(form.get("tare_kg") or default_tare_kg, "tare_kg"),
                                  body_type=form.get("body_type") or "standard")
    except ValueError as exc:
        raise Invalid("scale", "scale_setup", detail=str(exc)) from None


def _scale_values(device, current, form, default_tare_kg):
    """The scale's values for this person: all of them when its echo matches the set-up, its
    weight only when sex or age is unknown or impedance contraindicated; a mismatching echo
    is refused."""
    values = {f: device[f] for f in INSTRUMENT_FIELDS["scale"] if f in device}
    source = {k: device[k] for k in PROVENANCE_KEYS if k in device}
    inputs = device.get("inputs") or {}
    setup = scale_setup(current, form, default_tare_kg) if inputs else None
    if setup is None:
        dropped = [f for f in BODY_COMPOSITION if values.pop(f, None) is not None]
        for own in ("height_cm", "bmi"):  # from a height typed on the scale, not this station's
            values.pop(own, None)
        if dropped:
            if contraindicated(intake.screening_from(form), "scale"):
                source["weight_only"] = "contraindicated"
            elif current.get("sex") and current.get("age"):
                source["weight_only"] = "no_echo"
            else:
                source["weight_only"] = "no_sex_or_age"
        return values, source
    differing = personal.mismatch(setup, inputs, keys=[k for k in personal.KEYS if k in inputs or k != "tare_kg"])
    if differing:
        raise Invalid("scale", "scale_mismatch", names=[INPUT_LABELS[k] for k in differing],
                      first_name=current["first_name"])
    source["inputs"] = {k: inputs[k] for k in personal.KEYS if k in inputs}
    return values, source


def reading_error(text):
    """A refused frame's reason for the screen; the echo check in the physio's words."""
    if text and text.startswith(personal.ECHO_REJECTED):
        return N_("De weegschaal rekende met andere persoonsgegevens dan verstuurd: dit is geen meting van "
                  "deze persoon. Stuur de gegevens opnieuw en meet opnieuw.")
    return text


# --- saving -----------------------------------------------------------------------

def _number(text, field):
    try:
        value = float(str(text).replace(",", "."))
    except ValueError:
        raise Invalid(field, "not_a_number") from None
    if not math.isfinite(value):
        raise Invalid(field, "not_a_number")
    low, high = MEASUREMENT_LIMITS.get(field, (-math.inf, math.inf))
    if not low <= value <= high:
        # Beyond what a body can measure: not even a confirmation makes it a value.
        raise Invalid(field, "impossible", low=f"{low:g}", high=f"{high:g}")
    return value


def scale_weights(conn, since):
    """Every weight the scale sent since the participant was picked, oldest first."""
    return [json.loads(r["values_json"])["weight_kg"] for r in conn.execute(
        "SELECT values_json FROM instrument_readings WHERE instrument = 'scale' AND at >= ? "
        "AND values_json IS NOT NULL ORDER BY id", (since or "",))]


def agreed_weight(weights):
    """One weight from repeated weighings: two within 0.2 kg give their mean, three the median
    of the last three; two further apart ask for a third."""
    if len(weights) < 2:
        return weights[-1] if weights else None
    if len(weights) == 2:
        if abs(weights[0] - weights[1]) > WEIGHT_AGREEMENT_KG + 1e-9:
            raise Invalid("scale", "third_weight")
        return round((weights[0] + weights[1]) / 2, 2)
    return statistics.median(weights[-3:])


def device_check(settings, serial, checks, today=None):
    """The newest check of this instrument serial (from the roster), and whether it is overdue."""
    check = next((c for c in checks if c["device_serial"] == serial), None)
    if check is None:
        return None
    age = ((today or date.today()) - date.fromisoformat(check["checked_on"])).days
    return {"kind": check["kind"], "checked_on": check["checked_on"], "passed": bool(check["passed"]),
            "overdue": age > settings.check_days}


def known_checks(conn):
    """The device checks the station's roster carries."""
    return json.loads(get_meta(conn, "device_checks", "[]"))


def _bp_values(conn, form, current, settings, screening, readings):
    """Blood pressure from a complete series (or typed in, with a reason): values, source, readings."""
    if form.get("bp_manual"):
        entered = {f: _number(form[f"bp_{f}"], f) for f in MANUAL_FIELDS["bp"] if form.get(f"bp_{f}")}
        if not entered:
            return {}, None, []
        reason = (form.get("bp_reason") or "").strip()
        if not reason:
            raise Invalid("bp_reason", "reason_needed")
        intake.require_answers(screening, "bp")
        if form.get("bp_arm") not in intake.allowed_arms(screening):
            raise Invalid("bp_arm", "arm_excluded")
        if entered.get("diastolic_mmhg", 0) >= entered.get("systolic_mmhg", math.inf):
            raise Invalid("bp_diastolic_mmhg", "diastolic_not_below")
        return entered, {"manual": True, "reason": reason[:200], "arm": form["bp_arm"]}, []
    taken = intake.series(conn, current["participant_id"], current["identified_at"], settings.series)
    if taken is None and not readings.get("bp", {}).get("values"):
        return {}, None, []
    values, facts, kept = intake.series_result(taken, settings.series)
    last = json.loads(conn.execute("SELECT values_json FROM instrument_readings WHERE instrument = 'bp' AND at = ? "
                                   "AND values_json IS NOT NULL ORDER BY id DESC LIMIT 1",
                                   (kept[-1]["at"],)).fetchone()[0])
    source = {k: last[k] for k in PROVENANCE_KEYS if k in last}
    source.update(series=facts, arm=facts["arm"])
    return values, source, kept


def build_measurement(conn, form, current, settings=Settings()):
    """Values, provenance and how it was taken (contraindications, what was skipped and why,
    the blood-pressure readings) from the form and the instruments' readings."""
    values, sources, skipped, implausible, bp_readings = {}, {}, {}, [], []
    screening = intake.screening_from(form)
    readings = latest_readings(conn, current["identified_at"])
    if form.get("scale_manual"):
        entered = {f: _number(form[f"scale_{f}"], f) for f in MANUAL_FIELDS["scale"] if form.get(f"scale_{f}")}
        if entered:
            reason = (form.get("scale_reason") or "").strip()
            if not reason:
                raise Invalid("scale_reason", "reason_needed")
            if contraindicated(screening, "scale"):
                entered.pop("fat_pct", None)
            values.update(entered)
            sources["scale"] = {"manual": True, "reason": reason[:200]}
    elif form.get("scale_reading") and readings.get("scale", {}).get("values"):
        reading = readings["scale"]
        if str(reading["id"]) != form["scale_reading"]:
            raise Invalid("scale", "new_reading")
        found, sources["scale"] = _scale_values(reading["values"], current, form, settings.default_tare_kg)
        weights = scale_weights(conn, current["identified_at"])
        found["weight_kg"] = agreed_weight(weights) or found["weight_kg"]
        if len(weights) > 1:
            sources["scale"]["weights"] = weights[-3:]
        values.update(found)
    if "scale" in sources:
        intake.require_answers(screening, "scale")
    ruled_out = contraindicated(screening, "bp")
    if not intake.allowed_arms(screening):
        skipped["bp"] = {"reason": "contra-indicatie aan beide armen", "contraindicated": ruled_out}
    else:
        found, source, bp_readings = _bp_values(conn, form, current, settings, screening, readings)
        if source:
            values.update(found)
            sources["bp"] = source
    for name in settings.instruments:
        if name in sources and not form.get(f"{name}_manual"):
            check = device_check(settings, sources[name].get("device_serial"), known_checks(conn))
            if check:
                sources[name]["device_check"] = check
        if name not in sources and name not in skipped:
            reason = (form.get(f"{name}_skip_reason") or "").strip()
            if not reason:
                raise Invalid(f"{name}_skip_reason", "not_measured", instrument=name)
            skipped[name] = {"reason": reason[:200]}
    if form.get("height_cm"):
        values.setdefault("height_cm", _number(form["height_cm"], "height_cm"))
    if "weight_kg" in values and values.get("height_cm") and "bmi" not in values:  # a height of 0: no BMI
        values["bmi"] = round(values["weight_kg"] / (values["height_cm"] / 100) ** 2, 1)
    implausible = [f for f, v in values.items() if not _plausible(f, v, settings.warn_ranges)]
    if not sources and not skipped:
        raise Invalid(None, "no_values")
    if implausible and not form.get("confirm"):
        raise Invalid("confirm", "confirm", implausible)
    details = {"screening": screening, "skipped": skipped, "bp_readings": bp_readings, "confirmed": implausible}
    return values, sources, {k: v for k, v in details.items() if v}


def save(conn, form, moment, lock_s, settings=Settings()):
    """Save the current participant's measurement; returns its outbox sequence number."""
    current = state(conn, lock_s)
    if current["locked"] or not current.get("participant_id"):
        raise Invalid(None, "not_chosen")
    if moment not in MOMENTS:
        raise Invalid("moment", "moment")
    values, sources, details = build_measurement(conn, form, current, settings)
    seq = store.save_measurement(conn, current["participant_id"], moment, values, sources, current["staff_id"],
                                 details)
    with transaction(conn):
        _write(conn, participant_id=None, first_name=None, identified_at=None)
    return seq
