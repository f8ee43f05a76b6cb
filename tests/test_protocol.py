"""The sync protocol's checks (common.protocol), one field at a time and at each limit:
what a valid push becomes, and the exact reason a wrong one is refused."""
import uuid
from datetime import datetime, timezone

import pytest

from common.protocol import MAX_RECORDS_PER_PUSH, ProtocolError, parse_push

ID = str(uuid.uuid4())


def checkin(**change):
    return {"id": ID, "seq": 1, "kind": "checkin", "badge_uid": "01010501b00a0001", "result": "late",
            "wall_at": "2026-11-09T08:02:00.250Z", "clock_synced": False, "boot_id": "boot-1", "boot_s": 100, **change}


def measurement(**change):
    record = checkin(kind="measurement", participant_id=7, moment="week6", values={"weight_kg": 80.5, "pulse_bpm": 61},
                     sources={"scale": {"driver": "tanita"}}, taken_by=3)
    return {k: v for k, v in {**record, **change}.items() if k not in ("badge_uid", "result")}


def body(records=(), **change):
    return {"generation": "gen-1", "boot_id": "boot-1", "boot_s": 200, "clock": "2026-11-09T08:03:00+01:00",
            "clock_synced": True, "pending": 4, "role": "station", "captured_through": {"boot_s": 199},
            "records": list(records), **change}


def without(obj, key):
    return {k: v for k, v in obj.items() if k != key}


def refused(raw):
    with pytest.raises(ProtocolError) as caught:
        parse_push(raw)
    return str(caught.value)


def test_a_valid_push_comes_out_typed_and_normalised():
    push = parse_push(body([checkin(), measurement(seq=2)]))
    assert {k: v for k, v in push.items() if k != "records"} == {
        "generation": "gen-1", "boot_id": "boot-1", "boot_s": 200.0, "clock_synced": True, "pending": 4,
        "clock": datetime(2026, 11, 9, 7, 3, tzinfo=timezone.utc), "captured_through_boot_s": 199.0}
    assert isinstance(push["boot_s"], float) and isinstance(push["captured_through_boot_s"], float)
    first, second = push["records"]
    assert first == {"id": ID, "seq": 1, "kind": "checkin", "clock_synced": False, "boot_id": "boot-1", "boot_s": 100.0,
                     "wall_at": datetime(2026, 11, 9, 8, 2, 0, 250000, tzinfo=timezone.utc),
                     "badge_uid": "01010501B00A0001", "result": "late"}
    assert isinstance(first["boot_s"], float)
    assert second == {"id": ID, "seq": 2, "kind": "measurement", "clock_synced": False, "boot_id": "boot-1",
                      "boot_s": 100.0, "wall_at": first["wall_at"], "participant_id": 7, "moment": "week6",
                      "taken_by": 3, "values": {"weight_kg": 80.5, "pulse_bpm": 61},
                      "sources": {"scale": {"driver": "tanita"}}, "details": {}}


def test_optional_parts_may_be_left_out():
    push = parse_push(without(without(body([measurement(taken_by=None)]), "role"), "captured_through"))
    assert "role" not in push and push["captured_through_boot_s"] is None  # the server knows the role
    assert push["records"][0]["taken_by"] is None
    assert parse_push(body([measurement(taken_by=None)]))["records"][0]["taken_by"] is None
    assert "taken_by" not in parse_push(body([checkin(taken_by=5)]))["records"][0]


