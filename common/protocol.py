"""The sync protocol's wire format, checked the same way on both sides.

A kiosk POSTs /api/v1/sync/push:
  {"generation", "boot_id", "boot_s", "clock", "clock_synced", "pending",
   "captured_through": {"clock", "boot_s"}, "records": [record, ...]}
and the server answers {"acked_seq", "server_time", "clock_offset_s", "stored", "duplicates"}.
A record: {"id", "seq", "kind": "checkin"|"measurement", "wall_at", "clock_synced",
"boot_id", "boot_s", ...kind fields}. (kiosk, generation, seq) is its identity.
"""
import json
import math
import uuid

from .badge import normalise_uid
from .clock import parse_iso
from .intake import ANSWERS, ARMS, CUFFS, QUESTIONS
from .vocabulary import CHECKIN_RESULTS, INSTRUMENTS, MEASUREMENT_FIELDS, MOMENTS

MAX_RECORDS_PER_PUSH = 500
# Hard limits: what no human body or instrument can produce. A value outside is refused
# (the station asks to confirm merely implausible values, devices/driver.PLAUSIBLE).
MEASUREMENT_LIMITS = {
    "weight_kg": (0, 650), "height_cm": (0, 300), "bmi": (0, 250), "fat_pct": (0, 100),
    "fat_mass_kg": (0, 650), "fat_free_mass_kg": (0, 650), "muscle_mass_kg": (0, 650),
    "bone_mass_kg": (0, 100), "water_kg": (0, 650), "water_pct": (0, 100), "visceral_fat": (0, 100),
    "bmr_kcal": (0, 20000), "metabolic_age": (0, 150), "impedance_ohm": (0, 10000),
    "systolic_mmhg": (0, 400), "diastolic_mmhg": (0, 300), "mean_arterial_mmhg": (0, 350),
    "pulse_bpm": (0, 400),
}
MAX_INT = 2 ** 63 - 1           # SQLite's INTEGER
MAX_BOOT_S = 20 * 365 * 86400   # a boot clock beyond 20 years of uptime is made up
MAX_SOURCES_CHARS = 2000
WEIGHT_ONLY_REASONS = ("no_sex_or_age", "no_echo", "contraindicated")
# What the scale computed with (its echo): name -> (allowed values) or (low, high, type).
SCALE_INPUTS = {"sex": ("male", "female"), "body_type": ("standard", "athlete"),
                "age": (5, 99, int), "height_cm": (90, 250, (int, float)), "tare_kg": (0, 10, (int, float))}


class ProtocolError(ValueError):
    """A request body that does not follow the protocol; the message says where."""


def _need(obj, key, kind, where):
    if not isinstance(obj, dict) or key not in obj:
        raise ProtocolError(f"{where}: missing '{key}'")
    value = obj[key]
    # JSON true is a Python bool, which is also an int: only a bool field may take it.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ProtocolError(f"{where}: '{key}' has the wrong type")
    return value


def _time(obj, key, where):
    text = _need(obj, key, str, where)
    try:
        value = parse_iso(text)
    except (ValueError, OverflowError):
        raise ProtocolError(f"{where}: '{key}' is not an ISO-8601 time") from None
    if value.year < 1970:
        raise ProtocolError(f"{where}: '{key}' is before 1970")
    return value


