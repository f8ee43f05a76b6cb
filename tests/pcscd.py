"""A private pcscd with vpcd virtual readers for each test, and cards to put on them.

pcscd 1.9.9 always serves /run/pcscd/pcscd.comm, one per host. Each test's pcscd runs in its own
mount namespace with a directory of ours bound over /run/pcscd, and clients find it through
PCSCLITE_CSOCK_NAME, so tests never meet the machine's pcscd or each other's. libpcsclite reads
that variable once per process: the directory is one per test session, the daemon one per test.
Needs root (unshare -m), as `make test` and CI run.
"""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from devices.vcard import VirtualCard

VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
RUN_DIR = Path(tempfile.gettempdir()) / f"fitwerk-pcscd-{os.getpid()}"
SOCKET = RUN_DIR / "pcscd.comm"
os.environ["PCSCLITE_CSOCK_NAME"] = str(SOCKET)
atexit.register(shutil.rmtree, RUN_DIR, ignore_errors=True)


def _free_port_pair():
    """A TCP port whose successor is free too (vpcd opens PORT and PORT+1)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port < 65535:
            with socket.socket() as other:
                try:
                    other.bind(("0.0.0.0", port + 1))
                    return port
                except OSError:
                    continue


class Pcscd:
    """pcscd with one vpcd reader line: pcscd shows it as two readers, '<name> 00 00' (port) and
    '<name> 00 01' (port + 1). vpcd keeps one connection per slot number for all its lines, so a
    second line would share the first one's cards: two readers differ here by their index only."""

    def __init__(self, workdir, name="ACS ACR1252 Dual Reader PICC"):
        self.conf = workdir / "reader.conf.d"
        self.conf.mkdir()
        self.log_path = workdir / "pcscd.log"
        self.name = name
        self.readers = [f"{name} 00 00", f"{name} 00 01"]
        self.port = _free_port_pair()
        self.proc = None
        self.plug()

    @property
    def env(self):
        """What a kiosk process needs to talk to this pcscd."""
        return {"PCSCLITE_CSOCK_NAME": str(SOCKET)}

    def plug(self):
        """Put the reader in pcscd's configuration (read when pcscd starts)."""
        (self.conf / "vpcd").write_text(
            f'FRIENDLYNAME "{self.name}"\nDEVICENAME /dev/null:0x{self.port:X}\nLIBPATH {VPCD_DRIVER}\n'
            f"CHANNELID 0x{self.port:X}\n")

    def unplug(self):
        """Take the reader out of pcscd's configuration (vpcd readers cannot be hot-unplugged)."""
        (self.conf / "vpcd").unlink()

    def start(self, timeout=10):
        """Start pcscd; returns once it opened every vpcd port."""
        if not shutil.which("pcscd") or not Path(VPCD_DRIVER).exists():
            pytest.fail("pcscd or vsmartcard-vpcd missing: `make test` installs them (Debian packages)")
        if os.geteuid() != 0:
            pytest.fail("the pcscd tests need root (a private mount namespace for pcscd), as `make test` runs")
        Path("/run/pcscd").mkdir(parents=True, exist_ok=True)
        RUN_DIR.mkdir(exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "sh", "-c", 'mount --bind "$1" /run/pcscd && exec pcscd --foreground -c "$2"',
             "sh", str(RUN_DIR), str(self.conf)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        wanted = [self.port, self.port + 1] if (self.conf / "vpcd").exists() else []
        while not (SOCKET.exists() and all(_listening(port) for port in wanted)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"pcscd did not start: {self.log_path.read_text(errors='replace')}")
            time.sleep(0.05)

    def stop(self):
        """SIGTERM and wait (a zombie would block the next start)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def card(self, uid, slot=0):
        """A card for reader *slot* (0: '… 00 00', 1: '… 00 01'); put it down with insert() or hold(s)."""
        return VirtualCard(self.port + slot, uid)


def _listening(port):
    # Read the kernel's table rather than connect: a connection to vpcd is a card on the reader.
    wanted = f":{port:04X} "
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            if any(wanted in row and row.split()[3] == "0A" for row in rows):
                return True
    return False


@pytest.fixture
def pcscd(tmp_path):
    """A pcscd of this test's own, not yet started; stopped at the end."""
    daemon = Pcscd(tmp_path)
    yield daemon
    daemon.stop()
