"""kiosk.sdnotify: the reader's READY=1 / WATCHDOG=1 reach systemd's notify socket.

Each test binds the AF_UNIX datagram socket systemd would (NOTIFY_SOCKET), runs
a separate Python process against it and reads what arrives, with the sender's
pid (SO_PASSCRED) because the units use NotifyAccess=main.
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from kiosk import sdnotify

REPO = Path(__file__).resolve().parents[1]


class NotifySocket:
    """What systemd listens on: a datagram socket that also reports each sender's pid."""

    def __init__(self, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        if abstract:
            name = f"fitwerk-test-{uuid.uuid4().hex}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            # Short path: sun_path holds 108 bytes, pytest's tmp_path can be longer.
            self._dir = tempfile.mkdtemp(prefix="sdn", dir="/tmp")
            self.address = os.path.join(self._dir, "notify")
            self.sock.bind(self.address)

    def receive(self, timeout, until="STOPPING=1"):
        """Every (pid, message) that arrives within `timeout` seconds, or up to and including `until`."""
        messages = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data, ancillary, _flags, _addr = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except TimeoutError:
                break
            pid = None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid, _uid, _gid = struct.unpack("iII", payload[:12])
            messages.append((pid, data.decode()))
            if messages[-1][1] == until:
                break
        return messages

    def close(self):
        self.sock.close()
        if not self.address.startswith("@"):
            os.unlink(self.address)
            os.rmdir(self._dir)


@pytest.fixture
def notify_socket():
    listener = NotifySocket()
    yield listener
    listener.close()


def child_env(notify_address, **extra):
    env = {key: value for key, value in os.environ.items()
           if key not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    env["NOTIFY_SOCKET"] = notify_address
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


READER_LOOP = textwrap.dedent("""
    import sys, time
    from kiosk.sdnotify import Watchdog
    watchdog = Watchdog()
    print("enabled" if watchdog.enabled else "disabled", flush=True)
    watchdog.ready("reader ok on usb")
    sent = 0
    end = time.monotonic() + float(sys.argv[1])
    while time.monotonic() < end:   # a healthy loop: one round every 10 ms
        sent += watchdog.ping()
        time.sleep(0.01)
    watchdog.stopping()
    print(sent, flush=True)
""")


def run_reader_loop(env, seconds=1.0, argv0=()):
    return subprocess.Popen([*argv0, sys.executable, "-c", READER_LOOP, str(seconds)], env=env,
                            stdout=subprocess.PIPE, text=True)


def test_ready_then_watchdog_pings_arrive_from_the_main_process(notify_socket):
    child = run_reader_loop(child_env(notify_socket.address, WATCHDOG_USEC="200000"))
    messages = notify_socket.receive(timeout=3)
    out, _ = child.communicate(timeout=10)
    assert child.returncode == 0
    enabled, sent = out.split()
    states = [text for _pid, text in messages]
    assert enabled == "enabled"
    assert states[0] == "READY=1\nSTATUS=reader ok on usb"
    assert states[-1] == "STOPPING=1"
    pings = [text for text in states if text == "WATCHDOG=1"]
    assert len(pings) == int(sent)
    # 1 s of a 10 ms loop with a 0.2 s deadline: paced at a quarter of it, not 100 datagrams.
    assert 3 <= len(pings) <= 1.0 / 0.05 + 2
    assert {pid for pid, _text in messages} == {child.pid}


def test_abstract_namespace_notify_socket_is_reached():
    listener = NotifySocket(abstract=True)
    try:
        child = run_reader_loop(child_env(listener.address, WATCHDOG_USEC="200000"), seconds=0.3)
        states = [text for _pid, text in listener.receive(timeout=2)]
        child.communicate(timeout=10)
    finally:
        listener.close()
    assert states[0].startswith("READY=1")
    assert "WATCHDOG=1" in states


def test_watchdog_pid_of_this_very_process_enables_the_watchdog(notify_socket):
    # systemd sets WATCHDOG_PID to the main pid; `exec` keeps the shell's pid for Python.
    env = child_env(notify_socket.address, WATCHDOG_USEC="200000")
    child = subprocess.Popen(["sh", "-c", f'WATCHDOG_PID=$$ exec "{sys.executable}" -c "$0" 0.3', READER_LOOP],
                             env=env, stdout=subprocess.PIPE, text=True)
    states = [text for _pid, text in notify_socket.receive(timeout=2)]
    out, _ = child.communicate(timeout=10)
    assert out.split()[0] == "enabled"
    assert "WATCHDOG=1" in states


def test_watchdog_variables_inherited_from_a_parent_do_not_enable_pings(notify_socket):
    env = child_env(notify_socket.address, WATCHDOG_USEC="200000", WATCHDOG_PID="1")
    child = run_reader_loop(env, seconds=0.3)
    states = [text for _pid, text in notify_socket.receive(timeout=1.5)]
    out, _ = child.communicate(timeout=10)
    assert out.split() == ["disabled", "0"]
    assert states[0].startswith("READY=1")
    assert "WATCHDOG=1" not in states


def test_no_watchdog_configured_means_no_pings(notify_socket):
    child = run_reader_loop(child_env(notify_socket.address), seconds=0.3)
    states = [text for _pid, text in notify_socket.receive(timeout=1.5)]
    out, _ = child.communicate(timeout=10)
    assert out.split() == ["disabled", "0"]
    assert states == ["READY=1\nSTATUS=reader ok on usb", "STOPPING=1"]


def test_a_status_line_cannot_smuggle_in_another_assignment(notify_socket, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.address)
    assert sdnotify.Watchdog().status("reader error:\nREADY=1")
    assert [text for _pid, text in notify_socket.receive(timeout=0.5)] == ["STATUS=reader error: READY=1"]


def test_outside_systemd_every_call_is_a_harmless_no_op(monkeypatch):
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)
    watchdog = sdnotify.Watchdog()
    assert sdnotify.notify("READY=1") is False
    assert sdnotify.watchdog_interval() is None
    assert not watchdog.enabled
    assert (watchdog.ready(), watchdog.ping(), watchdog.status("x"), watchdog.stopping()) == (False,) * 4


@pytest.mark.parametrize("address", ["/nonexistent/notify", "vsock:2:1234", ""])
def test_an_unusable_notify_socket_reports_false_and_never_raises(monkeypatch, address):
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    assert sdnotify.notify("READY=1") is False


@pytest.mark.parametrize("usec, pid, expected", [
    ("30000000", None, 30.0),
    ("500000", "self", 0.5),
    ("500000", "1", None),
    ("0", None, None),
    ("soon", None, None),
])
def test_watchdog_interval_comes_from_watchdog_usec(monkeypatch, usec, pid, expected):
    monkeypatch.setenv("WATCHDOG_USEC", usec)
    if pid is None:
        monkeypatch.delenv("WATCHDOG_PID", raising=False)
    else:
        monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()) if pid == "self" else pid)
    assert sdnotify.watchdog_interval() == expected


