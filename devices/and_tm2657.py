"""A&D TM-2655P / TM-2657P professional blood-pressure monitors: host-driven.

Command: SYN SYN SOH '0' '0' STX c1 c2 ETX BCC, BCC = XOR of SOH..ETX. `ST` starts a
measurement, `SP` stops it, `RB` reads the last result. Each command is acknowledged with
SYN SYN SOH '0' '0' ACK (or NAK); `RB` is followed by a data block
SYN SYN SOH '0' '0' STX field RS field RS ... ETX.

`RB` always returns the *last* result, possibly an old one (a previous participant).
So the driver polls `RB`, remembers the first result it sees on a connection as the
baseline, and reports a result only when it differs from the one seen before. `ST` is
sent only once the baseline is known. This also picks up measurements started with the
monitor's own button.
"""
from __future__ import annotations

import functools
import operator
import re

from devices.driver import Driver, FrameError, FrameRejected, LineSettings, guarded_parse, local_iso

SYN, SOH, STX, ETX, ACK, NAK, RS = 0x16, 0x01, 0x02, 0x03, 0x06, 0x15, 0x1E
HEADER = bytes([SYN, SYN, SOH]) + b"00"
ACK_FRAME = HEADER + bytes([ACK])
NAK_FRAME = HEADER + bytes([NAK])
MAX_BLOCK = 512

ERRORS = {
    "E11": "no pressure rise at start: check the cuff and hose",
    "E12": "cuff cannot be inflated: check the cuff and hose for leaks",
    "E13": "cuff inflated too fast: check the hose for kinks",
    "E15": "no pressure rise at start: check the cuff and hose",
    "E21": "cuff deflated too slowly",
    "E22": "cuff deflated too fast: check the cuff for leaks",
    "E23": "excess cuff pressure",
    "E24": "measurement took too long",
    "E42": "inflation pressure insufficient: measure again",
    "E43": "no pulse detected: check the cuff position",
    "E44": "patient moved: keep the arm still and measure again",
    "E45": "diastolic pressure could not be determined: measure again",
    "E46": "mean arterial pressure could not be determined: measure again",
    "E48": "systolic pressure could not be determined: measure again",
    "E61": "pulse rate could not be determined: measure again",
    "E63": "result outside the measuring range",
}

_ERROR_CODE = re.compile(rb"E[0-9]{2}")
_TIMESTAMP = re.compile(rb"([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})")
_TAGGED = re.compile(rb"([A-Za-z]) *([0-9]{1,3})")
_MODEL = re.compile(rb"[A-Za-z0-9-]{2,16}")


def bcc(data: bytes) -> int:
    """Block check character: XOR of all bytes given (SOH..ETX inclusive)."""
    return functools.reduce(operator.xor, data, 0)


def build_command(code: str) -> bytes:
    """Build a command frame, e.g. build_command('ST') ends with bytes 53 54 03 07."""
    checked = bytes([SOH]) + b"00" + bytes([STX]) + code.encode("ascii") + bytes([ETX])
    return bytes([SYN, SYN]) + checked + bytes([bcc(checked)])


START, STOP, READ = build_command("ST"), build_command("SP"), build_command("RB")


def parse_commands(buffer: bytearray) -> list[str | None]:
    """Device side: take complete command frames out of `buffer`; None for one with a bad BCC."""
    commands: list[str | None] = []
    while True:
        start = buffer.find(bytes([SOH]))
        if start < 0:
            buffer.clear()
            return commands
        del buffer[:start]
        if len(buffer) < 8:
            return commands
        frame = bytes(buffer[:8])  # SOH '0' '0' STX c1 c2 ETX BCC
        if frame[3] != STX or frame[6] != ETX:
            del buffer[:1]
            continue
        del buffer[:8]
        commands.append(frame[4:6].decode("latin-1") if bcc(frame[:7]) == frame[7] else None)


def build_result_block(values: dict | None = None, *, error: str = "E00", model: str = "TM2657") -> bytes:
    """Device side: the data block answering RB, for a result or an error code."""
    values = values or {}
    when = values.get("measured_at", "2026-07-11T09:05:00")
    stamp = f"{when[2:4]}{when[5:7]}{when[8:10]}{when[11:13]}{when[14:16]}"
    if error == "E00":
        readings = [f"S{values['systolic_mmhg']:3d}", f"M{values['mean_arterial_mmhg']:3d}",
                    f"D{values['diastolic_mmhg']:3d}", f"P{values['pulse_bpm']:3d}"]
    else:
        readings = ["S   ", "M   ", "D   ", "P   "]
    fields = [model, stamp, "RB", "M", error, *readings, "I170", "L140", ""]
    content = bytes([RS]).join(field.encode("ascii") for field in fields)
    return HEADER + bytes([STX]) + content + bytes([ETX])


