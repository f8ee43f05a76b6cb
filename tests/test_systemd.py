"""Deployment (systemd/): units, udev rules, Chromium policy and the installer.

Nothing here needs a running systemd: the installer runs in its DESTDIR dry-run
mode into a temporary root, and the units it writes are checked with
`systemd-analyze verify` and `systemd-analyze security --offline=true`.
"""
import hashlib
import importlib.util
import json
import os
import re
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]
SYSTEMD = REPO / "systemd"
INSTALL = SYSTEMD / "install.sh"
UNITDIR = "etc/systemd/system"

KIOSK_UNITS = ["fitwerk-kiosk.target", "fitwerk-kiosk-screen.service", "fitwerk-kiosk-reader.service",
               "fitwerk-kiosk-sync.service", "fitwerk-kiosk-browser.service"]
ADMIN_UNITS = ["fitwerk-admin.service", "fitwerk-admin-follow-ups.service", "fitwerk-admin-follow-ups.timer",
               "fitwerk-admin-backup.service", "fitwerk-admin-backup.timer",
               "fitwerk-admin-retention.service", "fitwerk-admin-retention.timer"]
SERVICES = [unit for unit in KIOSK_UNITS + ADMIN_UNITS if unit.endswith(".service")]

# systemd-analyze security: 'OK' is <= 4.5. The issue asks it of screen, sync and
# admin; the others are held at what they reach, so hardening cannot silently erode.
EXPOSURE_CEILING = {
    "fitwerk-kiosk-screen.service": 4.5,
    "fitwerk-kiosk-sync.service": 4.5,
    "fitwerk-admin.service": 4.5,
    "fitwerk-admin-follow-ups.service": 4.5,
    "fitwerk-admin-backup.service": 4.5,
    "fitwerk-admin-retention.service": 4.5,
    "fitwerk-kiosk-reader.service": 2.0,   # real /dev, udev netlink: as low as devices allow
    "fitwerk-kiosk-browser.service": 4.5,  # Chromium's own sandbox needs namespaces
}

# Whatever the dry run must never execute for real.
SYSTEM_COMMANDS = ["apt-get", "systemctl", "systemd-sysusers", "useradd", "groupadd", "usermod", "udevadm",
                   "modprobe", "pip", "make", "npm", "runuser"]


# --- helpers ------------------------------------------------------------------------

def parse_unit(path):
    """{section: {key: [values]}} of a unit file (keys may repeat)."""
    sections, current = {}, None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def service(unit):
    return parse_unit(SYSTEMD / unit)["Service"]


@pytest.fixture(scope="module")
def installer(wheel, tmp_path_factory):
    """What a Pi is given: this systemd/ folder with the wheel `make dist` built in dist/
    beside it (no source tree), and a PATH directory where every system-changing command
    only logs that it was called."""
    release = tmp_path_factory.mktemp("release")
    shutil.copytree(SYSTEMD, release / "systemd")
    (release / "dist").mkdir()
    shutil.copy(wheel, release / "dist")
    stubs = release / "stubs"
    stubs.mkdir()
    log = stubs / "called.log"
    for name in SYSTEM_COMMANDS:
        stub = stubs / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit 1\n')
        stub.chmod(0o755)
    return SimpleNamespace(script=release / "systemd/install.sh", wheel=release / "dist" / wheel.name, stubs=stubs)


