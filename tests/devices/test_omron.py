"""Omron HBP-9030 and HBP-9020: readings parsed, the 20-character ID never leaves the parser."""
import json
import logging

import pytest

from devices.driver import FrameError
from devices.omron import OmronHBP9020, OmronHBP9030, build_hbp9020_frame, build_hbp9030_frame

HBP9030 = b"2026,07,11,09,05,12345678901234567890,0,120,080,072,0\r\n"
HBP9030_MEASUREMENT = {"systolic_mmhg": 120, "diastolic_mmhg": 80, "pulse_bpm": 72,
                       "device_model": "HBP-9030", "measured_at": "2026-07-11T09:05:00",
                       "driver": "omron-hbp9030", "flags": {"body_movement": False}}

HBP9020 = b"bp,12345678901234567890,2026/07/11,09:05,120,93,80,72,0\r\n"
HBP9020_MEASUREMENT = {"systolic_mmhg": 120, "mean_arterial_mmhg": 93, "diastolic_mmhg": 80,
                       "pulse_bpm": 72, "device_model": "HBP-9020", "measured_at": "2026-07-11T09:05:00",
                       "driver": "omron-hbp9020", "flags": {"device_flag": "0"}}

SECRET_ID = "ANNA-DE-VRIES-190385"  # 20 characters of personal data


def assert_id_absent(events, patient_id=SECRET_ID):
    text = json.dumps([e if isinstance(e, dict) else [e.reason, e.code] for e in events])
    for start in range(0, len(patient_id) - 5):
        assert patient_id[start:start + 6] not in text


def test_hbp9030_example_frame_yields_its_readings():
    assert len(HBP9030.rstrip(b"\r\n")) == 53
    assert OmronHBP9030().feed(HBP9030) == [HBP9030_MEASUREMENT]


def test_hbp9030_error_frame_is_a_clear_error_without_the_id():
    frame = build_hbp9030_frame({}, patient_id=SECRET_ID, error=3)
    assert len(frame) == 55
    events = OmronHBP9030().feed(frame)
    assert events == [FrameError("blood-pressure monitor reported error 3: measure again", "E3")]
    assert_id_absent(events)


@pytest.mark.parametrize("frame", [
    HBP9030.replace(b"12345678901234567890", SECRET_ID.encode()),
    HBP9030.replace(b"12345678901234567890", SECRET_ID.encode()).replace(b"120,080", b"300,080"),
    HBP9030.replace(b"12345678901234567890", SECRET_ID.encode()).replace(b",0,120", b",x,120"),
    HBP9030.replace(b"12345678901234567890", SECRET_ID.encode())[:40] + b"\r\n",
    HBP9030.replace(b"12345678901234567890", SECRET_ID.encode()).replace(b",072", b",07x"),
])
def test_hbp9030_id_never_appears_in_output_errors_or_logs(frame, caplog):
    caplog.set_level(logging.DEBUG)
    events = OmronHBP9030().feed(frame)
    assert events
    assert_id_absent(events)
    assert SECRET_ID[:6] not in caplog.text


def test_hbp9030_id_containing_commas_does_not_shift_the_readings():
    frame = build_hbp9030_frame(HBP9030_MEASUREMENT, patient_id="1,2,3,4,5,6,7,8,9,0,")
    assert OmronHBP9030().feed(frame) == [HBP9030_MEASUREMENT]


def test_hbp9030_wrong_length_is_rejected():
    assert OmronHBP9030().feed(HBP9030.replace(b",072,", b",72,")) == [
        FrameError("wrong frame length 52 (expected 53)")]


def test_hbp9030_split_byte_by_byte_is_parsed():
    driver, events = OmronHBP9030(), []
    for byte in HBP9030:
        events += driver.feed(bytes([byte]))
    assert events == [HBP9030_MEASUREMENT]


def test_hbp9030_stray_bytes_before_frame_are_skipped():
    assert OmronHBP9030().feed(b"\x00" + HBP9030) == [HBP9030_MEASUREMENT]


@pytest.mark.parametrize("readings, reason", [
    (b"300,080,072", "systolic_mmhg outside plausible range 50–280"),
    (b"120,020,072", "diastolic_mmhg outside plausible range 30–200"),
    (b"120,080,260", "pulse_bpm outside plausible range 25–250"),
    (b"090,095,072", "diastolic pressure not below systolic"),
])
def test_hbp9030_implausible_readings_are_rejected(readings, reason):
    assert OmronHBP9030().feed(HBP9030.replace(b"120,080,072", readings)) == [FrameError(reason)]


def test_hbp9030_body_movement_flag_is_kept_with_the_readings():
    frame = HBP9030.replace(b"072,0\r", b"072,1\r")
    assert OmronHBP9030().feed(frame) == [{**HBP9030_MEASUREMENT, "flags": {"body_movement": True}}]


def test_hbp9020_frame_yields_readings_with_map_between_sys_and_dia():
    assert OmronHBP9020().feed(HBP9020) == [HBP9020_MEASUREMENT]


def test_hbp9020_build_frame_matches_the_documented_layout():
    assert build_hbp9020_frame(HBP9020_MEASUREMENT, patient_id="12345678901234567890") == HBP9020


def test_hbp9020_cr_only_terminator_works():
    frame = HBP9020.replace(b"\r\n", b"\r")
    assert OmronHBP9020().feed(frame + frame) == [HBP9020_MEASUREMENT, HBP9020_MEASUREMENT]


def test_hbp9020_map_outside_sys_and_dia_is_rejected():
    assert OmronHBP9020().feed(HBP9020.replace(b",93,", b",70,")) == [
        FrameError("mean arterial pressure not between diastolic and systolic")]


def test_hbp9020_id_with_commas_is_skipped_by_position_and_never_reported(caplog):
    caplog.set_level(logging.DEBUG)
    patient_id = "A,NNA,DE,VRIES,19038"
    events = OmronHBP9020().feed(build_hbp9020_frame(HBP9020_MEASUREMENT, patient_id=patient_id))
    assert events == [HBP9020_MEASUREMENT]
    assert_id_absent(events, patient_id)


def test_hbp9020_non_numeric_readings_are_rejected_without_the_id():
    frame = build_hbp9020_frame(HBP9020_MEASUREMENT, patient_id=SECRET_ID).replace(b",120,", b",Err,")
    events = OmronHBP9020().feed(frame)
    assert events == [FrameError("monitor sent no valid reading (error or malformed frame)")]
    assert_id_absent(events)


def test_hbp9020_missing_field_is_rejected():
    assert OmronHBP9020().feed(HBP9020.replace(b",72,0", b",72")) == [
        FrameError("wrong field count 8 (expected 9)")]
