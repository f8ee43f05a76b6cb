"""Untrusted input, table-driven: wrong values in every API body, staff form and station form answer a 4xx, never a 500."""
# Each endpoint's valid body is taken first and last; in between each field in turn gets each
# wrong value. A refusal is a 4xx (JSON {"error"} on the API) and writes nothing.
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from admin.auth import new_api_token
from tests.support.live import PASSWORD, auth
from tests.support.site import KioskPusher, Site, post, ram_dir

MISSING = object()   # the field left out
RAW = "@@raw@@"      # stands for JSON text json.dumps cannot write (1e309)

# A value that stands for itself in JSON; the labels name them in failure messages.
WRONG = {"null": None, "[]": [], "{}": {}, '["x"]': ["x"], '{"a": 1}': {"a": 1}, "true": True, '""': "",
         "x*10000": "x" * 10000, "10**400": 10 ** 400, "NaN": float("nan"), "Infinity": float("inf"),
         "1e309": RAW, "-1": -1, "0": 0, "missing": MISSING}
NOT_OBJECTS = ["[]", '["x"]', '"text"', "null", "1", "true", "NaN", "{", "", "[" * 100000 + "]" * 100000,
               '{"a": ' * 100000 + "1" + "}" * 100000, "[" * 100000 + "NaN" + "]" * 100000]
# What a form field can carry: text only, but any text, or the field twice, or none.
WRONG_TEXT = {'""': "", "x*10000": "x" * 10000, "NaN": "NaN", "inf": "inf", "1e309": "1e309", "-1": "-1",
              "0": "0", "9*400": "9" * 400, "9*5000": "9" * 5000, "²": "²", "NUL": "a\x00b", "[x]": '["x"]',
              "twice": ["1", "x"], "missing": MISSING}
HUGE_ID = "9" * 30   # a path id far beyond SQLite's integers


def wrong_forms(valid):
    """(field, label, form data): each field of a valid form (and one unexpected field) in
    turn given each wrong text, or left out."""
    for field in [*valid, "unexpected"]:
        for label, value in WRONG_TEXT.items():
            data = {k: v for k, v in valid.items() if k != field}
            if value is not MISSING:
                data[field] = value
            yield field, label, data


def json_text(body):
    text = json.dumps(body)
    return text.replace(json.dumps(RAW), "1e309")


def paths(value, prefix=()):
    """Every place in a body a value sits: keys of objects, indexes of lists, at any depth."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield prefix + (key,)
        yield from paths(child, prefix + (key,))


def valid_at(body, path):
    for key in path:
        body = body[key]
    return body


def replaced(body, path, new):
    """A deep copy of `body` with the value at `path` replaced by `new` (MISSING: left out)."""
    body = json.loads(json.dumps(body))
    *parents, last = path
    holder = body
    for key in parents:
        holder = holder[key]
    if new is MISSING:
        del holder[last]
    else:
        holder[last] = new
    return body


def snapshot(site):
    """SQLite's count of commits by other connections: a refusal leaves it as it was."""
    return site.watch.execute("PRAGMA data_version").fetchone()[0]


# --- the admin: its site and the API ----------------------------------------------------

@pytest.fixture(scope="module")
def cheap_scrypt():
    """scrypt at a low cost in this file only."""
    # Hundreds of log-ins, PINs and passwords are checked here: what is tested is what the
    # forms do with them, not the hash's cost.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("common.hashing._SCRYPT", {"n": 2 ** 4, "r": 8, "p": 1})
        yield


@pytest.fixture(scope="module")
def site(cheap_scrypt):
    with ram_dir() as tmp:
        s = Site(tmp)
        s.ids = {role: s.staff(f"{role}@example.test", role, name=role.title())
                 for role in ("admin", "coordinator", "lifecoach", "physio", "trainer", "doctor")}
        conn = s.conn()
        s.tokens = {role: new_api_token(conn, staff_id) for role, staff_id in s.ids.items()}
        conn.close()
        s.group_id = s.group()
        s.pid = s.participant("Anoeshka", s.group_id, lifecoach_id=s.ids["lifecoach"])
        s.kiosk_id, s.kiosk_token = s.kiosk()
        s.station_id, s.station_token = s._with_request(
            lambda conn: __import__("admin.programme").programme.add_kiosk(conn, "station-1", "Rotterdam-Zuid",
                                                                            "station"))
        s.clients = {}
        s.watch = s.conn()
        yield s
        s.watch.close()


