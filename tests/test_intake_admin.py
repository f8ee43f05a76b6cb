"""The physio team's side of intake measurements: what a station sends (screening, skipped
instruments, a blood-pressure series) is validated strictly and stored; what is done and
what is left per participant and per group; invalidating without deleting; device checks
reach the station's roster, and no check-in kiosk ever gets any of it."""
import uuid
from datetime import datetime, timezone

import pytest

from tests.support.live import auth
from tests.support.site import Site, post, ram_dir

SERIES = {"readings": 3, "averaged": 2, "interval_s": 60, "rest_s": 300, "arm": "left", "cuff": "M"}
READINGS = [{"at": f"2026-11-09T08:0{i}:00+00:00", "arm": "left", "cuff": "M", "counted": i > 0,
             "systolic_mmhg": s, "diastolic_mmhg": d, "pulse_bpm": p, "flags": {"body_movement": i == 2}}
            for i, (s, d, p) in enumerate(((150, 95, 90), (131, 85, 75), (126, 82, 72)))]


@pytest.fixture
def site():
    with ram_dir() as path:
        s = Site(path)
        s.admin = s.staff("beheer@example.test", "admin")
        s.physio = s.staff("fysio@example.test", "physio", name="Fenna Bakker")
        s.coach = s.staff("coach@example.test", "lifecoach")
        s.group_id = s.group()
        s.fatma = s.participant("Fatma", s.group_id)
        s.omar = s.participant("Omar", s.group_id)
        s.station_id, s.station_token = s._with_request(
            lambda conn: __import__("admin.programme").programme.add_kiosk(conn, "station-1", "Rotterdam-Zuid",
                                                                            "station"))
        s.checkin_id, s.checkin_token = s.kiosk()
        yield s


def token(site, email):
    result = site.app.test_cli_runner().invoke(args=["create-token", email])
    return result.output.strip().splitlines()[-1]


def push(site, records, kiosk_token=None):
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    body = {"generation": "gen-1", "boot_id": "boot-1", "boot_s": 500.0, "clock": now, "clock_synced": True,
            "pending": 0, "records": records}
    return site.app.test_client().post("/api/v1/sync/push", json=body, headers=auth(kiosk_token or site.station_token))


def measurement(site, seq, participant_id, moment="intake", values=None, sources=None, **details):
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return {"id": str(uuid.uuid4()), "seq": seq, "kind": "measurement", "wall_at": now, "clock_synced": True,
            "boot_id": "boot-1", "boot_s": 400.0, "participant_id": participant_id, "moment": moment,
            "taken_by": site.physio, "values": {} if values is None else values,
            "sources": sources or {}, **details}


def test_a_series_with_its_readings_screening_and_skips_is_stored_and_shown(site):
    record = measurement(site, 1, site.fatma, values={"systolic_mmhg": 128.5, "diastolic_mmhg": 83.5,
                                                      "pulse_bpm": 73.5},
                         sources={"bp": {"driver": "omron-hbp9030", "device_serial": "OM-1", "series": SERIES,
                                         "arm": "left", "device_check": {"kind": "validation",
                                                                         "checked_on": "2026-10-01", "passed": True,
                                                                         "overdue": False}}},
                         screening={"scale": {"answers": {"implant": "yes", "pregnant": "no"}},
                                    "bp": {"answers": {"arm_right": "yes", "arm_left": "no"}, "observed": "shunt rechts"}},
                         skipped={"scale": {"reason": "contra-indicatie", "contraindicated": ["implant"]}},
                         bp_readings=READINGS)
    r = push(site, [record])
    assert r.status_code == 200, r.json
    physio = token(site, "fysio@example.test")
    client = site.app.test_client()
    (m,) = client.get(f"/api/v1/participants/{site.fatma}/measurements", headers=auth(physio)).json["measurements"]
    assert m["bp_readings"] == READINGS and m["skipped"]["scale"]["contraindicated"] == ["implant"]
    assert m["screening"]["bp"]["observed"] == "shunt rechts" and m["invalidated"] is None
    progress = client.get(f"/api/v1/participants/{site.fatma}/progress", headers=auth(physio)).json["progress"]
    assert progress["intake"] == {"scale": "contraindicated", "bp": "done"}
    assert progress["week6"] == {"scale": "todo", "bp": "todo"}
    page = site.login("fysio@example.test").get(f"/participants/{site.fatma}").get_data(as_text=True)
    assert "bloeddrukserie" in page and "(beweging)" in page and "(telt niet)" in page and "implant" in page


