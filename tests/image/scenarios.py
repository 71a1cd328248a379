#!/usr/bin/env python3
"""resetkit's appliance scenarios: the built image (tests/image/build) booted
under QEMU, the reset button pressed from outside through QMP.

    tests/image/scenarios.py --image DISK.raw --work DIR [NAME ...]

Each scenario boots its own copy-on-write overlay of the image; it prints
its time, and at the end "N passed, N failed".  Exit status 1 when any
failed.  See tests/image/README.md.
"""

import argparse
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rkimage import GuestError, Machine, log  # noqa: E402

BOOT_TIMEOUT = 300        # QEMU start to the agent's answer
QEMU_LIMIT = 900          # one QEMU process, at most

FACTORY_ROOT_HASH = "/usr/lib/resetkit/factory-passwords/root"


class Failed(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failed(what)


def booted(m, **kw):
    b = m.boot(timeout=QEMU_LIMIT, **kw)
    t = b.wait_agent(BOOT_TIMEOUT)
    b.check("systemctl is-system-running --wait >/dev/null || true", timeout=BOOT_TIMEOUT)
    log(f"boot {b.n}: agent up after {t:.0f} s, system up after {b.elapsed():.0f} s")
    return b


def wait_resetd(b, timeout=60):
    """resetd up and holding logind's handle-reboot-key lock: it sees the button."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        rc, out = b.run("systemctl is-active resetd.service && systemd-inhibit --list --no-pager --no-legend")
        if rc == 0 and "handle-reboot-key" in out:
            return out
        time.sleep(1)
    raise Failed("resetd is not active with its handle-reboot-key lock:\n"
                 + b.run("systemctl status resetd --no-pager; systemd-inhibit --list --no-pager")[1])


# ---- boot ---------------------------------------------------------------------------------

def sc_boot(m):
    b = booted(m)
    try:
        out = b.check("systemctl is-active resetd.service; systemctl is-enabled resetd.service "
                      "reset-failsafe.service resetkit-firstboot.service")
        expect(out.split() == ["active", "enabled", "enabled", "enabled"], f"units: {out!r}")
        # the fail-safe ran in the initramfs: its stamp, its word on the console,
        # and the unit in the booted system stood down
        b.check("test -e /run/resetkit/failsafe-ran")
        expect("button not held at start: nothing to do" in b.console_text(),
               "reset-failsafe did not report the released button in the initramfs")
        out = b.check("systemctl show -p ConditionResult reset-failsafe.service")
        expect("ConditionResult=no" in out, f"reset-failsafe.service ran in the booted system: {out}")
        out = b.check("lsinitramfs /boot/initrd.img-$(uname -r)")
        for f in ("usr/sbin/reset-failsafe", "scripts/local-bottom/resetkit", "etc/resetkit/resetd.conf",
                  "usr/lib/udev/rules.d/60-persistent-input.rules"):
            expect(f in out, f"{f} not in the initramfs")
        # logind: our drop-in, and resetd's lock, against the real logind
        out = b.check("busctl get-property org.freedesktop.login1 /org/freedesktop/login1 "
                      "org.freedesktop.login1.Manager HandleRebootKey")
        expect(out.strip() == 's "ignore"', f"HandleRebootKey: {out!r}")
        out = wait_resetd(b)
        expect("resetd" in out and "block" in out, f"inhibitor: {out!r}")
        # GRUB booted slot a from its environment block on the ESP
        expect("rk.slot=a" in b.check("cat /proc/cmdline"), "not booted from slot a")
        out = b.check("grub-editenv /boot/efi/EFI/resetkit/grubenv list")
        expect("rk_a_ok=1" in out and "rk_b_ok=1" in out, f"grubenv: {out!r}")
        b.request("systemctl poweroff")
        expect(b.wait_end(120) == "poweroff", "no power-off")
    finally:
        b.kill()


# ---- button-reboot --------------------------------------------------------------------------

def sc_button_reboot(m):
    b = booted(m)
    try:
        wait_resetd(b)
        held = b.key(2.0)
        log(f"button held {held:.1f} s")
        end = b.wait_end(180)
        expect(end == "reboot", f"after a 2 s hold: {end}, not a reboot")
        expect("reboot" in b.console_text().lower(), "no reboot on the console")
    finally:
        b.kill()
    b = booted(m)
    try:
        expect(b.check("journalctl --list-boots --no-pager | grep -c '^ *-\\?[0-9]'").strip() == "2", "not the second boot")
        out = b.check("journalctl -b -1 --no-pager -o cat _COMM=resetd")
        log("resetd said: " + " | ".join(out.strip().splitlines()[-3:]))
        expect("reboot" in out.lower(), "resetd did not log a reboot in the boot before")
    finally:
        b.kill()


# ---- button-rescue --------------------------------------------------------------------------

CONF_A = '{"authority":{"router":[{"name":"conf-a","node":[{"name":"node1","role":"combo"}]}]}}'
CONF_B = '{"authority":{"router":[{"name":"conf-b","node":[{"name":"node1","role":"combo"}]}]}}'


def sc_button_rescue(m):
    b = booted(m)
    try:
        b.check(f"printf '%s\\n' '{CONF_A}' >/run/a.json && resetctl config commit /run/a.json && "
                "resetctl rescue save")
        b.check(f"printf '%s\\n' '{CONF_B}' >/run/b.json && resetctl config commit /run/b.json")
        expect("conf-b" in b.check("resetctl config show"), "B is not running")
        wait_resetd(b)
        boot_id = b.check("cat /proc/sys/kernel/random/boot_id").strip()
        held = b.key(8.0)
        log(f"button held {held:.1f} s")
        end = time.monotonic() + 60
        while time.monotonic() < end:
            rc, out = b.run("resetctl config show")
            if "conf-a" in out:
                break
            time.sleep(1)
        expect("conf-a" in out, f"A is not running after an 8 s hold: {out}")
        time.sleep(3)
        expect(b.running(), "the guest went down after a rescue")
        expect(b.check("cat /proc/sys/kernel/random/boot_id").strip() == boot_id, "the guest rebooted")
        out = b.check("resetctl config list")
        log("store: " + " | ".join(out.strip().splitlines()[:3]))
    finally:
        b.kill()


# ---- button-factory -------------------------------------------------------------------------

def plant(b, marker):
    """Secrets everywhere SPEC §3 names (the SSR manifest), each holding the
    marker; a user with SSH keys; the marker in the journal and in slot B; a
    new root password.  Returns what a check after the reset compares."""
    script = f"""
set -e
M={marker}
mkdir -p /etc/128technology/pki /var/lib/128technology/secrets /root/.ssh /etc/salt/pki \
         /var/spool/cron/crontabs /var/lib/influxdb
for f in /etc/128technology/global.init /etc/128technology/pki/router.key \
         /var/lib/128technology/secrets/token /var/lib/128technology/t128-running.json \
         /etc/salt/pki/minion.pem /etc/ipsec.secrets /etc/pam_radius_auth.conf /etc/tacplus_servers \
         /root/.ssh/id_ed25519 /root/.bash_history /root/.netrc /var/spool/cron/crontabs/root \
         /var/lib/influxdb/data /var/tmp/scratch /var/log/app.log; do
        printf 'secret %s %s\\n' "$M" "$f" >"$f"
done
echo "ssh-ed25519 AAAA$M root@outside" >/root/.ssh/authorized_keys
# the control: a file no manifest entry names keeps its bytes on the disk
printf 'kept %s\n' "{control_of(marker)}" >/etc/rk-control
useradd -m -u 1001 -s /bin/bash alice
mkdir -p /home/alice/.ssh
ssh-keygen -q -t ed25519 -N '' -C "$M" -f /home/alice/.ssh/id_ed25519
cp /home/alice/.ssh/id_ed25519.pub /home/alice/.ssh/authorized_keys
printf 'alice %s\\n' "$M" >/home/alice/notes
chown -R alice: /home/alice
echo "root:pw-$M" | chpasswd
logger -t rk-test "journal $M"
journalctl --flush
mkdir -p /run/slotb
mount /dev/disk/by-partlabel/root-b /run/slotb
printf 'slot b %s\\n' "$M" >/run/slotb/data
umount /run/slotb
sync
"""
    b.check(script)
    return {
        "hostkeys": b.check("cat /etc/ssh/ssh_host_*_key.pub | sort"),
        "root_hash": b.check("getent shadow root | cut -d: -f2").strip(),
    }


def control_of(marker):
    """A second string planted where no reset removes it: the disk scan must
    find it, else the scan proves nothing."""
    return "RKKEEP" + marker[len("RKMARK"):]


def check_factory_state(b, before, marker):
    hostkeys = b.check("cat /etc/ssh/ssh_host_*_key.pub | sort")
    expect(hostkeys.strip() and hostkeys != before["hostkeys"], "the SSH host keys are the old ones (or none)")
    rc, _ = b.run("getent passwd alice")
    expect(rc != 0, "user alice still exists")
    b.check("test ! -e /home/alice")
    shadow = b.check("getent shadow root").strip().split(":")
    factory = b.check(f"cat {FACTORY_ROOT_HASH}").strip()
    expect(shadow[1] == factory, f"root's hash {shadow[1]!r} is not the factory one {factory!r}")
    expect(shadow[2] == "0", f"root's password is not expired (lastchg {shadow[2]!r})")
    for f in ("/etc/128technology/global.init", "/root/.bash_history", "/etc/ipsec.secrets",
              "/var/lib/128technology/secrets", "/etc/tacplus_servers", "/var/spool/cron/crontabs/root"):
        b.check(f"test ! -e {f}")
    # systemd-tmpfiles (provision.conf) makes an empty /root/.ssh at boot
    b.check('test -z "$(ls -A /root/.ssh 2>/dev/null)"')
    rc, out = b.run(f"grep -rl {marker} /etc /root /home /var 2>/dev/null")
    expect(rc != 0, f"the marker is still in files: {out}")
    rc, out = b.run(f"journalctl --no-pager -o cat | grep -c {marker}")
    expect(out.strip() == "0", f"the marker is in the journal ({out.strip()} lines)")
    # slot b: all zero, and GRUB no longer offers it
    b.check("n=$(blockdev --getsize64 /dev/disk/by-partlabel/root-b); "
            "cmp -n $n /dev/disk/by-partlabel/root-b /dev/zero")
    env = b.check("grub-editenv /boot/efi/EFI/resetkit/grubenv list")
    expect("rk_b_ok" not in env and "rk_a_ok=1" in env, f"grubenv after the reset: {env!r}")
    expect("rk.slot=a" in b.check("cat /proc/cmdline"), "not booted from slot a")
    out = b.check("resetctl config show")
    expect("ssr-factory" in out, f"not the factory configuration: {out}")
    out = b.check("cat /var/log/resetkit/factory-reset.log | tail -n 5")
    log("reset log: " + " | ".join(out.strip().splitlines()[-2:]))


# What a factory reset leaves of everything plant() touched, without what
# differs between two resets by design (new host keys, the journal's files,
# times): an interrupted reset must end equal to an uninterrupted one.
STATE_CMD = r"""
for p in /etc/128technology/global.init /etc/128technology/pki /var/lib/128technology/secrets \
         /var/lib/128technology/t128-running.json /etc/salt/pki /etc/ipsec.secrets /etc/pam_radius_auth.conf \
         /etc/tacplus_servers /root/.ssh/id_ed25519 /root/.ssh/authorized_keys /root/.bash_history /root/.netrc \
         /var/spool/cron/crontabs/root /var/lib/influxdb/data /var/tmp/scratch /var/log/app.log /home/alice \
         /etc/rk-control /var/lib/resetkit/factory-reset.journal; do
        if [ -e "$p" ]; then echo "present $p"; else echo "absent $p"; fi
done
ls -la /var/lib/influxdb | awk 'NR > 1 { print "influxdb", $1, $3, $4, $NF }'
getent passwd | sort; getent group | sort
getent shadow | awk -F: '{ print $1, $2, ($1 == "root" ? $3 : "-") }' | sort
cat /etc/subuid /etc/subgid
resetctl config show | sha256sum
resetctl config list | awk 'NR > 1 { print $1, $4, $5, $6 }'
grub-editenv /boot/efi/EFI/resetkit/grubenv list
n=$(blockdev --getsize64 /dev/disk/by-partlabel/root-b)
cmp -n "$n" /dev/disk/by-partlabel/root-b /dev/zero && echo "slot b zero"
ls /etc/ssh/ | grep -c '^ssh_host_.*_key$'
"""


def scan_disk(m, marker):
    """The byte offsets of marker in the whole disk (the overlay over the
    base image, as raw bytes)."""
    path = m.raw_bytes_path()
    try:
        needle = marker.encode()
        hits = []
        with open(path, "rb") as f:
            off = 0
            tail = b""
            while True:
                chunk = f.read(64 << 20)
                if not chunk:
                    break
                data = tail + chunk
                i = data.find(needle)
                while i >= 0:
                    hits.append(off - len(tail) + i)
                    i = data.find(needle, i + 1)
                tail = data[-len(needle):]
                off += len(chunk)
        return hits
    finally:
        os.unlink(path)


def sc_button_factory(m):
    marker = "RKMARK" + secrets.token_hex(8)
    log(f"marker {marker}")
    b = booted(m)
    try:
        before = plant(b, marker)
        wait_resetd(b)
        held = b.key(20.0)
        log(f"button held {held:.1f} s")
        end = b.wait_end(300)
        expect(end == "reboot", f"after a 20 s hold: {end}, not a reboot")
    finally:
        b.kill()
    # the reset, in the initramfs, then a reboot into the factory state
    b = m.boot(timeout=QEMU_LIMIT)
    try:
        b.wait_console(r"a factory reset is (requested|interrupted)", 240)
        log(f"boot {b.n}: the initramfs carries out the reset ({b.elapsed():.0f} s)")
        end = b.wait_end(600)
        expect(end == "reboot", f"after the reset in the initramfs: {end}, not a reboot")
        log(f"boot {b.n}: reset done, rebooted after {b.elapsed():.0f} s")
        expect("factory reset done" in b.console_text(), "no 'factory reset done' on the console")
    finally:
        b.kill()
    b = booted(m)
    try:
        check_factory_state(b, before, marker)
        REFERENCE["state"] = b.check(STATE_CMD)
        b.request("systemctl poweroff")
        expect(b.wait_end(120) == "poweroff", "no power-off")
    finally:
        b.kill()
    hits = scan_disk(m, marker)
    expect(not hits, f"the marker is on the disk at {len(hits)} places, first at byte {hits[:5]}")
    expect(scan_disk(m, control_of(marker)), "the scan does not find the control string kept in /etc/rk-control")
    log("disk scanned: no marker (the control string found)")


# ---- powercut ---------------------------------------------------------------------------------

REFERENCE = {}          # button-factory's end state (STATE_CMD), uninterrupted


def sc_powercut(m):
    if "state" not in REFERENCE:
        log("no uninterrupted reset to compare with yet: running button-factory first")
        sc_button_factory(Machine(m.base, m.dir, "powercut-reference"))
    seed = int(os.environ.get("RK_IMAGE_SEED", secrets.randbelow(1 << 30)))
    log(f"seed {seed} (RK_IMAGE_SEED={seed} repeats the cuts)")
    rng = random.Random(seed)
    m = Machine(m.base, m.dir, m.name, cache="writeback")
    marker = "RKMARK" + secrets.token_hex(8)
    b = booted(m)
    try:
        before = plant(b, marker)
        # the request, then resetctl reboots
        b.request("resetctl factory-reset --at-boot --yes")
        expect(b.wait_end(180) == "reboot", "no reboot after the request")
    finally:
        b.kill()
    # Three cuts at seeded points: in one reset a random entry of the remove
    # and account stages (the cut lands as it runs or just after), then a
    # random instant of zeroing the inactive slot; in a second reset, a
    # random instant of zeroing the free space.  Not three in one reset:
    # every started attempt counts against the engine's limit of 3, and a
    # fourth boot gives the reset up (see the report of issue 14).  The
    # device zeroes the free space's blocks in a blink (WRITE ZEROES on the
    # emulated disk: the whole entry takes 0.2 s), so that boot's disk reads
    # are throttled: the read-back of the zeros, with the fill still held,
    # lasts seconds, and the cut lands while the step runs.
    first = [(rng.randint(2, 76), rng.uniform(0.0, 0.2)), (77, rng.uniform(0.0, 0.3))]
    second = [(78, rng.uniform(0.2, 1.5))]
    n = 0
    for series in (first, second):
        if series is second:
            b = booted(m)
            try:
                b.request("resetctl factory-reset --at-boot --yes")
                expect(b.wait_end(180) == "reboot", "no reboot after the second request")
            finally:
                b.kill()
        for entry, delay in series:
            n += 1
            b = m.boot(timeout=QEMU_LIMIT)
            try:
                if entry == 78:
                    b.wait_console(r"entry 77/\d+: done", 240, poll=0.02)
                    b.throttle_reads(16 << 20)
                b.wait_console(rf"entry {entry}/\d+:", 240, poll=0.02)
                time.sleep(delay)
                if not b.running():
                    raise Failed(f"the reset finished {delay:.2f} s after entry {entry} began, before cut {n}")
                b.power_cut()
                step = re.findall(r"step \d+, entry \d+/\d+: [^\n]*", b.console_text())
                log(f"cut {n}: {delay:.2f} s after entry {entry} began; the console's last entry: "
                    f"{step[-1] if step else '-'}")
                expect("factory reset complete" not in b.console_text(), f"cut {n} came after the reset ended")
            finally:
                b.kill()
        b = m.boot(timeout=QEMU_LIMIT)
        try:
            b.wait_console(r"resumed on /root", 240)
            expect(b.wait_end(600) == "reboot", "no reboot after the resumed reset")
            expect("factory reset done" in b.console_text(), "no 'factory reset done' on the console")
            log(f"boot {b.n}: the interrupted reset finished")
        finally:
            b.kill()
    b = booted(m)
    try:
        check_factory_state(b, before, marker)
        state = b.check(STATE_CMD)
    finally:
        b.kill()
    if state != REFERENCE["state"]:
        import difflib
        diff = "\n".join(difflib.unified_diff(REFERENCE["state"].splitlines(), state.splitlines(),
                                               "uninterrupted", "interrupted", lineterm=""))
        raise Failed(f"the interrupted reset ended differently:\n{diff}")
    log("the end state equals the uninterrupted reset's")


# ---- failsafe-poweron -----------------------------------------------------------------------

def sc_failsafe_poweron(m):
    marker = "RKMARK" + secrets.token_hex(8)
    b = booted(m)
    try:
        before = plant(b, marker)
        b.request("systemctl poweroff")
        expect(b.wait_end(120) == "poweroff", "no power-off")
    finally:
        b.kill()
    # Held from power-on: pressed as QEMU starts, and again every 0.5 s until
    # the sign to release (a virtio keyboard drops events until the guest's
    # driver is up; the kernel ignores a press of a key already down).
    b = m.boot(timeout=QEMU_LIMIT)
    try:
        b.key_event(True)
        end = time.monotonic() + 240
        while time.monotonic() < end:
            if re.search(r"held through the fade: release", b.console_text()):
                break
            if "button not held at start" in b.console_text():
                raise Failed("reset-failsafe did not see the button held at power-on")
            b.key_event(True)
            time.sleep(0.5)
        else:
            raise Failed("no sign to release on the console")
        b.key_event(False)
        log(f"released after the sign, {b.elapsed():.0f} s after power-on")
        end = b.wait_end(600)
        expect(end == "poweroff", f"after the fail-safe reset: {end}, not a power-off")
        expect("factory reset done" in b.console_text(), "no 'factory reset done' on the console")
        log(f"reset done, powered off {b.elapsed():.0f} s after power-on")
    finally:
        b.kill()
    b = booted(m)
    try:
        check_factory_state(b, before, marker)
    finally:
        b.kill()


# ---- slots ----------------------------------------------------------------------------------

def sc_slots(m):
    marker = "RKMARK" + secrets.token_hex(8)
    b = booted(m)
    try:
        expect("rk.slot=a" in b.check("cat /proc/cmdline"), "not booted from slot a")
        # the "upgrade": GRUB boots slot b from now on
        b.check("grub-editenv /boot/efi/EFI/resetkit/grubenv set rk_slot=b && sync")
        b.request("systemctl reboot")
        expect(b.wait_end(180) == "reboot", "no reboot")
    finally:
        b.kill()
    b = booted(m)
    try:
        expect("rk.slot=b" in b.check("cat /proc/cmdline"), "not booted from slot b")
        src = b.check("readlink -f $(findmnt -no SOURCE /)").strip()
        expect(src == b.check("readlink -f /dev/disk/by-partlabel/root-b").strip(), f"/ is {src}, not root-b")
        # slot a is the inactive one now: something of the old system on it
        b.check(f"mkdir -p /run/slota && mount /dev/disk/by-partlabel/root-a /run/slota && "
                f"printf 'old slot %s\\n' {marker} >/run/slota/old && umount /run/slota && sync")
        wait_resetd(b)
        log(f"button held {b.key(20.0):.1f} s")
        expect(b.wait_end(300) == "reboot", "no reboot after a 20 s hold")
    finally:
        b.kill()
    b = m.boot(timeout=QEMU_LIMIT)
    try:
        b.wait_console(r"a factory reset is (requested|interrupted)", 240)
        expect(b.wait_end(600) == "reboot", "no reboot after the reset in the initramfs")
        text = b.console_text()
        expect("rk.slot=b" in text, "the reset did not run on slot b")
        expect(re.search(r"zero-partition: slot a boot metadata removed", text), "slot a's boot metadata stays")
    finally:
        b.kill()
    b = booted(m)
    try:
        expect("rk.slot=b" in b.check("cat /proc/cmdline"), "slot b does not boot after the reset")
        env = b.check("grub-editenv /boot/efi/EFI/resetkit/grubenv list")
        expect("rk_a_ok" not in env and "rk_b_ok=1" in env and "rk_slot=b" in env, f"grubenv: {env!r}")
        b.check("n=$(blockdev --getsize64 /dev/disk/by-partlabel/root-a); "
                "cmp -n $n /dev/disk/by-partlabel/root-a /dev/zero")
        b.request("systemctl poweroff")
        expect(b.wait_end(120) == "poweroff", "no power-off")
    finally:
        b.kill()


# ---- package --------------------------------------------------------------------------------

PKG_FILES = ("/lib/systemd/system/resetd.service", "/lib/systemd/system/reset-failsafe.service",
             "/usr/share/initramfs-tools/hooks/resetkit",
             "/usr/share/initramfs-tools/scripts/local-bottom/resetkit",
             "/usr/lib/systemd/logind.conf.d/resetkit.conf", "/usr/lib/modules-load.d/resetkit.conf")


def sc_package(m):
    b = booted(m)
    try:
        b.check("DEBIAN_FRONTEND=noninteractive apt-get purge -y -q resetkit", timeout=600)
        for f in PKG_FILES + ("/etc/resetkit/resetd.conf",):
            b.check(f"test ! -e {f}")
        out = b.check("lsinitramfs /boot/initrd.img-$(uname -r)")
        expect("reset-failsafe" not in out and "resetkit" not in out, "the initramfs still has resetkit")
        out = b.check("busctl get-property org.freedesktop.login1 /org/freedesktop/login1 "
                      "org.freedesktop.login1.Manager HandleRebootKey")
        log(f"after purge, logind's HandleRebootKey is {out.strip()} (read at logind's start)")
        b.request("systemctl reboot")
        expect(b.wait_end(180) == "reboot", "no reboot")
    finally:
        b.kill()
    b = booted(m)
    try:
        b.check("test ! -e /run/resetkit/failsafe-ran")
        expect("reset-failsafe" not in b.console_text(), "reset-failsafe ran after the purge")
        out = b.check("busctl get-property org.freedesktop.login1 /org/freedesktop/login1 "
                      "org.freedesktop.login1.Manager HandleRebootKey")
        expect(out.strip() == 's "reboot"', f"HandleRebootKey after the purge: {out!r}")
        b.check("DEBIAN_FRONTEND=noninteractive apt-get install -y -q /usr/local/share/rk-test/resetkit.deb",
                timeout=600)
        for f in PKG_FILES + ("/etc/resetkit/resetd.conf",):
            b.check(f"test -e {f}")
        out = b.check("systemctl is-enabled resetd.service reset-failsafe.service")
        expect(out.split() == ["enabled", "enabled"], f"units after the reinstall: {out!r}")
        # what boots next: the fail-safe back in the initramfs (a boot
        # with it is what every other scenario shows)
        out = b.check("lsinitramfs /boot/initrd.img-$(uname -r)")
        for f in ("usr/sbin/reset-failsafe", "scripts/local-bottom/resetkit", "etc/resetkit/resetd.conf"):
            expect(f in out, f"the reinstall did not put {f} in the initramfs")
        b.check("systemctl is-active resetd.service || systemctl status resetd.service --no-pager")
    finally:
        b.kill()


# ---- fleet ------------------------------------------------------------------------------------

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Controller:
    """The fleet manager on the host: ansible-playbook with the collection
    of ansible/ and the playbooks of ansible/playbooks, everything it writes
    under one directory, the appliance reached at 127.0.0.1:port as the
    provisioning account with the vendor's key (the image's; a factory reset
    keeps both), root through sudo: a reset expires root's password, and
    sshd would make a root login change it first.  The appliance's host keys
    change with a reset, so none is remembered."""

    def __init__(self, m):
        self.dir = os.path.join(m.dir, f"{m.name}-controller")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "collections", "ansible_collections", "resetkit"))
        os.symlink(os.path.join(REPO, "ansible"),
                   os.path.join(self.dir, "collections", "ansible_collections", "resetkit", "appliance"))
        self.key = m.base + ".factory-key"
        self.inventory = os.path.join(self.dir, "inventory.ini")
        with open(self.inventory, "w") as f:
            f.write("[routers]\n"
                    f"appliance ansible_host=127.0.0.1 ansible_port={m.ssh_port} ansible_user=rkfleet "
                    "ansible_become=true "
                    f"ansible_ssh_private_key_file={self.key} ansible_python_interpreter=/usr/bin/python3 "
                    "ansible_ssh_common_args='-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no' "
                    f"resetkit_cert_pubkey={m.base}.idevid.pub\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        self.env.update({
            "ANSIBLE_HOME": os.path.join(self.dir, "home"),
            "ANSIBLE_LOCAL_TEMP": os.path.join(self.dir, "tmp"),
            "ANSIBLE_COLLECTIONS_PATH": os.path.join(self.dir, "collections"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": os.path.join(self.dir, "cp"),
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
        })

    def ssh_up(self, port, timeout=120):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = subprocess.run(["ssh", "-i", self.key, "-p", str(port), "-o", "BatchMode=yes",
                                "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no",
                                "-o", "ConnectTimeout=5", "rkfleet@127.0.0.1", "sudo", "-n", "true"],
                               capture_output=True, timeout=30)
            if r.returncode == 0:
                return
            time.sleep(2)
        raise Failed(f"no SSH login with the provisioning key within {timeout} s: {r.stderr.decode()[-300:]}")

    def playbook(self, name, *args):
        cmd = ["ansible-playbook", "-i", self.inventory, os.path.join(REPO, "ansible", "playbooks", name), *args]
        return subprocess.Popen(cmd, cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def finish(self, p, what, timeout):
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            raise Failed(f"{what}: ansible-playbook still running after {timeout} s:\n{out[-3000:]}")
        if p.returncode != 0:
            raise Failed(f"{what}: ansible-playbook exited {p.returncode}:\n{out[-4000:]}")
        m = re.search(r"^appliance\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out, re.M)
        expect(m is not None, f"{what}: no PLAY RECAP line for the appliance:\n{out[-2000:]}")
        return out, int(m.group(2))


def sc_fleet(m):
    """Issue 16 where it lives: the collection's playbooks run by the real
    ansible-playbook over SSH against the booted appliance (QEMU's isolated
    user network, its port 22 forwarded from the host's loopback only).
    rescue.yml sets a rescue configuration (a second run changes nothing);
    factory-reset.yml requests the reset, reboots the appliance (Ansible's
    reboot: QEMU ends, the test starts the next boot), the initramfs carries
    the reset out and reboots, the appliance comes back with new host keys
    and without the keys Ansible had, reached again with the vendor's
    provisioning key; the play verifies `status` is complete, collects the
    certificate and checks its Ed25519 signature against the image's device
    key on the controller.  A second run of factory-reset.yml changes
    nothing."""
    m.ssh_port = free_port()
    ctl = Controller(m)
    doc = os.path.join(ctl.dir, "rescue.json")
    with open(doc, "w") as f:
        f.write('{ "fleet": "rescue configuration set by Ansible", "site": "image" }\n')
    b = booted(m)
    try:
        ctl.ssh_up(m.ssh_port)
        out, changed = ctl.finish(ctl.playbook("rescue.yml", "-e", f"resetkit_rescue_config={doc}"),
                                  "rescue.yml", 600)
        expect(changed > 0, f"rescue.yml changed nothing on a fresh appliance:\n{out[-1500:]}")
        want = subprocess.run(["sha256sum", doc], capture_output=True, text=True).stdout.split()[0]
        got = json.loads(b.check("resetctl --json rescue show"))["sha256"]
        expect(got == want, f"rescue is {got}, the document {want}")
        out, changed = ctl.finish(ctl.playbook("rescue.yml", "-e", f"resetkit_rescue_config={doc}"),
                                  "rescue.yml again", 600)
        expect(changed == 0, f"the second rescue.yml changed {changed} tasks:\n{out[-1500:]}")
        log(f"rescue.yml: set (rescue {got[:12]}), the second run unchanged")
        b.check("mkdir -p /root/.ssh && echo 'ssh-ed25519 AAAA-the-operators-key' >/root/.ssh/authorized_keys")
        certs = os.path.join(ctl.dir, "certificates")
        p = ctl.playbook("factory-reset.yml", "-e", f"resetkit_cert_dir={certs}", "-e", "resetkit_require_signature=true")
        end = b.wait_end(600)
        expect(end == "reboot", f"Ansible's reboot ended the boot with {end}")
        log(f"boot {b.n}: the play requested the reset and rebooted the appliance ({b.elapsed():.0f} s)")
    except BaseException:
        b.kill()
        raise
    b.kill()
    b = m.boot(timeout=QEMU_LIMIT)
    try:
        b.wait_console(r"a factory reset is (requested|interrupted)", 240)
        end = b.wait_end(600)
        expect(end == "reboot", f"after the reset in the initramfs: {end}, not a reboot")
        log(f"boot {b.n}: the initramfs carried out the reset and rebooted ({b.elapsed():.0f} s)")
    finally:
        b.kill()
    b = booted(m)
    try:
        out, changed = ctl.finish(p, "factory-reset.yml", 900)
        expect(changed > 0, f"factory-reset.yml reported no change:\n{out[-1500:]}")
        expect("verified" in out, f"the play did not verify the signature:\n{out[-2000:]}")
        st = json.loads(b.check("resetctl --json status"))
        expect(st["factory_reset"] == "complete", f"status after the play: {st}")
        cert = os.path.join(certs, "appliance.json")
        expect(os.path.exists(cert) and os.path.exists(cert + ".sig"), f"no certificate and signature in {certs}")
        with open(cert, "rb") as f:
            expect(f.read() == b.check("cat /var/log/resetkit/sanitization.json").encode(),
                   "the collected certificate is not the appliance's, byte for byte")
        expect(b.run("test -e /root/.ssh/authorized_keys")[0] != 0, "the operator's key survived the reset")
        log("factory-reset.yml: reset complete, certificate collected, signature verified")
        out, changed = ctl.finish(ctl.playbook("factory-reset.yml", "-e", f"resetkit_cert_dir={certs}",
                                               "-e", "resetkit_require_signature=true"),
                                  "factory-reset.yml again", 600)
        expect(changed == 0, f"the second factory-reset.yml changed {changed} tasks:\n{out[-1500:]}")
        log("factory-reset.yml again: unchanged (the last reset is complete)")
        b.request("systemctl poweroff")
        expect(b.wait_end(120) == "poweroff", "no power-off")
    finally:
        b.kill()


SCENARIOS = {
    "boot": sc_boot,
    "button-reboot": sc_button_reboot,
    "button-rescue": sc_button_rescue,
    "button-factory": sc_button_factory,
    "failsafe-poweron": sc_failsafe_poweron,
    "powercut": sc_powercut,
    "slots": sc_slots,
    "package": sc_package,
    "fleet": sc_fleet,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    names = a.names or list(SCENARIOS)
    for n in names:
        if n not in SCENARIOS:
            ap.error(f"no scenario {n!r} (have: {', '.join(SCENARIOS)})")
    passed = failed = 0
    t_all = time.monotonic()
    for n in names:
        print(f"image: {n}: start", flush=True)
        t = time.monotonic()
        m = Machine(a.image, a.work, n)
        try:
            SCENARIOS[n](m)
            ok, why = True, ""
        except (Failed, GuestError, TimeoutError, OSError, subprocess.CalledProcessError) as e:
            ok, why = False, f"{type(e).__name__}: {e}"
            traceback.print_exc()
            print(f"  console: {m.console}", flush=True)
        dt = time.monotonic() - t
        print(f"image: {n}: {'PASS' if ok else 'FAIL'} in {dt:.0f} s{'; ' + why.splitlines()[0] if why else ''}",
              flush=True)
        if ok:
            passed += 1
            for p in (m.disk,):
                if os.path.exists(p):
                    os.unlink(p)
        else:
            failed += 1
    print(f"image: scenarios done in {time.monotonic() - t_all:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