def api(site, role, method, path, text, content_type="application/json"):
    token = site.kiosk_token if role == "kiosk" else site.tokens[role]
    return site.app.test_client().open(f"/api/v1{path}", method=method, data=text, headers=auth(token),
                                       content_type=content_type)


def goal(site):
    r = api(site, "admin", "POST", f"/participants/{site.pid}/goals",
            json_text({"domain": "physical", "text": "de trap op"}))
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()["id"]


def open_case(site):
    conn = site.conn()
    try:
        now = datetime.now(timezone.utc).isoformat()
        return conn.execute("INSERT INTO follow_ups(participant_id, session_date, session_start, lifecoach_id, "
                            "opened_at, updated_at, group_id) VALUES (?, date('now', -(SELECT count(*) FROM "
                            "follow_ups) || ' days'), '09:00', ?, ?, ?, ?)",
                            (site.pid, site.ids["lifecoach"], now, now, site.group_id)).lastrowid
    finally:
        conn.close()


def measurement_id(site):
    site.measurement(site.pid, site.kiosk_id, datetime.now(timezone.utc).isoformat(), {"weight_kg": 80.0})
    return site.sql("SELECT id FROM measurements ORDER BY rowid DESC LIMIT 1")[0]["id"]


def sync_body(site):
    pusher = KioskPusher(None, site.kiosk_token)
    body = pusher._body([{"id": str(uuid.uuid4()), "seq": 1, "kind": "checkin",
                          "wall_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                          "clock_synced": True, "boot_id": pusher.boot_id, "boot_s": 900.0,
                          "badge_uid": "01010501B00A0001", "result": "on_time"}])
    return body


DAY = (date.today() + timedelta(days=3)).isoformat()


def a_session_day(site):
    """A date from tomorrow on (in Amsterdam) when the site's group has its weekly session:
    only a session that is there can be moved."""
    from zoneinfo import ZoneInfo
    weekday = site.sql("SELECT weekday FROM schedule_slots WHERE group_id = ?", site.group_id)[0]["weekday"]
    day = datetime.now(ZoneInfo("Europe/Amsterdam")).date() + timedelta(days=1)
    return (day + timedelta(days=(weekday - day.weekday()) % 7)).isoformat()


GROUP = {"name": "Groep C", "location": "Zuid", "starts_on": "2026-11-02", "weeks": 12, "grace_minutes": 10,
         "sessions": [{"weekday": 2, "start": "09:00", "end": "12:00"}]}