def test_pings_are_paced_to_a_quarter_of_the_interval(notify_socket, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.address)
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    now = [100.0]
    watchdog = sdnotify.Watchdog(clock=lambda: now[0])
    assert watchdog.ready()
    sent = []
    for _ in range(16):          # 16 rounds of 0.25 s
        now[0] += 0.25
        sent.append(watchdog.ping())
    # one ping per second of a 4 s deadline, the first a second after READY=1
    assert [i for i, s in enumerate(sent) if s] == [3, 7, 11, 15]


def test_the_reader_process_notifies_ready_and_watchdog(notify_socket, tmp_path):
    """`flask --app kiosk reader` as fitwerk-kiosk-reader.service runs it (Type=notify, WatchdogSec=)."""
    if "sdnotify" not in (REPO / "kiosk" / "reader.py").read_text():
        pytest.skip("kiosk/reader.py does not call kiosk.sdnotify yet")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = child_env(notify_socket.address, WATCHDOG_USEC="4000000", KIOSK_DB=str(tmp_path / "kiosk.sqlite"),
                    KIOSK_NFC=f"udp:127.0.0.1:{port}", KIOSK_ROLE="checkin")
    flask = Path(sys.executable).with_name("flask")
    reader = subprocess.Popen([str(flask), "--app", "kiosk", "reader"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        messages = notify_socket.receive(timeout=8)
    finally:
        reader.terminate()
        _out, err = reader.communicate(timeout=30)
    states = [text.split("\n")[0] for _pid, text in messages]
    assert "READY=1" in states, err[-2000:]
    assert states.count("WATCHDOG=1") >= 2, err[-2000:]
    assert {pid for pid, _text in messages} == {reader.pid}