@pytest.mark.parametrize("raw, reason", [
    (None, "body must be a JSON object"),
    ([], "body must be a JSON object"),
    (without(body(), "generation"), "body: missing 'generation'"),
    (body(generation=5), "body: 'generation' has the wrong type"),
    (body(boot_id=None), "body: 'boot_id' has the wrong type"),
    (body(boot_s="200"), "body: 'boot_s' must be a number"),
    (body(boot_s=True), "body: 'boot_s' must be a number"),        # JSON true is no number
    (body(clock="yesterday"), "body: 'clock' is not an ISO-8601 time"),
    (body(clock=1700000000), "body: 'clock' has the wrong type"),
    (body(clock_synced=1), "body: 'clock_synced' has the wrong type"),
    (body(pending=1.5), "body: 'pending' has the wrong type"),
    (body(pending=False), "body: 'pending' has the wrong type"),
    (without(body(), "pending"), "body: missing 'pending'"),
    (body(captured_through={}), "captured_through: missing 'boot_s'"),
    (body(captured_through=[199]), "captured_through: missing 'boot_s'"),
    (body(captured_through={"boot_s": "199"}), "captured_through: 'boot_s' must be a number"),
    ({**body(), "records": {}}, "body: 'records' has the wrong type"),
    (without(body(), "records"), "body: missing 'records'"),
    (body(generation=""), "body: 'generation' must be 1-64 characters"),
    (body(generation="g" * 65), "body: 'generation' must be 1-64 characters"),
    (body(boot_id=""), "body: 'boot_id' must be 1-64 characters"),
    (body(boot_id="b" * 65), "body: 'boot_id' must be 1-64 characters"),
    (body(["a record"]), "records[0]: missing 'id'"),
    (body([checkin(), without(checkin(), "seq")]), "records[1]: missing 'seq'"),
    (body([checkin(id="not-a-uuid")]), "records[0]: 'id' is not a UUID"),
    (body([checkin(id=5)]), "records[0]: 'id' has the wrong type"),
    (body([checkin(seq=0)]), f"records[0]: 'seq' must be a whole number from 1 to {2 ** 63 - 1}"),
    (body([checkin(seq=-3)]), f"records[0]: 'seq' must be a whole number from 1 to {2 ** 63 - 1}"),
    (body([checkin(seq=1.0)]), "records[0]: 'seq' has the wrong type"),
    (body([checkin(seq=True)]), "records[0]: 'seq' has the wrong type"),
    (body([checkin(kind=None)]), "records[0]: 'kind' has the wrong type"),
    (body([checkin(kind="selfie")]), "records[0]: unknown kind"),
    (body([checkin(wall_at="9 uur")]), "records[0]: 'wall_at' is not an ISO-8601 time"),
    (body([checkin(clock_synced="yes")]), "records[0]: 'clock_synced' has the wrong type"),
    (body([checkin(boot_id=1)]), "records[0]: 'boot_id' has the wrong type"),
    (body([checkin(boot_s=None)]), "records[0]: 'boot_s' must be a number"),
    (body([checkin(boot_s=False)]), "records[0]: 'boot_s' must be a number"),
    (body([without(checkin(), "badge_uid")]), "records[0]: missing 'badge_uid'"),
    (body([checkin(badge_uid=1234)]), "records[0]: 'badge_uid' has the wrong type"),
    (body([checkin(badge_uid="ZZZZ")]), "records[0]: badge uid must be 8-20 hex digits"),
    (body([checkin(result="maybe")]), "records[0]: unknown result"),
    (body([checkin(result=None)]), "records[0]: 'result' has the wrong type"),
    (body([measurement(participant_id="7")]), "records[0]: 'participant_id' has the wrong type"),
    (body([measurement(moment="someday")]), "records[0]: unknown moment"),
    (body([measurement(taken_by="fysio")]), "records[0]: 'taken_by' has the wrong type"),
    (body([measurement(values=[80])]), "records[0]: 'values' has the wrong type"),
    (body([measurement(values={})]), "records[0]: a measurement needs values (or the instruments skipped, with why)"),
    (body([measurement(values={"iq": 120})]), "records[0]: unknown measurement field 'iq'"),
    (body([measurement(values={"weight_kg": "80"})]), "records[0]: 'weight_kg' must be a number"),
    (body([measurement(values={"weight_kg": True})]), "records[0]: 'weight_kg' must be a number"),
    (body([measurement(values={"weight_kg": None})]), "records[0]: 'weight_kg' must be a number"),
    (body([without(measurement(), "sources")]), "records[0]: missing 'sources'"),
    (body([measurement(sources="tanita")]), "records[0]: 'sources' has the wrong type"),
])
def test_a_wrong_push_is_refused_with_the_exact_reason(raw, reason):
    assert refused(raw) == reason