# name: (role, method, path(site, state), body(site, state), success status, setup(site) -> state)
# A field whose wrong value is a valid input (an optional field left out or cleared) is named
# in `accepts` with those values: that answer is a success, checked like the valid body.
API = {
    "create group": dict(role="admin", method="POST", path="/groups", body=lambda s, st: GROUP, ok=201,
                         accepts={("weeks",): {"missing"}, ("grace_minutes",): {"missing", "0"},
                                  ("sessions", 0, "weekday"): {"0"}}),
    "create participant": dict(
        role="admin", method="POST", path="/participants", ok=201,
        body=lambda s, st: {"first_name": "Fatma", "last_name": "Yilmaz", "group_id": s.group_id,
                            "badge_uid": None, "phone": "06-1", "lifecoach_id": s.ids["lifecoach"],
                            "status": "active", "language": "nl", "sex": "female", "birth_date": "1985-03-01"},
        accepts={("badge_uid",): {"null", "missing"}, ("phone",): {"null", "missing"},
                 ("lifecoach_id",): {"null", "missing", '""'}, ("status",): {"missing"},
                 ("language",): {"missing"}, ("sex",): {"null", "missing"}, ("birth_date",): {"null", "missing"}}),
    "assign badge": dict(role="admin", method="PUT", path=lambda s, st: f"/participants/{s.pid}/badge",
                         body=lambda s, st: {"uid": "04497622D93881", "format": None}, ok=200,
                         accepts={("format",): {"null", "missing", '""'}}),
    "add excuse": dict(role="admin", method="POST", path=lambda s, st: f"/participants/{s.pid}/excuses",
                       body=lambda s, st: {"date": DAY, "reason": "tandarts"}, ok=201),
    "invalidate measurement": dict(role="physio", method="POST", setup=measurement_id, once=True,
                                   path=lambda s, st: f"/measurements/{st}/invalidate",
                                   body=lambda s, st: {"reason": "weegschaal stond scheef"}, ok=201),
    "device check": dict(role="physio", method="POST", path="/device-checks", ok=201,
                         body=lambda s, st: {"device_serial": "TAN-7", "kind": "reference_weight",
                                             "checked_on": "2026-11-01", "reference_kg": 20.0, "measured_kg": 20.1,
                                             "note": "ok"},
                         accepts={("note",): {"null", "missing", '""'}}),
    # The whole set: ranges left out (or none at all) are taken away, a valid change.
    "warning ranges": dict(role="physio", method="PUT", path="/warning-ranges", ok=200, refusals={400, 422},
                           body=lambda s, st: {"ranges": {"systolic_mmhg": {"low": 90, "high": 160}}},
                           accepts={("ranges",): {"{}"}, ("ranges", "systolic_mmhg"): {"missing"}}),
    "cancel a group's session": dict(
        role="admin", method="POST", path=lambda s, st: f"/groups/{s.group_id}/cancellations", ok=201,
        body=lambda s, st: {"date": a_session_day(s), "reason": "zaal dicht", "moved_start": "13:00",
                            "moved_end": "14:00"}),
    "cancel a location's sessions": dict(
        role="admin", method="POST", path="/locations/Rotterdam-Zuid/cancellations", ok=201,
        body=lambda s, st: {"date": DAY, "reason": "zaal dicht"}),
    "set a goal": dict(role="admin", method="POST", path=lambda s, st: f"/participants/{s.pid}/goals", ok=201,
                       body=lambda s, st: {"domain": "social", "text": "iemand bellen", "baseline": -1,
                                           "levels": {"-2": "nooit", "2": "elke dag"}},
                       accepts={("baseline",): {"missing", "-1", "0"}, ("levels",): {"missing", "{}"},
                                ("levels", "-2"): {"missing", '""'}, ("levels", "2"): {"missing", '""'}}),
    "adjust a goal": dict(role="admin", method="PUT", setup=goal, path=lambda s, st: f"/goals/{st}", ok=200,
                          body=lambda s, st: {"text": "twee keer per week bellen"}),
    "score a week": dict(role="admin", method="PUT", setup=goal, path=lambda s, st: f"/goals/{st}/evaluations/3",
                         ok=200, body=lambda s, st: {"score": 1, "note": "beter"},
                         accepts={("score",): {"-1", "0"}, ("note",): {"missing", '""'}}),
    "screening": dict(role="admin", method="POST", path=lambda s, st: f"/participants/{s.pid}/screening", ok=201,
                      body=lambda s, st: {"date": "2026-11-02", "decision": "not_eligible", "reason": "eerst zorg",
                                          "referred_to": "huisarts"},
                      accepts={("referred_to",): {"missing", '""'}}),
    "load tests": dict(role="physio", method="POST", path=lambda s, st: f"/participants/{s.pid}/load-tests",
                       ok=201, body=lambda s, st: {"moment": "intake", "date": "2026-09-01", "walk_6min_m": 410,
                                                   "chair_stands_30s": 9, "grip_left_kg": 24.5, "grip_right_kg": 27,
                                                   "load_capacity": "moderate", "note": "goed"},
                       accepts={(k,): {"null", "missing", "0"} for k in ("chair_stands_30s", "grip_left_kg",
                                                                          "grip_right_kg")}
                       | {("walk_6min_m",): {"null", "missing"}, ("load_capacity",): {"null", "missing"},
                          ("note",): {"missing", '""'}}),
    "placement": dict(role="admin", method="POST", path=lambda s, st: f"/participants/{s.pid}/placements", ok=201,
                      body=lambda s, st: {"kind": "volunteer", "starts_on": "2027-03-01", "ends_on": "2027-06-01",
                                          "hours_per_week": 8},
                      accepts={("ends_on",): {"null", "missing"}, ("hours_per_week",): {"null", "missing", "0"}}),
    "ladder": dict(role="admin", method="POST", path=lambda s, st: f"/participants/{s.pid}/ladder", ok=201,
                   body=lambda s, st: {"moment": "m3", "rung": 4}),
    "follow-up case": dict(role="admin", method="PATCH", setup=open_case, path=lambda s, st: f"/follow-ups/{st}",
                           ok=200, body=lambda s, st: {"contacted": "reached", "excused": False,
                                                       "reason": "verslapen", "note": "belt terug",
                                                       "next_step": "volgende week"},
                           accepts={("contacted",): {"null", "missing", '""'},
                                    ("excused",): {"null", "missing", "true"},
                                    **{(k,): {"missing", '""', "null"} for k in ("reason", "note", "next_step")}}),
    # The audit log keeps the first 200 characters of the reason.
    "erase": dict(role="admin", method="POST", once=True, setup=lambda s: s.participant("Wim", s.group_id),
                  path=lambda s, st: f"/participants/{st}/erase", ok=200, body=lambda s, st: {"reason": "verzoek"},
                  accepts={("reason",): {"x*10000"}}),
    # A heartbeat is written whenever a push is taken; "role" and captured_through's clock are
    # ignored, captured_through is optional, no records is a heartbeat.
    "kiosk push": dict(role="kiosk", method="POST", path="/sync/push", ok=200, body=lambda s, st: sync_body(s),
                       accepts={("role",): set(WRONG), ("captured_through",): {"null", "missing"},
                                ("captured_through", "clock"): set(WRONG), ("records",): {"[]"},
                                ("records", 0): {"missing"}, ("boot_s",): {"0"},
                                ("captured_through", "boot_s"): {"0"}, ("records", 0, "boot_s"): {"0"}}),
}


