"""An emulated FeliCa badge on nfcpy's udp: link, for tests and the demo.

The card side binds the link's UDP port and answers the reader's polling with its
IDm for ``--hold`` seconds, then closes the port: the badge is taken away. Badges
here are FeliCa, so a UID is the 8-byte IDm, 16 hex digits (``01010501B00AC30B``):
NXP-style NFC-A UIDs (starting 04) are flaky on the udp: link.

    python -m devices.card udp:127.0.0.1:54321 --uid 01010501B00AC30B [--hold 1.5] [--taps 1] [--gap 1]
    python -m devices.card udp:127.0.0.1:54321 --serve

``--serve`` reads ``tap UID [HOLD]`` lines on stdin and answers ``presenting UID``
when the badge is put on the reader and ``tapped UID`` when it is taken away
(``error ...`` if it could not); ``quit`` or end of input stops it.
:class:`CardProcess` drives it from Python, :class:`EmulatedCard` runs one tap per process.
"""
from __future__ import annotations

import argparse
import errno
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Callable

import nfc
import nfc.clf

from common.badge import normalise_uid

PMM = bytes.fromhex("00F1000000014300")  # FeliCa Lite-S style; readers only log it
SYSTEM_CODE = bytes.fromhex("88B4")
# The reader's idle round on udp: waits 1 s for an answer, so a badge held for
# less than ~1.2 s can be missed there (a real reader polls every ~0.1-0.3 s).
DEFAULT_HOLD_SECONDS = 1.5
PORT_BUSY_WAIT_SECONDS = 5.0
_ROOT = Path(__file__).resolve().parent.parent


def felica_idm(text: str) -> str:
    """A badge UID (common.badge's rule) that is also a FeliCa IDm, 8 bytes; ValueError else."""
    uid = normalise_uid(text)
    if len(uid) != 16:
        raise ValueError(f"an emulated badge is FeliCa, its UID (IDm) 8 bytes, 16 hex digits: {text!r}")
    return uid


def present(path: str, uid: str, hold: float = DEFAULT_HOLD_SECONDS,
            on_presented: Callable[[], None] | None = None) -> None:
    """Hold badge *uid* on the reader at *path* for *hold* seconds, then take it away."""
    idm = bytes.fromhex(felica_idm(uid))
    _wait_until_no_card_on(path)
    with nfc.ContactlessFrontend(path) as clf:
        deadline = time.monotonic() + hold
        if on_presented is not None:
            on_presented()
        while time.monotonic() < deadline:
            # on-connect False: answer polling only; a reader that activates us
            # and then stays silent cannot hold the card past its deadline.
            clf.connect(card={"on-startup": lambda target: _as_felica(target, idm),
                              "on-connect": lambda tag: False,
                              "timeout": max(0.1, deadline - time.monotonic())},
                        terminate=lambda: time.monotonic() >= deadline)


def _as_felica(target: nfc.clf.LocalTarget, idm: bytes) -> nfc.clf.LocalTarget:
    target.brty = "212F"
    target.sensf_res = bytearray(b"\x01" + idm + PMM + SYSTEM_CODE)
    return target


def _wait_until_no_card_on(path: str) -> None:
    # The udp: link carries one card: a second one could not bind the port and
    # nfcpy would spin silently instead of presenting it.
    if not path.startswith("udp"):
        return
    port = int(path.split(":")[2]) if path.count(":") >= 2 and path.split(":")[2] else 54321
    deadline = time.monotonic() + PORT_BUSY_WAIT_SECONDS
    while not _udp_port_free(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"another card is on the reader at {path}")
        time.sleep(0.05)


def _udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def serve(path: str, commands: IO[str], out: IO[str]) -> int:
    """Answer ``tap UID [HOLD]`` lines from *commands* until ``quit`` or end of input."""
    _say(out, "ready")
    for line in commands:
        words = line.split()
        if words == ["quit"]:
            break
        if words:
            _serve_tap(path, words, out)
    return 0


def _serve_tap(path: str, words: list[str], out: IO[str]) -> None:
    try:
        if words[0] != "tap" or len(words) not in (2, 3):
            raise ValueError(f"expected 'tap UID [HOLD]', got {' '.join(words)!r}")
        uid = felica_idm(words[1])
        hold = float(words[2]) if len(words) == 3 else DEFAULT_HOLD_SECONDS
        present(path, uid, hold, on_presented=lambda: _say(out, f"presenting {uid}"))
    except (ValueError, RuntimeError, OSError) as exc:
        _say(out, f"error {exc}")
        return
    _say(out, f"tapped {uid}")