def parse_result(content: bytes) -> dict:
    """Parse the fields between STX and ETX of an RB reply into measurement values."""
    fields = content.split(bytes([RS]))
    if len(fields) < 9:
        raise FrameRejected(f"wrong field count {len(fields)} (expected at least 9)")
    stamp = _TIMESTAMP.fullmatch(fields[1])
    if not stamp:
        raise FrameRejected("malformed date and time")
    code = fields[4].strip(b" ")
    if not _ERROR_CODE.fullmatch(code):
        raise FrameRejected("malformed error code")
    if code != b"E00":
        name = code.decode()
        raise FrameRejected(f"{ERRORS.get(name, 'blood-pressure monitor reported an error')} ({name})", name)
    readings = {}
    for index, (tag, field) in {5: (b"S", "systolic_mmhg"), 6: (None, "mean_arterial_mmhg"),
                                7: (b"D", "diastolic_mmhg"), 8: (b"P", "pulse_bpm")}.items():
        match = _TAGGED.fullmatch(fields[index].strip(b" "))
        if not match or (tag is not None and match[1] != tag):
            raise FrameRejected(f"malformed {field}")
        readings[field] = int(match[2])
    if _MODEL.fullmatch(fields[0]):
        readings["device_model"] = fields[0].decode("ascii")
    year, month, day, hour, minute = (int(part) for part in stamp.groups())
    if when := local_iso(2000 + year, month, day, hour, minute):
        readings["measured_at"] = when
    return readings


class AndTM2657(Driver):
    """A&D TM-2655/2657: polls RB, starts with ST, reports each new result once."""

    name = "and-tm2657"
    kind = "bp"
    description = "A&D TM-2655P / TM-2657P professional blood-pressure monitor (host-driven)"
    line = LineSettings(2400, 8, "N", 1)
    read_timeout = 180.0
    host_driven = True

    def __init__(self, poll_interval: float = 2.0, reply_timeout: float = 1.5,
                 measure_timeout: float = 180.0) -> None:
        super().__init__()
        self.poll_interval = poll_interval
        self.reply_timeout = reply_timeout
        self.measure_timeout = measure_timeout
        self._recent = bytearray()  # last bytes outside a block, to recognise SOH '0' '0'
        self._block: bytearray | None = None  # inside STX..ETX
        self._baseline_known = False
        self._last_result: bytes | None = None
        self._awaiting: str | None = None  # command whose reply is outstanding
        self._deadline = 0.0
        self._next_poll: float | None = None
        self._start_requested_at: float | None = None
        self._start_sent = False

    @classmethod
    def start_commands(cls, **personal) -> list[bytes]:
        """The start command; the monitor takes no personal data."""
        if personal:
            raise ValueError(f"{cls.name} does not take personal data")
        return [START]

    def queue_commands(self, commands: list[bytes], now: float) -> None:
        """A start request: ST goes out once the baseline result is known."""
        if START in commands:
            self._start_requested_at = now
            self._start_sent = False

    def tick(self, now: float) -> list:
        """Send RB polls and the pending ST; report commands or measurements that timed out."""
        out: list = []
        if self._awaiting and now >= self._deadline:
            if self._awaiting == "ST":
                out.append(FrameError("blood-pressure monitor did not answer the start command"))
                self._start_requested_at = None
            self._awaiting = None
        if self._start_requested_at is not None and now - self._start_requested_at > self.measure_timeout:
            out.append(FrameError(f"no result from the blood-pressure monitor within "
                                  f"{self.measure_timeout:g} s"))
            self._start_requested_at = None
        if self._awaiting:
            return out
        if self._start_requested_at is not None and not self._start_sent and self._baseline_known:
            self._send("ST", now)
            self._start_sent = True
            out.append(START)
        elif self._next_poll is None or now >= self._next_poll:
            self._send("RB", now)
            self._next_poll = now + self.poll_interval
            out.append(READ)
        return out

    def _send(self, command: str, now: float) -> None:
        self._awaiting = command
        self._deadline = now + self.reply_timeout

    def feed(self, data: bytes) -> list:
        """Take reply bytes; returns each new result (or its error) once."""
        events: list = []
        for byte in data:
            if self._block is not None:
                if byte == ETX:
                    content, self._block = bytes(self._block), None
                    events.extend(self._result(content))
                elif byte == STX:
                    self._block = bytearray()  # a new block began: the previous one was cut off
                elif len(self._block) >= MAX_BLOCK:
                    self._block = None
                    events.append(FrameError(f"reply longer than {MAX_BLOCK} bytes discarded"))
                else:
                    self._block.append(byte)
                continue
            # ACK, NAK and STX count only after SOH '0' '0': a stray byte is not a reply.
            framed = len(self._recent) >= 3 and self._recent[-3] == SOH
            if framed and byte == STX:
                self._block = bytearray()
                self._recent.clear()
                continue
            if framed and byte == ACK:
                self._acknowledged()
            elif framed and byte == NAK:
                events.extend(self._refused())
            self._recent = (self._recent + bytes([byte]))[-3:]
        return events

    def _acknowledged(self) -> None:
        if self._awaiting == "ST":
            self._awaiting = None

    def _refused(self) -> list:
        command, self._awaiting = self._awaiting, None
        if command == "RB":
            self._baseline_known = True  # no stored result to read
            return []
        if command == "ST":
            self._start_requested_at = None
            return [FrameError("blood-pressure monitor refused to start (busy or not ready)", "NAK")]
        return []

    def _result(self, content: bytes) -> list:
        if self._awaiting == "RB":
            self._awaiting = None
        if not self._baseline_known:
            self._baseline_known, self._last_result = True, content
            return []
        if content == self._last_result:
            return []
        self._last_result = content
        self._start_requested_at = None
        return guarded_parse(self.name, lambda block: self.measurement(parse_result(block)), content)