def number(value, name, low, high):
    """`value` as a float when it is a finite JSON number within [low, high], else ProtocolError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"'{name}' must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ProtocolError(f"'{name}' must be a finite number (not NaN or Infinity)")
    if not low <= value <= high:
        raise ProtocolError(f"'{name}' must be between {low:g} and {high:g}")
    return float(value)


def _num(obj, key, where, low, high):
    if not isinstance(obj, dict) or key not in obj:
        raise ProtocolError(f"{where}: missing '{key}'")
    try:
        return number(obj[key], key, low, high)
    except ProtocolError as exc:
        raise ProtocolError(f"{where}: {exc}") from None


def _whole(obj, key, where, low, high=MAX_INT):
    value = _need(obj, key, int, where)
    if not low <= value <= high:
        raise ProtocolError(f"{where}: '{key}' must be a whole number from {low} to {high}")
    return value


def _short(obj, key, where, max_len=64):
    value = _need(obj, key, str, where)
    if not 1 <= len(value) <= max_len:
        raise ProtocolError(f"{where}: '{key}' must be 1-{max_len} characters")
    return value


def _short_text(value, where, key, limit=200):
    if not isinstance(value, str) or len(value) > limit:
        raise ProtocolError(f"{where}: '{key}' must be text of at most {limit} characters")
    return value


def one_of(value, allowed):
    """Whether `value` is one of the names `allowed`; a list or object is none of them
    (and cannot be looked up in a dict: it is unhashable)."""
    return isinstance(value, str) and value in allowed


def _number_in(value, low, high, kind, where, key):
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        raise ProtocolError(f"{where}: '{key}' must be a number from {low} to {high}")
    return value


def _scale_inputs(raw, where):
    if not isinstance(raw, dict) or not raw:
        raise ProtocolError(f"{where}: 'inputs' must be an object")
    for key, value in raw.items():
        rule = SCALE_INPUTS.get(key)
        if rule is None:
            raise ProtocolError(f"{where}: unknown scale input '{key}'")
        if len(rule) == 3:
            _number_in(value, *rule, where, key)
        elif not one_of(value, rule):
            raise ProtocolError(f"{where}: '{key}' must be one of {', '.join(rule)}")
    return raw


def _series(raw, where):
    if not isinstance(raw, dict) or set(raw) != {"readings", "averaged", "interval_s", "rest_s", "arm", "cuff"}:
        raise ProtocolError(f"{where}: 'series' needs readings, averaged, interval_s, rest_s, arm and cuff")
    _number_in(raw["readings"], 1, 10, int, where, "readings")
    _number_in(raw["averaged"], 1, raw["readings"], int, where, "averaged")
    _number_in(raw["interval_s"], 0, 3600, (int, float), where, "interval_s")
    _number_in(raw["rest_s"], 0, 3600, (int, float), where, "rest_s")
    if not one_of(raw["arm"], ARMS) or not one_of(raw["cuff"], CUFFS):
        raise ProtocolError(f"{where}: unknown arm or cuff")


def _device_check(raw, where):
    if not isinstance(raw, dict) or set(raw) - {"kind", "checked_on", "passed", "overdue"}:
        raise ProtocolError(f"{where}: 'device_check' has unknown keys")
    if not one_of(raw.get("kind"), ("reference_weight", "validation")) or not isinstance(raw.get("passed"), bool):
        raise ProtocolError(f"{where}: 'device_check' needs a kind and passed")
    _short_text(raw.get("checked_on"), where, "checked_on", 10)
    if not isinstance(raw.get("overdue", False), bool):
        raise ProtocolError(f"{where}: 'overdue' must be true or false")


def _flags(raw, where):
    if not isinstance(raw, dict) or len(raw) > 4:
        raise ProtocolError(f"{where}: 'flags' must be an object of at most 4 flags")
    for key, value in raw.items():
        _short_text(key, where, "flag name", 20)
        if not isinstance(value, bool):
            _short_text(value, where, key, 4)


def _bp_reading(raw, where):
    if not isinstance(raw, dict) or set(raw) - {"at", "arm", "cuff", "counted", "flags", "systolic_mmhg",
                                                 "diastolic_mmhg", "pulse_bpm", "mean_arterial_mmhg"}:
        raise ProtocolError(f"{where}: a reading holds at, arm, cuff, counted, flags and pressures only")
    _time(raw, "at", where)
    if not one_of(raw.get("arm"), ARMS) or not one_of(raw.get("cuff"), CUFFS) or not isinstance(raw.get("counted"), bool):
        raise ProtocolError(f"{where}: a reading needs its arm, cuff and whether it counted")
    for key in ("systolic_mmhg", "diastolic_mmhg", "pulse_bpm", "mean_arterial_mmhg"):
        if key in raw:
            _num(raw, key, where, *MEASUREMENT_LIMITS[key])
    _flags(raw.get("flags", {}), where)


def _details(raw, where):
    """How a measurement was taken: contraindication answers, skipped instruments, the
    blood-pressure readings of a series, warnings confirmed; each checked, nothing else."""
    details = {}
    screening = raw.get("screening", {})
    if not isinstance(screening, dict) or set(screening) - set(QUESTIONS):
        raise ProtocolError(f"{where}: 'screening' is per instrument")
    for instrument, given in screening.items():
        if not isinstance(given, dict) or set(given) - {"answers", "observed"}:
            raise ProtocolError(f"{where}: screening.{instrument} holds answers and observed only")
        answers = given.get("answers", {})
        if not isinstance(answers, dict) or any(code not in QUESTIONS[instrument] or not one_of(answer, ANSWERS)
                                                for code, answer in answers.items()):
            raise ProtocolError(f"{where}: screening.{instrument}: unknown question or answer")
        if "observed" in given:
            _short_text(given["observed"], where, "observed")
    skipped = raw.get("skipped", {})
    if not isinstance(skipped, dict) or set(skipped) - set(INSTRUMENTS):
        raise ProtocolError(f"{where}: 'skipped' is per instrument")
    for instrument, why in skipped.items():
        if not isinstance(why, dict) or set(why) - {"reason", "contraindicated"} or not why.get("reason"):
            raise ProtocolError(f"{where}: skipped.{instrument} needs a reason")
        _short_text(why["reason"], where, "reason")
        codes = why.get("contraindicated", [])
        if not isinstance(codes, list) or any(not one_of(code, QUESTIONS[instrument]) for code in codes):
            raise ProtocolError(f"{where}: skipped.{instrument}: unknown contraindication")
    readings = raw.get("bp_readings", [])
    if not isinstance(readings, list) or len(readings) > 12:
        raise ProtocolError(f"{where}: 'bp_readings' must be a list of at most 12 readings")
    for i, reading in enumerate(readings):
        _bp_reading(reading, f"{where}.bp_readings[{i}]")
    confirmed = raw.get("confirmed", [])
    if not isinstance(confirmed, list) or any(not one_of(field, MEASUREMENT_FIELDS) for field in confirmed):
        raise ProtocolError(f"{where}: 'confirmed' lists measurement fields")
    for key, value in (("screening", screening), ("skipped", skipped), ("bp_readings", readings),
                       ("confirmed", confirmed)):
        if value:
            details[key] = value
    return details


def _sources(raw, where):
    """Per instrument: the device's provenance, or manual with a reason; nothing else."""
    if not isinstance(raw, dict):
        raise ProtocolError(f"{where}: 'sources' has the wrong type")
    for name, source in raw.items():
        here = f"{where}.sources.{name}"
        if name not in INSTRUMENTS:
            raise ProtocolError(f"{where}: unknown instrument '{name}' in sources")
        if not isinstance(source, dict):
            raise ProtocolError(f"{here}: must be an object")
        for key, value in source.items():
            if key in ("driver", "device_model", "device_serial", "measured_at"):
                _short_text(value, here, key, 64)
            elif key == "manual":
                if value is not True:
                    raise ProtocolError(f"{here}: 'manual' must be true")
            elif key == "reason":
                _short_text(value, here, key)
            elif key == "weight_only" and name == "scale":
                if not one_of(value, WEIGHT_ONLY_REASONS):
                    raise ProtocolError(f"{here}: unknown 'weight_only' reason")
            elif key == "inputs" and name == "scale":
                _scale_inputs(value, here)
            elif key == "weights" and name == "scale":
                if not isinstance(value, list) or not 1 <= len(value) <= 5:
                    raise ProtocolError(f"{here}: 'weights' must be a list of 1 to 5 weights")
                for weight in value:
                    _number_in(weight, *MEASUREMENT_LIMITS["weight_kg"], (int, float), here, "weights")
            elif key == "series" and name == "bp":
                _series(value, here)
            elif key == "arm" and name == "bp":
                if not one_of(value, ARMS):
                    raise ProtocolError(f"{here}: 'arm' must be one of {', '.join(ARMS)}")
            elif key == "device_check":
                _device_check(value, here)
            else:
                raise ProtocolError(f"{here}: unknown key '{key}'")
    return raw


