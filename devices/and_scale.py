"""A&D weighing "standard format": `ST,+00070.50 kg` CR LF (header, 9-char value, 3-char unit).

Scales stream many lines per weighing. One measurement is taken per person: the first
stable (`ST`) line once someone stands on the scale; unstable (`US`) lines are ignored.
The driver re-arms when the scale reads below the plausible minimum (the person stepped
off) or when a stable weight differs clearly from the last one taken (a new person on a
scale that only prints once per weighing).
"""
from __future__ import annotations

import re

from devices.driver import PLAUSIBLE, FrameError, FrameRejected, LineDriver, LineSettings

LB_TO_KG = 0.45359237
FRAME_LENGTH = 15
NEW_PERSON_KG = 0.5  # a stable weight this far from the last one taken is a new weighing

_FRAME = re.compile(rb"(ST|US|QT|WT),([+-])([0-9. ]{8})( kg| lb|.{3})", re.DOTALL)
_VALUE = re.compile(rb" *[0-9]{1,8}(?:\.[0-9]{1,6})?")


def build_frame(weight: float, *, header: str = "ST", unit: str = "kg") -> bytes:
    """Build one standard-format line, e.g. build_frame(70.5) == b'ST,+00070.50 kg\\r\\n'."""
    value = f"{abs(weight):08.2f}"
    return f"{header},{'-' if weight < 0 else '+'}{value} {unit}\r\n".encode("ascii")


def parse_weight(frame: bytes) -> tuple[str, float | None]:
    """Return (header, weight in kg or None for overload); reject malformed frames."""
    if frame.startswith(b"OL,"):
        return "OL", None  # the value field holds no weight then
    match = _FRAME.fullmatch(frame)
    if not match:
        raise FrameRejected("malformed A&D frame")
    header, sign, digits, unit = (group.decode("latin-1") for group in match.groups())
    if header not in ("ST", "US"):
        raise FrameRejected("unsupported A&D header (scale not in weighing mode)")
    if not _VALUE.fullmatch(match[3]):
        raise FrameRejected("malformed weight value")
    if unit not in (" kg", " lb"):
        raise FrameRejected("unsupported unit (set the scale to kg or lb)")
    value = float(digits) * (-1 if sign == "-" else 1)
    if unit == " lb":
        value = round(value * LB_TO_KG, 2)
    return header, value


class AndScale(LineDriver):
    """A&D standard format: one measurement per person from the first stable line."""

    name = "and-scale"
    kind = "scale"
    description = "A&D weighing standard format (ST/US/OL lines), many balances and OEM scales"
    line = LineSettings(2400, 7, "E", 1)

    def __init__(self) -> None:
        super().__init__()
        self._taken: float | None = None  # weight taken for the person now on the scale

    def parse_line(self, line: bytes) -> dict | FrameError | None:
        """Parse one line; returns a measurement only for the first stable weight of a person."""
        if len(line) < FRAME_LENGTH:
            return self.noise_or_reject(line, f"wrong frame length {len(line)} (expected {FRAME_LENGTH})")
        # The frame is the line's last 15 bytes; anything before it is stray bytes.
        header, weight = parse_weight(line[-FRAME_LENGTH:])
        if weight is None:
            return FrameError("scale overloaded (OL)", "OL")
        minimum, maximum = PLAUSIBLE["weight_kg"]
        if weight < minimum:
            self._taken = None  # empty scale or someone stepping on/off
            return None
        if header != "ST":
            return None
        if weight > maximum:
            raise FrameRejected(f"weight_kg outside plausible range {minimum:g}–{maximum:g}")
        if self._taken is not None and abs(weight - self._taken) < NEW_PERSON_KG:
            return None
        self._taken = weight
        return self.measurement({"weight_kg": weight})