def test_at_most_so_many_records_per_push():
    records = [checkin(id=str(uuid.uuid4()), seq=n + 1) for n in range(MAX_RECORDS_PER_PUSH + 1)]
    assert MAX_RECORDS_PER_PUSH == 500
    assert len(parse_push(body(records[:-1]))["records"]) == 500
    assert refused(body(records)) == "at most 500 records per push"


def test_names_of_one_and_of_sixty_four_characters_are_fine():
    for text in ("g", "g" * 64):
        assert parse_push(body(generation=text, boot_id=text))["generation"] == text


def test_a_measurement_takes_whole_and_fractional_numbers_and_negative_seq_is_never_fine():
    values = {"weight_kg": 80, "fat_pct": 21.5, "bmr_kcal": 1650}
    assert parse_push(body([measurement(values=values)]))["records"][0]["values"] == values
    assert parse_push(body([checkin(seq=1)]))["records"][0]["seq"] == 1


SOURCES_OK = {"scale": {"driver": "tanita-bc418", "device_model": "BC-418", "device_serial": "S" * 64,
                        "measured_at": "2026-11-09T08:02", "weight_only": "no_echo",
                        "inputs": {"sex": "female", "body_type": "athlete", "age": 99, "height_cm": 90, "tare_kg": 0}},
              "bp": {"manual": True, "reason": "r" * 200}}


def test_sources_carry_provenance_or_a_manual_reason_and_the_scales_inputs():
    record = parse_push(body([measurement(sources=SOURCES_OK)]))["records"][0]
    assert record["sources"] == SOURCES_OK
    for inputs in ({"age": 5}, {"height_cm": 250.0}, {"tare_kg": 10}, {"sex": "male", "body_type": "standard"}):
        parse_push(body([measurement(sources={"scale": {"inputs": inputs}})]))
    for reason in ("no_sex_or_age", "contraindicated"):
        parse_push(body([measurement(sources={"scale": {"weight_only": reason}})]))


@pytest.mark.parametrize("sources, reason", [
    ({"thermometer": {}}, "records[0]: unknown instrument 'thermometer' in sources"),
    ({"bp": "omron"}, "records[0].sources.bp: must be an object"),
    ({"bp": {"driver": "d" * 65}}, "records[0].sources.bp: 'driver' must be text of at most 64 characters"),
    ({"bp": {"device_serial": 4711}}, "records[0].sources.bp: 'device_serial' must be text of at most 64 characters"),
    ({"bp": {"manual": 1}}, "records[0].sources.bp: 'manual' must be true"),
    ({"bp": {"manual": True, "reason": "r" * 201}},
     "records[0].sources.bp: 'reason' must be text of at most 200 characters"),
    ({"bp": {"weight_only": "no_echo"}}, "records[0].sources.bp: unknown key 'weight_only'"),
    ({"bp": {"inputs": {"sex": "female"}}}, "records[0].sources.bp: unknown key 'inputs'"),
    ({"scale": {"colour": "red"}}, "records[0].sources.scale: unknown key 'colour'"),
    ({"scale": {"weight_only": "lazy"}}, "records[0].sources.scale: unknown 'weight_only' reason"),
    ({"scale": {"inputs": {}}}, "records[0].sources.scale: 'inputs' must be an object"),
    ({"scale": {"inputs": ["male"]}}, "records[0].sources.scale: 'inputs' must be an object"),
    ({"scale": {"inputs": {"shoe_size": 42}}}, "records[0].sources.scale: unknown scale input 'shoe_size'"),
    ({"scale": {"inputs": {"sex": "x"}}}, "records[0].sources.scale: 'sex' must be one of male, female"),
    ({"scale": {"inputs": {"age": 4}}}, "records[0].sources.scale: 'age' must be a number from 5 to 99"),
    ({"scale": {"inputs": {"age": 100}}}, "records[0].sources.scale: 'age' must be a number from 5 to 99"),
    ({"scale": {"inputs": {"age": 30.5}}}, "records[0].sources.scale: 'age' must be a number from 5 to 99"),
    ({"scale": {"inputs": {"age": True}}}, "records[0].sources.scale: 'age' must be a number from 5 to 99"),
    ({"scale": {"inputs": {"height_cm": 89.9}}},
     "records[0].sources.scale: 'height_cm' must be a number from 90 to 250"),
    ({"scale": {"inputs": {"tare_kg": 10.1}}}, "records[0].sources.scale: 'tare_kg' must be a number from 0 to 10"),
])
def test_wrong_sources_are_refused_with_the_exact_reason(sources, reason):
    assert refused(body([measurement(sources=sources)])) == reason