def run_installer(installer, destdir, *args, prefix=None, check=True, script=None):
    env = dict(os.environ, DESTDIR=str(destdir), PATH=f"{installer.stubs}:{os.environ['PATH']}")
    if prefix:
        env["PREFIX"] = str(prefix)
    result = subprocess.run(["bash", str(script or installer.script), *args], env=env, capture_output=True,
                            text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    called = installer.stubs / "called.log"
    assert not called.exists(), f"dry run executed: {called.read_text()}"
    return result


def snapshot(root):
    """Every path under root with its kind, mode and content (or link target)."""
    state = {}
    for path in sorted(Path(root).rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            state[str(path.relative_to(root))] = ("link", os.readlink(path))
        elif path.is_file():
            state[str(path.relative_to(root))] = ("file", oct(info.st_mode & 0o7777),
                                                   hashlib.sha256(path.read_bytes()).hexdigest(), info.st_mtime_ns)
        else:
            state[str(path.relative_to(root))] = ("dir", oct(info.st_mode & 0o7777))
    return state


@pytest.fixture(scope="module")
def kiosk_root(installer, tmp_path_factory):
    root = tmp_path_factory.mktemp("kiosk-root")
    result = run_installer(installer, root, "kiosk")
    return root, result.stdout


@pytest.fixture(scope="module")
def admin_root(installer, tmp_path_factory):
    root = tmp_path_factory.mktemp("admin-root")
    result = run_installer(installer, root, "admin")
    return root, result.stdout


@pytest.fixture(scope="module")
def verify_root(installer, tmp_path_factory):
    """Both roles installed with PREFIX pointing at a tree whose venv is this test run's own
    virtualenv, so the units' gunicorn/flask/python paths name real executables."""
    base = tmp_path_factory.mktemp("verify")
    prefix = base / "prefix"
    prefix.mkdir()
    (prefix / "venv").symlink_to(Path(sys.prefix))
    run_installer(installer, base / "root", "kiosk", prefix=prefix)
    run_installer(installer, base / "root", "admin", prefix=prefix)
    return base / "root", prefix


# --- the installer's dry run ------------------------------------------------------------

KIOSK_FILES = {
    "etc/sysusers.d/fitwerk-kiosk.conf": 0o644,
    "etc/fitwerk/kiosk.env": 0o600,
    "etc/udev/rules.d/60-fitwerk-nfc.rules": 0o644,
    "etc/udev/rules.d/61-fitwerk-serial.rules": 0o644,
    "etc/modprobe.d/fitwerk-nfc-blacklist.conf": 0o644,
    "etc/modules-load.d/fitwerk-serial.conf": 0o644,
    "etc/chromium/policies/managed/fitwerk-kiosk.json": 0o644,
    "etc/pam.d/fitwerk-kiosk-browser": 0o644,
    "opt/fitwerk/bin/fitwerk-cli": 0o755,
    **{f"{UNITDIR}/{unit}": 0o644 for unit in KIOSK_UNITS},
}
ADMIN_FILES = {
    "etc/sysusers.d/fitwerk-admin.conf": 0o644,
    "etc/fitwerk/admin.env": 0o600,
    "opt/fitwerk/bin/fitwerk-cli": 0o755,
    "opt/fitwerk/bin/fitwerk-db-backup": 0o755,
    "opt/fitwerk/share/nginx-fitwerk-admin.conf": 0o644,
    **{f"{UNITDIR}/{unit}": 0o644 for unit in ADMIN_UNITS},
}


@pytest.mark.parametrize("role, files", [("kiosk", KIOSK_FILES), ("admin", ADMIN_FILES)])
def test_dry_run_puts_every_file_into_the_tree_with_its_mode(request, role, files):
    root, _out = request.getfixturevalue(f"{role}_root")
    for relative, mode in files.items():
        path = root / relative
        assert path.is_file(), relative
        assert path.stat().st_mode & 0o777 == mode, relative
    assert os.readlink(root / f"usr/local/sbin/fitwerk-{role}") == "/opt/fitwerk/bin/fitwerk-cli"


def test_kiosk_dry_run_prints_the_commands_it_would_run(kiosk_root, installer):
    _root, out = kiosk_root
    for command in ("systemd-sysusers /etc/sysusers.d/fitwerk-kiosk.conf",
                    "/usr/bin/python3 -m venv /opt/fitwerk/venv",
                    f"/opt/fitwerk/venv/bin/pip install --quiet {installer.wheel}",
                    "modprobe -r port100 pn533_usb pn533",
                    "systemctl mask pcscd.socket pcscd.service",
                    "udevadm control --reload",
                    "systemctl enable fitwerk-kiosk.target fitwerk-kiosk-screen.service"):
        assert f"would run: {command}" in out


@pytest.mark.parametrize("reader, present, absent, commands, refused", [
    ("nfc:usb", ["60-fitwerk-nfc.rules"], ["62-fitwerk-input.rules"],
     ["systemctl mask pcscd.socket pcscd.service"], ["systemctl enable --now pcscd.socket"]),
    ('"pcsc:ACR1252"', [], ["60-fitwerk-nfc.rules", "62-fitwerk-input.rules"],
     ["systemctl unmask pcscd.socket pcscd.service", "systemctl enable --now pcscd.socket"], ["systemctl mask"]),
    ("wedge:em4100:/dev/input/by-id/usb-reader-event-kbd", ["62-fitwerk-input.rules"], ["60-fitwerk-nfc.rules"],
     ["systemctl mask pcscd.socket pcscd.service"], ["systemctl enable --now pcscd.socket"]),
])
def test_the_installer_sets_up_the_reader_kind_kiosk_env_names(installer, tmp_path, reader, present, absent,
                                                                commands, refused):
    env = tmp_path / "etc/fitwerk/kiosk.env"
    env.parent.mkdir(parents=True)
    env.write_text(f"KIOSK_ROLE=checkin\nKIOSK_READER={reader}\n")
    out = run_installer(installer, tmp_path, "kiosk").stdout
    rules = tmp_path / "etc/udev/rules.d"
    assert all((rules / name).is_file() for name in present), out
    assert not any((rules / name).exists() for name in absent), out
    assert all(f"would run: {command}" in out for command in commands), out
    assert not any(f"would run: {command}" in out for command in refused), out
    assert (tmp_path / "etc/modprobe.d/fitwerk-nfc-blacklist.conf").is_file()  # pn533_usb would take an ACR122U


def test_wedge_readers_input_devices_go_to_the_reader_group_only():
    rules = (SYSTEMD / "62-fitwerk-input.rules").read_text()
    assert 'SUBSYSTEM!="input"' in rules and 'ENV{ID_INPUT_KEYBOARD}!="1"' in rules
    assert 'GROUP="fitwerk-hw", MODE="0660"' in rules


def test_dry_run_enables_units_as_links_in_the_tree(kiosk_root, admin_root):
    expected = {
        "multi-user.target.wants/fitwerk-kiosk.target": kiosk_root,
        "fitwerk-kiosk.target.wants/fitwerk-kiosk-screen.service": kiosk_root,
        "fitwerk-kiosk.target.wants/fitwerk-kiosk-reader.service": kiosk_root,
        "fitwerk-kiosk.target.wants/fitwerk-kiosk-sync.service": kiosk_root,
        "fitwerk-kiosk.target.wants/fitwerk-kiosk-browser.service": kiosk_root,
        "multi-user.target.wants/fitwerk-admin.service": admin_root,
        "timers.target.wants/fitwerk-admin-follow-ups.timer": admin_root,
        "timers.target.wants/fitwerk-admin-backup.timer": admin_root,
        "timers.target.wants/fitwerk-admin-retention.timer": admin_root,
    }
    for link, (root, _out) in expected.items():
        assert os.readlink(root / UNITDIR / link) == "/etc/systemd/system/" + link.split("/")[1]


def test_admin_configuration_gets_a_random_secret_key(admin_root, installer, tmp_path):
    root, _out = admin_root
    key = re.search(r"^SECRET_KEY=(.*)$", (root / "etc/fitwerk/admin.env").read_text(), re.M).group(1)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    run_installer(installer, tmp_path, "admin")
    other = re.search(r"^SECRET_KEY=(.*)$", (tmp_path / "etc/fitwerk/admin.env").read_text(), re.M).group(1)
    assert other != key


def test_running_the_installer_again_changes_nothing(installer, tmp_path):
    run_installer(installer, tmp_path, "kiosk")
    before = snapshot(tmp_path)
    again = run_installer(installer, tmp_path, "kiosk").stdout
    assert snapshot(tmp_path) == before
    assert "installed " not in again and "linked " not in again
    assert "kept /etc/fitwerk/kiosk.env (existing configuration)" in again


def test_the_installer_never_overwrites_the_operators_configuration(installer, tmp_path):
    run_installer(installer, tmp_path, "kiosk")
    env_file = tmp_path / "etc/fitwerk/kiosk.env"
    env_file.write_text("KIOSK_TOKEN=secret-from-add-kiosk\n")
    run_installer(installer, tmp_path, "kiosk")
    assert env_file.read_text() == "KIOSK_TOKEN=secret-from-add-kiosk\n"


def test_a_changed_unit_is_replaced_on_upgrade(installer, tmp_path):
    run_installer(installer, tmp_path, "kiosk")
    unit = tmp_path / UNITDIR / "fitwerk-kiosk-sync.service"
    unit.write_text("[Service]\nExecStart=/bin/true\n")
    out = run_installer(installer, tmp_path, "kiosk").stdout
    assert "installed /etc/systemd/system/fitwerk-kiosk-sync.service" in out
    assert unit.read_text() == (SYSTEMD / "fitwerk-kiosk-sync.service").read_text()


def test_uninstall_keeps_configuration_and_data_unless_purged(installer, tmp_path):
    run_installer(installer, tmp_path, "kiosk")
    data = tmp_path / "var/lib/fitwerk-kiosk/kiosk.sqlite"
    data.parent.mkdir(parents=True)
    data.write_text("taps")

    out = run_installer(installer, tmp_path, "uninstall", "kiosk").stdout
    assert "would run: systemctl disable --now fitwerk-kiosk.target" in out
    left = {str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if not path.is_dir()}
    assert left == {"etc/fitwerk/kiosk.env", "var/lib/fitwerk-kiosk/kiosk.sqlite"}

    run_installer(installer, tmp_path, "kiosk")
    run_installer(installer, tmp_path, "uninstall", "kiosk", "--purge")
    assert [path for path in tmp_path.rglob("*") if not path.is_dir()] == []


def test_uninstalling_one_role_keeps_the_code_the_other_still_runs(installer, tmp_path):
    run_installer(installer, tmp_path, "kiosk")
    run_installer(installer, tmp_path, "admin")
    run_installer(installer, tmp_path, "uninstall", "kiosk")
    assert (tmp_path / "opt/fitwerk/bin/fitwerk-cli").exists()
    assert (tmp_path / UNITDIR / "fitwerk-admin.service").exists()
    assert not (tmp_path / UNITDIR / "fitwerk-kiosk-reader.service").exists()
    run_installer(installer, tmp_path, "uninstall", "admin")
    assert not (tmp_path / "opt/fitwerk").exists()


def test_prefix_moves_the_virtualenv_everywhere(installer, tmp_path):
    run_installer(installer, tmp_path, "admin", prefix="/srv/fitwerk")
    unit = (tmp_path / UNITDIR / "fitwerk-admin.service").read_text()
    assert "ExecStart=/srv/fitwerk/venv/bin/gunicorn " in unit
    assert "/opt/fitwerk" not in "".join(path.read_text() for path in tmp_path.rglob("*")
                                         if path.is_file() and not path.is_symlink())


@pytest.mark.parametrize("args", [[], ["station"], ["uninstall"], ["uninstall", "kiosk", "--force"],
                                  ["kiosk", "extra"], ["admin", "fitwerk.whl", "extra"]])
def test_the_installer_rejects_what_it_does_not_know(installer, tmp_path, args):
    result = run_installer(installer, tmp_path, *args, check=False)
    assert result.returncode == 2
    assert "install.sh kiosk" in result.stderr


def test_the_machine_never_runs_npm_or_make(kiosk_root, admin_root):
    for _root, out in (kiosk_root, admin_root):
        commands = [line for line in out.splitlines() if line.startswith("would run: ")]
        assert commands and not [line for line in commands if re.search(r"\b(npm|make|nodejs)\b", line)]


def test_a_named_wheel_is_installed(installer, tmp_path):
    named = tmp_path / "elsewhere" / installer.wheel.name
    named.parent.mkdir()
    shutil.copy(installer.wheel, named)
    out = run_installer(installer, tmp_path / "root", "admin", str(named)).stdout
    assert f"would run: /opt/fitwerk/venv/bin/pip install --quiet --no-deps --force-reinstall {named}" in out


def test_without_a_wheel_the_installer_says_how_to_make_one(installer, tmp_path):
    bare = tmp_path / "checkout"
    shutil.copytree(SYSTEMD, bare / "systemd")   # a clone: no dist/ yet
    result = run_installer(installer, tmp_path / "root", "kiosk", check=False, script=bare / "systemd/install.sh")
    assert result.returncode == 1 and "make dist" in result.stderr
    result = run_installer(installer, tmp_path / "root", "kiosk", str(tmp_path / "fitwerk-9.whl"), check=False)
    assert result.returncode == 1 and "no such wheel" in result.stderr
    assert not (tmp_path / "root" / "etc").exists()


@pytest.mark.parametrize("script, shell", [("install.sh", "bash"), ("fitwerk-cli", "sh")])
def test_shell_scripts_parse(script, shell):
    subprocess.run([shell, "-n", str(SYSTEMD / script)], check=True)


# --- systemd-analyze ---------------------------------------------------------------------

def test_systemd_analyze_verify_accepts_every_unit(verify_root):
    root, prefix = verify_root
    units = [str(root / UNITDIR / unit) for unit in KIOSK_UNITS + ADMIN_UNITS]
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", "--generators=no", *units],
                            capture_output=True, text=True, timeout=120)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    # The one thing the test root may lack: cage, the browser's compositor (a Debian
    # package of the kiosk, not of the test machine).
    allowed = "fitwerk-kiosk-browser.service: Command /usr/bin/cage is not executable: No such file or directory"
    if not Path("/usr/bin/cage").exists():
        problems = [line for line in problems if line != allowed]
        assert result.returncode in (0, 1)
    else:
        assert result.returncode == 0, problems
    assert problems == []
    gunicorn = f"ExecStart={prefix}/venv/bin/gunicorn "
    assert gunicorn in (root / UNITDIR / "fitwerk-admin.service").read_text()


def exposure(unit_path):
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--man=no", str(unit_path)],
                            capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match.group(1)), match.group(2)


