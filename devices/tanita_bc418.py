"""Tanita BC-418 / BC-418MA: positional comma-separated frames without a checksum.

With no checksum, a frame must have 38 or 39 fields of the right shape and be
internally consistent: fat mass + fat-free mass ≈ weight, fat % ≈ fat mass / weight,
BMI ≈ weight / height².
"""
from __future__ import annotations

import re

from devices import personal
from devices.driver import FrameRejected, LineDriver, LineSettings, local_iso, parse_number

KJ_PER_KCAL = 4.184
MODEL = "BC-418"

# Field index -> contract field name.
FIELDS = {
    4: "height_cm",
    5: "weight_kg",
    6: "fat_pct",
    7: "fat_mass_kg",
    8: "fat_free_mass_kg",
    9: "water_kg",
    11: "bmi",
    13: "impedance_ohm",
    38: "visceral_fat",
}
BMR_KJ = 12
BODY_TYPE, SEX, HEIGHT, AGE = 2, 3, 4, 10  # what the analyser computed with (its echo)

_DATE = re.compile(r'"([0-9]{2})/([0-9]{2})/([0-9]{2})"')
_TIME = re.compile(r'"([0-9]{2}):([0-9]{2})"')
_UNSIGNED = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,3})?")

# Tolerances of the consistency checks, generous enough for the device's own rounding.
MASS_TOLERANCE_KG = 0.25
FAT_PCT_TOLERANCE = 1.0
BMI_TOLERANCE = 0.5


def check_consistency(values: dict) -> None:
    """Reject a frame whose masses, fat percentage or BMI do not agree with its weight and height."""
    weight = values["weight_kg"]
    if abs(values["fat_mass_kg"] + values["fat_free_mass_kg"] - weight) > MASS_TOLERANCE_KG:
        raise FrameRejected("fat mass + fat-free mass does not match weight")
    if weight > 0 and abs(values["fat_mass_kg"] / weight * 100 - values["fat_pct"]) > FAT_PCT_TOLERANCE:
        raise FrameRejected("fat percentage does not match fat mass")
    height_m = values["height_cm"] / 100
    if height_m > 0 and abs(weight / height_m**2 - values["bmi"]) > BMI_TOLERANCE:
        raise FrameRejected("BMI does not match weight and height")


def inputs(fields: list[str]) -> dict:
    """Sex, age, height and body type as the frame echoes them (codes it does not know left out)."""
    echo = {"age": int(parse_number(fields[AGE], "age")), "height_cm": parse_number(fields[HEIGHT], "height")}
    if fields[SEX] in ("1", "2"):
        echo["sex"] = personal.SEXES[fields[SEX]]
    if fields[BODY_TYPE] in ("0", "2"):
        echo["body_type"] = personal.BODY_TYPES[fields[BODY_TYPE]]
    return echo


def build_frame(values: dict, *, segments: list[str] | None = None) -> bytes:
    """Build a BC-418 frame from contract values (measured_at, masses, ...) with 39 fields."""
    when = values.get("measured_at", "2015-05-04T15:52:00")
    date = f'"{when[8:10]}/{when[5:7]}/{when[2:4]}"'
    time = f'"{when[11:16]}"'
    segments = segments or ["225", "229", "304", "311"] + ["20.0", "003.0", "010.0", "009.5"] * 5
    fields = [date, time, str(values.get("body_type", 0)), str(values.get("sex", 1)), f"{values['height_cm']:05.0f}",
              f"{values['weight_kg']:05.1f}", f"{values['fat_pct']:04.1f}",
              f"{values['fat_mass_kg']:05.1f}", f"{values['fat_free_mass_kg']:05.1f}",
              f"{values['water_kg']:05.1f}", str(values.get("age", 37)), f"{values['bmi']:05.1f}",
              f"{values['bmr_kcal'] * KJ_PER_KCAL:05.0f}", f"{values['impedance_ohm']:.0f}",
              *segments]
    if "visceral_fat" in values:
        fields.append(f"{values['visceral_fat']:.0f}")
    return ",".join(fields).encode("ascii") + b"\r\n"


class TanitaBC418(LineDriver):
    """Tanita BC-418 positional frames: field count and mass consistency instead of a checksum."""

    name = "tanita-bc418"
    kind = "scale"
    description = "Tanita BC-418 / BC-418MA segmental analyser, positional frames"
    line = LineSettings(4800, 8, "N", 1)

    def parse_line(self, line: bytes) -> dict | None:
        """Parse one positional frame; stray bytes before its opening quote are skipped."""
        start = line.find(b'"')
        if start < 0:
            return self.noise_or_reject(line, "unrecognised data (check the driver and line settings)")
        try:
            text = line[start:].decode("ascii").rstrip(" ")
        except UnicodeDecodeError:
            raise FrameRejected("non-ASCII data in frame") from None
        fields = text.split(",")
        if len(fields) not in (38, 39):
            raise FrameRejected(f"wrong field count {len(fields)} (expected 38 or 39)")
        date, time = _DATE.fullmatch(fields[0]), _TIME.fullmatch(fields[1])
        if not date or not time:
            raise FrameRejected("malformed date or time")
        for index, field in enumerate(fields[2:], start=2):
            if not _UNSIGNED.fullmatch(field):
                raise FrameRejected(f"malformed field {index}")
        values = {name: parse_number(fields[index], name)
                  for index, name in FIELDS.items() if index < len(fields)}
        values["bmr_kcal"] = parse_number(fields[BMR_KJ], "BMR") / KJ_PER_KCAL
        check_consistency(values)
        values["device_model"] = MODEL
        values["inputs"] = inputs(fields)
        when = local_iso(2000 + int(date[3]), int(date[2]), int(date[1]), int(time[1]), int(time[2]))
        if when:
            values["measured_at"] = when
        return self.measurement(values)