@pytest.mark.parametrize("change, message", [
    ({"screening": {"scale": {"answers": {"implant": "maybe"}}}}, "unknown question or answer"),
    ({"screening": {"scale": {"answers": {"tattoo": "no"}}}}, "unknown question or answer"),
    ({"screening": {"fridge": {}}}, "per instrument"),
    ({"skipped": {"bp": {"reason": ""}}}, "needs a reason"),
    ({"skipped": {"bp": {"reason": "x", "contraindicated": ["implant"]}}}, "unknown contraindication"),
    ({"bp_readings": [{**READINGS[0], "arm": "tail"}]}, "arm, cuff"),
    ({"bp_readings": [{**READINGS[0], "systolic_mmhg": 999}]}, "systolic_mmhg"),
    ({"bp_readings": [{**READINGS[0], "name": "Fatma"}]}, "only"),
    ({"bp_readings": [READINGS[0]] * 13}, "at most 12"),
    ({"confirmed": ["iq"]}, "measurement fields"),
    ({"sources": {"bp": {"series": {**SERIES, "averaged": 4}}}}, "averaged"),
    ({"sources": {"bp": {"arm": "tail"}}}, "'arm'"),
    ({"sources": {"bp": {"device_check": {"kind": "vibes", "passed": True, "checked_on": "2026-01-01"}}}},
     "device_check"),
    ({"values": {}}, "needs values"),
])
def test_what_a_station_sends_of_how_it_measured_is_checked_strictly(site, change, message):
    record = {**measurement(site, 1, site.fatma, values={"weight_kg": 80.0}), **change}
    r = push(site, [record])
    assert r.status_code == 400 and message in r.json["error"], r.json
    assert site.sql("SELECT count(*) AS n FROM measurements") == [{"n": 0}]


def test_a_group_shows_who_still_lacks_what_per_moment(site):
    push(site, [measurement(site, 1, site.fatma, values={"weight_kg": 80.0}, sources={"scale": {"driver": "tanita"}},
                            skipped={"bp": {"reason": "deelnemer wil niet"}}),
                measurement(site, 2, site.omar, moment="week6", values={"weight_kg": 90.0, "systolic_mmhg": 120,
                                                                        "diastolic_mmhg": 80},
                            sources={"scale": {"driver": "tanita"}, "bp": {"manual": True, "reason": "x"}})])
    physio = token(site, "fysio@example.test")
    gaps = site.app.test_client().get(f"/api/v1/groups/{site.group_id}/gaps", headers=auth(physio)).json["gaps"]
    assert gaps["intake"] == {"scale": ["Omar"], "bp": ["Omar"]}  # Fatma's blood pressure: skipped with a reason
    assert gaps["week6"] == {"scale": ["Fatma"], "bp": ["Fatma"]}
    page = site.login("fysio@example.test").get("/intake").get_data(as_text=True)
    assert "Week 6: 1 persoon zonder bloeddruk" in page and "Intake: 1 persoon zonder weegschaal" in page


def test_an_invalidated_measurement_stays_stored_and_counts_no_more(site):
    record = measurement(site, 1, site.fatma, values={"weight_kg": 80.0}, sources={"scale": {"driver": "tanita"}},
                         skipped={"bp": {"reason": "x"}})
    push(site, [record])
    physio, coach = token(site, "fysio@example.test"), token(site, "coach@example.test")
    client = site.app.test_client()
    url = f"/api/v1/measurements/{record['id']}/invalidate"
    assert client.post(url, json={"reason": "weegschaal stond scheef"}, headers=auth(coach)).status_code == 403
    assert client.post(url, json={"reason": " "}, headers=auth(physio)).status_code == 400
    assert client.post(url, json={"reason": "weegschaal stond scheef"}, headers=auth(physio)).status_code == 201
    assert client.post(url, json={"reason": "nog eens"}, headers=auth(physio)).status_code == 400
    assert client.post("/api/v1/measurements/nope/invalidate", json={"reason": "x"},
                       headers=auth(physio)).status_code == 404
    (m,) = client.get(f"/api/v1/participants/{site.fatma}/measurements", headers=auth(physio)).json["measurements"]
    assert m["weight_kg"] == 80.0 and m["invalidated"]["reason"] == "weegschaal stond scheef"
    progress = client.get(f"/api/v1/participants/{site.fatma}/progress", headers=auth(physio)).json["progress"]
    assert progress["intake"] == {"scale": "todo", "bp": "todo"}
    assert site.sql("SELECT action, what FROM audit_log WHERE what = 'measurement invalidated'")


