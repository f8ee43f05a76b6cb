"""Tanita body-composition analysers of the key/value family (SC-240, SC-330, BC-420MA, MC-780, MC-980, DC-320, WB-3000).

A frame is one line: an optional `{0,16,~0,1,...` control header, `KEY,value` pairs and
`CS,hh`, the sum of all bytes from the frame start up to the comma before `CS`, modulo 256.
In PC mode the host sends personal data and `G`; the scale echoes each code.
"""
from __future__ import annotations

import re
from typing import ClassVar

from devices import personal
from devices.driver import NOISE_BYTES, FrameError, FrameRejected, LineDriver, LineSettings, local_iso, parse_number

LB_TO_KG = 0.45359237
KJ_PER_KCAL = 4.184

# Tanita key -> contract field name.
FIELDS = {
    "Wk": "weight_kg",
    "Hm": "height_cm",
    "MI": "bmi",
    "FW": "fat_pct",
    "fW": "fat_mass_kg",
    "MW": "fat_free_mass_kg",
    "mW": "muscle_mass_kg",
    "bW": "bone_mass_kg",
    "wW": "water_kg",
    "ww": "water_pct",
    "IF": "visceral_fat",
    "rB": "bmr_kcal",
    "rA": "metabolic_age",
    "ZF": "impedance_ohm",
}

ERRORS = {
    "1": "weight exceeds the scale's capacity",
    "2": "impedance error: bare feet on the electrodes, then measure again",
    "4": "measurement started without personal data",
}

_HEADER_TOKEN = re.compile(r"[{~]-?[0-9]*|-?[0-9]+")
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9]{0,3}")
_TOKEN = re.compile(r'"[^"]*"|[^,"]*')
_CHECKSUM_TAIL = re.compile(rb"([0-9A-Fa-f]{2})\}?[ \t}]*")
_FIRST_LETTER = re.compile(rb"[A-Za-z]")
_ECHO = re.compile(rb"M1|D[0-4][0-9.]*|G")
_ERROR_CODE = re.compile(rb"E([0-9])")
_DATE_DMY = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_DATE_YMD = re.compile(r"([0-9]{4})/([0-9]{2})/([0-9]{2})")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2})")


def checksum(body: bytes) -> int:
    """Tanita checksum: the byte sum of the frame up to and including the comma before CS, mod 256."""
    return sum(body) % 256


def tokens(text: str) -> list[str]:
    """Split a frame body on commas, keeping double-quoted strings whole."""
    out, pos = [], 0
    while True:
        match = _TOKEN.match(text, pos)
        out.append(match.group())
        pos = match.end()
        if pos == len(text):
            return out
        if text[pos] != ",":
            raise FrameRejected("malformed quoted string")
        pos += 1


def pairs(fields: list[str]) -> dict[str, str]:
    """Skip the control header and return the KEY,value pairs; duplicate or odd keys reject the frame."""
    start = 0
    while start < len(fields) and _HEADER_TOKEN.fullmatch(fields[start]):
        start += 1
    body = fields[start:]
    if len(body) % 2:
        raise FrameRejected("unpaired key or value")
    result: dict[str, str] = {}
    for key, value in zip(body[::2], body[1::2]):
        if not _KEY.fullmatch(key):
            raise FrameRejected("malformed key")
        if key in result:
            raise FrameRejected(f"duplicate key {key}")
        result[key] = value
    return result