@pytest.mark.parametrize("values, reason", [
    ({"weight_kg": -0.1}, "records[0]: 'weight_kg' must be between 0 and 650"),
    ({"weight_kg": 650.1}, "records[0]: 'weight_kg' must be between 0 and 650"),
    ({"pulse_bpm": float("nan")}, "records[0]: 'pulse_bpm' must be a finite number (not NaN or Infinity)"),
    ({"pulse_bpm": float("inf")}, "records[0]: 'pulse_bpm' must be a finite number (not NaN or Infinity)"),
    ({"fat_pct": 100.5}, "records[0]: 'fat_pct' must be between 0 and 100"),
])
def test_a_value_beyond_what_a_body_can_be_is_refused(values, reason):
    assert refused(body([measurement(values=values)])) == reason


def test_the_limits_themselves_are_values():
    values = {"weight_kg": 650, "fat_pct": 0, "bmr_kcal": 20000, "pulse_bpm": 400, "systolic_mmhg": 0.0}
    assert parse_push(body([measurement(values=values)]))["records"][0]["values"] == values


@pytest.mark.parametrize("change, reason", [
    ({"boot_s": -1}, "body: 'boot_s' must be between 0 and 6.3072e+08"),
    ({"clock": "1969-12-31T23:59:59+00:00"}, "body: 'clock' is before 1970"),
    ({"pending": -1}, f"body: 'pending' must be a whole number from 0 to {2 ** 63 - 1}"),
])
def test_the_body_has_limits_too(change, reason):
    assert refused(body(**change)) == reason


def test_ids_start_at_one_and_the_boot_clock_at_zero():
    push = parse_push(body([measurement(participant_id=1, taken_by=1, boot_s=0)], boot_s=0,
                           captured_through={"boot_s": 0}))
    record = push["records"][0]
    assert (record["participant_id"], record["taken_by"], record["boot_s"]) == (1, 1, 0.0)
    assert push["boot_s"] == 0.0 and push["captured_through_boot_s"] == 0.0
    assert refused(body([measurement(participant_id=0)])).startswith("records[0]: 'participant_id' must be a whole")
    assert refused(body([measurement(taken_by=0)])).startswith("records[0]: 'taken_by' must be a whole")
    assert refused(body([without(measurement(), "moment")])) == "records[0]: missing 'moment'"
    assert refused(without(body(), "boot_s")) == "body: missing 'boot_s'"
    assert refused(body(captured_through={"clock": "x"})) == "captured_through: missing 'boot_s'"
    assert parse_push(body(clock="1970-01-01T00:00:00+00:00"))["clock"].year == 1970


def test_a_sequence_number_may_be_as_large_as_sqlite_stores():
    assert parse_push(body([checkin(seq=2 ** 63 - 1)]))["records"][0]["seq"] == 2 ** 63 - 1
    assert refused(body([checkin(seq=2 ** 63)])).startswith("records[0]: 'seq' must be a whole number")


# --- how a measurement was taken (intake): the scale's weights, the blood-pressure series,
# device checks, contraindication answers, skipped instruments, readings, confirmations ---

