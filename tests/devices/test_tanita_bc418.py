"""Tanita BC-418 positional frames: field count and consistency stand in for a checksum."""
import pytest

from devices.driver import FrameError
from devices.tanita_bc418 import TanitaBC418, build_frame

BC418 = (b'"04/05/15","15:52",0,1,00170,078.3,25.9,020.3,058.0,038.9,37,027.1,06837,572,225,229,304,'
         b'311,23.9,003.5,011.1,010.5,24.0,003.4,010.8,010.2,19.9,000.7,003.0,002.8,20.5,000.7,002.8,'
         b'002.6,28.3,012.0,030.4,028.9,12\r\n')

BC418_MEASUREMENT = {
    "height_cm": 170.0, "weight_kg": 78.3, "fat_pct": 25.9, "fat_mass_kg": 20.3,
    "fat_free_mass_kg": 58.0, "water_kg": 38.9, "bmi": 27.1, "impedance_ohm": 572.0,
    "visceral_fat": 12.0, "bmr_kcal": 1634, "device_model": "BC-418",
    "measured_at": "2015-05-04T15:52:00", "driver": "tanita-bc418",
    "inputs": {"sex": "male", "age": 37, "height_cm": 170.0, "body_type": "standard"},
}


def feed(data: bytes) -> list:
    return TanitaBC418().feed(data)


def test_bc418_example_frame_yields_its_values():
    assert feed(BC418) == [BC418_MEASUREMENT]


def test_bc418_frame_with_38_fields_has_no_visceral_fat():
    frame = BC418.replace(b",12\r\n", b"\r\n")
    expected = {k: v for k, v in BC418_MEASUREMENT.items() if k != "visceral_fat"}
    assert feed(frame) == [expected]


@pytest.mark.parametrize("frame, count", [
    (BC418.replace(b",028.9,12\r\n", b"\r\n"), 37),
    (BC418.replace(b",12\r\n", b",12,1\r\n"), 40),
])
def test_bc418_wrong_field_count_is_rejected(frame, count):
    assert feed(frame) == [FrameError(f"wrong field count {count} (expected 38 or 39)")]


def test_bc418_masses_not_adding_up_to_weight_are_rejected():
    assert feed(BC418.replace(b"020.3,058.0", b"020.3,059.0")) == [
        FrameError("fat mass + fat-free mass does not match weight")]


def test_bc418_weight_changed_in_transit_is_rejected():
    assert feed(BC418.replace(b"078.3", b"079.3"))[0].reason == "fat mass + fat-free mass does not match weight"


def test_bc418_fat_percentage_not_matching_fat_mass_is_rejected():
    assert feed(BC418.replace(b",25.9,", b",35.9,")) == [FrameError("fat percentage does not match fat mass")]


def test_bc418_bmi_not_matching_height_is_rejected():
    assert feed(BC418.replace(b"00170", b"00190")) == [FrameError("BMI does not match weight and height")]


def test_bc418_malformed_field_is_rejected():
    assert feed(BC418.replace(b",572,", b",5x2,")) == [FrameError("malformed field 13")]


def test_bc418_frame_split_byte_by_byte_is_parsed():
    driver = TanitaBC418()
    events = []
    for byte in BC418:
        events += driver.feed(bytes([byte]))
    assert events == [BC418_MEASUREMENT]


def test_bc418_stray_bytes_before_frame_are_skipped():
    assert feed(b"\x00\xff" + BC418 + b"\x7f" + BC418) == [BC418_MEASUREMENT, BC418_MEASUREMENT]


def test_bc418_build_frame_round_trips():
    values = {k: v for k, v in BC418_MEASUREMENT.items() if k not in ("driver", "device_model")}
    assert feed(build_frame(values)) == [BC418_MEASUREMENT]