def _say(out: IO[str], line: str) -> None:
    print(line, file=out, flush=True)


def _uid_argument(text: str) -> str:
    try:
        return felica_idm(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devices.card",
                                     description="Tap an emulated FeliCa badge on an nfcpy udp: link.")
    parser.add_argument("path", help="nfcpy device path, e.g. udp:127.0.0.1:54321")
    parser.add_argument("--uid", type=_uid_argument, help="badge IDm, 16 hex digits")
    parser.add_argument("--hold", type=float, default=DEFAULT_HOLD_SECONDS,
                        help="seconds the badge stays on the reader (default %(default)s)")
    parser.add_argument("--taps", type=int, default=1, help="number of taps (default 1)")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between taps (default 1)")
    parser.add_argument("--serve", action="store_true", help="read 'tap UID [HOLD]' lines on stdin")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command line: tap an emulated badge, or serve tap commands from stdin."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.path, sys.stdin, sys.stdout)
    if args.uid is None:
        parser.error("--uid or --serve is required")
    try:
        for n in range(args.taps):
            if n:
                time.sleep(args.gap)
            present(args.path, args.uid, args.hold)
            _say(sys.stdout, f"tapped {args.uid}")
    except (RuntimeError, OSError) as exc:
        print(f"card: {exc}", file=sys.stderr)
        return 1
    return 0


def _card_command(path: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "devices.card", path, *args]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    return env


class EmulatedCard:
    """One badge; each tap() runs a short-lived card process."""

    def __init__(self, path: str, uid: str):
        self.path = path
        self.uid = felica_idm(uid)

    def tap(self, hold: float = DEFAULT_HOLD_SECONDS, timeout: float | None = None) -> bool:
        """Present the badge for *hold* seconds; True once the card process reported the tap."""
        command = _card_command(self.path, "--uid", self.uid, "--hold", str(hold))
        try:
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=_child_env(),
                                  timeout=hold + 15 if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0 and f"tapped {self.uid}" in done.stdout.splitlines()


class CardProcess:
    """A long-running card process: many taps of different badges without restarting Python."""

    def __init__(self, path: str, *, start_timeout: float = 15.0):
        self.path = path
        self._lines: queue.Queue[tuple[float, str | None]] = queue.Queue()
        self._process = subprocess.Popen(_card_command(path, "--serve"), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, env=_child_env())
        self._reader = threading.Thread(target=self._read_lines, daemon=True)
        self._reader.start()
        self._expect("ready", time.monotonic() + start_timeout)

    def tap(self, uid: str, hold: float = DEFAULT_HOLD_SECONDS, timeout: float | None = None) -> float:
        """Present badge *uid* for *hold* seconds; returns time.monotonic() when it was put down."""
        uid = felica_idm(uid)
        deadline = time.monotonic() + (hold + 10 if timeout is None else timeout)
        self._process.stdin.write(f"tap {uid} {hold}\n")
        self._process.stdin.flush()
        presented_at = self._expect(f"presenting {uid}", deadline)
        self._expect(f"tapped {uid}", deadline)
        return presented_at

    def close(self) -> None:
        """Stop the card process."""
        if self._process.poll() is None:
            try:
                self._process.stdin.write("quit\n")
                self._process.stdin.close()
                self._process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        self._reader.join(timeout=5)
        self._process.stdout.close()

    def __enter__(self) -> CardProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _read_lines(self) -> None:
        for line in self._process.stdout:
            self._lines.put((time.monotonic(), line.strip()))
        self._lines.put((time.monotonic(), None))

    def _expect(self, wanted: str, deadline: float) -> float:
        """Wait for the line *wanted*; returns when it arrived (time.monotonic())."""
        while True:
            try:
                at, line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"card process did not say {wanted!r} in time") from None
            if line is None:
                raise RuntimeError(f"card process ended before saying {wanted!r}")
            if line.startswith("error"):
                raise RuntimeError(f"card process: {line}")
            if line == wanted:
                return at


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