READING = {"at": "2026-11-09T08:01:00Z", "arm": "left", "cuff": "M", "counted": True, "systolic_mmhg": 400,
           "diastolic_mmhg": 0, "pulse_bpm": 61, "mean_arterial_mmhg": 350, "flags": {"irregular": True, "ihb": "2"}}
SERIES = {"readings": 10, "averaged": 10, "interval_s": 3600, "rest_s": 0, "arm": "right", "cuff": "XL"}
CHECK = {"kind": "reference_weight", "checked_on": "2026-11-01", "passed": True, "overdue": False}
DETAILS = {"screening": {"scale": {"answers": {"implant": "no", "pregnant": "unknown"}, "observed": "o" * 200},
                         "bp": {"answers": {"arm_right": "yes", "arm_left": "no"}}},
           "skipped": {"bp": {"reason": "r" * 200, "contraindicated": ["arm_right", "arm_left"]}},
           "bp_readings": [READING] * 12, "confirmed": ["weight_kg", "pulse_bpm"]}


def test_the_details_of_a_measurement_come_through_whole_and_at_their_limits():
    sources = {"scale": {"weights": [0, 650, 80.5, 81, 80], "device_check": {**CHECK, "kind": "validation"}},
               "bp": {"series": SERIES, "arm": "left", "device_check": without(CHECK, "overdue")}}
    record = parse_push(body([measurement(sources=sources, **DETAILS)]))["records"][0]
    assert record["details"] == DETAILS and record["sources"] == sources
    one = {"readings": 1, "averaged": 1, "interval_s": 0.0, "rest_s": 3600.0, "arm": "left", "cuff": "S"}
    assert parse_push(body([measurement(sources={"bp": {"series": one}, "scale": {"weights": [70]}})]))


def test_only_the_parts_given_are_kept_in_the_details():
    kept = parse_push(body([measurement(screening={}, skipped={}, bp_readings=[], confirmed=["fat_pct"])]))
    assert kept["records"][0]["details"] == {"confirmed": ["fat_pct"]}
    skipped_only = measurement(values={}, skipped={"scale": {"reason": "rolstoel"}})
    assert parse_push(body([skipped_only]))["records"][0]["details"] == {"skipped": {"scale": {"reason": "rolstoel"}}}
    assert parse_push(body([measurement(skipped={"scale": {"reason": "x", "contraindicated": []}})]))


