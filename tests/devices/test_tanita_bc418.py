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


def fields_of(frame: bytes) -> list[bytes]:
    return frame.rstrip(b"\r\n").split(b",")


def with_fields(**changed) -> bytes:
    """The example frame with fields replaced by index, e.g. with_fields(f5=b'080.0')."""
    fields = fields_of(BC418)
    for key, value in changed.items():
        fields[int(key[1:])] = value
    return b",".join(fields) + b"\r\n"


# Exact binary fractions, so each sum lands on its tolerance exactly.
EXACT = {"f4": b"00200", "f5": b"080.0", "f6": b"25.0", "f7": b"020.0", "f8": b"060.0", "f11": b"020.0"}


def test_bc418_exactly_consistent_frame_is_accepted():
    [measurement] = feed(with_fields(**EXACT))
    assert (measurement["weight_kg"], measurement["fat_pct"], measurement["bmi"]) == (80.0, 25.0, 20.0)


@pytest.mark.parametrize("changed", [
    {"f8": b"060.25"}, {"f8": b"059.75"},  # masses 0.25 kg off
    {"f6": b"26.0"}, {"f6": b"24.0"},  # fat percentage 1 % off
    {"f11": b"020.5"}, {"f11": b"019.5"},  # BMI 0.5 off
])
def test_bc418_values_off_by_exactly_the_tolerance_are_accepted(changed):
    assert "weight_kg" in feed(with_fields(**{**EXACT, **changed}))[0]


@pytest.mark.parametrize("changed, reason", [
    ({"f8": b"060.26"}, "fat mass + fat-free mass does not match weight"),
    ({"f8": b"059.74"}, "fat mass + fat-free mass does not match weight"),
    ({"f6": b"26.01"}, "fat percentage does not match fat mass"),
    ({"f6": b"23.99"}, "fat percentage does not match fat mass"),
    ({"f11": b"020.51"}, "BMI does not match weight and height"),
    ({"f11": b"019.49"}, "BMI does not match weight and height"),
])
def test_bc418_values_off_by_more_than_the_tolerance_are_rejected(changed, reason):
    assert feed(with_fields(**{**EXACT, **changed})) == [FrameError(reason)]


def test_bc418_zero_weight_or_height_is_implausible_not_a_parser_error():
    zero_weight = with_fields(**{**EXACT, "f5": b"000.0", "f7": b"000.0", "f8": b"000.0", "f11": b"000.0"})
    assert feed(zero_weight) == [FrameError("weight_kg outside plausible range 20–300")]
    assert feed(with_fields(**{**EXACT, "f4": b"00000"})) == [FrameError("height_cm outside plausible range 90–250")]


@pytest.mark.parametrize("body_type, sex, echo", [
    (b"2", b"2", {"sex": "female", "body_type": "athlete"}),
    (b"0", b"2", {"sex": "female", "body_type": "standard"}),
    (b"1", b"3", {}),  # codes the manual does not know are left out
    (b"9", b"0", {}),
])
def test_bc418_echo_of_sex_and_body_type(body_type, sex, echo):
    [measurement] = feed(with_fields(f2=body_type, f3=sex, f10=b"41", f4=b"00171"))
    assert measurement["inputs"] == {"age": 41, "height_cm": 171.0, **echo}


@pytest.mark.parametrize("index", [2, 3, 10, 12, 14, 20, 37, 38])
def test_bc418_malformed_field_is_rejected_naming_its_index(index):
    assert feed(with_fields(**{f"f{index}": b"1-2"})) == [FrameError(f"malformed field {index}")]


@pytest.mark.parametrize("date, time", [
    (b"04/05/15", b'"15:52"'), (b'"04/05/2015"', b'"15:52"'), (b'"04-05-15"', b'"15:52"'),
    (b'"04/05/15"', b"15:52"), (b'"04/05/15"', b'"1552"'), (b'"04/05/15"', b'"15:5"'),
])
def test_bc418_malformed_date_or_time_is_rejected(date, time):
    assert feed(with_fields(f0=date, f1=time)) == [FrameError("malformed date or time")]


def test_bc418_impossible_date_keeps_the_values_without_a_time():
    [measurement] = feed(with_fields(f0=b'"30/02/15"'))
    assert measurement == {k: v for k, v in BC418_MEASUREMENT.items() if k != "measured_at"}


def test_bc418_date_is_dd_mm_yy_in_this_century():
    [measurement] = feed(with_fields(f0=b'"31/12/99"', f1=b'"23:58"'))
    assert measurement["measured_at"] == "2099-12-31T23:58:00"


def test_bc418_line_without_a_quote_is_unrecognised_and_short_noise_is_skipped():
    assert feed(b"\x01ab\r\n12,13,14,15\r\n") == [
        FrameError("unrecognised data (check the driver and line settings)")]


def test_bc418_non_ascii_byte_in_a_frame_is_rejected():
    assert feed(BC418.replace(b"15:52", b"15:5\xe9")) == [FrameError("non-ASCII data in frame")]


def test_bc418_trailing_spaces_are_tolerated():
    assert feed(BC418.replace(b"\r\n", b"   \r\n")) == [BC418_MEASUREMENT]


def test_bc418_bmi_is_checked_for_a_height_under_one_metre_too():
    frame = with_fields(**{**EXACT, "f4": b"00095"})  # 80 kg at 0.95 m is a BMI of 88.6, not 20
    assert feed(frame) == [FrameError("BMI does not match weight and height")]


def test_bc418_fat_percentage_is_checked_for_a_weight_under_one_kilogram_too():
    frame = with_fields(**{**EXACT, "f5": b"000.8", "f7": b"000.2", "f8": b"000.6", "f6": b"50.0", "f11": b"000.2"})
    assert feed(frame) == [FrameError("fat percentage does not match fat mass")]


def test_bc418_a_letter_after_the_last_field_is_a_malformed_field():
    assert feed(BC418.replace(b",12\r\n", b",12X\r\n")) == [FrameError("malformed field 38")]


def test_bc418_only_spaces_pad_the_end_of_a_frame():
    assert feed(BC418.replace(b",12\r\n", b",12\t\r\n")) == [FrameError("malformed field 38")]
