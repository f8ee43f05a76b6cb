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
