"""What every serial instrument driver shares: events, line settings, line framing, plausibility.

A driver is a small state machine from bytes to events. It never touches a port:
`devices.instrument.Instrument` feeds it and writes what it asks to send.
Rejection reasons never quote frame content, so they are safe to show and to log.
"""
from __future__ import annotations

import abc
import collections
import dataclasses
import logging
import re
from datetime import datetime
from typing import ClassVar

from common.vocabulary import MEASUREMENT_FIELDS

logger = logging.getLogger(__name__)

# Reason used when a parser hits a bug; tests assert that no frame ever produces it.
INTERNAL_ERROR = "frame could not be parsed (internal parser error)"


@dataclasses.dataclass(frozen=True)
class FrameError:
    """A frame that was rejected or a device-reported error, with a reason free of personal data."""

    reason: str
    code: str | None = None


class FrameRejected(Exception):
    """Raised inside a parser to reject the frame it is parsing."""

    def __init__(self, reason: str, code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclasses.dataclass(frozen=True)
class LineSettings:
    """Serial line settings: baud rate, data bits, parity (N/E/O) and stop bits."""

    baudrate: int
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1

    def describe(self) -> str:
        """Return the usual short notation, e.g. '9600 8N1'."""
        return f"{self.baudrate} {self.bytesize}{self.parity}{self.stopbits}"


# Plausible ranges: a value outside them rejects the whole frame (design rule 7).
PLAUSIBLE: dict[str, tuple[float, float]] = {name: f.plausible for name, f in MEASUREMENT_FIELDS.items()}
INTEGER_FIELDS = frozenset(name for name, f in MEASUREMENT_FIELDS.items() if f.integer)

_NUMBER = re.compile(r"-?[0-9]{1,7}(?:\.[0-9]{1,4})?")


def parse_number(text: str, field: str) -> float:
    """Parse a plain decimal number (no exponent, no nan/inf), or reject the frame naming `field`."""
    text = text.strip(" ")
    if not _NUMBER.fullmatch(text):
        raise FrameRejected(f"malformed value for {field}")
    return float(text)


def normalise(values: dict) -> dict:
    """Cast numeric measurement fields to their contract type (int or float)."""
    out = {}
    for key, value in values.items():
        if key in INTEGER_FIELDS:
            out[key] = int(round(value))
        elif key in PLAUSIBLE:
            out[key] = float(value)
        else:
            out[key] = value
    return out


def check_plausible(measurement: dict) -> None:
    """Reject the frame when a value is outside its plausible range or blood pressures are inverted."""
    for key, (low, high) in PLAUSIBLE.items():
        value = measurement.get(key)
        if value is not None and not low <= value <= high:
            raise FrameRejected(f"{key} outside plausible range {low:g}–{high:g}")
    systolic, diastolic = measurement.get("systolic_mmhg"), measurement.get("diastolic_mmhg")
    if systolic is not None and diastolic is not None:
        if diastolic >= systolic:
            raise FrameRejected("diastolic pressure not below systolic")
        mean = measurement.get("mean_arterial_mmhg")
        if mean is not None and not diastolic <= mean <= systolic:
            raise FrameRejected("mean arterial pressure not between diastolic and systolic")


def local_iso(year: int, month: int, day: int, hour: int, minute: int) -> str | None:
    """Return an ISO 8601 local time string, or None when the device's date is not a real date."""
    try:
        return datetime(year, month, day, hour, minute).isoformat()
    except ValueError:
        return None


class Driver(abc.ABC):
    """One device family: turns bytes into measurements (dicts) and FrameErrors.

    Host-driven devices also produce commands: `tick(now)` returns bytes to send.
    A new instance is made per connection, so no state survives an unplug.
    """

    name: ClassVar[str]
    kind: ClassVar[str]  # "scale" or "bp"
    description: ClassVar[str]
    line: ClassVar[LineSettings]
    read_timeout: ClassVar[float] = 60.0  # default for `python -m devices read`
    command_gap: ClassVar[float] = 0.0  # seconds between two commands sent to the device
    # What the station screen offers: a "measure" button for a device the host starts,
    # height/sex/age sent before a measurement for one that takes personal data.
    host_driven: ClassVar[bool] = False
    takes_personal_data: ClassVar[bool] = False

    def __init__(self) -> None:
        self._outbox: collections.deque[bytes] = collections.deque()
        self._next_send = 0.0

    @abc.abstractmethod
    def feed(self, data: bytes) -> list:
        """Take bytes as they arrive; return measurements (dicts) and FrameErrors completed by them."""

    @classmethod
    def start_commands(cls, **personal) -> list[bytes]:
        """Commands that start a measurement; pushed devices measure on their own and need none."""
        if personal:
            raise ValueError(f"{cls.name} does not take personal data")
        return []

    def expect(self, data: dict) -> None:  # noqa: B027 - a hook: most devices echo nothing
        """Personal data the next measurement must echo; only analysers that take it check it."""

    def queue_commands(self, commands: list[bytes], now: float) -> None:
        """Queue commands to send; `tick` releases them `command_gap` apart."""
        self._outbox.extend(commands)

    def tick(self, now: float) -> list:
        """Return what is due now: bytes to send to the device and FrameErrors from timeouts."""
        if self._outbox and now >= self._next_send:
            self._next_send = now + self.command_gap
            return [self._outbox.popleft()]
        return []

    def measurement(self, values: dict) -> dict:
        """Finish a measurement: contract types, driver name, plausibility check (raises FrameRejected)."""
        result = normalise(values)
        result["driver"] = self.name
        check_plausible(result)
        return result


def guarded_parse(driver_name: str, parse, frame: bytes) -> list:
    """Run one frame parser; a rejection becomes a FrameError, a parser bug never escapes."""
    try:
        event = parse(frame)
    except FrameRejected as exc:
        return [FrameError(exc.reason, exc.code)]
    except Exception as exc:  # noqa: BLE001 - a parser bug must not take the station down
        # Only the exception type: its message could quote frame content (personal data).
        logger.error("%s parser failed on a frame (%s)", driver_name, type(exc).__name__)
        return [FrameError(INTERNAL_ERROR)]
    return [] if event is None else [event]


_TERMINATOR = re.compile(rb"[\r\n]")
NOISE_BYTES = bytes(range(0x00, 0x20)) + bytes(range(0x7F, 0x100))


class LineDriver(Driver):
    """A device that sends text lines ended by CR and/or LF; `parse_line` handles one line."""

    max_line: ClassVar[int] = 256

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._scanned = 0  # bytes of _buffer already known to hold no terminator
        self._discarding = False  # inside an over-long line: drop until its terminator

    def feed(self, data: bytes) -> list:
        """Buffer bytes and parse every complete line; over-long lines are dropped with one error."""
        self._buffer.extend(data)
        events: list = []
        while True:
            match = _TERMINATOR.search(self._buffer, self._scanned)
            if match is None:
                self._scanned = len(self._buffer)
                if len(self._buffer) > self.max_line:
                    self._buffer.clear()
                    self._scanned = 0
                    if not self._discarding:
                        events.append(FrameError(f"frame longer than {self.max_line} bytes discarded"))
                        self._discarding = True
                return events
            line = bytes(self._buffer[: match.start()])
            del self._buffer[: match.end()]
            self._scanned = 0
            if self._discarding:
                self._discarding = False
            elif len(line) > self.max_line:
                events.append(FrameError(f"frame longer than {self.max_line} bytes discarded"))
            elif line.strip(NOISE_BYTES):
                events.extend(guarded_parse(self.name, self.parse_line, line))

    @abc.abstractmethod
    def parse_line(self, line: bytes) -> dict | FrameError | None:
        """Parse one line (without terminator): a measurement, a device error, or None to ignore it."""

    @staticmethod
    def ignorable(line: bytes) -> bool:
        """True for a few stray bytes between frames, which devices send and we silently skip."""
        return len(line.strip(NOISE_BYTES + b" }")) <= 3

    def noise_or_reject(self, line: bytes, reason: str) -> None:
        """For a line that is no frame: None when it is stray bytes, else FrameRejected(reason)."""
        if self.ignorable(line):
            return None
        raise FrameRejected(reason)
