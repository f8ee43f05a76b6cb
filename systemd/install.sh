#!/bin/bash
# Install a fitwerk kiosk (Raspberry Pi) or the admin server from the wheel.
#
#   sudo systemd/install.sh kiosk [WHEEL]            # or: admin [WHEEL]
#   sudo systemd/install.sh uninstall kiosk          # keeps data and configuration
#   sudo systemd/install.sh uninstall kiosk --purge  # removes those too
#   DESTDIR=/tmp/root systemd/install.sh kiosk       # dry run, see below
#
# WHEEL is the fitwerk-VERSION-py3-none-any.whl that `make dist` builds (htmx
# and the schema inside); without it, the newest in dist/ next to systemd/.
# The machine needs neither Node nor make nor the source tree: only this
# folder and the wheel. Running it again upgrades the code and the units and
# keeps configuration (/etc/fitwerk/*.env) and data (/var/lib/fitwerk-*).
#
# Dry run: with DESTDIR set, every file goes into that tree instead of /, and
# commands that would change the system (apt-get, systemd-sysusers, pip,
# systemctl, udevadm, modprobe) are printed as "would run: ...", never run.
# Users are declared in /etc/sysusers.d, so the tree shows them too.
#
# Environment: PREFIX (default /opt/fitwerk) for the virtualenv and helper
# scripts; PYTHON (default /usr/bin/python3, 3.11 or later) for the virtualenv.
# Keep it the system's Python: one under /home or /root stays hidden from the
# services (ProtectHome=).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIST=$(dirname "$HERE")/dist
WHEEL=
DESTDIR=${DESTDIR:-}
DESTDIR=${DESTDIR%/}
PREFIX=${PREFIX:-/opt/fitwerk}
PREFIX=${PREFIX%/}
PYTHON=${PYTHON:-/usr/bin/python3}
VENV=$PREFIX/venv
UNITDIR=/etc/systemd/system

KIOSK_UNITS=(fitwerk-kiosk.target fitwerk-kiosk-screen.service fitwerk-kiosk-reader.service
             fitwerk-kiosk-sync.service fitwerk-kiosk-browser.service)
ADMIN_UNITS=(fitwerk-admin.service fitwerk-admin-follow-ups.service fitwerk-admin-follow-ups.timer
             fitwerk-admin-backup.service fitwerk-admin-backup.timer
             fitwerk-admin-retention.service fitwerk-admin-retention.timer)

usage() {
    sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

die() {
    echo "install.sh: $*" >&2
    exit 1
}

dry_run() { [ -n "$DESTDIR" ]; }

quote() {
    local out="" arg
    for arg in "$@"; do out+=" $(printf '%q' "$arg")"; done
    printf '%s' "${out# }"
}

# A command that changes the system: run it, or in a dry run print it.
run() {
    if dry_run; then
        echo "would run: $(quote "$@")"
    else
        echo "+ $(quote "$@")"
        "$@"
    fi
}

# The same, for steps whose failure does not matter (a module not loaded, a
# unit already gone).
run_tolerant() {
    if dry_run; then
        echo "would run: $(quote "$@")"
    else
        echo "+ $(quote "$@")"
        "$@" || echo "  (ignored: exit $?)"
    fi
}

# True when a systemd manager runs here (not in a chroot or container build).
systemd_running() { [ -d /run/systemd/system ]; }

# Install a file from systemd/ into the tree, with /opt/fitwerk replaced by
# $PREFIX; leaves an identical file alone, so a re-run changes nothing.
put() {
    local mode=$1 name=$2 target=$3 tmp
    tmp=$(mktemp)
    sed "s#/opt/fitwerk#$PREFIX#g" "$HERE/$name" >"$tmp"
    if [ -f "$DESTDIR$target" ] && cmp -s "$tmp" "$DESTDIR$target"; then
        chmod "$mode" "$DESTDIR$target"
        rm -f "$tmp"
        return
    fi
    install -D -m "$mode" "$tmp" "$DESTDIR$target"
    rm -f "$tmp"
    echo "installed $target"
}

# Install a one-line file generated here, the same way.
put_text() {
    local mode=$1 target=$2 text=$3
    if [ -f "$DESTDIR$target" ] && [ "$(cat "$DESTDIR$target")" = "$text" ]; then
        return
    fi
    mkdir -p "$(dirname "$DESTDIR$target")"
    printf '%s\n' "$text" >"$DESTDIR$target"
    chmod "$mode" "$DESTDIR$target"
    echo "installed $target"
}

# Install a configuration template only when there is none: never overwrite
# what the operator wrote (a kiosk token, the admin's secret key).
put_config() {
    local name=$1 target=$2 tmp
    if [ -e "$DESTDIR$target" ]; then
        echo "kept $target (existing configuration)"
        return
    fi
    tmp=$(mktemp)
    sed "s#/opt/fitwerk#$PREFIX#g" "$HERE/$name" >"$tmp"
    if grep -q '@SECRET_KEY@' "$tmp"; then
        sed -i "s#@SECRET_KEY@#$("$PYTHON" -c 'import secrets; print(secrets.token_hex(32))')#" "$tmp"
    fi
    # Secrets inside: readable by root only (systemd reads it as root).
    install -D -m 0600 "$tmp" "$DESTDIR$target"
    rm -f "$tmp"
    echo "installed $target (edit it: nothing overwrites it later)"
}

put_link() {
    local target=$1 link=$2
    if [ "$(readlink "$DESTDIR$link" 2>/dev/null)" != "$target" ]; then
        mkdir -p "$(dirname "$DESTDIR$link")"
        ln -sfn "$target" "$DESTDIR$link"
        echo "linked $link -> $target"
    fi
}

remove() {
    local path
    for path in "$@"; do
        case "$path" in /?*) ;; *) die "refusing to remove '$path'" ;; esac
        if [ -e "$DESTDIR$path" ] || [ -L "$DESTDIR$path" ]; then
            rm -rf -- "$DESTDIR$path"
            echo "removed $path"
        fi
    done
}

