"""The OpenAPI description of /api/v1/, served at /api/v1/openapi.json."""
from common.badge_formats import FORMATS
from common.i18n import DEFAULT_LANGUAGE, LANGUAGES
from common.vocabulary import PARTICIPANT_STATUSES

_ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_DATE = {"name": "date", "in": "query", "schema": {"type": "string", "format": "date"}}


def _op(summary, body=None, ok="200", params=None, security="staff"):
    op = {"summary": summary, "security": [{security: []}],
          "responses": {ok: {"description": "success"}, "400": _ERROR, "401": _ERROR, "403": _ERROR}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
    if params:
        op["parameters"] = params
    return op


def _pid():
    return [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]


def spec():
    """The OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "fitwerk admin API", "version": "1"},
        "paths": {
            "/api/v1/groups": {"post": _op("Create a group with its weekly sessions", "Group", "201"),
                               "get": _op("List groups")},
            "/api/v1/participants": {"post": _op("Enrol a participant", "Participant", "201")},
            "/api/v1/participants/{id}": {"get": _op(
                "What the caller may see of one participant (audited; 403 for a LifeCoach who is not theirs)",
                params=_pid())},
            "/api/v1/participants/{id}/badge": {"put": _op("Assign a badge", "Badge", params=_pid())},
            "/api/v1/participants/{id}/excuses": {"post": _op("Advance notice of absence", "Excuse", "201", _pid())},
            "/api/v1/participants/{id}/measurements": {"get": _op("Measurements, newest first (audited; physio, admin)", params=_pid())},
            "/api/v1/participants/{id}/progress": {"get": _op(
                "Per moment (intake, week6, week12) and instrument: done, skipped, contraindicated or todo",
                params=_pid())},
            "/api/v1/measurements/{id}/invalidate": {"post": _op(
                "Invalidate a measurement with a reason (a new record; nothing is deleted; physio, admin)",
                "Invalidation", "201", [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}])},
            "/api/v1/device-checks": {"get": _op("The device check log, newest first"),
                                      "post": _op("Log a device check (physio, admin)", "DeviceCheck", "201")},
            "/api/v1/warning-ranges": {
                "get": _op("The physio team's warning ranges per measurement field, and each field's unit and hard "
                           "limits (physio, admin)"),
                "put": _op("Replace the whole set of warning ranges; a field left out has none, so a station uses its "
                           "own KIOSK_WARN_RANGES when the set is empty. Audited per change. 400 malformed or not "
                           "numbers; 422 unknown field, low not below high, or outside the field's hard limits "
                           "(physio, admin)", "WarningRanges")},
            "/api/v1/groups/{id}/gaps": {"get": _op("Per moment and instrument, who in the group still lacks it",
                                                    params=_pid())},
            "/api/v1/groups/{id}/cancellations": {"post": _op(
                "A group's session of a date does not take place, or moves (moved_to another date and/or moved_start/moved_end); "
                "no absence is raised for the date it left; 400 malformed, 422 no session to move or outside the programme, "
                "409 a clash with a session the group already has",
                "Cancellation", "201", _pid())},
            "/api/v1/locations/{name}/cancellations": {"post": _op(
                "No session at the location that date, or every group's session there moved (as for a group)", "Cancellation", "201",
                [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}])},
            "/api/v1/participants/{id}/export": {"get": _op(
                "Everything held about one person, and who viewed their data (GDPR art. 15; admin; audited)",
                params=_pid())},
            "/api/v1/participants/{id}/erase": {"post": _op(
                "Erase a person's personal and health data, badge off every roster (GDPR art. 17; admin); "
                "409 under a legal hold", "Erasure", params=_pid())},
            "/api/v1/attendance": {"get": _op("Sessions of a day with computed statuses", params=[
                _DATE, {"name": "group_id", "in": "query", "schema": {"type": "integer"}}])},
            "/api/v1/checkins": {"get": _op("Check-ins received for a day", params=[_DATE])},
            "/api/v1/badges/unknown": {"get": _op("Unknown badge UIDs tapped at kiosks")},
            "/api/v1/audit": {"get": _op("Audit trail of a participant (admin)", params=[
                {"name": "participant_id", "in": "query", "required": True, "schema": {"type": "integer"}}])},
            "/api/v1/kiosks": {"get": _op("Kiosk health")},
            "/api/v1/follow-ups": {"get": _op("Follow-up cases (a LifeCoach: own ones), no call notes", params=[
                {"name": "status", "in": "query", "schema": {"enum": ["open", "escalated", "closed", "all"]}}])},
            "/api/v1/follow-ups/{id}": {
                "get": _op("One follow-up case with the call notes (audited)", params=_pid()),
                "patch": _op("Log the call; only given keys change", "FollowUpChange", params=_pid())},
            "/api/v1/sync/push": {"post": _op("Kiosk: deliver records, heartbeat", "Push", security="kiosk")},
            "/api/v1/sync/roster": {"get": _op("Kiosk: roster changes since a version", security="kiosk",
                                               params=[{"name": "since", "in": "query", "schema": {"type": "integer"}}])},
        },
        "components": {
            "securitySchemes": {"staff": {"type": "http", "scheme": "bearer"},
                                "kiosk": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "Group": {"type": "object", "required": ["name", "location", "starts_on", "sessions"], "properties": {
                    "name": {"type": "string"}, "location": {"type": "string"},
                    "starts_on": {"type": "string", "format": "date"},
                    "weeks": {"type": "integer", "minimum": 1, "maximum": 52, "default": 12},
                    "grace_minutes": {"type": "integer", "minimum": 0, "maximum": 120, "default": 10},
                    "sessions": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["weekday", "start", "end"], "properties": {
                        "weekday": {"type": "integer", "minimum": 0, "maximum": 6},
                        "start": {"type": "string", "pattern": "^\\d\\d:\\d\\d$"},
                        "end": {"type": "string", "pattern": "^\\d\\d:\\d\\d$"}}}}}},
                "Participant": {"type": "object", "required": ["first_name", "last_name", "group_id"], "properties": {
                    "first_name": {"type": "string"}, "last_name": {"type": "string"},
                    "group_id": {"type": "integer"}, "badge_uid": {"type": "string"},
                    "badge_format": {"enum": list(FORMATS), "default": "hex",
                                     "description": "how badge_uid is written (a wedge reader's or a fob's number)"},
                    "phone": {"type": "string"}, "lifecoach_id": {"type": "integer"},
                    "status": {"enum": list(PARTICIPANT_STATUSES)},
                    "language": {"enum": list(LANGUAGES), "default": DEFAULT_LANGUAGE,
                                 "description": "the kiosk greets the participant in it"},
                    "sex": {"enum": ["male", "female", None]},
                    "birth_date": {"type": ["string", "null"], "format": "date"}}},
                "Invalidation": {"type": "object", "required": ["reason"], "properties": {
                    "reason": {"type": "string", "minLength": 1, "maxLength": 500}}},
                "DeviceCheck": {"type": "object", "required": ["device_serial", "kind", "checked_on"], "properties": {
                    "device_serial": {"type": "string"}, "kind": {"enum": ["reference_weight", "validation"]},
                    "checked_on": {"type": "string", "format": "date"}, "reference_kg": {"type": "number"},
                    "measured_kg": {"type": "number", "description": "passes within 0.2 kg of reference_kg"},
                    "note": {"type": "string"}}},
                "WarningRanges": {"type": "object", "required": ["ranges"], "additionalProperties": False,
                                  "properties": {"ranges": {
                                      "type": "object", "description": "measurement field name → its range",
                                      "additionalProperties": {
                                          "type": "object", "required": ["low", "high"], "additionalProperties": False,
                                          "properties": {"low": {"type": "number"}, "high": {"type": "number"}}}}}},
                "Badge": {"type": "object", "required": ["uid"], "properties": {
                    "uid": {"type": "string"}, "format": {"enum": list(FORMATS), "default": "hex"}}},
                "Cancellation": {"type": "object", "required": ["date", "reason"], "properties": {
                    "date": {"type": "string", "format": "date"}, "reason": {"type": "string", "maxLength": 200},
                    "moved_to": {"type": "string", "format": "date", "description": "held on this date instead"},
                    "moved_start": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                    "moved_end": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}}},
                "Erasure": {"type": "object", "required": ["reason"], "properties": {
                    "reason": {"type": "string", "minLength": 1}}},
                "Excuse": {"type": "object", "required": ["date", "reason"], "properties": {
                    "date": {"type": "string", "format": "date"}, "reason": {"type": "string"}}},
                "Push": {"type": "object", "description": "see common/protocol.py"},
                "FollowUpChange": {"type": "object", "additionalProperties": False, "properties": {
                    "contacted": {"enum": ["reached", "not_reached", None]},
                    "reason": {"type": "string", "maxLength": 500},
                    "excused": {"type": ["boolean", "null"]},
                    "note": {"type": "string", "maxLength": 2000},
                    "next_step": {"type": "string", "maxLength": 500},
                    "closed": {"type": "boolean", "description": "true closes the case (needs contacted; "
                                                                  "and excused when reached)"}}},
            },
        },
    }
