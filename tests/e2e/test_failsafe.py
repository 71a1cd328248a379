"""reset-failsafe end to end: the real binary, a fifo: button held (or not)
at power-on, a file: LED, millisecond timings, every path of SPEC §4."""
import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from rkfailsafe import (BLACK, FAILSAFE, FAULT_INJECTION, HOLD_MS, RAMP_MS, RED, RELEASE_MS,
                        RESETCTL, SRC, BUILD, WHITE, Appliance, tree)

# A small appliance: what the reset must remove, and what it must keep.
SECRETS = [
    "var/lib/128technology/t128-running.json",
    "var/lib/128technology/user-running.json",
    "etc/128technology/global.init",
    "etc/ssh/ssh_host_ed25519_key",
    "home/alice/.ssh/id_ed25519",
    "var/log/syslog",
]
KEPT = ["etc/hostname", "usr/bin/t128-tool", "var/log/.keep-dir-marker"]
MANIFEST = """# reset-failsafe e2e: a small manifest
remove /var/lib/128technology/*.json
remove /etc/128technology/*.init
remove /etc/ssh/ssh_host_*_key
remove /home/*/.ssh
remove /var/log/syslog
factory-config -
"""
FACTORY_CONFIG = '{"factory": true}\n'
JOURNAL = "var/lib/resetkit/factory-reset.journal"


def build_root(root):
    for rel in SECRETS:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"SECRET {rel}\n")
    for rel in KEPT:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"keep {rel}\n")
    d = root / "usr/lib/resetkit/factory-reset.d"
    d.mkdir(parents=True, exist_ok=True)
    (d / "test.conf").write_text(MANIFEST)
    (root / "usr/lib/resetkit/factory-config.json").write_text(FACTORY_CONFIG)
    (root / "tmp").mkdir(exist_ok=True)


@pytest.fixture
def appl(tmp_path):
    a = Appliance(tmp_path)
    build_root(a.root)
    a.configure()
    yield a
    a.close()


def no_markers(a):
    return not a.reboot_marker.exists() and not a.poweroff_marker.exists()


HELD_START = [("fade-in", RED, RAMP_MS), ("fade-out", RED, HOLD_MS)]


# ---- not held: the normal boot ---------------------------------------------

def test_not_held_exits_at_once_led_untouched(appl):
    before = tree(appl.root)
    appl.start()
    assert appl.wait() == 0, appl.stderr
    assert "button not held at start: nothing to do" in appl.stderr
    assert not appl.led.exists(), "a normal boot must not touch the LED"
    assert no_markers(appl)
    assert tree(appl.root) == before
    # generous for a loaded CI machine; bench/bench-failsafe measures it
    assert appl.elapsed < 1.0


def test_last_waiting_line_decides(appl):
    """down then up already in the pipe: released before start, not held"""
    appl.press()
    appl.release()
    appl.start()
    assert appl.wait() == 0, appl.stderr
    assert "not held" in appl.stderr
    assert not appl.led.exists()


def test_disabled_ignores_a_held_button(appl):
    appl.configure(enabled=False)
    before = tree(appl.root)
    appl.press()
    appl.start()
    assert appl.wait() == 0, appl.stderr
    assert "disabled" in appl.stderr
    assert not appl.led.exists()
    assert no_markers(appl)
    assert tree(appl.root) == before


# ---- released during the red fade --------------------------------------------

def test_early_release_reboots(appl):
    before = tree(appl.root)
    appl.press()
    appl.start()
    appl.wait_led("fade-out", RED)
    appl.release()
    assert appl.wait() == 0, appl.stderr
    assert appl.patterns() == HELD_START + [("off", BLACK, None)]
    assert appl.reboot_marker.exists()
    assert not appl.poweroff_marker.exists()
    assert tree(appl.root) == before
    assert "fail-safe restore armed" in appl.stderr
    assert "before the fade ended: no reset, reboot" in appl.stderr
    assert "factory reset" not in appl.stderr.replace("to factory-reset", "")