def test_exposure_of_every_service_stays_within_its_target(verify_root, capsys):
    root, _prefix = verify_root
    measured = {unit: exposure(root / UNITDIR / unit) for unit in SERVICES}
    lines = ["", "systemd-analyze security --offline=true", f"{'unit':36} {'exposure':14} target"]
    for unit, (level, verdict) in measured.items():
        lines.append(f"{unit:36} {level:<4} {verdict:9} <= {EXPOSURE_CEILING[unit]}")
    with capsys.disabled():   # the table belongs in every test run's output
        print("\n".join(lines))
    over = {unit: level for unit, (level, _verdict) in measured.items() if level > EXPOSURE_CEILING[unit]}
    assert over == {}


# --- what the units promise ----------------------------------------------------------------

@pytest.mark.parametrize("unit", SERVICES)
def test_every_service_is_hardened_and_configured_from_etc(unit):
    settings = service(unit)
    for key, value in {"ProtectSystem": "strict", "NoNewPrivileges": "yes", "PrivateTmp": "yes",
                       "ProtectKernelModules": "yes", "ProtectControlGroups": "yes"}.items():
        assert settings.get(key) == [value], key
    assert settings.get("RestrictAddressFamilies")
    assert settings.get("StateDirectory") or settings.get("RuntimeDirectory")
    assert all(path.lstrip("-").startswith("/etc/fitwerk/") for path in settings["EnvironmentFile"])
    assert settings["User"][0] not in ("root", "0")