class Raised:
    """What a request that raised answers in production: a 500."""

    status_code = 500

    def __init__(self, exc):
        self.text = f"raised {exc!r}"[:300]

    def get_data(self, as_text=True):
        return self.text

    def get_json(self, silent=True):
        return None


def call_api(site, spec, state, text, content_type="application/json"):
    path = spec["path"](site, state) if callable(spec["path"]) else spec["path"]
    try:
        return api(site, spec["role"], spec["method"], path, text, content_type)
    except Exception as exc:  # noqa: BLE001 (the test client passes the app's exceptions on)
        return Raised(exc)


def problems_of(response, before, site, refusals):
    """What is wrong with the answer to a body that must be refused."""
    status = response.status_code
    if status not in refusals:
        return f"answered {status}: {response.get_data(as_text=True)[:200]}"
    body = response.get_json(silent=True)
    if not (isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]):
        return f"no JSON error: {response.get_data(as_text=True)[:200]}"
    if snapshot(site) != before:
        return "wrote to the database"
    return None


@pytest.mark.parametrize("name", API)
def test_an_api_endpoint_refuses_wrong_values_with_a_json_4xx_and_writes_nothing(site, name):
    spec = API[name]
    refusals = spec.get("refusals", {400})
    state = spec["setup"](site) if "setup" in spec else None
    valid = spec["body"](site, state)
    if not spec.get("once"):
        r = call_api(site, spec, state, json_text(valid))
        assert r.status_code == spec["ok"], r.get_data(as_text=True)
    failures = []
    for text in NOT_OBJECTS:
        before = snapshot(site)
        problem = problems_of(call_api(site, spec, state, text), before, site, refusals)
        if problem:
            failures.append(f"body {text[:40]!r}: {problem}")
    for what, text, content_type, statuses in (
            ("the valid body as text/plain", json_text(valid), "text/plain", refusals | {415}),
            ("a body over 2 MB", json_text({**valid, "pad": "x" * (3 * 1024 * 1024)}), "application/json", {413})):
        before = snapshot(site)
        problem = problems_of(call_api(site, spec, state, text, content_type), before, site, statuses)
        if problem:
            failures.append(f"{what}: {problem}")
    for path in paths(valid):
        for label, value in WRONG.items():
            body = replaced(valid, path, value)
            if body == replaced(valid, path, valid_at(valid, path)):
                continue  # the valid value itself (0 where 0 is given)
            before = snapshot(site)
            r = call_api(site, spec, state, json_text(body))
            if label in spec.get("accepts", {}).get(path, ()):
                if r.status_code >= 500:
                    failures.append(f"{'.'.join(map(str, path))} = {label}: {r.get_data(as_text=True)[:200]}")
                elif spec.get("once") and r.status_code < 300:
                    state = spec["setup"](site)  # that one is done: a fresh one for the next body
                continue
            problem = problems_of(r, before, site, refusals)
            if problem:
                failures.append(f"{'.'.join(map(str, path))} = {label}: {problem}")
    before = snapshot(site)
    r = call_api(site, spec, state, json_text({**valid, "unexpected": ["x"]}))
    if r.status_code >= 500 or (r.status_code >= 400 and problems_of(r, before, site, refusals)):
        failures.append(f"an unknown key: answered {r.status_code}")
    if spec.get("once") and r.status_code < 300:
        state = spec["setup"](site)
    r = call_api(site, spec, state, json_text(valid))
    if r.status_code != spec["ok"]:  # the same state still takes the valid body
        failures.append(f"the valid body at the end: answered {r.status_code}: {r.get_data(as_text=True)[:200]}")
    assert not failures, "\n".join(failures)


