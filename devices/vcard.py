"""An emulated contactless card on vpcd, the virtual PC/SC reader (Debian's vsmartcard-vpcd), for tests.

vpcd listens on a TCP port per virtual reader; a card is "on the reader" while a client is
connected to that port. Every message is a 2-byte big-endian length and a body: a 1-byte body
is a control (00 power off, 01 power on, 02 reset: no reply; 04: reply with the ATR), anything
else is a command APDU, answered with a length-prefixed response APDU. This card answers the
PC/SC part 3 Get Data command ``FF CA 00 00 00`` with its UID and 90 00, like a MIFARE card
on a contactless reader.

    python -m devices.vcard PORT --uid A1B2C3D4 [--hold 1.5]
"""
from __future__ import annotations

import argparse
import socket
import struct
import sys
import threading
import time

# ATR a PC/SC contactless reader builds for a MIFARE Classic 1K (PC/SC part 3 storage card ATR).
MIFARE_ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
GET_UID = bytes.fromhex("FFCA0000")
SW_OK, SW_WRONG_LENGTH, SW_NOT_SUPPORTED = b"\x90\x00", b"\x6c", b"\x6d\x00"
CONNECT_TIMEOUT_S = 5.0


def answer(apdu: bytes, uid: bytes) -> bytes:
    """The response APDU a card with *uid* gives to *apdu*."""
    if apdu[:4] == GET_UID and len(apdu) == 5:
        wanted = apdu[4] or 256
        if wanted < len(uid):
            return SW_WRONG_LENGTH + bytes([len(uid)])
        return uid + SW_OK
    return SW_NOT_SUPPORTED


class VirtualCard:
    """One card put on a vpcd reader (``insert``) and taken away (``remove``)."""

    def __init__(self, port: int, uid: str, host: str = "127.0.0.1", atr: bytes = MIFARE_ATR):
        self.address = (host, port)
        self.uid = bytes.fromhex(uid)
        self.atr = atr
        self.apdus = 0  # commands answered, for tests
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def insert(self) -> VirtualCard:
        """Put the card on the reader: connect to vpcd and answer it in a thread."""
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while True:
            try:
                self._sock = socket.create_connection(self.address, timeout=1)
                break
            except OSError:  # pcscd has not opened the reader's port yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._sock.settimeout(None)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._thread = threading.Thread(target=self._serve, args=(self._sock,), daemon=True)
        self._thread.start()
        return self

    def remove(self) -> None:
        """Take the card away: close the connection."""
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def hold(self, seconds: float) -> None:
        """Put the card down for *seconds*, then take it away."""
        self.insert()
        try:
            time.sleep(seconds)
        finally:
            self.remove()

    def __enter__(self) -> VirtualCard:
        return self.insert()

    def __exit__(self, *exc_info) -> None:
        self.remove()

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                message = _receive(sock)
                if message is None:
                    return
                if len(message) == 1:
                    if message[0] == 4:
                        _send(sock, self.atr)
                    continue  # power off / on / reset need no reply
                self.apdus += 1
                _send(sock, answer(message, self.uid))
        except OSError:
            return  # removed while talking


def _receive(sock: socket.socket) -> bytes | None:
    header = _read_exactly(sock, 2)
    if header is None:
        return None
    return _read_exactly(sock, struct.unpack(">H", header)[0])


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        # Delayed ACKs would stall every round trip by ~40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _send(sock: socket.socket, body: bytes) -> None:
    sock.sendall(struct.pack(">H", len(body)) + body)


def main(argv: list[str] | None = None) -> int:
    """Hold one card on a vpcd reader for a while."""
    parser = argparse.ArgumentParser(prog="python -m devices.vcard", description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int, help="the vpcd reader's TCP port (CHANNELID in its reader.conf)")
    parser.add_argument("--uid", required=True, help="the card's UID in hex, e.g. A1B2C3D4")
    parser.add_argument("--hold", type=float, default=1.5, help="seconds on the reader")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    VirtualCard(args.port, args.uid, args.host).hold(args.hold)
    print(f"tapped {args.uid.upper()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