@pytest.mark.parametrize("unit", ["fitwerk-kiosk-screen.service", "fitwerk-kiosk-reader.service",
                                  "fitwerk-kiosk-sync.service"])
def test_screen_reader_and_sync_share_one_user_and_state_directory(unit):
    settings = service(unit)
    assert (settings["User"], settings["Group"]) == (["fitwerk"], ["fitwerk"])
    assert settings["StateDirectory"] == ["fitwerk-kiosk"]
    assert settings["EnvironmentFile"] == ["/etc/fitwerk/kiosk.env"]
    assert ["KIOSK_DB=/var/lib/fitwerk-kiosk/kiosk.sqlite"] == [
        value for value in settings["Environment"] if value.startswith("KIOSK_DB=")]


def test_the_screen_listens_on_localhost_only():
    settings = service("fitwerk-kiosk-screen.service")
    assert settings["Type"] == ["notify"]
    # Threads, not the default single sync worker: the screen's event stream holds one open.
    assert settings["ExecStart"] == ["/opt/fitwerk/venv/bin/gunicorn --bind 127.0.0.1:8080 --worker-class gthread "
                                     "--threads 8 'kiosk:create_app()'"]
    assert settings["IPAddressDeny"] == ["any"] and settings["IPAddressAllow"] == ["localhost"]
    assert "bind" not in " ".join(settings["Environment"])


def test_the_admin_runs_gunicorn_on_localhost_behind_the_proxy():
    settings = service("fitwerk-admin.service")
    assert settings["Type"] == ["notify"]
    # Keep-alive longer than the board's poll interval: no resets under load (bench/staff_load).
    assert settings["ExecStart"] == ["/opt/fitwerk/venv/bin/gunicorn --bind 127.0.0.1:8000 --workers 2 --threads 4 "
                                     "--keep-alive 5 'admin:create_app()'"]
    assert settings["ExecStartPre"] == ["/opt/fitwerk/venv/bin/flask --app admin init-db"]
    nginx = (SYSTEMD / "nginx-fitwerk-admin.conf").read_text()
    assert "proxy_pass http://127.0.0.1:8000;" in nginx and "listen 443 ssl" in nginx


def test_the_reader_is_watched_and_reaches_devices_through_groups_not_root():
    settings = service("fitwerk-kiosk-reader.service")
    assert settings["Type"] == ["notify"] and settings["NotifyAccess"] == ["main"]
    assert 5 <= int(settings["WatchdogSec"][0]) <= 60
    assert settings["Restart"] == ["on-failure"]
    assert settings["ExecStart"] == ["/opt/fitwerk/venv/bin/flask --app kiosk reader"]
    assert settings["SupplementaryGroups"] == ["fitwerk-hw dialout"]
    assert settings["CapabilityBoundingSet"] == [""]
    assert settings["DevicePolicy"] == ["closed"]
    assert {"char-usb_device rw", "char-ttyUSB rw", "char-ttyACM rw", "char-input rw"} <= set(settings["DeviceAllow"])


def test_sync_waits_for_the_network_but_not_for_the_clock():
    unit = parse_unit(SYSTEMD / "fitwerk-kiosk-sync.service")
    assert "network-online.target" in unit["Unit"]["After"] and "network-online.target" in unit["Unit"]["Wants"]
    dependencies = " ".join(value for key in ("After", "Wants", "Requires") for value in unit["Unit"].get(key, []))
    assert "time-sync.target" not in dependencies and "time-set.target" not in dependencies
    assert unit["Service"]["Restart"] == ["on-failure"]
    assert unit["Unit"]["StartLimitIntervalSec"] == ["0"]
    assert unit["Service"]["ExecStart"] == ["/opt/fitwerk/venv/bin/flask --app kiosk sync"]


def test_the_follow_ups_run_every_minute():
    timer = parse_unit(SYSTEMD / "fitwerk-admin-follow-ups.timer")["Timer"]
    assert timer["OnCalendar"] == ["minutely"]
    assert service("fitwerk-admin-follow-ups.service")["ExecStart"] == [
        "/opt/fitwerk/venv/bin/flask --app admin follow-ups"]


