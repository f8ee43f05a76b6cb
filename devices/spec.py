"""Instrument configuration: driver, port URL and line settings, from CLI words or KIOSK_SCALE / KIOSK_BP.

Syntax (the same as `python -m devices read`):
    DRIVER PORT [--baud N] [--bytesize N] [--parity N|E|O] [--stopbits 1|2]
e.g. `tanita /dev/ttyUSB0 --baud 9600 --parity N`. PORT is anything pyserial's
`serial_for_url` opens: /dev/ttyUSB0, /dev/serial/by-id/..., socket://host:port, loop://,
hwgrep://0403:6001.
"""
from __future__ import annotations

import argparse
import dataclasses
import shlex

from devices.driver import LineSettings
from devices.registry import driver_class


@dataclasses.dataclass(frozen=True)
class InstrumentConfig:
    """Which driver talks to which port with which line settings."""

    driver: str
    url: str
    line: LineSettings

    def serial_kwargs(self) -> dict:
        """Keyword arguments for serial.serial_for_url."""
        return {"baudrate": self.line.baudrate, "bytesize": self.line.bytesize,
                "parity": self.line.parity, "stopbits": self.line.stopbits}

    def describe(self) -> str:
        """Short human description, e.g. 'tanita on /dev/ttyUSB0 (9600 8N1)'."""
        return f"{self.driver} on {self.url} ({self.line.describe()})"


def _parity(text: str) -> str:
    value = text.strip().upper()
    if value not in ("N", "E", "O"):
        raise argparse.ArgumentTypeError("parity must be N, E or O")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def add_instrument_arguments(parser: argparse.ArgumentParser) -> None:
    """Add DRIVER PORT and the line-setting options to a parser."""
    parser.add_argument("driver", help="driver name (see `python -m devices list`)")
    parser.add_argument("port", help="serial port or pyserial URL")
    parser.add_argument("--baud", type=_positive_int, help="baud rate (default: the driver's)")
    parser.add_argument("--bytesize", type=int, choices=(5, 6, 7, 8), help="data bits")
    parser.add_argument("--parity", type=_parity, help="parity: N, E or O")
    parser.add_argument("--stopbits", type=int, choices=(1, 2), help="stop bits: 1 or 2")


def config_from_arguments(args: argparse.Namespace) -> InstrumentConfig:
    """Build a config from parsed arguments; unset line options take the driver's defaults."""
    default = driver_class(args.driver).line
    line = LineSettings(
        baudrate=args.baud or default.baudrate,
        bytesize=args.bytesize or default.bytesize,
        parity=args.parity or default.parity,
        stopbits=args.stopbits or default.stopbits,
    )
    if not args.port.strip():
        raise ValueError("empty port")
    return InstrumentConfig(args.driver, args.port, line)


class _SpecParser(argparse.ArgumentParser):
    def error(self, message):
        raise ValueError(message)


def parse_instrument_spec(text: str | None) -> InstrumentConfig | None:
    """Parse e.g. 'tanita /dev/ttyUSB0 --baud 9600'; None when empty; ValueError when malformed."""
    if text is None or not text.strip():
        return None
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"instrument spec {text!r}: {exc}") from None
    parser = _SpecParser(prog="instrument spec", add_help=False, allow_abbrev=False)
    add_instrument_arguments(parser)
    try:
        return config_from_arguments(parser.parse_args(words))
    except ValueError as exc:
        raise ValueError(f"instrument spec {text!r}: {exc} "
                         "(expected: DRIVER PORT [--baud N] [--bytesize N] [--parity N|E|O] "
                         "[--stopbits 1|2])") from None
