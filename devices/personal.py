"""The personal data a body-composition analyser computes with, and the check of its echo.

A Tanita computes fat, muscle and water from sex, age, height, body type (and subtracts a
clothes tare). The frame echoes what it used; a frame whose echo differs from what the
host sent (or expects) describes somebody else and must not be stored for this person.
"""
from __future__ import annotations

SEXES = {"1": "male", "male": "male", "m": "male", "man": "male",
         "2": "female", "female": "female", "f": "female", "v": "female", "vrouw": "female"}
BODY_TYPES = {"0": "standard", "standard": "standard", "2": "athlete", "athlete": "athlete", "athletic": "athlete"}
SEX_CODES = {"male": "1", "female": "2"}
BODY_TYPE_CODES = {"standard": "0", "athlete": "2"}
KEYS = ("sex", "age", "height_cm", "body_type", "tare_kg")
# The device prints one decimal: anything closer than this is the same value.
DECIMAL_TOLERANCE = 0.051


def normalise(*, height_cm, sex, age, tare_kg=0.0, body_type="standard") -> dict:
    """Validated personal data in fixed names and units; ValueError names the first bad field."""
    sex_name = SEXES.get(str(sex).strip().lower())
    if sex_name is None:
        raise ValueError("sex must be 'male' (1) or 'female' (2)")
    body_name = BODY_TYPES.get(str(body_type).strip().lower())
    if body_name is None:
        raise ValueError("body_type must be 'standard' (0) or 'athlete' (2)")
    try:
        height_cm, tare_kg = float(height_cm), float(tare_kg)
    except (TypeError, ValueError):
        raise ValueError("height_cm and tare_kg must be numbers") from None
    if not 0.0 <= tare_kg <= 10.0:
        raise ValueError("tare_kg must be between 0.0 and 10.0")
    if not 90.0 <= height_cm <= 249.5:
        raise ValueError("height_cm must be between 90 and 249.5")
    if not isinstance(age, int) or isinstance(age, bool) or not 5 <= age <= 99:
        raise ValueError("age must be a whole number between 5 and 99")
    return {"sex": sex_name, "age": age, "height_cm": round(height_cm, 1), "body_type": body_name,
            "tare_kg": round(tare_kg, 1)}


def mismatch(expected: dict, echoed: dict, keys=KEYS) -> list[str]:
    """Names of the fields (among `keys` and `expected`) whose echo differs or is missing."""
    differing = []
    for key in keys:
        if key not in expected:
            continue
        want, got = expected[key], echoed.get(key)
        if got is None:
            differing.append(key)
        elif key in ("height_cm", "tare_kg"):
            if abs(float(want) - float(got)) > DECIMAL_TOLERANCE:
                differing.append(key)
        elif want != got:
            differing.append(key)
    return differing


ECHO_REJECTED = "the scale computed with other personal data than was sent"


def echo_error(differing: list[str]) -> str:
    """The rejection reason for a mismatching echo: names the fields, never their values."""
    return f"{ECHO_REJECTED} ({', '.join(differing)}): not this person's measurement, measure again"