def test_the_browser_shows_only_the_local_screen_as_an_unprivileged_user():
    settings = service("fitwerk-kiosk-browser.service")
    assert settings["User"] == ["kiosk"] and settings["PAMName"] == ["fitwerk-kiosk-browser"]
    command = settings["ExecStart"][0].split()
    assert command[:3] == ["/usr/bin/cage", "-d", "--"]
    assert "--kiosk" in command and "--app=http://127.0.0.1:8080/" in command
    assert not any(flag.startswith(("--no-sandbox", "--remote-debugging")) for flag in command)
    assert (SYSTEMD / "pam-fitwerk-kiosk-browser").read_text().count("pam_systemd.so") == 1


# --- users, devices, policies ---------------------------------------------------------------

def test_sysusers_creates_every_user_and_group_the_units_name(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for base in ("passwd", "group"):   # the groups a Debian system already has
        (root / "etc" / base).write_text("".join(line for line in Path(f"/etc/{base}").read_text().splitlines(True)
                                                 if line.split(":")[0] in ("root", "dialout", "video", "render")))
    for role in ("kiosk", "admin"):
        subprocess.run(["systemd-sysusers", f"--root={root}", str(SYSTEMD / f"sysusers-fitwerk-{role}.conf")],
                       check=True, capture_output=True, timeout=30)
    users = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":")[3].split(",") for line in
              (root / "etc/group").read_text().splitlines()}
    for unit in SERVICES:
        settings = service(unit)
        assert settings["User"][0] in users
        for group in settings["Group"] + " ".join(settings.get("SupplementaryGroups", [])).split():
            assert group in groups, (unit, group)
    assert int(users["fitwerk"][2]) < 1000 and users["fitwerk"][6].endswith("nologin")
    assert "kiosk" in groups["video"] and "kiosk" in groups["render"]
    assert "fitwerk" not in groups["fitwerk-hw"]   # only the reader unit gets the group


def udev_usb_ids(rules):
    ids = set()
    for vendor, products in re.findall(r'ATTR\{idVendor\}=="(\w{4})", ATTR\{idProduct\}=="([\w|]+)"', rules):
        ids |= {(int(vendor, 16), int(product, 16)) for product in products.split("|")}
    return ids


def test_udev_rules_cover_every_usb_reader_nfcpy_drives():
    from nfc.clf.device import usb_device_map
    rules = (SYSTEMD / "60-fitwerk-nfc.rules").read_text()
    assert udev_usb_ids(rules) == set(usb_device_map)
    assert 'GROUP="fitwerk-hw", MODE="0660"' in rules and 'ENV{PCSCLITE_IGNORE}="1"' in rules


def test_usb_serial_instruments_belong_to_the_reader_and_not_to_modemmanager():
    rules = (SYSTEMD / "61-fitwerk-serial.rules").read_text()
    assert re.search(r'KERNEL=="ttyUSB\[0-9\]\*\|ttyACM\[0-9\]\*", GROUP="fitwerk-hw", MODE="0660", '
                     r'ENV\{ID_MM_DEVICE_IGNORE\}="1"', rules)
    assert set((SYSTEMD / "fitwerk-serial.conf").read_text().split("\n")) >= {"usbserial", "cdc_acm"}


def test_kernel_nfc_drivers_are_kept_off_the_reader():
    lines = set((SYSTEMD / "fitwerk-nfc-blacklist.conf").read_text().splitlines())
    assert {"blacklist port100", "blacklist pn533_usb", "blacklist pn533"} <= lines


def test_chromium_policy_allows_only_the_kiosk_origin():
    policy = json.loads((SYSTEMD / "fitwerk-kiosk-policy.json").read_text())
    # Since Chromium 147 a lone "*" no longer covers chrome:// pages: they are listed on their own.
    assert policy["URLBlocklist"] == ["*", "chrome://*"]
    assert policy["URLAllowlist"] == ["http://127.0.0.1:8080/"]
    assert policy["DeveloperToolsAvailability"] == 2
    assert policy["TranslateEnabled"] is False
    assert policy["IncognitoModeAvailability"] == 1 and policy["BrowserGuestModeEnabled"] is False


POLICY_PROBE = textwrap.dedent('''
    import fcntl, http.server, json, os, socket, struct, subprocess, sys, threading
    policy_dir, home = sys.argv[1], sys.argv[2]
    # A private network namespace has its loopback down; port 8080 is ours alone there.
    with socket.socket() as s:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, request))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 1))

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<p id=kiosk>kiosk screen</p>"
            self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    for port in (8080, 8081):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    # Each page is recognised by what only it renders: the kiosk marker on our own page, the
    # command-line row on chrome://version. A page blocked by policy is Chromium's own error
    # page, whose wording changes between versions, so the navigation error is what we keep.
    from playwright.sync_api import Error, sync_playwright
    marker = {"http://127.0.0.1:8080/": "#kiosk", "http://127.0.0.1:8081/": "#kiosk",
              "chrome://version/": "#command_line"}

    def visit(playwright):
        seen = {}
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update"], env=dict(os.environ, HOME=home))
        for url, selector in marker.items():
            page = browser.new_page()
            try:
                page.goto(url, timeout=30000)
                seen[url] = "loaded" if page.locator(selector).count() else "other page"
            except Error as error:
                message = str(error)
                seen[url] = message.split()[1] if "net::" in message else message.splitlines()[0]
        browser.close()
        return seen

    with sync_playwright() as playwright:
        # First without the policy, so the probe is shown to recognise every page it looks for.
        results = {"without policy": visit(playwright)}
        subprocess.run(["mount", "--bind", policy_dir, "/etc/chromium"], check=True)
        results["with policy"] = visit(playwright)
    print(json.dumps(results))
''')