# --- the staff site's forms ----------------------------------------------------------------

def logged_in(site, role):
    if role not in site.clients:
        site.clients[role] = site.login(f"{role}@example.test")
    return site.clients[role]


def fresh_staff(site):
    return site.staff(f"{uuid.uuid4().hex[:8]}@example.test", "trainer", name="Nieuw")


SCREENING_FORM = {"date": "2026-11-02", "decision": "not_eligible", "reason": "eerst zorg", "referred_to": "huisarts"}
LOAD_TEST_FORM = {"moment": "intake", "date": "2026-09-01", "walk_6min_m": "410", "chair_stands_30s": "9",
                  "grip_left_kg": "24.5", "grip_right_kg": "27", "load_capacity": "moderate", "note": "goed"}
GROUP_FORM = {"name": "Groep D", "location": "Zuid", "starts_on": "2026-11-02", "weeks": "12", "grace_minutes": "10",
              "weekday": "2", "start": "09:00", "end": "12:00"}
PERSON_FORM = {"first_name": "Fatma", "last_name": "Yilmaz", "phone": "06-1", "status": "active", "language": "nl",
               "sex": "female", "birth_date": "1985-03-01"}

# name: (role, path(site, state), data(site, state), setup(site) -> state). A form answers a
# success, or a refusal (400/422, the page with the message) that writes nothing; never a 500.
FORMS = {
    "account": dict(role="coordinator", path="/account", data=lambda s, st: {"phone": "010-1", "notify_email": "1"}),
    "account password": dict(role="coordinator", path="/account/password",
                             data=lambda s, st: {"current_password": PASSWORD, "new_password": PASSWORD,
                                                 "repeat_password": PASSWORD}),
    "account pin": dict(role="physio", path="/account/pin",
                        data=lambda s, st: {"current_password": PASSWORD, "pin": "2468", "repeat_pin": "2468"}),
    "excuse": dict(role="admin", path="/excuses",
                   data=lambda s, st: {"participant_id": str(s.pid), "date": DAY, "reason": "tandarts"}),
    "calendar": dict(role="admin", path="/calendar",
                     data=lambda s, st: {"target": f"group:{s.group_id}", "date": a_session_day(s), "reason": "zaal dicht",
                                         "moved_to": (date.fromisoformat(a_session_day(s)) + timedelta(days=1)).isoformat(),
                                         "moved_start": "", "moved_end": ""}),
    "follow-up case": dict(role="admin", setup=open_case, path=lambda s, st: f"/follow-ups/{st}",
                           data=lambda s, st: {"contacted": "reached", "excused": "no", "reason": "verslapen",
                                               "note": "belt terug", "next_step": "volgende week"}),
    "score a week": dict(role="trainer", setup=goal, path=lambda s, st: f"/goals/{st}/weeks/3",
                         data=lambda s, st: {"score": "1", "note": "beter"}),
    "device check": dict(role="physio", path="/intake/device-checks",
                         data=lambda s, st: {"device_serial": "TAN-7", "kind": "reference_weight",
                                             "checked_on": "2026-11-01", "reference_kg": "20.0",
                                             "measured_kg": "20.1", "note": "ok"}),
    "warning ranges": dict(role="physio", path="/intake/warning-ranges",
                           data=lambda s, st: {"low_systolic_mmhg": "90", "high_systolic_mmhg": "160,5"}),
    "invalidate measurement": dict(role="physio", setup=measurement_id,
                                   path=lambda s, st: f"/participants/{s.pid}/measurements/{st}/invalidate",
                                   data=lambda s, st: {"reason": "weegschaal stond scheef"}),
    # A failed log-in is counted (401), and after a few the address waits (429), the valid one too.
    "log in": dict(role=None, path="/login", refusals={401, 429}, writes=True, end_valid=False,
                   data=lambda s, st: {"email": "trainer@example.test", "password": PASSWORD}),
    "create group": dict(role="admin", path="/groups", data=lambda s, st: GROUP_FORM),
    "edit group": dict(role="admin", path=lambda s, st: f"/groups/{s.group_id}",
                       data=lambda s, st: {**GROUP_FORM, "name": "Groep B", "location": "Rotterdam-Zuid"}),
    "assign a badge": dict(role="admin", path="/badges/assign",
                           data=lambda s, st: {"participant_id": str(s.pid), "uid": "04497622D93881", "format": ""}),
    "add a kiosk": dict(role="admin", path="/kiosks",
                        data=lambda s, st: {"name": f"kiosk-{uuid.uuid4().hex[:6]}", "location": "Zuid",
                                            "role": "checkin"}),
    "add a staff member": dict(role="admin", path="/staff",
                               data=lambda s, st: {"email": f"{uuid.uuid4().hex[:8]}@example.test", "name": "Nieuw",
                                                   "phone": "010-2", "role": "trainer", "password": PASSWORD}),
    "change a staff member": dict(role="admin", setup=fresh_staff, path=lambda s, st: f"/staff/{st}",
                                  data=lambda s, st: {"name": "Nieuw", "phone": "010-3", "role": "trainer",
                                                      "active": "1", "password": ""}),
    "handover": dict(role="trainer", path=lambda s, st: f"/participants/{s.pid}/handover",
                     data=lambda s, st: {"note": "Heeft veel zelfvertrouwen gekregen."}),
    **{f"programme: {form}": dict(role="admin", path=lambda s, st, form=form: f"/participants/{s.pid}/programme/{form}",
                                  data=lambda s, st, body=body: body)
       for form, body in (("screening", SCREENING_FORM), ("load-tests", LOAD_TEST_FORM),
                          ("placements", {"kind": "volunteer", "starts_on": "2027-03-01", "ends_on": "2027-06-01",
                                          "hours_per_week": "8"}),
                          ("ladder", {"moment": "m3", "rung": "4"}))},
    "search participants": dict(role="admin", path="/participants/search",
                                data=lambda s, st: {"group_id": str(s.group_id), "q": "Anoe"}),
    "change a participant": dict(role="admin", path=lambda s, st: f"/participants/{s.pid}",
                                 data=lambda s, st: {**PERSON_FORM, "first_name": "Anoeshka", "last_name": "Test",
                                                     "group_id": str(s.group_id),
                                                     "lifecoach_id": str(s.ids["lifecoach"])}),
    "a participant's badge": dict(role="admin", path=lambda s, st: f"/participants/{s.pid}/badge",
                                  data=lambda s, st: {"uid": "04497622D93881"}),
    "a participant's excuse": dict(role="admin", path=lambda s, st: f"/participants/{s.pid}/excuses",
                                   data=lambda s, st: {"date": DAY, "reason": "tandarts"}),
    "enrol a participant": dict(role="admin", path="/participants",
                                data=lambda s, st: {**PERSON_FORM, "group_id": str(s.group_id),
                                                    "lifecoach_id": str(s.ids["lifecoach"]), "badge_uid": ""}),
    "legal hold": dict(role="admin", setup=lambda s: s.participant("Kees", s.group_id),
                       path=lambda s, st: f"/participants/{st}/legal-hold", data=lambda s, st: {"reason": "rechtszaak"}),
    "erase": dict(role="admin", once=True, setup=lambda s: s.participant("Wim", s.group_id),
                  path=lambda s, st: f"/participants/{st}/erase",
                  data=lambda s, st: {"confirm": str(st), "reason": "verzoek"}),
}
FORM_REFUSALS = {400, 403, 404, 409, 413, 422}