# Debian packages the role needs at run time; only the missing ones are installed.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

# The wheel to install: the one named, or the highest version in dist/.
find_wheel() {
    if [ -z "$WHEEL" ]; then
        WHEEL=$(printf '%s\n' "$DIST"/fitwerk-*.whl | sort -V | tail -n 1)
        [ -f "$WHEEL" ] || die "no wheel in $DIST: build one with 'make dist' on any machine with the source, copy dist/ next to systemd/ (or name the wheel: install.sh ROLE WHEEL)"
    fi
    [ -f "$WHEEL" ] || die "no such wheel: $WHEEL"
    WHEEL=$(cd "$(dirname "$WHEEL")" && pwd)/$(basename "$WHEEL")
    echo "wheel: $WHEEL"
}

install_venv() {
    if dry_run || [ ! -x "$VENV/bin/python" ]; then
        run "$PYTHON" -m venv "$VENV"
    fi
    # Everything the apps serve (htmx, templates, schema) is inside the wheel.
    run "$VENV/bin/pip" install --quiet "$WHEEL"
    # Same version number, new code: reinstall the project itself, not its dependencies.
    run "$VENV/bin/pip" install --quiet --no-deps --force-reinstall "$WHEEL"
    # Flask's instance folder of an installed package lives in the venv; it is
    # read-only for the services (ProtectSystem=strict), so make it here.
    install -d -m 0755 "$DESTDIR$VENV/var/kiosk-instance" "$DESTDIR$VENV/var/admin-instance"
}

create_users() {
    local role=$1
    put 0644 "sysusers-fitwerk-$role.conf" "/etc/sysusers.d/fitwerk-$role.conf"
    run systemd-sysusers "/etc/sysusers.d/fitwerk-$role.conf"
}

# What `systemctl enable` does, written into the dry-run tree: one link per WantedBy=.
link_wants() {
    local unit target
    for unit in "$@"; do
        # WantedBy= may name several targets: split on words on purpose.
        # shellcheck disable=SC2013
        for target in $(sed -n 's/^WantedBy=//p' "$HERE/$unit"); do
            put_link "$UNITDIR/$unit" "$UNITDIR/$target.wants/$unit"
        done
    done
}

enable_units() {
    if dry_run; then
        link_wants "$@"
    fi
    run systemctl enable "$@"
}

# Older Raspberry Pi OS images ship Chromium as chromium-browser.
chromium_package() {
    if dpkg-query -W -f='${Status}' chromium-browser 2>/dev/null | grep -q 'install ok installed'; then
        echo chromium-browser
    else
        echo chromium
    fi
}

# The kind of badge reader kiosk.env names: nfc (nfcpy; also an old file with only
# KIOSK_NFC), pcsc (pcscd) or wedge (a keyboard-wedge reader). Before the first
# install the template's, after it the file the administrator edited.
reader_kind() {
    local env=$DESTDIR/etc/fitwerk/kiosk.env value
    [ -f "$env" ] || env=$HERE/kiosk.env
    value=$(sed -n 's/^KIOSK_READER=//p' "$env" | tail -n 1 | tr -d "\"'")
    case "$value" in
        pcsc|pcsc:*) echo pcsc ;;
        wedge:*) echo wedge ;;
        *) echo nfc ;;
    esac
}

