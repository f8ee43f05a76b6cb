"""Omron professional blood-pressure monitors HBP-9030 ("format 5") and HBP-9020.

Both frames carry a 20-character ID typed in at the monitor. It is personal data:
the parsers locate it only to skip it; it is never decoded, stored, logged or quoted.
"""
from __future__ import annotations

import re

from devices.driver import FrameError, FrameRejected, LineDriver, LineSettings, local_iso

ID_LENGTH = 20

# HBP-9030: yyyy,mm,dd,hh,mm,<ID 20>,<err 1>,<SYS 3>,<DIA 3>,<PUL 3>,<body movement 1>
HBP9030_LENGTH = 53
_HBP9030_COMMAS = (4, 7, 10, 13, 16, 37, 39, 43, 47, 51)
_DIGITS = re.compile(rb"[0-9]+")
_READING = re.compile(rb" *[0-9]{1,3}")

# HBP-9020: bp,<ID 20>,yyyy/mm/dd,hh:mm,SYS,MAP,DIA,PULSE,<flag>
_HBP9020_DATE = re.compile(rb"([0-9]{4})/([0-9]{2})/([0-9]{2})")
_HBP9020_TIME = re.compile(rb"([0-9]{2}):([0-9]{2})")
_HBP9020_FLAG = re.compile(rb"[0-9A-Za-z]{1,4}")


def reading(field: bytes, name: str) -> int:
    """Parse a 1–3 digit reading, possibly space-padded."""
    if not _READING.fullmatch(field):
        raise FrameRejected(f"malformed {name}")
    return int(field)


def build_hbp9030_frame(values: dict, *, patient_id: str = " " * ID_LENGTH, error: int = 0,
                        body_movement: int = 0) -> bytes:
    """Build an HBP-9030 frame; with error != 0 the readings are spaces, like the device."""
    when = values.get("measured_at", "2026-07-11T09:05:00")
    date = f"{when[0:4]},{when[5:7]},{when[8:10]},{when[11:13]},{when[14:16]}"
    if error:
        readings = "   ,   ,   "
    else:
        readings = (f"{values['systolic_mmhg']:03d},{values['diastolic_mmhg']:03d},"
                    f"{values['pulse_bpm']:03d}")
    text = f"{date},{patient_id[:ID_LENGTH]:<{ID_LENGTH}},{error},{readings},{body_movement}"
    return text.encode("latin-1") + b"\r\n"


def build_hbp9020_frame(values: dict, *, patient_id: str = " " * ID_LENGTH, flag: str = "0") -> bytes:
    """Build an HBP-9020 frame (CR LF terminated)."""
    when = values.get("measured_at", "2026-07-11T09:05:00")
    text = (f"bp,{patient_id[:ID_LENGTH]:<{ID_LENGTH}},{when[0:4]}/{when[5:7]}/{when[8:10]},"
            f"{when[11:16]},{values['systolic_mmhg']},{values['mean_arterial_mmhg']},"
            f"{values['diastolic_mmhg']},{values['pulse_bpm']},{flag}")
    return text.encode("latin-1") + b"\r\n"


class OmronHBP9030(LineDriver):
    """Omron HBP-9030 format 5: exactly 53 bytes + CR LF, error digit, ID skipped."""

    name = "omron-hbp9030"
    kind = "bp"
    description = "Omron HBP-9030 professional blood-pressure monitor (USB CDC, format 5)"
    line = LineSettings(9600, 8, "N", 1)

    def parse_line(self, line: bytes) -> dict | FrameError | None:
        """Parse one 53-byte frame (the line's tail; stray bytes before it are skipped)."""
        if len(line) < HBP9030_LENGTH:
            return self.noise_or_reject(line, f"wrong frame length {len(line)} (expected {HBP9030_LENGTH})")
        frame = line[-HBP9030_LENGTH:]
        if any(frame[i] != ord(",") for i in _HBP9030_COMMAS):
            raise FrameRejected("malformed frame layout")
        date = [frame[0:4], frame[5:7], frame[8:10], frame[11:13], frame[14:16]]
        if not all(_DIGITS.fullmatch(part) for part in date):
            raise FrameRejected("malformed date or time")
        error, movement = frame[38:39], frame[52:53]
        if not _DIGITS.fullmatch(error) or movement not in (b"0", b"1"):
            raise FrameRejected("malformed status fields")
        if error != b"0":
            return FrameError(f"blood-pressure monitor reported error {error.decode()}: measure again",
                              f"E{error.decode()}")
        values: dict = {
            "systolic_mmhg": reading(frame[40:43], "systolic"),
            "diastolic_mmhg": reading(frame[44:47], "diastolic"),
            "pulse_bpm": reading(frame[48:51], "pulse"),
            "device_model": "HBP-9030",
            "flags": {"body_movement": movement == b"1"},
        }
        if when := local_iso(*(int(part) for part in date)):
            values["measured_at"] = when
        return self.measurement(values)


class OmronHBP9020(LineDriver):
    """Omron HBP-9020: `bp,<ID>,date,time,SYS,MAP,DIA,PULSE,flag`, ID skipped by position."""

    name = "omron-hbp9020"
    kind = "bp"
    description = "Omron HBP-9020 professional blood-pressure monitor (MAP between SYS and DIA)"
    # Sources differ (even parity/2 stop bits vs none/1): override with --parity/--stopbits.
    line = LineSettings(2400, 8, "N", 1)

    def parse_line(self, line: bytes) -> dict | None:
        """Parse one frame starting at `bp,`; the ID is skipped by its fixed width, never split."""
        start = line.find(b"bp,")
        if start < 0:
            return self.noise_or_reject(line, "unrecognised data (check the driver and line settings)")
        frame = line[start:].rstrip(b" ")
        after_id = 3 + ID_LENGTH
        if len(frame) <= after_id or frame[after_id] != ord(","):
            raise FrameRejected("malformed frame layout")
        fields = frame[after_id + 1:].split(b",")
        if len(fields) != 7:
            raise FrameRejected(f"wrong field count {len(fields) + 2} (expected 9)")
        date, time = _HBP9020_DATE.fullmatch(fields[0]), _HBP9020_TIME.fullmatch(fields[1])
        if not date or not time:
            raise FrameRejected("malformed date or time")
        if not _HBP9020_FLAG.fullmatch(fields[6]):
            raise FrameRejected("malformed flag")
        if not all(_READING.fullmatch(field) for field in fields[2:6]):
            raise FrameRejected("monitor sent no valid reading (error or malformed frame)")
        values: dict = {
            "systolic_mmhg": int(fields[2]),
            "mean_arterial_mmhg": int(fields[3]),
            "diastolic_mmhg": int(fields[4]),
            "pulse_bpm": int(fields[5]),
            "device_model": "HBP-9020",
            # The flag's codes are not documented (devices.md): kept as sent, shown, never interpreted.
            "flags": {"device_flag": fields[6].decode("ascii")},
        }
        when = local_iso(int(date[1]), int(date[2]), int(date[3]), int(time[1]), int(time[2]))
        if when:
            values["measured_at"] = when
        return self.measurement(values)