@pytest.mark.parametrize("sources, reason", [
    ({"scale": {"weights": []}}, "records[0].sources.scale: 'weights' must be a list of 1 to 5 weights"),
    ({"scale": {"weights": [80] * 6}}, "records[0].sources.scale: 'weights' must be a list of 1 to 5 weights"),
    ({"scale": {"weights": 80}}, "records[0].sources.scale: 'weights' must be a list of 1 to 5 weights"),
    ({"scale": {"weights": [650.1]}}, "records[0].sources.scale: 'weights' must be a number from 0 to 650"),
    ({"scale": {"weights": [-1]}}, "records[0].sources.scale: 'weights' must be a number from 0 to 650"),
    ({"scale": {"weights": ["80"]}}, "records[0].sources.scale: 'weights' must be a number from 0 to 650"),
    ({"scale": {"weights": [True]}}, "records[0].sources.scale: 'weights' must be a number from 0 to 650"),
    ({"bp": {"weights": [80]}}, "records[0].sources.bp: unknown key 'weights'"),
    ({"scale": {"series": SERIES}}, "records[0].sources.scale: unknown key 'series'"),
    ({"scale": {"arm": "left"}}, "records[0].sources.scale: unknown key 'arm'"),
    ({"bp": {"arm": "middle"}}, "records[0].sources.bp: 'arm' must be one of right, left"),
    ({"bp": {"arm": ["left"]}}, "records[0].sources.bp: 'arm' must be one of right, left"),
    ({"bp": {"series": without(SERIES, "cuff")}},
     "records[0].sources.bp: 'series' needs readings, averaged, interval_s, rest_s, arm and cuff"),
    ({"bp": {"series": {**SERIES, "extra": 1}}},
     "records[0].sources.bp: 'series' needs readings, averaged, interval_s, rest_s, arm and cuff"),
    ({"bp": {"series": [SERIES]}},
     "records[0].sources.bp: 'series' needs readings, averaged, interval_s, rest_s, arm and cuff"),
    ({"bp": {"series": {**SERIES, "readings": 0, "averaged": 0}}},
     "records[0].sources.bp: 'readings' must be a number from 1 to 10"),
    ({"bp": {"series": {**SERIES, "readings": 11}}}, "records[0].sources.bp: 'readings' must be a number from 1 to 10"),
    ({"bp": {"series": {**SERIES, "readings": 2.0}}}, "records[0].sources.bp: 'readings' must be a number from 1 to 10"),
    ({"bp": {"series": {**SERIES, "readings": 3, "averaged": 4}}},
     "records[0].sources.bp: 'averaged' must be a number from 1 to 3"),
    ({"bp": {"series": {**SERIES, "averaged": 0}}}, "records[0].sources.bp: 'averaged' must be a number from 1 to 10"),
    ({"bp": {"series": {**SERIES, "interval_s": 3600.5}}},
     "records[0].sources.bp: 'interval_s' must be a number from 0 to 3600"),
    ({"bp": {"series": {**SERIES, "interval_s": -1}}},
     "records[0].sources.bp: 'interval_s' must be a number from 0 to 3600"),
    ({"bp": {"series": {**SERIES, "rest_s": 3601}}}, "records[0].sources.bp: 'rest_s' must be a number from 0 to 3600"),
    ({"bp": {"series": {**SERIES, "rest_s": -0.5}}}, "records[0].sources.bp: 'rest_s' must be a number from 0 to 3600"),
    ({"bp": {"series": {**SERIES, "rest_s": None}}}, "records[0].sources.bp: 'rest_s' must be a number from 0 to 3600"),
    ({"bp": {"series": {**SERIES, "arm": "leg"}}}, "records[0].sources.bp: unknown arm or cuff"),
    ({"bp": {"series": {**SERIES, "cuff": "XXL"}}}, "records[0].sources.bp: unknown arm or cuff"),
    ({"bp": {"series": {**SERIES, "cuff": ["M"]}}}, "records[0].sources.bp: unknown arm or cuff"),
    ({"bp": {"series": {**SERIES, "arm": {"left": 1}}}}, "records[0].sources.bp: unknown arm or cuff"),
    ({"bp": {"device_check": "ok"}}, "records[0].sources.bp: 'device_check' has unknown keys"),
    ({"bp": {"device_check": {**CHECK, "by": "Anna"}}}, "records[0].sources.bp: 'device_check' has unknown keys"),
    ({"bp": {"device_check": {**CHECK, "kind": "calibration"}}},
     "records[0].sources.bp: 'device_check' needs a kind and passed"),
    ({"bp": {"device_check": {**CHECK, "kind": ["validation"]}}},
     "records[0].sources.bp: 'device_check' needs a kind and passed"),
    ({"bp": {"device_check": without(CHECK, "kind")}}, "records[0].sources.bp: 'device_check' needs a kind and passed"),
    ({"bp": {"device_check": {**CHECK, "passed": 1}}}, "records[0].sources.bp: 'device_check' needs a kind and passed"),
    ({"bp": {"device_check": without(CHECK, "passed")}},
     "records[0].sources.bp: 'device_check' needs a kind and passed"),
    ({"bp": {"device_check": without(CHECK, "checked_on")}},
     "records[0].sources.bp: 'checked_on' must be text of at most 10 characters"),
    ({"bp": {"device_check": {**CHECK, "checked_on": "2026-11-01T"}}},
     "records[0].sources.bp: 'checked_on' must be text of at most 10 characters"),
    ({"bp": {"device_check": {**CHECK, "overdue": "no"}}}, "records[0].sources.bp: 'overdue' must be true or false"),
    ({"scale": {"weight_only": ["no_echo"]}}, "records[0].sources.scale: unknown 'weight_only' reason"),
    ({"scale": {"inputs": {"sex": ["female"]}}}, "records[0].sources.scale: 'sex' must be one of male, female"),
])
def test_wrong_intake_sources_are_refused_with_the_exact_reason(sources, reason):
    assert refused(body([measurement(sources=sources)])) == reason


