"""Command line for the serial instruments: `python -m devices list | read | simulate` (and `card`).

    python -m devices list
    python -m devices read DRIVER PORT [--baud N] [--bytesize N] [--parity N|E|O]
                           [--stopbits 1|2] [--timeout SECONDS]
                           [--height CM --sex male|female --age N [--tare KG] [--body-type standard|athlete]]
    python -m devices simulate DRIVER [--interval SECONDS] [--errors] [--noise] [--link PATH]
    python -m devices readers       (badge readers this machine sees, with their KIOSK_READER value)
    python -m devices card ...      (the badge reader's own commands, devices/card.py)
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
import threading


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for list, read and simulate."""
    from devices.spec import add_instrument_arguments

    parser = argparse.ArgumentParser(prog="python -m devices", description="fitwerk serial instruments")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the instrument drivers")
    commands.add_parser("readers", help="list the badge readers this machine sees, with the KIOSK_READER value for each")
    read = commands.add_parser("read", help="wait for one measurement and print it as JSON")
    add_instrument_arguments(read)
    read.add_argument("--timeout", type=float, help="seconds to wait (default: the driver's)")
    pc_mode = read.add_argument_group("Tanita PC mode (without --sex and --age nothing personal is sent)")
    pc_mode.add_argument("--height", type=float, metavar="CM", help="height in cm")
    pc_mode.add_argument("--sex", choices=("male", "female"))
    pc_mode.add_argument("--age", type=int, metavar="N", help="age in whole years")
    pc_mode.add_argument("--tare", type=float, default=0.0, metavar="KG", help="clothes tare in kg (default 0)")
    pc_mode.add_argument("--body-type", choices=("standard", "athlete"), default="standard")
    simulate = commands.add_parser("simulate", help="simulate an instrument on a pseudo-terminal")
    simulate.add_argument("driver", help="driver name (see `python -m devices list`)")
    simulate.add_argument("--interval", type=float,
                          help="seconds between measurements (default 5; the and-tm2657 measures only "
                               "when the host starts it unless this is given)")
    simulate.add_argument("--errors", action="store_true", help="also send device errors and corrupt frames")
    simulate.add_argument("--noise", action="store_true", help="stray bytes and split writes")
    simulate.add_argument("--link", help="also make this symlink to the pseudo-terminal")
    return parser


def list_drivers() -> int:
    """Print one line per driver: name, kind, default line settings, description."""
    from devices.registry import DRIVERS

    for name, cls in DRIVERS.items():
        print(f"{name:<14} {cls.kind:<5} {cls.line.describe():<9} {cls.description}")
    return 0


def list_readers() -> int:
    """Print one line per badge reader found: the KIOSK_READER value, then what it is."""
    from devices.reader import discover_all

    found = discover_all()
    for value, description in found:
        print(f"{value:<44} {description}")
    if not found:
        print("geen lezers gevonden (nfcpy-USB, PC/SC via pcscd, toetsenbordlezers in /dev/input)")
    return 0


def read(args: argparse.Namespace) -> int:
    """Wait for one valid measurement and print it as one JSON object; 1 when none came in time."""
    from devices.instrument import OK, Instrument
    from devices.personal import ECHO_REJECTED
    from devices.registry import driver_class
    from devices.spec import config_from_arguments

    try:
        config = config_from_arguments(args)
        data = personal_data(args)
        driver_class(config.driver).start_commands(**data)  # a driver that takes none says so now
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    received: list[dict] = []
    echo_rejected: list[str] = []

    def measured(measurement: dict) -> None:
        if not received:
            received.append(measurement)
            stop.set()

    def rejected(reason: str) -> None:
        print(f"rejected: {reason}", file=sys.stderr, flush=True)
        if reason.startswith(ECHO_REJECTED):  # somebody else's result: never print it as this one
            echo_rejected.append(reason)
            stop.set()

    def status(state: str, detail: str) -> None:
        print(f"{state}: {detail}", file=sys.stderr, flush=True)
        if state == OK:
            instrument.start_measurement(**data)  # host-driven monitors measure only when told to

    instrument = Instrument(config, on_measurement=measured, on_status=status, retry_interval=1.0,
                            on_error=rejected)
    timeout = args.timeout if args.timeout is not None else instrument.driver_class.read_timeout
    worker = threading.Thread(target=instrument.run, args=(stop,), daemon=True)
    worker.start()
    stop.wait(timeout)
    stop.set()
    worker.join(timeout=2)
    if echo_rejected:
        return 1
    if not received:
        print(f"no valid measurement within {timeout:g} s", file=sys.stderr)
        return 1
    print(json.dumps(received[0], ensure_ascii=False), flush=True)
    return 0


def personal_data(args: argparse.Namespace) -> dict:
    """The PC-mode set-up from --height/--sex/--age/--tare/--body-type; {} without sex and age."""
    if args.sex is None and args.age is None:
        if args.height is not None:
            print("note: no --sex and --age: nothing personal is sent, the scale measures with its own "
                  "settings", file=sys.stderr)
        return {}
    if args.sex is None or args.age is None or args.height is None:
        raise ValueError("--sex and --age go together, with --height")
    from devices.personal import normalise
    return normalise(height_cm=args.height, sex=args.sex, age=args.age, tare_kg=args.tare,
                     body_type=args.body_type)


def simulate(args: argparse.Namespace) -> int:
    """Run a simulator until interrupted; the first stdout line is the pseudo-terminal's path."""
    from devices.simulate import Simulator

    try:
        interval = args.interval
        if interval is None and args.driver != "and-tm2657":
            interval = 5.0
        simulator = Simulator(args.driver, link=args.link, interval=interval, errors=args.errors,
                              noise=args.noise)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(simulator.start(), flush=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m devices`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "card":
        try:
            card = importlib.import_module("devices.card")
        except ModuleNotFoundError as exc:
            if exc.name != "devices.card":
                raise
            print("error: the badge reader commands (devices/card.py) are not installed", file=sys.stderr)
            return 2
        return card.main(argv[1:])
    args = build_parser().parse_args(argv)
    # Statuses and rejected frames are printed by the commands themselves; logging adds only real faults.
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    if args.command == "list":
        return list_drivers()
    if args.command == "readers":
        return list_readers()
    if args.command == "read":
        return read(args)
    return simulate(args)


if __name__ == "__main__":
    sys.exit(main())