def test_the_staff_site_invalidates_with_a_reason(site):
    record = measurement(site, 1, site.fatma, values={"weight_kg": 80.0}, sources={"scale": {"driver": "tanita"}},
                         skipped={"bp": {"reason": "x"}})
    push(site, [record])
    physio = site.login("fysio@example.test")
    r = post(physio, f"/participants/{site.fatma}/measurements/{record['id']}/invalidate", {"reason": "verkeerde persoon"})
    assert r.status_code == 303
    page = physio.get(f"/participants/{site.fatma}").get_data(as_text=True)
    assert 'class="invalidated"' in page and "verkeerde persoon" in page


def test_device_checks_are_logged_validated_and_reach_only_a_station(site):
    physio = token(site, "fysio@example.test")
    client = site.app.test_client()
    r = client.post("/api/v1/device-checks", json={"device_serial": "TAN-7", "kind": "reference_weight",
                                                   "checked_on": "2026-11-01", "reference_kg": 20.0,
                                                   "measured_kg": 20.4}, headers=auth(physio))
    assert r.status_code == 201
    for bad, message in (({"kind": "vibes"}, "kind"), ({"checked_on": "2999-01-01"}, "future"),
                         ({"measured_kg": None}, "measured_kg"), ({"device_serial": ""}, "device_serial")):
        body = {"device_serial": "TAN-7", "kind": "reference_weight", "checked_on": "2026-11-01",
                "reference_kg": 20.0, "measured_kg": 20.1, **bad}
        r = client.post("/api/v1/device-checks", json=body, headers=auth(physio))
        assert r.status_code == 400 and message in r.json["error"]
    client.post("/api/v1/device-checks", json={"device_serial": "OM-1", "kind": "validation",
                                               "checked_on": "2026-06-01"}, headers=auth(physio))
    (check, _) = client.get("/api/v1/device-checks", headers=auth(physio)).json["checks"]
    assert check["device_serial"] == "TAN-7" and check["passed"] == 0  # 0.4 kg off a 20 kg reference
    station = client.get("/api/v1/sync/roster?since=0", headers=auth(site.station_token)).json
    assert station["device_checks"] == [
        {"device_serial": "OM-1", "kind": "validation", "checked_on": "2026-06-01", "passed": 1},
        {"device_serial": "TAN-7", "kind": "reference_weight", "checked_on": "2026-11-01", "passed": 0}]
    checkin = client.get("/api/v1/sync/roster?since=0", headers=auth(site.checkin_token)).json
    assert "device_checks" not in checkin and "station" not in str(checkin["people"])


def test_a_station_learns_what_is_done_and_the_standing_answers(site):
    push(site, [measurement(site, 1, site.fatma, values={"weight_kg": 80.0}, sources={"scale": {"driver": "tanita"}},
                            screening={"scale": {"answers": {"implant": "unknown", "pregnant": "no"}}},
                            skipped={"bp": {"reason": "tijd"}})])
    client = site.app.test_client()
    people = {p["participant_id"]: p for p in
              client.get("/api/v1/sync/roster?since=0", headers=auth(site.station_token)).json["people"]}
    assert people[site.fatma]["station"] == {
        "measured": {"intake": {"scale": "done", "bp": "skipped"}, "week6": {"scale": "todo", "bp": "todo"},
                     "week12": {"scale": "todo", "bp": "todo"}},
        "standing": ["implant"]}
    assert people[site.omar]["station"]["standing"] == []


def test_a_check_in_kiosk_may_not_send_a_measurement_and_stores_nothing(site):
    r = push(site, [measurement(site, 1, site.fatma, values={"weight_kg": 80.0})], site.checkin_token)
    assert r.status_code == 403
    assert site.sql("SELECT count(*) AS n FROM measurements") == [{"n": 0}]