@pytest.mark.parametrize("details, reason", [
    ({"screening": []}, "records[0]: 'screening' is per instrument"),
    ({"screening": {"eyes": {}}}, "records[0]: 'screening' is per instrument"),
    ({"screening": {"scale": "no"}}, "records[0]: screening.scale holds answers and observed only"),
    ({"screening": {"scale": {"notes": "x"}}}, "records[0]: screening.scale holds answers and observed only"),
    ({"screening": {"scale": {"answers": ["no"]}}}, "records[0]: screening.scale: unknown question or answer"),
    ({"screening": {"scale": {"answers": {"arm_left": "no"}}}},
     "records[0]: screening.scale: unknown question or answer"),
    ({"screening": {"bp": {"answers": {"arm_left": "maybe"}}}},
     "records[0]: screening.bp: unknown question or answer"),
    ({"screening": {"bp": {"answers": {"arm_left": ["no"]}}}},
     "records[0]: screening.bp: unknown question or answer"),
    ({"screening": {"bp": {"answers": {"arm_left": {"no": 1}}}}},
     "records[0]: screening.bp: unknown question or answer"),
    ({"screening": {"scale": {"observed": "o" * 201}}},
     "records[0]: 'observed' must be text of at most 200 characters"),
    ({"screening": {"scale": {"observed": None}}}, "records[0]: 'observed' must be text of at most 200 characters"),
    ({"skipped": ["scale"]}, "records[0]: 'skipped' is per instrument"),
    ({"skipped": {"eyes": {"reason": "x"}}}, "records[0]: 'skipped' is per instrument"),
    ({"skipped": {"scale": "kapot"}}, "records[0]: skipped.scale needs a reason"),
    ({"skipped": {"scale": {}}}, "records[0]: skipped.scale needs a reason"),
    ({"skipped": {"scale": {"reason": ""}}}, "records[0]: skipped.scale needs a reason"),
    ({"skipped": {"scale": {"reason": "x", "by": "Anna"}}}, "records[0]: skipped.scale needs a reason"),
    ({"skipped": {"scale": {"reason": "r" * 201}}}, "records[0]: 'reason' must be text of at most 200 characters"),
    ({"skipped": {"scale": {"reason": 5}}}, "records[0]: 'reason' must be text of at most 200 characters"),
    ({"skipped": {"scale": {"reason": "x", "contraindicated": "implant"}}},
     "records[0]: skipped.scale: unknown contraindication"),
    ({"skipped": {"scale": {"reason": "x", "contraindicated": ["arm_left"]}}},
     "records[0]: skipped.scale: unknown contraindication"),
    ({"skipped": {"scale": {"reason": "x", "contraindicated": [["implant"]]}}},
     "records[0]: skipped.scale: unknown contraindication"),
    ({"bp_readings": {}}, "records[0]: 'bp_readings' must be a list of at most 12 readings"),
    ({"bp_readings": [READING] * 13}, "records[0]: 'bp_readings' must be a list of at most 12 readings"),
    ({"bp_readings": ["120/80"]},
     "records[0].bp_readings[0]: a reading holds at, arm, cuff, counted, flags and pressures only"),
    ({"bp_readings": [READING, {**READING, "weight_kg": 80}]},
     "records[0].bp_readings[1]: a reading holds at, arm, cuff, counted, flags and pressures only"),
    ({"bp_readings": [without(READING, "at")]}, "records[0].bp_readings[0]: missing 'at'"),
    ({"bp_readings": [{**READING, "at": "gisteren"}]}, "records[0].bp_readings[0]: 'at' is not an ISO-8601 time"),
    ({"bp_readings": [{**READING, "arm": "leg"}]},
     "records[0].bp_readings[0]: a reading needs its arm, cuff and whether it counted"),
    ({"bp_readings": [{**READING, "arm": ["left"]}]},
     "records[0].bp_readings[0]: a reading needs its arm, cuff and whether it counted"),
    ({"bp_readings": [{**READING, "cuff": "XXL"}]},
     "records[0].bp_readings[0]: a reading needs its arm, cuff and whether it counted"),
    ({"bp_readings": [without(READING, "counted")]},
     "records[0].bp_readings[0]: a reading needs its arm, cuff and whether it counted"),
    ({"bp_readings": [{**READING, "counted": "yes"}]},
     "records[0].bp_readings[0]: a reading needs its arm, cuff and whether it counted"),
    ({"bp_readings": [{**READING, "systolic_mmhg": 400.5}]},
     "records[0].bp_readings[0]: 'systolic_mmhg' must be between 0 and 400"),
    ({"bp_readings": [{**READING, "diastolic_mmhg": -1}]},
     "records[0].bp_readings[0]: 'diastolic_mmhg' must be between 0 and 300"),
    ({"bp_readings": [{**READING, "pulse_bpm": "61"}]}, "records[0].bp_readings[0]: 'pulse_bpm' must be a number"),
    ({"bp_readings": [{**READING, "mean_arterial_mmhg": float("nan")}]},
     "records[0].bp_readings[0]: 'mean_arterial_mmhg' must be a finite number (not NaN or Infinity)"),
    ({"bp_readings": [{**READING, "flags": ["irregular"]}]},
     "records[0].bp_readings[0]: 'flags' must be an object of at most 4 flags"),
    ({"bp_readings": [{**READING, "flags": {"a": True, "b": True, "c": True, "d": True, "e": True}}]},
     "records[0].bp_readings[0]: 'flags' must be an object of at most 4 flags"),
    ({"bp_readings": [{**READING, "flags": {"f" * 21: True}}]},
     "records[0].bp_readings[0]: 'flag name' must be text of at most 20 characters"),
    ({"bp_readings": [{**READING, "flags": {"ihb": "12345"}}]},
     "records[0].bp_readings[0]: 'ihb' must be text of at most 4 characters"),
    ({"bp_readings": [{**READING, "flags": {"ihb": 2}}]},
     "records[0].bp_readings[0]: 'ihb' must be text of at most 4 characters"),
    ({"confirmed": "weight_kg"}, "records[0]: 'confirmed' lists measurement fields"),
    ({"confirmed": ["iq"]}, "records[0]: 'confirmed' lists measurement fields"),
    ({"confirmed": [["weight_kg"]]}, "records[0]: 'confirmed' lists measurement fields"),
])
def test_wrong_details_are_refused_with_the_exact_reason(details, reason):
    assert refused(body([measurement(**details)])) == reason


def test_a_reading_at_its_limits_and_with_four_flags_is_fine():
    flags = {"f" * 20: True, "ihb": "1234", "c": False, "d": ""}
    reading = {**READING, "flags": flags, "systolic_mmhg": 0, "diastolic_mmhg": 300, "pulse_bpm": 400}
    record = parse_push(body([measurement(bp_readings=[reading, without(without(READING, "flags"), "pulse_bpm")])]))
    assert record["records"][0]["details"]["bp_readings"][0]["flags"] == flags


def test_an_instrument_skipped_without_values_must_say_why():
    assert refused(body([measurement(values={}, skipped={})])) == (
        "records[0]: a measurement needs values (or the instruments skipped, with why)")
    assert refused(body([measurement(values={}, screening={"scale": {"answers": {"implant": "yes"}}})])) == (
        "records[0]: a measurement needs values (or the instruments skipped, with why)")
