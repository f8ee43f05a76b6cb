"""Every parser under random bytes, random splits, truncations and bit flips: devices are untrusted input."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import personal
from devices.and_scale import build_frame as and_scale_frame
from devices.and_tm2657 import ACK_FRAME, AndTM2657, build_result_block
from devices.driver import INTERNAL_ERROR, FrameError, check_plausible
from devices.omron import build_hbp9020_frame, build_hbp9030_frame
from devices.registry import DRIVERS
from devices.tanita import build_frame as tanita_frame

CONTRACT_FIELDS = {
    "weight_kg", "height_cm", "bmi", "fat_pct", "fat_mass_kg", "fat_free_mass_kg", "muscle_mass_kg",
    "bone_mass_kg", "water_kg", "water_pct", "visceral_fat", "bmr_kcal", "metabolic_age", "impedance_ohm",
    "systolic_mmhg", "diastolic_mmhg", "mean_arterial_mmhg", "pulse_bpm", "device_model", "device_serial",
    "driver", "measured_at", "inputs", "flags",
}
SECRET_ID = "ANNA-DE-VRIES-190385"
BP = {"systolic_mmhg": 128, "mean_arterial_mmhg": 96, "diastolic_mmhg": 81, "pulse_bpm": 64,
      "measured_at": "2026-07-11T09:05:00"}

SC240 = (b'{0,16,~0,1,~1,1,~2,1,MO,"SC-240",SN,"00000002",Bt,0,GE,1,AG,30,Hm,170,Pt,0.0,Wk,82.7,'
         b'FW,18.6,fW,15.4,MW,67.3,mW,64.0,sW,19,bW,3.3,wW,48.0,ww,58.0,MI,28.6,Sw,63.6,OV,30.0,'
         b'IF,6,rb,8255,rB,1973,rJ,12,rA,28,ZF,369.4,CS,FD\r\n')
MC780 = tanita_frame([("MO", "MC-780MA"), ("SN", "12345678"), ("ID", SECRET_ID), ("DT", "2026/07/11"),
                      ("TI", "09:05"), ("Hm", 181), ("Wk", 95.3), ("FW", 24.1), ("fW", 23.0), ("MW", 72.3),
                      *[(letter + seg, 11.1) for letter in "FfMm" for seg in "RLrlT"], ("rB", 2010)])
BC418 = (b'"04/05/15","15:52",0,1,00170,078.3,25.9,020.3,058.0,038.9,37,027.1,06837,572,225,229,304,'
         b'311,23.9,003.5,011.1,010.5,24.0,003.4,010.8,010.2,19.9,000.7,003.0,002.8,20.5,000.7,002.8,'
         b'002.6,28.3,012.0,030.4,028.9,12\r\n')

VALID = {
    "tanita": [SC240, MC780],
    "tanita-bc418": [BC418],
    "and-scale": [and_scale_frame(70.5), and_scale_frame(123.45)],
    "omron-hbp9030": [build_hbp9030_frame(BP, patient_id=SECRET_ID)],
    "omron-hbp9020": [build_hbp9020_frame(BP, patient_id=SECRET_ID)],
    "and-tm2657": [ACK_FRAME + build_result_block(BP)],
}
CHECKSUMMED = ["tanita"]
FIXED_LAYOUT = ["tanita", "and-scale", "omron-hbp9030", "omron-hbp9020"]


def fresh(name: str):
    """A driver ready to report: the TM-2657 has seen its baseline (an older result)."""
    driver = DRIVERS[name]()
    if isinstance(driver, AndTM2657):
        driver.tick(0.0)
        driver.feed(ACK_FRAME + build_result_block({**BP, "systolic_mmhg": 150}))
    return driver


def feed(name: str, chunks) -> list:
    driver = fresh(name)
    events = []
    for chunk in chunks:
        events += driver.feed(chunk)
    return events


def check(events: list) -> None:
    """Events are well-formed: plausible contract measurements or errors from a known cause."""
    for event in events:
        if isinstance(event, FrameError):
            assert event.reason and event.reason != INTERNAL_ERROR
        else:
            assert set(event) <= CONTRACT_FIELDS
            check_plausible(event)
            inputs = event.get("inputs", {})
            assert set(inputs) <= set(personal.KEYS)
            assert inputs.get("sex", "male") in ("male", "female")
            assert inputs.get("body_type", "standard") in ("standard", "athlete")
            assert all(isinstance(flag, bool) or (isinstance(flag, str) and len(flag) <= 4)
                       for flag in event.get("flags", {}).values())
    text = json.dumps([e if isinstance(e, dict) else e.reason for e in events])
    assert SECRET_ID[:8] not in text and SECRET_ID[8:] not in text


def measurements(events: list) -> list[dict]:
    return [event for event in events if isinstance(event, dict)]


def original(name: str, frame: bytes) -> dict:
    [measurement] = measurements(feed(name, [frame]))
    return measurement


names = st.sampled_from(sorted(DRIVERS))
chunk_lists = st.lists(st.binary(max_size=80), max_size=25)


@settings(max_examples=300, deadline=None)
@given(name=names, chunks=chunk_lists)
def test_random_bytes_never_raise_and_give_only_well_formed_events(name, chunks):
    check(feed(name, chunks))


@settings(deadline=None)
@given(name=names, data=st.data())
def test_random_bytes_around_valid_frames_never_raise(name, data):
    pieces = data.draw(st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(VALID[name])), max_size=8))
    check(feed(name, pieces))


@settings(deadline=None)
@given(name=names, data=st.data())
def test_any_split_of_a_frame_gives_the_same_result_as_one_read(name, data):
    frame = data.draw(st.sampled_from(VALID[name]))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(frame)), max_size=12)))
    chunks = [frame[a:b] for a, b in zip([0, *cuts], [*cuts, len(frame)])]
    assert feed(name, chunks) == feed(name, [frame])


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(CHECKSUMMED), data=st.data())
def test_a_bit_flip_in_a_checksummed_frame_yields_no_measurement_or_the_original(name, data):
    frame = bytearray(data.draw(st.sampled_from(VALID[name])))
    expected = original(name, bytes(frame))
    frame[data.draw(st.integers(0, len(frame) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    events = feed(name, [bytes(frame) + b"\r\n"])
    check(events)
    for measurement in measurements(events):
        assert {key: expected.get(key) for key in measurement} == measurement


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(FIXED_LAYOUT), data=st.data())
def test_a_truncated_frame_yields_no_measurement_or_the_original(name, data):
    frame = data.draw(st.sampled_from(VALID[name])).rstrip(b"\r\n")
    expected = original(name, frame + b"\r\n")
    events = feed(name, [frame[: data.draw(st.integers(0, len(frame) - 1))] + b"\r\n"])
    check(events)
    for measurement in measurements(events):
        assert {key: expected.get(key) for key in measurement} == measurement


@settings(max_examples=300, deadline=None)
@given(name=names, data=st.data())
def test_bit_flips_in_any_frame_never_raise_and_never_leak_the_id(name, data):
    frame = bytearray(data.draw(st.sampled_from(VALID[name])))
    for _ in range(data.draw(st.integers(1, 3))):
        frame[data.draw(st.integers(0, len(frame) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    check(feed(name, [bytes(frame) + b"\r\n"]))


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_every_valid_fuzz_seed_frame_parses(name):
    for frame in VALID[name]:
        [measurement] = feed(name, [frame])
        assert measurement["driver"] == name