install_kiosk() {
    local chromium reader
    find_wheel
    chromium=$(chromium_package)
    reader=$(reader_kind)
    echo "badge reader: $reader (KIOSK_READER in /etc/fitwerk/kiosk.env; run this again after changing it)"
    # DejaVu Sans: the kiosk's font, with the Arabic, Turkish and Polish letters of the greetings.
    # gcc, python3-dev, libpcsclite-dev: pip builds pyscard and evdev from source on the Pi.
    # pcscd with libccid drives PC/SC readers.
    ensure_packages python3-venv libusb-1.0-0 cage "$chromium" fonts-dejavu-core \
        gcc python3-dev libpcsclite-dev pcscd libccid
    create_users kiosk
    install_venv

    local unit
    for unit in "${KIOSK_UNITS[@]}"; do put 0644 "$unit" "$UNITDIR/$unit"; done
    put_config kiosk.env /etc/fitwerk/kiosk.env
    if [ ! -x /usr/bin/chromium ] && [ -x /usr/bin/chromium-browser ]; then
        put_text 0644 /etc/fitwerk/browser.env 'FITWERK_CHROMIUM=/usr/bin/chromium-browser'
    fi
    # Only the chosen reader kind's rule: the nfcpy rule hides its readers from pcscd,
    # which a PC/SC ACR122U needs; the input rule opens USB keyboards to the reader.
    if [ "$reader" = nfc ]; then
        put 0644 60-fitwerk-nfc.rules /etc/udev/rules.d/60-fitwerk-nfc.rules
    else
        remove /etc/udev/rules.d/60-fitwerk-nfc.rules
    fi
    if [ "$reader" = wedge ]; then
        put 0644 62-fitwerk-input.rules /etc/udev/rules.d/62-fitwerk-input.rules
    else
        remove /etc/udev/rules.d/62-fitwerk-input.rules
    fi
    put 0644 61-fitwerk-serial.rules /etc/udev/rules.d/61-fitwerk-serial.rules
    put 0644 fitwerk-nfc-blacklist.conf /etc/modprobe.d/fitwerk-nfc-blacklist.conf
    put 0644 fitwerk-serial.conf /etc/modules-load.d/fitwerk-serial.conf
    put 0644 fitwerk-kiosk-policy.json /etc/chromium/policies/managed/fitwerk-kiosk.json
    put 0644 pam-fitwerk-kiosk-browser /etc/pam.d/fitwerk-kiosk-browser
    put 0755 fitwerk-cli "$PREFIX/bin/fitwerk-cli"
    put_link "$PREFIX/bin/fitwerk-cli" /usr/local/sbin/fitwerk-kiosk

    # The kernel NFC drivers keep their hands off the reader (pn533_usb also claims an
    # ACR122U that pcscd should drive); pcscd runs, socket-activated, only for a PC/SC reader.
    run_tolerant modprobe -r port100 pn533_usb pn533
    run_tolerant modprobe -a usbserial cdc_acm
    if [ "$reader" = pcsc ]; then
        run_tolerant systemctl unmask pcscd.socket pcscd.service
        run systemctl enable --now pcscd.socket
    elif dry_run || [ -e /lib/systemd/system/pcscd.socket ]; then
        run_tolerant systemctl disable --now pcscd.socket pcscd.service
        run systemctl mask pcscd.socket pcscd.service
    fi
    # A desktop session would fight the kiosk browser for the display.
    if dry_run || [ -L /etc/systemd/system/display-manager.service ]; then
        run_tolerant systemctl disable display-manager.service
        run systemctl set-default multi-user.target
    fi
    if dry_run || [ -S /run/udev/control ]; then
        run udevadm control --reload
        run udevadm trigger --action=change --subsystem-match=usb --subsystem-match=tty --subsystem-match=input
    fi
    if dry_run || systemd_running; then
        run systemctl daemon-reload
    fi
    enable_units "${KIOSK_UNITS[@]}"
    if dry_run || systemd_running; then
        # An upgrade: running services get the new code; a first install waits
        # for the configuration (next steps below).
        run systemctl try-restart "${KIOSK_UNITS[@]:1}"
    fi
    cat <<EOF

Kiosk installed. Next:
  1. Register it on the admin server:  sudo fitwerk-admin add-kiosk NAME --location LOCATION [--role station]
  2. Put KIOSK_ADMIN_URL, KIOSK_TOKEN and KIOSK_ROLE in /etc/fitwerk/kiosk.env
  3. sudo systemctl restart fitwerk-kiosk.target   (or reboot)
EOF
}