def _record(raw, index):
    where = f"records[{index}]"
    rec = {
        "id": _need(raw, "id", str, where),
        "seq": _whole(raw, "seq", where, 1),
        "kind": _need(raw, "kind", str, where),
        "wall_at": _time(raw, "wall_at", where),
        "clock_synced": bool(_need(raw, "clock_synced", bool, where)),
        "boot_id": _short(raw, "boot_id", where),
        "boot_s": _num(raw, "boot_s", where, 0, MAX_BOOT_S),
    }
    try:
        uuid.UUID(rec["id"])
    except ValueError:
        raise ProtocolError(f"{where}: 'id' is not a UUID") from None
    if rec["kind"] == "checkin":
        uid = _need(raw, "badge_uid", str, where)
        try:
            rec["badge_uid"] = normalise_uid(uid)
        except ValueError as exc:
            raise ProtocolError(f"{where}: {exc}") from None
        rec["result"] = _need(raw, "result", str, where)
        if rec["result"] not in CHECKIN_RESULTS:
            raise ProtocolError(f"{where}: unknown result")
    elif rec["kind"] == "measurement":
        rec["participant_id"] = _whole(raw, "participant_id", where, 1)
        rec["moment"] = _need(raw, "moment", str, where)
        if rec["moment"] not in MOMENTS:
            raise ProtocolError(f"{where}: unknown moment")
        rec["taken_by"] = raw.get("taken_by")
        if rec["taken_by"] is not None:
            rec["taken_by"] = _whole(raw, "taken_by", where, 1)
        values = _need(raw, "values", dict, where)
        for name in values:
            if name not in MEASUREMENT_FIELDS:
                raise ProtocolError(f"{where}: unknown measurement field '{name}'")
            _num(values, name, where, *MEASUREMENT_LIMITS[name])
        rec["details"] = _details(raw, where)
        if not values and not rec["details"].get("skipped"):
            raise ProtocolError(f"{where}: a measurement needs values (or the instruments skipped, with why)")
        rec["values"] = values
        rec["sources"] = _sources(_need(raw, "sources", dict, where), where)
        try:
            sources_text = json.dumps(rec["sources"], allow_nan=False)
        except ValueError:
            raise ProtocolError(f"{where}: 'sources' must not hold NaN or Infinity") from None
        if len(sources_text) > MAX_SOURCES_CHARS:
            raise ProtocolError(f"{where}: 'sources' is longer than {MAX_SOURCES_CHARS} characters")
    else:
        raise ProtocolError(f"{where}: unknown kind")
    return rec


def parse_push(body):
    """Validate a push body; returns a clean dict or raises ProtocolError."""
    if not isinstance(body, dict):
        raise ProtocolError("body must be a JSON object")
    # A kiosk still sends "role"; the server ignores it (the role is set by add-kiosk).
    push = {
        "generation": _short(body, "generation", "body"),
        "boot_id": _short(body, "boot_id", "body"),
        "boot_s": _num(body, "boot_s", "body", 0, MAX_BOOT_S),
        "clock": _time(body, "clock", "body"),
        "clock_synced": _need(body, "clock_synced", bool, "body"),
        "pending": _whole(body, "pending", "body", 0),
    }
    through = body.get("captured_through")
    push["captured_through_boot_s"] = (
        _num(through, "boot_s", "captured_through", 0, MAX_BOOT_S) if through is not None else None)
    raw_records = _need(body, "records", list, "body")
    if len(raw_records) > MAX_RECORDS_PER_PUSH:
        raise ProtocolError(f"at most {MAX_RECORDS_PER_PUSH} records per push")
    push["records"] = [_record(raw, i) for i, raw in enumerate(raw_records)]
    return push