@pytest.mark.browser
def test_chromium_enforces_the_policy_in_a_private_namespace(tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None or os.geteuid() != 0 or not Path("/etc/chromium").is_dir():
        pytest.skip("needs root and Debian's chromium (make browser-deps)")
    etc = tmp_path / "etc-chromium"
    shutil.copytree("/etc/chromium", etc, symlinks=True)
    managed = etc / "policies/managed"
    managed.mkdir(parents=True, exist_ok=True)
    policy = json.loads((SYSTEMD / "fitwerk-kiosk-policy.json").read_text())
    # Playwright drives the page through DevTools, which the policy (rightly) disables.
    policy.pop("DeveloperToolsAvailability")
    (managed / "fitwerk-kiosk.json").write_text(json.dumps(policy))
    (tmp_path / "home").mkdir()
    probe = subprocess.run(["unshare", "--mount", "--net", "--propagation", "private", sys.executable, "-c",
                            POLICY_PROBE, str(etc), str(tmp_path / "home")],
                           capture_output=True, text=True, timeout=240)
    if probe.returncode != 0 and "unshare failed" in probe.stderr:
        pytest.skip(f"no namespaces here: {probe.stderr.strip()}")
    assert probe.returncode == 0, probe.stderr[-2000:]
    results = json.loads(probe.stdout.splitlines()[-1])
    assert results["without policy"] == dict.fromkeys(results["without policy"], "loaded"), results
    with_policy = results["with policy"]
    assert with_policy["http://127.0.0.1:8080/"] == "loaded", results
    assert with_policy["http://127.0.0.1:8081/"] == "net::ERR_BLOCKED_BY_ADMINISTRATOR", results
    # A blocked chrome:// page either fails the navigation or has its tab closed; never renders.
    assert with_policy["chrome://version/"] != "loaded", results


# --- the processes the units start ----------------------------------------------------------

@pytest.mark.parametrize("app, env", [
    ("kiosk:create_app()", {"KIOSK_DB": "kiosk.sqlite", "KIOSK_ROLE": "checkin"}),
    ("admin:create_app()", {"ADMIN_DB": "admin.sqlite", "SECRET_KEY": "test"}),
])
def test_gunicorn_tells_systemd_it_is_ready(tmp_path, app, env):
    """Type=notify is right for screen and admin: gunicorn's arbiter (the main pid) sends READY=1."""
    notify_dir = tempfile.mkdtemp(prefix="gun", dir="/tmp")
    address = os.path.join(notify_dir, "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    listener.bind(address)
    listener.settimeout(30)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen([str(gunicorn), "--bind", "127.0.0.1:0", "--workers", "1", app], cwd=tmp_path,
                               env={**os.environ, **env, "NOTIFY_SOCKET": address, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        data, ancillary, _flags, _addr = listener.recvmsg(4096, socket.CMSG_SPACE(12))
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=30)
        listener.close()
        shutil.rmtree(notify_dir)
    sender = struct.unpack("iII", ancillary[0][2][:12])[0]
    assert data.decode().split("\n")[0] == "READY=1", err[-2000:]
    assert sender == process.pid   # NotifyAccess=main accepts it


def test_python_libraries_run_with_memory_deny_write_execute():
    """MemoryDenyWriteExecute=yes on the Python units: ctypes callbacks (python-libusb1 makes
    one at import) must not need writable+executable memory. Tried with the kernel's
    PR_SET_MDWE, which refuses the same mappings systemd's filter does."""
    probe = textwrap.dedent("""
        import ctypes, sys
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(65, 1, 0, 0, 0) != 0:    # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
            sys.exit(77)
        import usb1, nfc, serial, gunicorn.app.wsgiapp, flask, sqlite3, requests
        callback = ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 42)
        assert callback() == 42
        import admin, kiosk
    """)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    if result.returncode == 77:
        pytest.skip("kernel without PR_SET_MDWE (Linux < 6.3)")
    assert result.returncode == 0, result.stderr[-2000:]


# --- the admin database backup ----------------------------------------------------------------

def load_backup_module():
    loader = SourceFileLoader("fitwerk_db_backup", str(SYSTEMD / "fitwerk-db-backup"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def test_backup_copies_a_live_wal_database_and_keeps_the_newest(tmp_path):
    import datetime
    backup = load_backup_module()
    database = tmp_path / "admin.sqlite"
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE checkins (id INTEGER PRIMARY KEY)")
    writer.executemany("INSERT INTO checkins VALUES (?)", [(n,) for n in range(100)])
    writer.commit()   # still only in the WAL: no checkpoint yet, the writer stays open
    for day in range(1, 5):
        target = backup.backup(database, tmp_path / "backups", keep=2, today=datetime.date(2026, 3, day))
    writer.close()
    assert sorted(path.name for path in (tmp_path / "backups").iterdir()) == [
        "admin-2026-03-03.db", "admin-2026-03-04.db"]
    assert target.stat().st_mode & 0o777 == 0o600
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT count(*) FROM checkins").fetchone() == (100,)
    copy.close()


def test_backup_of_a_database_that_does_not_exist_yet_is_not_an_error(tmp_path, capsys):
    backup = load_backup_module()
    assert backup.main([str(tmp_path / "admin.sqlite"), str(tmp_path / "backups")]) == 0
    assert not (tmp_path / "backups").exists()


# --- the units under a real systemd ---------------------------------------------------------

BOOT = r'''
set -e
# New mount/pid/net/uts/ipc/cgroup namespaces: / as an overlay whose writes land on
# a tmpfs, a private /dev, /run and /tmp, /sys read-only, its own cgroup2 subtree.
# Nothing this systemd does reaches the host's files, devices or network.
mount -t tmpfs -o size=1g tmpfs /mnt
mkdir -p /mnt/upper /mnt/work /mnt/root
mount -t overlay overlay -o lowerdir=/,upperdir=/mnt/upper,workdir=/mnt/work /mnt/root
R=/mnt/root
mount -t proc proc $R/proc
mount -t sysfs -o ro sysfs $R/sys
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup
mount -t tmpfs -o mode=755 tmpfs $R/dev
for n in null zero full random urandom tty; do touch $R/dev/$n; mount --bind /dev/$n $R/dev/$n; done
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $R/dev/pts
ln -s pts/ptmx $R/dev/ptmx
mount -t tmpfs tmpfs $R/dev/shm
mount -t tmpfs tmpfs $R/run
mount -t tmpfs tmpfs $R/tmp
rm -rf $R/etc/systemd/system/*.wants $R/etc/systemd/system/*.target
PATH="$STUBS:$PATH" DESTDIR=$R bash "$INSTALL" kiosk >/dev/null
PATH="$STUBS:$PATH" DESTDIR=$R bash "$INSTALL" admin >/dev/null
rm -rf $R/opt/fitwerk/venv
cp -a "$VENV" $R/opt/fitwerk/venv
cp -a "$EXTRA/." $R/etc/systemd/system/
cp "$EXTRA/probe.py" $R/opt/fitwerk/probe.py
sed -i 's#^KIOSK_READER=.*#KIOSK_READER=nfc:udp:127.0.0.1:54321#; s#^KIOSK_ADMIN_URL=.*#KIOSK_ADMIN_URL=http://127.0.0.1:8000#' \
    $R/etc/fitwerk/kiosk.env
chroot $R systemd-sysusers /etc/sysusers.d/fitwerk-kiosk.conf /etc/sysusers.d/fitwerk-admin.conf >/dev/null
export container=fitwerk-test
cd $R
mkdir -p oldroot
pivot_root . oldroot
exec /lib/systemd/systemd --unit=fitwerk-test.target
'''

PROBE = '''
import ctypes, ctypes.util, os, sys, time
from kiosk.sdnotify import Watchdog
from common import clock
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
result = libc.adjtimex(ctypes.create_string_buffer(512))
print(f"adjtimex={result} boot_id={clock.boot_id()} groups={sorted(os.getgroups())}", flush=True)
watchdog = Watchdog()
watchdog.ready("probe loop running")
while True:
    if sys.argv[1] == "healthy":
        watchdog.ping()
    time.sleep(0.2)
'''

# Only for the test machine: no USB-serial modules, no seat, no udev.
MASKED = ["systemd-udevd.service", "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
          "systemd-udev-trigger.service", "systemd-logind.service", "systemd-modules-load.service",
          "postgresql.service", "apt-daily.timer", "apt-daily-upgrade.timer", "man-db.timer",
          "e2scrub_all.timer", "getty@tty1.service", "console-getty.service"]


def cgroup2_mount():
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[fields.index("-") + 1] == "cgroup2":
            return Path(fields[4])
    return None


class NamespacedSystemd:
    """A systemd booted as pid 1 of its own namespaces over an overlay of this machine."""

    def __init__(self, tmp_path, installer, venv, extra):
        self.cgroup = cgroup2_mount() / f"fitwerk-test-{os.getpid()}"
        self.cgroup.mkdir()
        env = dict(os.environ, STUBS=str(installer.stubs), INSTALL=str(installer.script), VENV=str(venv),
                   EXTRA=str(extra))
        self.process = subprocess.Popen(
            ["sh", "-c", f'echo $$ > {self.cgroup}/cgroup.procs && exec unshare --mount --pid --fork --net --uts '
                         f'--ipc --cgroup --propagation private bash -c "$0"', BOOT],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.pid = None
        try:
            self._wait_until_running()
        except BaseException:
            self.close()
            raise

    def _wait_until_running(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
            if children.stdout.strip():
                child = int(children.stdout.split()[0])
                if Path(f"/proc/{child}/comm").read_text().strip() == "systemd":
                    self.pid = child
                    if self.run("systemctl", "is-system-running", check=False).stdout.strip() in (
                            "running", "degraded"):
                        return
            time.sleep(0.5)
        output = self.process.stdout.read() if self.process.poll() is not None else ""
        raise AssertionError(f"namespaced systemd did not come up: {output[-2000:]}")

    def run(self, *command, check=True, timeout=60):
        result = subprocess.run(["nsenter", "-t", str(self.pid), "-m", "-p", "-n", "-u", "-i", "-C", *command],
                                capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
        return result

    def show(self, unit, *properties):
        out = self.run("systemctl", "show", unit, *(f"--property={name}" for name in properties)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_for(self, unit, state="active", seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.run("systemctl", "is-active", unit, check=False).stdout.strip() == state:
                return
            if int(self.show(unit, "NRestarts")["NRestarts"]) >= 2:
                break   # crash-looping: the journal says why
            time.sleep(0.5)
        journal = self.run("journalctl", "--no-pager", "-o", "cat", "-n", "30", "-u", unit, check=False).stdout
        raise AssertionError(f"{unit} is not {state}:\n{journal}")

    def status(self):
        """The kiosk screen's /status.json."""
        return json.loads(self.run("curl", "-sf", "http://127.0.0.1:8080/status.json").stdout)

    def close(self):
        if self.pid:
            subprocess.run(["kill", "-9", str(self.pid)], check=False)
        self.process.wait(timeout=30)
        for directory in sorted(self.cgroup.rglob("*"), key=lambda p: -len(p.parts)) + [self.cgroup]:
            if directory.is_dir():
                for _ in range(50):   # a cgroup is removable once its killed processes are reaped
                    try:
                        directory.rmdir()
                        break
                    except OSError:
                        time.sleep(0.1)


@pytest.fixture(scope="module")
def booted(installer, tmp_path_factory):
    missing = [tool for tool in ("unshare", "nsenter", "pgrep", "/lib/systemd/systemd", "/usr/bin/python3")
               if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing or cgroup2_mount() is None:
        pytest.skip(f"needs root, cgroup2 and {missing or 'these tools'}")
    base = tmp_path_factory.mktemp("booted")
    # The installer's own steps for the virtualenv, from the wheel, with Debian's python3 as
    # on a Pi (a venv on a python under /root would be hidden by ProtectHome=).
    venv = base / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin/pip"), "install", "--quiet", str(installer.wheel)], check=True, timeout=600,
                   capture_output=True)
    for script in (venv / "bin").iterdir():   # relocate to where the installer puts it
        if script.is_file() and not script.is_symlink() and script.read_bytes().startswith(b"#!"):
            script.write_text(script.read_text().replace(str(venv), "/opt/fitwerk/venv", 1))
    extra = base / "extra"
    extra.mkdir()
    (extra / "probe.py").write_text(PROBE)
    for name in MASKED:
        (extra / name).symlink_to("/dev/null")
    reader_unit = (SYSTEMD / "fitwerk-kiosk-reader.service").read_text()
    for kind in ("healthy", "hung"):
        (extra / f"fitwerk-probe-{kind}.service").write_text(
            reader_unit.replace("ExecStart=/opt/fitwerk/venv/bin/flask --app kiosk reader",
                                f"ExecStart=/opt/fitwerk/venv/bin/python /opt/fitwerk/probe.py {kind}")
            .replace("WatchdogSec=30", "WatchdogSec=3").replace("RestartSec=3", "RestartSec=600")
            .replace("PartOf=fitwerk-kiosk.target\n", ""))
    if "sdnotify" not in (REPO / "kiosk" / "reader.py").read_text():
        # Until kiosk/reader.py sends READY=1, the reader can only run as a plain service.
        (extra / "fitwerk-kiosk-reader.service.d").mkdir()
        (extra / "fitwerk-kiosk-reader.service.d/not-yet-notify.conf").write_text(
            "[Service]\nType=exec\nWatchdogSec=0\n")
    (extra / "fitwerk-test.target").write_text(
        "[Unit]\nRequires=basic.target\nAfter=basic.target\nWants=fitwerk-admin.service fitwerk-kiosk-screen.service "
        "fitwerk-kiosk-reader.service fitwerk-kiosk-sync.service fitwerk-probe-healthy.service "
        "fitwerk-probe-hung.service\n")
    machine = NamespacedSystemd(base, installer, venv, extra)
    yield machine
    machine.close()


@pytest.mark.slow
def test_installed_units_run_under_systemd_with_all_their_hardening(booted):
    for unit in ("fitwerk-admin.service", "fitwerk-kiosk-screen.service", "fitwerk-kiosk-reader.service"):
        booted.wait_for(unit)   # Type=notify units are active only after READY=1
    for directory, owner in (("/var/lib/fitwerk-kiosk", "fitwerk"), ("/var/lib/fitwerk-admin", "fitwerk-admin")):
        assert booted.run("stat", "-c", "%U %G %a", directory).stdout.split() == [owner, owner, "750"]
    # The reader opens the badge link (nfcpy's simulated udp: reader) and the screen says so.
    deadline = time.monotonic() + 20
    while (status := booted.status())["reader"]["state"] != "ok":
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    for unit in ("fitwerk-admin.service", "fitwerk-kiosk-screen.service", "fitwerk-kiosk-reader.service"):
        assert booted.show(unit, "NRestarts") == {"NRestarts": "0"}, unit


@pytest.mark.slow
def test_a_kiosk_registered_with_add_kiosk_syncs_a_tap(booted):
    booted.wait_for("fitwerk-admin.service")
    out = booted.run("fitwerk-admin", "add-kiosk", "Entree", "--location", "Sporthal Noord").stdout
    token = out.strip().splitlines()[-1]
    booted.run("sed", "-i", f"s#^KIOSK_TOKEN=.*#KIOSK_TOKEN={token}#", "/etc/fitwerk/kiosk.env")
    booted.run("systemctl", "restart", "fitwerk-kiosk.target", "fitwerk-kiosk-sync.service")
    booted.wait_for("fitwerk-kiosk-sync.service")
    booted.wait_for("fitwerk-kiosk-reader.service")
    booted.run("/opt/fitwerk/venv/bin/python", "-m", "devices", "card", "udp:127.0.0.1:54321",
               "--uid", "01010501B00A0001", timeout=60)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = booted.status()
        if status["sync"]["server_reachable"] and status["sync"]["pending"] == 0 and status["last_checkin"]:
            break
        time.sleep(0.5)
    assert status["last_checkin"]["result"] == "unknown_badge"
    assert status["sync"] == {**status["sync"], "server_reachable": True, "pending": 0}


@pytest.mark.slow
def test_the_watchdog_restarts_a_hung_loop_and_leaves_a_healthy_one(booted):
    booted.wait_for("fitwerk-probe-healthy.service")
    deadline = time.monotonic() + 30
    while booted.show("fitwerk-probe-hung.service", "Result")["Result"] != "watchdog":
        assert time.monotonic() < deadline, "the hung probe was never killed by the watchdog"
        time.sleep(0.5)
    healthy = booted.show("fitwerk-probe-healthy.service", "Result", "NRestarts", "StatusText")
    assert healthy == {"Result": "success", "NRestarts": "0", "StatusText": "probe loop running"}
    # Same sandbox as the reader: the clock and boot id the records need, the device groups.
    line = booted.run("journalctl", "--no-pager", "-o", "cat", "-u", "fitwerk-probe-healthy.service").stdout
    found = re.search(r"adjtimex=(-?\d+) boot_id=(\S+) groups=\[(.*)\]", line)
    assert int(found.group(1)) >= 0 and found.group(2) != "unknown-boot"
    groups = booted.run("getent", "group", "dialout", "fitwerk-hw").stdout.split()
    assert {int(entry.split(":")[2]) for entry in groups} <= {int(g) for g in found.group(3).split(",")}


@pytest.mark.slow
def test_the_admin_timers_services_succeed(booted):
    booted.wait_for("fitwerk-admin.service")
    booted.run("systemctl", "start", "fitwerk-admin-backup.service", "fitwerk-admin-follow-ups.service",
               "fitwerk-admin-retention.service")
    for unit in ("fitwerk-admin-backup.service", "fitwerk-admin-follow-ups.service",
                 "fitwerk-admin-retention.service"):
        assert booted.show(unit, "Result")["Result"] == "success"
    backups = booted.run("ls", "/var/lib/fitwerk-admin/backups").stdout.split()
    assert len(backups) == 1 and backups[0].startswith("admin-")