install_admin() {
    find_wheel
    ensure_packages python3-venv
    create_users admin
    install_venv

    local unit
    for unit in "${ADMIN_UNITS[@]}"; do put 0644 "$unit" "$UNITDIR/$unit"; done
    put_config admin.env /etc/fitwerk/admin.env
    put 0755 fitwerk-cli "$PREFIX/bin/fitwerk-cli"
    put 0755 fitwerk-db-backup "$PREFIX/bin/fitwerk-db-backup"
    put 0644 nginx-fitwerk-admin.conf "$PREFIX/share/nginx-fitwerk-admin.conf"
    put_link "$PREFIX/bin/fitwerk-cli" /usr/local/sbin/fitwerk-admin

    if dry_run || systemd_running; then
        run systemctl daemon-reload
    fi
    enable_units fitwerk-admin.service fitwerk-admin-follow-ups.timer fitwerk-admin-backup.timer \
        fitwerk-admin-retention.timer
    if dry_run || systemd_running; then
        # Starts it, or restarts it on the new code; init-db runs first (ExecStartPre=).
        run systemctl restart fitwerk-admin.service fitwerk-admin-follow-ups.timer fitwerk-admin-backup.timer \
            fitwerk-admin-retention.timer
    fi
    cat <<EOF

Admin server installed; gunicorn listens on 127.0.0.1:8000. Next:
  1. TLS proxy: $PREFIX/share/nginx-fitwerk-admin.conf (README: "Deploy the admin server")
  2. First account:  sudo fitwerk-admin create-user you@example.org --role admin
EOF
}

uninstall() {
    local role=$1 purge=$2 units unit target
    if [ "$role" = kiosk ]; then units=("${KIOSK_UNITS[@]}"); else units=("${ADMIN_UNITS[@]}"); fi
    run_tolerant systemctl disable --now "${units[@]}"
    for unit in "${units[@]}"; do
        remove "$UNITDIR/$unit"
        if dry_run; then
            # shellcheck disable=SC2013
            for target in $(sed -n 's/^WantedBy=//p' "$HERE/$unit"); do
                remove "$UNITDIR/$target.wants/$unit"
                rmdir "$DESTDIR$UNITDIR/$target.wants" 2>/dev/null || true
            done
        fi
    done
    remove "/etc/sysusers.d/fitwerk-$role.conf" "/usr/local/sbin/fitwerk-$role"
    if [ "$role" = kiosk ]; then
        remove /etc/udev/rules.d/60-fitwerk-nfc.rules /etc/udev/rules.d/61-fitwerk-serial.rules \
               /etc/udev/rules.d/62-fitwerk-input.rules \
               /etc/modprobe.d/fitwerk-nfc-blacklist.conf /etc/modules-load.d/fitwerk-serial.conf \
               /etc/chromium/policies/managed/fitwerk-kiosk.json /etc/pam.d/fitwerk-kiosk-browser \
               /etc/fitwerk/browser.env
        if dry_run || [ -e /lib/systemd/system/pcscd.socket ]; then
            run_tolerant systemctl unmask pcscd.socket pcscd.service
        fi
        if dry_run || [ -S /run/udev/control ]; then
            run udevadm control --reload
        fi
    fi
    if dry_run || systemd_running; then
        run systemctl daemon-reload
    fi
    if [ "$purge" = yes ]; then
        remove "/etc/fitwerk/$role.env" "/var/lib/fitwerk-$role"
        rmdir "$DESTDIR/etc/fitwerk" 2>/dev/null || true
    else
        echo "kept /etc/fitwerk/$role.env and /var/lib/fitwerk-$role (uninstall $role --purge removes them)"
    fi
    # The code goes when no role uses it any more; data never goes without --purge.
    if ! compgen -G "$DESTDIR$UNITDIR/fitwerk-*" >/dev/null; then
        remove "$PREFIX"
    fi
    echo "system users are kept (Debian keeps system users; userdel removes them)"
}

main() {
    [ $# -ge 1 ] || usage
    if ! dry_run && [ "$(id -u)" -ne 0 ]; then
        die "run it as root (sudo), or with DESTDIR=... for a dry run"
    fi
    if dry_run; then
        echo "dry run into $DESTDIR: files go into that tree, commands are only printed"
        mkdir -p "$DESTDIR"
    fi
    case "$1" in
        kiosk|admin)
            [ $# -le 2 ] || usage
            if [ $# -eq 2 ]; then
                case "$2" in *.whl) WHEEL=$2 ;; *) usage ;; esac
            fi
            "install_$1"
            ;;
        uninstall)
            [ $# -ge 2 ] || usage
            local role=$2 purge=no
            case "$role" in kiosk|admin) ;; *) usage ;; esac
            if [ $# -eq 3 ]; then
                [ "$3" = --purge ] || usage
                purge=yes
            fi
            [ $# -le 3 ] || usage
            uninstall "$role" "$purge"
            ;;
        *) usage ;;
    esac
}

main "$@"