def test_early_release_during_fade_to_red(appl):
    """released while the LED is still fading in: the same early release"""
    appl.configure(hold_ms=3000)         # ramp 300 ms: time to release in it
    appl.press()
    appl.start()
    appl.wait_led("fade-in", RED)
    appl.release()
    assert appl.wait() == 0, appl.stderr
    assert appl.patterns() == [("fade-in", RED, 300), ("off", BLACK, None)]
    assert appl.reboot_marker.exists()


def test_early_release_continue(appl):
    appl.configure(early="continue")
    before = tree(appl.root)
    appl.press()
    appl.start()
    appl.wait_led("fade-out", RED)
    appl.release()
    assert appl.wait() == 0, appl.stderr
    assert appl.patterns() == HELD_START + [("off", BLACK, None)]
    assert no_markers(appl), "continue: no reboot, no power-off"
    assert "no reset, continue booting" in appl.stderr
    assert tree(appl.root) == before


def test_chatter_is_not_a_release(appl):
    """contact bounce while held (up and down in one breath) changes nothing"""
    appl.press()
    appl.start()
    appl.wait_led("fade-out", RED)
    os.write(appl.fd, b"up\ndown\n")
    assert appl.wait() == 0, appl.stderr
    assert "bounced" in appl.stderr
    assert "cancelled, no reset" in appl.stderr
    assert no_markers(appl)


# ---- held past the release timeout --------------------------------------------

def test_release_timeout_cancels(appl):
    """a stuck button: through the fade, never released -> cancel"""
    before = tree(appl.root)
    appl.press()
    appl.start()
    assert appl.wait() == 0, appl.stderr
    assert appl.patterns() == HELD_START + [("fade-out", WHITE, RELEASE_MS), ("off", BLACK, None)]
    t = appl.trace()
    # the white fade comes when the hold is over, the cancel when the window is
    assert t[2][0] >= RAMP_MS + HOLD_MS - 5
    assert t[3][0] - t[2][0] >= RELEASE_MS - 5
    assert appl.elapsed >= (RAMP_MS + HOLD_MS + RELEASE_MS) / 1000
    assert "release the button within 500 ms" in appl.stderr
    assert "cancelled, no reset" in appl.stderr
    assert no_markers(appl)
    assert tree(appl.root) == before


def test_release_after_timeout_does_nothing(appl):
    appl.press()
    appl.start()
    appl.wait_led("fade-out", WHITE, RELEASE_MS)
    time.sleep((RELEASE_MS + 200) / 1000)
    appl.release()
    assert appl.wait() == 0, appl.stderr
    assert "cancelled, no reset" in appl.stderr
    assert no_markers(appl)


# ---- held through and released: the reset -------------------------------------

def test_held_through_and_released_resets_and_powers_off(appl):
    appl.press()
    appl.start()
    appl.wait_led("fade-out", WHITE, RELEASE_MS)
    appl.release()
    assert appl.wait() == 0, appl.stderr
    p = appl.patterns()
    assert p[:3] == HELD_START + [("fade-out", WHITE, RELEASE_MS)]
    assert p[3] == ("fade-out", WHITE, 2000)
    assert all(x == ("fade-out", WHITE, 2000) for x in p[3:-1])
    assert p[-1] == ("off", BLACK, None)
    assert appl.poweroff_marker.exists()
    assert not appl.reboot_marker.exists()
    for rel in SECRETS:
        assert not (appl.root / rel).exists(), rel
    for rel in KEPT:
        assert (appl.root / rel).read_text() == f"keep {rel}\n"
    assert "released" in appl.stderr and "after the sign to release: factory reset" in appl.stderr
    assert f"factory reset of {appl.root} started" in appl.stderr
    assert "factory reset done: LED off, powering off" in appl.stderr
    # the fail-safe writes the sanitization certificate too, as its trigger
    cert = json.loads((appl.root / "var/log/resetkit/sanitization.json").read_text())
    assert cert["trigger"] == "fail-safe" and cert["result"] == "complete"


def hold_through_and_release(a):
    a.press()
    a.start()
    a.wait_led("fade-out", WHITE, RELEASE_MS)
    a.release()


def assert_reset_done(a):
    for rel in SECRETS:
        assert not (a.root / rel).exists(), rel
    for rel in KEPT:
        assert (a.root / rel).read_text() == f"keep {rel}\n"
    assert not (a.root / JOURNAL).exists()