def unquote(value: str) -> str:
    """Strip the double quotes of a Tanita string value."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def measured_at(pairs_: dict[str, str]) -> str | None:
    """ISO local time from `Da` (dd/mm/yyyy) or `DT` (yyyy/mm/dd) plus `TI` (hh:mm), if both valid."""
    time = _TIME.fullmatch(unquote(pairs_.get("TI", "")))
    if not time:
        return None
    hour, minute = int(time[1]), int(time[2])
    if match := _DATE_DMY.fullmatch(unquote(pairs_.get("Da", ""))):
        return local_iso(int(match[3]), int(match[2]), int(match[1]), hour, minute)
    if match := _DATE_YMD.fullmatch(unquote(pairs_.get("DT", ""))):
        return local_iso(int(match[1]), int(match[2]), int(match[3]), hour, minute)
    return None


def values_from_pairs(pairs_: dict[str, str]) -> dict:
    """Map Tanita keys to contract fields (unknown keys ignored); rejects status errors and missing weight."""
    status = pairs_.get("St", "0")
    if status == "1":
        raise FrameRejected("segmental measurement failed (St 1): hold the hand grips and measure again",
                            "St1")
    if status != "0":
        raise FrameRejected("scale reported an unknown status")
    values: dict = {}
    for key, field in FIELDS.items():
        if key in pairs_:
            values[field] = parse_number(pairs_[key], key)
    if "weight_kg" not in values and "Wp" in pairs_:
        values["weight_kg"] = round(parse_number(pairs_["Wp"], "Wp") * LB_TO_KG, 1)
    if "weight_kg" not in values:
        raise FrameRejected("no weight in frame")
    if "bmr_kcal" not in values and "rb" in pairs_:
        values["bmr_kcal"] = parse_number(pairs_["rb"], "rb") / KJ_PER_KCAL
    model, serial = unquote(pairs_.get("MO", "")).strip(), unquote(pairs_.get("SN", "")).strip()
    if model:
        values["device_model"] = model
    if serial:
        values["device_serial"] = serial
    if when := measured_at(pairs_):
        values["measured_at"] = when
    if inputs := inputs_from_pairs(pairs_):
        values["inputs"] = inputs
    return values


def frame_start(line: bytes) -> int:
    """Where the frame begins: its `{`, else its first key; stray bytes before it are skipped."""
    brace = line.find(b"{")
    if brace >= 0:
        return brace
    letter = _FIRST_LETTER.search(line)
    return letter.start() if letter else len(line)


def build_frame(fields: list[tuple[str, object]], *, header: bytes = b"{0,16,~0,1,~1,1,~2,1,",
                trailer: bytes = b"") -> bytes:
    """Build a frame with a correct checksum from (key, value) pairs; strings are quoted for you."""
    parts = []
    for key, value in fields:
        text = f'"{value}"' if isinstance(value, str) else str(value)
        parts.append(f"{key},{text},")
    body = header + "".join(parts).encode("latin-1")
    return body + f"CS,{checksum(body):02X}".encode() + trailer + b"\r\n"


def pc_mode_commands(*, height_cm: float, sex: str | int, age: int, tare_kg: float = 0.0,
                     body_type: str | int = "standard") -> list[bytes]:
    """PC-mode commands (M1, D0 tare, D1 sex, D2 body type, D3 height, D4 age, G), each ending CR LF."""
    data = personal.normalise(height_cm=height_cm, sex=sex, age=age, tare_kg=tare_kg, body_type=body_type)
    commands = ["M1", f"D0{data['tare_kg']:04.1f}", f"D1{personal.SEX_CODES[data['sex']]}",
                f"D2{personal.BODY_TYPE_CODES[data['body_type']]}", f"D3{data['height_cm']:05.1f}",
                f"D4{data['age']:02d}", "G"]
    return [command.encode("ascii") + b"\r\n" for command in commands]


def inputs_from_pairs(pairs_: dict[str, str]) -> dict:
    """What the scale says it computed with (GE, AG, Hm, Bt, Pt), in the names of devices.personal."""
    inputs: dict = {}
    if "GE" in pairs_:
        if pairs_["GE"] not in ("1", "2"):
            raise FrameRejected("malformed value for GE")
        inputs["sex"] = personal.SEXES[pairs_["GE"]]
    if "Bt" in pairs_:
        if pairs_["Bt"] not in ("0", "2"):
            raise FrameRejected("malformed value for Bt")
        inputs["body_type"] = personal.BODY_TYPES[pairs_["Bt"]]
    if "AG" in pairs_:
        inputs["age"] = int(parse_number(pairs_["AG"], "AG"))
    if "Hm" in pairs_:
        inputs["height_cm"] = parse_number(pairs_["Hm"], "Hm")
    if "Pt" in pairs_:
        inputs["tare_kg"] = parse_number(pairs_["Pt"], "Pt")
    return inputs


class Tanita(LineDriver):
    """Tanita key/value frames, checksum verified; PC-mode start with personal data."""

    name = "tanita"
    kind = "scale"
    description = "Tanita body composition, key/value family (SC-240, MC-780, MC-980, BC-420MA, DC-320, WB-3000)"
    line = LineSettings(9600, 8, "N", 1)
    takes_personal_data = True
    command_gap = 0.15  # the manual asks for at least 100 ms between PC-mode commands
    max_line: ClassVar[int] = 4096  # segmental frames exceed 1 kB
    _expected: dict | None = None

    @classmethod
    def start_commands(cls, **data) -> list[bytes]:
        """PC-mode commands when personal data is given; without it the scale measures on its own."""
        return pc_mode_commands(**data) if data else []

    def expect(self, data: dict) -> None:
        """The next frame must echo this personal data (as sent in PC mode), or it is rejected."""
        self._expected = personal.normalise(**data) if data else None

    def parse_line(self, line: bytes) -> dict | FrameError | None:
        """Parse a frame, a PC-mode echo (ignored) or a PC-mode error reply."""
        core = line.strip(NOISE_BYTES + b" }")
        if _ECHO.fullmatch(core):
            return None
        if core == b"!":
            return FrameError("scale rejected a command (!)", "!")
        if match := _ERROR_CODE.fullmatch(core):
            digit = match[1].decode()
            text = ERRORS.get(digit, "scale reported an error")
            return FrameError(f"{text} (E{digit})", f"E{digit}")
        if self.ignorable(line):
            return None
        line = line[frame_start(line):]
        cs = line.rfind(b",CS,")
        if cs < 0:
            raise FrameRejected("no checksum in frame")
        body, tail = line[: cs + 1], line[cs + 4:]
        sent = _CHECKSUM_TAIL.fullmatch(tail)
        if not sent:
            raise FrameRejected("malformed checksum")
        if int(sent[1], 16) != checksum(body):
            raise FrameRejected("checksum mismatch")
        # latin-1 never fails: a name in the ID string must not reject the frame (ID is never used).
        values = values_from_pairs(pairs(tokens(body[:-1].decode("latin-1"))))
        expected, self._expected = self._expected, None
        if expected and (differing := personal.mismatch(expected, values.get("inputs", {}))):
            raise FrameRejected(personal.echo_error(differing), "echo")
        return self.measurement(values)