def call_form(site, spec, state, data):
    path = spec["path"](site, state) if callable(spec["path"]) else spec["path"]
    try:
        if spec["role"] is None:
            return site.app.test_client().post(path, data=data)
        return post(logged_in(site, spec["role"]), path, data)
    except Exception as exc:  # noqa: BLE001 (the test client passes the app's exceptions on)
        return Raised(exc)


@pytest.mark.parametrize("name", FORMS)
def test_a_staff_form_refuses_wrong_values_with_a_page_never_a_500(site, name):
    spec = FORMS[name]
    state = spec["setup"](site) if "setup" in spec else None
    if not spec.get("once"):
        r = call_form(site, spec, state, spec["data"](site, state))
        assert r.status_code in (200, 302, 303), r.get_data(as_text=True)[:300]
        assert 'class="error' not in r.get_data(as_text=True) and "field-error" not in r.get_data(as_text=True)
    valid = spec["data"](site, state)
    refusals = FORM_REFUSALS | spec.get("refusals", set())
    failures = []
    for field, label, data in wrong_forms(valid):
        before = snapshot(site)
        r = call_form(site, spec, state, data)
        where = f"{field} = {label}"
        if r.status_code >= 500 or r.status_code not in refusals | {200, 302, 303}:
            failures.append(f"{where}: answered {r.status_code}: {r.get_data(as_text=True)[:200]!r}")
        elif r.status_code in refusals and not spec.get("writes") and snapshot(site) != before:
            failures.append(f"{where}: refused with {r.status_code} but wrote to the database")
        elif r.status_code in refusals and not r.get_data(as_text=True).strip():
            failures.append(f"{where}: refused with {r.status_code} and an empty page")
        elif spec.get("once") and r.status_code < 400:
            state = spec["setup"](site)
    r = call_form(site, spec, state, spec["data"](site, state))
    if spec.get("end_valid", True) and r.status_code not in (200, 302, 303):
        failures.append(f"the valid form at the end: answered {r.status_code}")
    assert not failures, "\n".join(failures)