def test_led_fades_every_2s_while_the_reset_runs(appl):
    """a reset that takes a while (the configuration store's lock is held
    for 4.5 s by someone else; the reset waits for it): white -> black is
    started over every 2 s until it is done"""
    store = appl.root / "var/lib/resetkit/config"
    store.mkdir(parents=True)
    lk = os.open(store / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lk, fcntl.LOCK_EX)
    try:
        hold_through_and_release(appl)
        appl.wait_led("fade-out", WHITE, 2000)
        time.sleep(4.5)
        assert appl.proc.poll() is None, "the reset must still be waiting for the lock"
    finally:
        fcntl.flock(lk, fcntl.LOCK_UN)
        os.close(lk)
    assert appl.wait() == 0, appl.stderr
    t = appl.trace()
    fades = [ms for ms, p, c, per in t if (p, c, per) == ("fade-out", WHITE, 2000)]
    assert len(fades) >= 3, t
    for a, b in zip(fades, fades[1:]):
        assert 1950 <= b - a <= 2300, t
    assert t[-1][1] == "off" and t[-1][0] >= fades[-1]
    assert appl.poweroff_marker.exists() and not appl.reboot_marker.exists()
    assert_reset_done(appl)


def test_failed_reset_blinks_red_and_reboots(appl):
    """another reset holds the engine's lock: this one fails before
    changing anything (exit 4), red blinks, the system reboots"""
    # the engine locks the root directory itself
    lk = os.open(appl.root, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(lk, fcntl.LOCK_EX)
    before = tree(appl.root)
    try:
        hold_through_and_release(appl)
        assert appl.wait() == 1, appl.stderr
    finally:
        os.close(lk)
    assert "factory reset failed (exit code 4)" in appl.stderr
    assert "rebooting: the next boot resumes the interrupted reset" in appl.stderr
    p = appl.patterns()
    assert p[-3:] == [("fade-out", WHITE, 2000), ("blink", RED, 500), ("off", BLACK, None)]
    t = appl.trace()
    assert t[-1][0] - t[-2][0] >= 1500 - 5, "three blinks of 500 ms"
    assert appl.reboot_marker.exists() and not appl.poweroff_marker.exists()
    assert tree(appl.root, skip=("var/log/resetkit", "tmp")) == \
        {k: v for k, v in before.items() if not k.startswith(("var/log/resetkit", "tmp"))}
    for rel in SECRETS:
        assert (appl.root / rel).exists(), rel


def cut_off_reset(a):
    """the reset child dies after its second entry (SIGKILL: a power cut,
    as far as the reset can tell)"""
    a.press()
    a.start(env={"RESETKIT_FAULT": "engine:entry-done:2"})
    a.wait_led("fade-out", WHITE, RELEASE_MS)
    a.release()
    assert a.wait() == 1, a.stderr
    assert "factory reset failed (killed by signal 9): its journal stays" in a.stderr
    assert a.patterns()[-2:] == [("blink", RED, 500), ("off", BLACK, None)]
    assert a.reboot_marker.exists() and not a.poweroff_marker.exists()
    assert (a.root / JOURNAL).exists(), "the journal must stay for the resume"
    left = [rel for rel in SECRETS if (a.root / rel).exists()]
    assert 0 < len(left) < len(SECRETS), left
    a.led.unlink()
    a.reboot_marker.unlink()


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_cut_off_reset_is_resumed_by_the_next_boot(appl):
    cut_off_reset(appl)
    assert (appl.root / JOURNAL).exists()
    # the next boot: the button is not held, and the early-boot program
    # finishes the reset before anything else (SPEC §3 "When it runs")
    appl.start()
    assert appl.wait() == 0, appl.stderr
    assert "a factory reset is interrupted" in appl.stderr, appl.stderr
    assert appl.patterns()[0] == ("fade-out", WHITE, 2000)
    assert appl.reboot_marker.exists() and not appl.poweroff_marker.exists()
    assert_reset_done(appl)
    # and the boot after that has nothing to do
    appl.reboot_marker.unlink()
    appl.led.unlink()
    appl.start()
    assert appl.wait() == 0, appl.stderr
    assert not appl.led.exists() and no_markers(appl)


@pytest.mark.skipif(not FAULT_INJECTION, reason="needs -Dfault-injection=true")
def test_cut_off_reset_is_finished_whatever_the_button_does(appl):
    """Held at power-on while a reset is pending: the pending reset wins
    (the device ends in the factory state either way), at once, without the
    hold sequence."""
    cut_off_reset(appl)
    appl.press()
    appl.start()
    assert appl.wait() == 0, appl.stderr
    assert "a factory reset is interrupted" in appl.stderr
    assert not any(c == RED for _, c, _ in appl.patterns()), appl.patterns()
    assert appl.reboot_marker.exists() and not appl.poweroff_marker.exists()
    assert_reset_done(appl)


def test_sigterm_during_the_fade_cancels(appl):
    before = tree(appl.root)
    appl.press()
    appl.start()
    appl.wait_led("fade-out", RED)
    appl.terminate()
    assert appl.wait() == 0, appl.stderr
    assert "terminated by SIGTERM: cancelled, no reset" in appl.stderr
    assert appl.patterns() == HELD_START + [("off", BLACK, None)]
    assert no_markers(appl)
    assert tree(appl.root) == before


def test_bad_config_names_the_line(appl):
    cfg = appl.root / "etc/resetkit/resetd.conf"
    cfg.write_text(cfg.read_text() + "hold-ms = soon\n")
    appl.press()
    appl.start()
    assert appl.wait() == 2
    assert "resetd.conf:" in appl.stderr and "hold-ms" in appl.stderr
    assert not appl.led.exists()
    assert no_markers(appl)


def test_missing_button_device(appl):
    cfg = appl.root / "etc/resetkit/resetd.conf"
    cfg.write_text(cfg.read_text().replace(f"fifo:{appl.fifo}", f"fifo:{appl.tmp}/nope"))
    appl.start()
    assert appl.wait() == 1
    assert f"{appl.tmp}/nope" in appl.stderr
    assert "cannot see the button" in appl.stderr
    assert not appl.led.exists()
    assert no_markers(appl)


def test_not_a_fifo(appl):
    (appl.tmp / "plain").write_text("down\n")
    cfg = appl.root / "etc/resetkit/resetd.conf"
    cfg.write_text(cfg.read_text().replace(f"fifo:{appl.fifo}", f"fifo:{appl.tmp}/plain"))
    appl.start()
    assert appl.wait() == 1
    assert "not a named pipe" in appl.stderr
    assert appl.elapsed < 0.9, "a configuration error is not waited for"


def test_usage_errors():
    p = subprocess.run([str(FAILSAFE), "--bogus"], capture_output=True, text=True)
    assert p.returncode == 2
    p = subprocess.run([str(FAILSAFE), "extra"], capture_output=True, text=True)
    assert p.returncode == 2 and "unexpected argument 'extra'" in p.stderr
    p = subprocess.run([str(FAILSAFE), "--root", "/nonexistent-resetkit-root"], capture_output=True, text=True)
    assert p.returncode == 1 and "/nonexistent-resetkit-root" in p.stderr


def test_check_config(appl):
    p = subprocess.run([str(FAILSAFE), "--root", str(appl.root), "--check-config"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert f"hold-ms = {HOLD_MS}" in p.stdout
    assert not appl.led.exists()


# ---- the kernel log ------------------------------------------------------------------

def test_decisions_reach_the_kernel_log(appl):
    try:
        kfd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        pytest.skip(f"/dev/kmsg not readable here: {e}")
    try:
        os.lseek(kfd, 0, os.SEEK_END)
        # a normal boot leaves nothing in the kernel log
        appl.start()
        assert appl.wait() == 0, appl.stderr
        appl.configure(early="continue")
        appl.press()
        appl.start()
        appl.wait_led("fade-out", RED)
        appl.release()
        assert appl.wait() == 0, appl.stderr
        records = []
        while True:
            try:
                records.append(os.read(kfd, 8192).decode(errors="replace"))
            except BlockingIOError:
                break
            except OSError:      # EPIPE: records overwritten meanwhile
                continue
    finally:
        os.close(kfd)
    text = "".join(records)
    if "reset-failsafe:" not in text:
        pytest.skip("this kernel log does not show our records (a container's /dev/kmsg)")
    assert "reset-failsafe: button held at start: fail-safe restore armed" in text
    assert "not held" not in text
    assert "no reset, continue booting" in text


# ---- a read-only root ------------------------------------------------------------------

def mount_options(mnt):
    """the per-mount and superblock options of the mount at mnt"""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        f = line.split()
        if f[4] == str(mnt):
            sep = f.index("-")
            return set(f[5].split(",")) | set(f[sep + 3].split(","))
    raise AssertionError(f"{mnt} is not mounted")


@pytest.fixture
def ro_root(tmp_path):
    """a tmpfs of our own, populated, then mounted read-only, as an
    initramfs mounts the root"""
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755,nosuid,nodev",
                        "resetkit-failsafe-test", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    a = Appliance(tmp_path, root=mnt)
    try:
        build_root(a.root)
        a.configure()
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        assert "ro" in mount_options(mnt)
        yield a
    finally:
        a.close()
        subprocess.run(["umount", "-l", str(mnt)])


def test_read_only_root_is_remounted_for_the_reset_and_back(ro_root):
    a = ro_root
    a.press()
    a.start()
    a.wait_led("fade-out", WHITE, RELEASE_MS)
    a.release()
    rc = a.wait()
    assert f"{a.root}: remounted read-write for the factory reset" in a.stderr
    assert f"{a.root}: remounted read-only again" in a.stderr
    opts = mount_options(a.root)
    assert "ro" in opts and "rw" not in opts
    assert {"nosuid", "nodev"} <= opts, "a remount must keep the other options"
    assert rc == 0, a.stderr
    for rel in SECRETS:
        assert not (a.root / rel).exists(), rel
    assert a.poweroff_marker.exists()


def test_read_only_plain_directory_is_refused(ro_root):
    """--root below a read-only mount, not a mount point itself: remounting
    would change the filesystem around it -> refuse, nothing changed"""
    a = ro_root
    sub = a.root / "sub"
    subprocess.run(["mount", "-o", "remount,rw", str(a.root)], check=True)
    build_root(sub)
    (sub / "etc/resetkit").mkdir(parents=True)
    (sub / "etc/resetkit/resetd.conf").write_text((a.root / "etc/resetkit/resetd.conf").read_text())
    subprocess.run(["mount", "-o", "remount,ro", str(a.root)], check=True)
    before = tree(sub)
    a.root = sub
    a.press()
    a.start()
    a.wait_led("fade-out", WHITE, RELEASE_MS)
    a.release()
    assert a.wait() == 1
    assert "is not itself a mount point" in a.stderr
    assert "factory reset failed" in a.stderr
    assert tree(sub) == before
    assert "ro" in mount_options(sub.parent)
    assert a.patterns()[-2:] == [("blink", RED, 500), ("off", BLACK, None)]
    assert a.reboot_marker.exists() and not a.poweroff_marker.exists()


# ---- the boot integration and the man page ------------------------------------------------


SCRIPTS = {
    "data/initramfs-tools/hooks/resetkit": "sh",
    "data/initramfs-tools/scripts/local-bottom/resetkit": "sh",
    "data/dracut/90resetkit/reset-failsafe-hook.sh": "sh",
    "data/dracut/90resetkit/module-setup.sh": "bash",
}


@pytest.mark.parametrize("rel", sorted(SCRIPTS))
def test_boot_scripts_are_clean_shell(rel):
    p = SRC / rel
    assert os.access(p, os.X_OK), f"{rel} must be executable"
    r = subprocess.run([SCRIPTS[rel], "-n", str(p)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck not installed")
    r = subprocess.run(["shellcheck", "-s", SCRIPTS[rel], str(p)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout


def test_boot_scripts_agree():
    """the hooks install the binary where the boot scripts run it, the boot
    scripts run it on the mounted root in initrd mode and leave the marker
    the systemd unit checks"""
    hook = (SRC / "data/initramfs-tools/hooks/resetkit").read_text()
    assert 'copy_exec "$bin" /usr/sbin/reset-failsafe' in hook
    assert "copy_file config /etc/resetkit/resetd.conf" in hook
    setup = (SRC / "data/dracut/90resetkit/module-setup.sh").read_text()
    assert "/usr/sbin/reset-failsafe" in setup and "inst_hook pre-pivot" in setup
    unit = (BUILD / "data/reset-failsafe.service").read_text()
    assert "ConditionPathExists=!/run/resetkit/failsafe-ran" in unit
    for rel, rootvar in (("data/initramfs-tools/scripts/local-bottom/resetkit", '"${rootmnt}"'),
                         ("data/dracut/90resetkit/reset-failsafe-hook.sh", '"$NEWROOT"')):
        s = (SRC / rel).read_text()
        assert f"/usr/sbin/reset-failsafe --initrd --root {rootvar}" in s, rel
        assert ": >/run/resetkit/failsafe-ran" in s, rel
        assert "resetkit.failsafe" in s, rel


def test_initramfs_sees_the_button_and_the_boot_environment():
    """found booting the real appliance (tests/image): initramfs-tools' udev
    hook leaves out the input rules, so no /dev/input/by-path name of the
    button exists in the initramfs; the button's driver is loaded just before
    reset-failsafe runs, so udev must be waited for; and a [slots] grubenv on
    the EFI system partition is not mounted there"""
    hook = (SRC / "data/initramfs-tools/hooks/resetkit").read_text()
    assert "60-persistent-input.rules" in hook and "60-input-id.rules" in hook
    assert "initramfs-env" in hook and "/etc/fstab" in hook
    bottom = (SRC / "data/initramfs-tools/scripts/local-bottom/resetkit").read_text()
    assert "wait_for_udev" in bottom
    assert bottom.index("wait_for_udev") < bottom.index("/usr/sbin/reset-failsafe --initrd")
    assert ". /etc/resetkit/initramfs-env" in bottom and 'umount "$envmnt"' in bottom


@pytest.mark.parametrize("unit", ["resetd.service", "reset-failsafe.service", "resetkit-resume.service",
                                  "resetkit-firstboot.service"])
def test_units_let_openat2_through(unit):
    """found booting the real appliance: under RestrictSUIDSGID=yes systemd
    fails every openat2() with ENOSYS, and resetd could not read its
    configuration"""
    text = (BUILD / "data" / unit).read_text() if (BUILD / "data" / unit).exists() \
        else (SRC / "data/systemd" / unit).read_text()
    settings = [line.split("=", 1)[0] for line in text.splitlines() if not line.startswith("#")]
    assert "RestrictSUIDSGID" not in settings


def test_systemd_unit_verifies(tmp_path):
    unit = (BUILD / "data/reset-failsafe.service").read_text()
    assert "\nType=oneshot\n" in unit and "\nTimeoutStartSec=infinity\n" in unit
    assert "/reset-failsafe\n" in unit.split("ExecStart=")[1]
    assert "@SBINDIR@" not in unit
    assert "\nDefaultDependencies=no\n" in unit
    assert "sysinit.target" in unit.split("Before=")[1].split("\n")[0]
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    # point ExecStart at the built binary so verify can check it
    exec_line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    (tmp_path / "reset-failsafe.service").write_text(unit.replace(exec_line, f"ExecStart={FAILSAFE}"))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / "reset-failsafe.service")],
                       capture_output=True, text=True)
    problems = [line for line in r.stderr.splitlines()
                if "reset-failsafe.service" in line and "resetd.service" not in line
                and "resetkit-resume.service" not in line]
    assert not problems, r.stderr


def test_man_page_renders_cleanly():
    if not shutil.which("groff"):
        pytest.skip("groff not installed")
    r = subprocess.run(["groff", "-man", "-ww", "-z", str(SRC / "man/reset-failsafe.8")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    text = (SRC / "man/reset-failsafe.8").read_text()
    for section in ("THE LED, AS A TIMELINE", "EXIT STATUS", "INSTALLING THE BOOT INTEGRATION"):
        assert section in text
