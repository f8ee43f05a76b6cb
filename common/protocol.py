"""The sync protocol's wire format, checked the same way on both sides.

A kiosk POSTs /api/v1/sync/push:
  {"generation", "boot_id", "boot_s", "clock", "clock_synced", "pending",
   "captured_through": {"clock", "boot_s"}, "records": [record, ...]}
and the server answers {"acked_seq", "server_time", "clock_offset_s", "stored", "duplicates"}.
A record: {"id", "seq", "kind": "checkin"|"measurement", "wall_at", "clock_synced",
"boot_id", "boot_s", ...kind fields}. (kiosk, generation, seq) is its identity.
"""
import uuid

from .badge import normalise_uid
from .clock import parse_iso
from .vocabulary import CHECKIN_RESULTS, MEASUREMENT_FIELDS, MOMENTS

MAX_RECORDS_PER_PUSH = 500


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
        return parse_iso(text)
    except ValueError:
        raise ProtocolError(f"{where}: '{key}' is not an ISO-8601 time") from None


def _record(raw, index):
    where = f"records[{index}]"
    rec = {
        "id": _need(raw, "id", str, where),
        "seq": _need(raw, "seq", int, where),
        "kind": _need(raw, "kind", str, where),
        "wall_at": _time(raw, "wall_at", where),
        "clock_synced": bool(_need(raw, "clock_synced", bool, where)),
        "boot_id": _need(raw, "boot_id", str, where),
        "boot_s": float(_need(raw, "boot_s", (int, float), where)),
    }
    try:
        uuid.UUID(rec["id"])
    except ValueError:
        raise ProtocolError(f"{where}: 'id' is not a UUID") from None
    if rec["seq"] < 1:
        raise ProtocolError(f"{where}: 'seq' must be >= 1")
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
        rec["participant_id"] = _need(raw, "participant_id", int, where)
        rec["moment"] = _need(raw, "moment", str, where)
        if rec["moment"] not in MOMENTS:
            raise ProtocolError(f"{where}: unknown moment")
        rec["taken_by"] = raw.get("taken_by")
        if rec["taken_by"] is not None and not isinstance(rec["taken_by"], int):
            raise ProtocolError(f"{where}: 'taken_by' must be a staff id")
        values = _need(raw, "values", dict, where)
        for name, value in values.items():
            if name not in MEASUREMENT_FIELDS:
                raise ProtocolError(f"{where}: unknown measurement field '{name}'")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ProtocolError(f"{where}: '{name}' must be a number")
        if not values:
            raise ProtocolError(f"{where}: a measurement needs values")
        rec["values"] = values
        rec["sources"] = _need(raw, "sources", dict, where)
    else:
        raise ProtocolError(f"{where}: unknown kind")
    return rec


def parse_push(body):
    """Validate a push body; returns a clean dict or raises ProtocolError."""
    if not isinstance(body, dict):
        raise ProtocolError("body must be a JSON object")
    push = {
        "generation": _need(body, "generation", str, "body"),
        "boot_id": _need(body, "boot_id", str, "body"),
        "boot_s": float(_need(body, "boot_s", (int, float), "body")),
        "clock": _time(body, "clock", "body"),
        "clock_synced": _need(body, "clock_synced", bool, "body"),
        "pending": _need(body, "pending", int, "body"),
        "role": body.get("role") if body.get("role") in ("checkin", "station") else None,
    }
    through = body.get("captured_through")
    push["captured_through_boot_s"] = (
        float(_need(through, "boot_s", (int, float), "captured_through")) if through is not None else None)
    raw_records = _need(body, "records", list, "body")
    if len(raw_records) > MAX_RECORDS_PER_PUSH:
        raise ProtocolError(f"at most {MAX_RECORDS_PER_PUSH} records per push")
    push["records"] = [_record(raw, i) for i, raw in enumerate(raw_records)]
    if not (1 <= len(push["generation"]) <= 64 and 1 <= len(push["boot_id"]) <= 64):
        raise ProtocolError("body: generation and boot_id must be 1-64 characters")
    return push