# --- query parameters and ids in the path -------------------------------------------------

# (role, URL with {} for the value): the API's answer to a wrong value is a JSON 4xx.
API_QUERIES = [
    ("admin", "/attendance?date={}"), ("admin", "/attendance?group_id={}"), ("admin", "/checkins?date={}"),
    ("admin", "/audit?participant_id={}"), ("admin", "/reports/outcomes?from={}"),
    ("admin", "/reports/outcomes?to={}"), ("admin", "/reports/outcomes?group_id={}"),
    ("admin", "/reports/outcomes?location={}"), ("admin", "/follow-ups?status={}"), ("kiosk", "/sync/roster?since={}"),
]
SITE_QUERIES = [
    ("admin", "/audit?participant_id={}"), ("admin", "/audit?before={}"), ("coordinator", "/board?v={}"),
    ("admin", "/follow-ups?view={}"), ("trainer", "/groups/{group}/goals?week={}"),
    ("admin", "/reports/outcomes?from={}"), ("admin", "/reports/outcomes?group_id={}"),
    ("admin", "/reports/outcomes?format={}"), ("admin", "/participants?group_id={}"),
    ("admin", "/participants/new?group_id={}"), ("admin", "/participants/{pid}/export?format={}"),
]
QUERY_VALUES = {label: value for label, value in WRONG_TEXT.items() if isinstance(value, str)}


def test_a_wrong_query_parameter_gets_a_4xx_never_a_500(site):
    from urllib.parse import quote
    failures = []
    for role, url in API_QUERIES:
        for label, value in QUERY_VALUES.items():
            path = url.format(quote(value))
            r = call_api(site, {"role": role, "method": "GET", "path": path}, None, None)
            body = r.get_json(silent=True)
            if r.status_code >= 500 or (r.status_code >= 400 and not (isinstance(body, dict) and body.get("error"))):
                failures.append(f"GET /api/v1{url} with {label}: {r.status_code} {r.get_data(as_text=True)[:150]!r}")
    for role, url in SITE_QUERIES:
        for label, value in QUERY_VALUES.items():
            path = url.replace("{group}", str(site.group_id)).replace("{pid}", str(site.pid)).format(quote(value))
            try:
                status = logged_in(site, role).get(path).status_code
            except Exception as exc:  # noqa: BLE001
                status = f"raised {exc!r}"[:150]
            if not isinstance(status, int) or status >= 500:
                failures.append(f"GET {url} with {label}: {status}")
    assert not failures, "\n".join(failures)


# A path id beyond SQLite's integers names nothing: 404, not an OverflowError.
API_PATHS = [("admin", "GET", "/participants/{}"), ("admin", "GET", "/participants/{}/measurements"),
             ("admin", "GET", "/participants/{}/progress"), ("admin", "GET", "/groups/{}/gaps"),
             ("admin", "GET", "/participants/{}/goals"), ("admin", "GET", "/follow-ups/{}"),
             ("admin", "GET", "/participants/{}/export"), ("admin", "PUT", "/participants/{}/badge"),
             ("admin", "POST", "/participants/{}/excuses"), ("admin", "PUT", "/goals/{}"),
             ("admin", "PUT", "/goals/1/evaluations/{}"), ("admin", "POST", "/groups/{}/cancellations"),
             ("admin", "PATCH", "/follow-ups/{}"), ("admin", "POST", "/participants/{}/erase"),
             ("admin", "POST", "/participants/{}/ladder"), ("admin", "POST", "/participants/{}/goals")]
SITE_PATHS = ["/participants/{}", "/groups/{}", "/follow-ups/{}", "/participants/{}/programme",
              "/participants/{}/handover", "/participants/{}/privacy", "/participants/{}/measurements.csv",
              "/groups/{}/attendance.csv", "/groups/{}/goals"]


def test_an_id_beyond_sqlites_integers_is_not_found(site):
    failures = []
    for role, method, url in API_PATHS:
        for number in (HUGE_ID, "-" + HUGE_ID):
            r = call_api(site, {"role": role, "method": method, "path": url.format(number)}, None, "{}")
            if r.status_code not in (400, 404, 405):
                failures.append(f"{method} /api/v1{url} with {number}: {r.status_code} {r.get_data(as_text=True)[:150]!r}")
    for url in SITE_PATHS:
        try:
            status = logged_in(site, "admin").get(url.format(HUGE_ID)).status_code
        except Exception as exc:  # noqa: BLE001
            status = f"raised {exc!r}"[:150]
        if status != 404:
            failures.append(f"GET {url} with {HUGE_ID}: {status}")
    assert not failures, "\n".join(failures)


# --- the intake station's form posts --------------------------------------------------------

PHYSIO_BADGE = "0102030405060AAA"
NO = {"ci_implant": "no", "ci_pregnant": "no", "ci_arm_right": "no", "ci_arm_left": "no"}
STATION_FORMS = {
    "pin": {"pin": "2468"},
    "find": {"first_name": "Fat"},
    "select": {"participant_id": "1"},
    "command": {"instrument": "scale", **NO, "height_cm": "164", "tare_kg": "0.5", "body_type": "standard"},
    "series": {"bp_arm": "right", "bp_cuff": "M", **NO},
    "save": {**NO, "moment": "intake", "scale_manual": "1", "scale_weight_kg": "80.1", "scale_fat_pct": "25",
             "scale_reason": "weegschaal defect", "bp_manual": "1", "bp_systolic_mmhg": "120",
             "bp_diastolic_mmhg": "80", "bp_pulse_bpm": "70", "bp_reason": "monitor defect", "bp_arm": "right",
             "height_cm": "170", "confirm": "1"},
    "lock": {},
}


@pytest.fixture(scope="module")
def station_app(cheap_scrypt):
    """A station with a physio's badge and PIN, and Fatma on its roster; instruments configured."""
    from common.hashing import hash_secret
    from kiosk import create_app, store
    with ram_dir() as tmp:
        app = create_app({"KIOSK_DB": str(tmp / "kiosk.sqlite"), "KIOSK_ROLE": "station", "TESTING": True,
                          "KIOSK_SCALE": f"tanita {tmp / 'ttyScale'}", "KIOSK_BP": f"omron-hbp9030 {tmp / 'ttyBP'}"})
        conn = store.open_db(tmp / "kiosk.sqlite")
        conn.execute("INSERT INTO roster_badges(uid, staff_id, staff_role, pin_hash) VALUES (?, 7, 'physio', ?)",
                     (PHYSIO_BADGE, hash_secret("2468")))
        conn.execute("INSERT INTO roster_people(participant_id, first_name, group_id, sex, birth_year) "
                     "VALUES (1, 'Fatma', 1, 'female', 1985)")
        yield app, conn
        conn.close()


def station_ready(conn, name):
    """Unlocked with Fatma picked; for the PIN form, the badge just tapped."""
    from kiosk import station
    conn.execute("DELETE FROM pin_failures")
    conn.execute("DELETE FROM bp_series")
    station.tap(conn, PHYSIO_BADGE, 300)
    if name != "pin":
        station.enter_pin(conn, "2468", 300)
        station.select(conn, 1, 300)


@pytest.mark.parametrize("name", STATION_FORMS)
def test_a_station_form_answers_wrong_values_with_its_panel_never_a_500(station_app, name):
    app, conn = station_app
    client = app.test_client()
    htmx = {"HX-Request": "true"}
    valid = STATION_FORMS[name]
    station_ready(conn, name)
    r = client.post(f"/station/{name}", data=valid, headers=htmx)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'class="error' not in page and "field-error" not in page, page[:300]
    outbox = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    failures = []
    for field, label, data in wrong_forms(valid):
        station_ready(conn, name)
        try:
            r = client.post(f"/station/{name}", data=data, headers=htmx)
            status, text = r.status_code, r.get_data(as_text=True)
        except Exception as exc:  # noqa: BLE001 (the test client passes the app's exceptions on)
            status, text = 500, f"raised {exc!r}"
        if status not in (200, 400, 403, 409) or not text.strip():
            failures.append(f"{field} = {label}: {status} {text[:150]!r}")
        saved = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        if saved != outbox and ("error" in text or status != 200):
            failures.append(f"{field} = {label}: refused, but a measurement went into the outbox")
        outbox = saved
    assert not failures, "\n".join(failures)
