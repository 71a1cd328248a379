#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The resetkit simulator (run through scripts/demo).

A demo appliance in a temporary root: a configuration store with a running
and a rescue configuration, a small SSR-like tree with secrets, a
factory-reset manifest.  The real resetd watches a fifo: button and writes a
file: LED; this program draws the LED as a coloured dot with the armed action
named, turns the space bar into the button, and after each action shows what
changed in the root.  The reboot-command only prints: nothing acts on the host.

A factory reset runs in two phases, as on the appliance (SPEC §3 "When it
runs"): the factory window records a request (the LED red and solid) and
reboots; the demo's "reboot" stops resetd and runs the real reset-failsafe
on the demo root, as the early-boot program does first thing at every boot:
it finds the request and carries the reset out, the LED fading white, then
"reboots" again into the factory state, and resetd starts anew.
"""

import argparse
import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time
import tty
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
TIMING = {"reboot-ms": 1000, "rescue-ms": 3000, "factory-ms": 5000, "cancel-ms": 7000}
WINDOW_TEXT = {"reboot": "REBOOT", "rescue": "RESCUE (load rescue configuration)",
               "factory-reset": "FACTORY RESET", "cancel": "CANCEL (release: nothing happens)"}

RUNNING = '{\n  "hostname": "branch-17",\n  "interfaces": {"wan0": "dhcp", "lan0": "10.17.0.1/24"},\n  "tenant": "broken-by-a-typo"\n}\n'
RESCUE = '{\n  "hostname": "branch-17",\n  "interfaces": {"wan0": "dhcp", "lan0": "10.17.0.1/24"},\n  "tenant": "retail"\n}\n'
SECRETS = {
    "etc/128technology/global.init": '{"init": {"id": "branch-17"}}\n',
    "etc/128technology/local.init": '{"init": {"conductor": "10.0.0.1"}}\n',
    "etc/128technology/salt/pki/minion/minion.pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIdemo\n",
    "var/lib/128technology/t128-running.json": RUNNING,
    "var/lib/128technology/user-running.json": '{"users": ["admin"]}\n',
    "etc/ssh/ssh_host_ed25519_key": "-----BEGIN OPENSSH PRIVATE KEY-----\ndemo\n",
    "home/admin/.ssh/id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY-----\nadmin\n",
    "var/log/128technology/highway.log": "2026-01-01 router started\n",
    "etc/hostname": "branch-17\n",
}
MANIFEST = """# demo manifest: the SSR's secrets and state (see data/ for the shipped one)
remove /etc/128technology/*.init
remove /etc/128technology/salt/pki
remove /var/lib/128technology/*-running.json
remove /etc/ssh/ssh_host_*
remove /home/*/.ssh
empty /var/log/128technology
factory-config -
"""


def make_appliance(tmp, build):
    root = tmp / "root"
    for rel, text in SECRETS.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (root / "usr/lib/resetkit").mkdir(parents=True)
    shutil.copy(SRC / "data/factory-config.json", root / "usr/lib/resetkit/factory-config.json")
    mf = root / "etc/resetkit/factory-reset.d/demo.conf"
    mf.parent.mkdir(parents=True)
    mf.write_text(MANIFEST)
    # the early-boot program is installed (its unit enabled), so a factory
    # reset is requested for the next boot, not run under resetd's feet
    wants = root / "etc/systemd/system/sysinit.target.wants"
    wants.mkdir(parents=True)
    (wants / "reset-failsafe.service").symlink_to("/lib/systemd/system/reset-failsafe.service")
    fifo = tmp / "button"
    os.mkfifo(fifo)
    conf = root / "etc/resetkit/resetd.conf"
    conf.write_text(
        "[button]\n"
        f"source = fifo:{fifo}\n"
        "debounce-ms = 20\n\n[timing]\n" + "".join(f"{k} = {v}\n" for k, v in TIMING.items()) +
        f"\n[led]\ndevice = file:{tmp / 'led'}\n\n[actions]\n"
        # harmless: a line on the screen and a marker inside the temp dir
        f"reboot-command = echo '(demo) reboot requested: a real appliance would restart now' >> {tmp / 'reboots'}\n"
        f"poweroff-command = echo '(demo) power-off requested: a real appliance would switch off now' >> {tmp / 'reboots'}\n"
        # a request under --root too: the two-phase flow of the appliance
        "\n[reset]\nwhen = at-boot\n")
    ctl = [str(build / "src/resetctl/resetctl"), "--root", str(root)]
    for name, text in (("rescue.json", RESCUE), ("running.json", RUNNING)):
        (tmp / name).write_text(text)
    subprocess.run(ctl + ["config", "commit", str(tmp / "rescue.json")], check=True, capture_output=True)
    subprocess.run(ctl + ["rescue", "save"], check=True, capture_output=True)
    subprocess.run(ctl + ["config", "commit", str(tmp / "running.json")], check=True, capture_output=True)
    return root, fifo, ctl


def snapshot(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for f in filenames:
            p = Path(dirpath) / f
            if p.is_symlink() or not p.is_file():
                continue
            rel = str(p.relative_to(root))
            if rel.startswith("var/lib/resetkit/config/.lock"):
                continue
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()[:12]
    return out


def diff(before, after):
    lines = []
    for k in sorted(set(before) | set(after)):
        if k not in after:
            lines.append(f"  - removed  /{k}")
        elif k not in before:
            lines.append(f"  + created  /{k}")
        elif before[k] != after[k]:
            lines.append(f"  ~ changed  /{k}")
    return lines or ["  (nothing changed)"]


class Sim:
    def __init__(self, tmp, build, color):
        self.tmp = tmp
        self.build = build
        self.root, self.fifo, self.ctl = make_appliance(tmp, build)
        self.color = color
        self.logpath = tmp / "resetd.log"
        self.log_fd = open(self.logpath, "ab")
        self.proc = None
        self.w = None
        self.log_pos = 0
        self.led_pos = 0
        self.led = ("off", (0, 0, 0), None, time.monotonic())
        self.armed = None
        self.down = False
        self.ups = 0
        self.down_at = 0.0
        self.before = snapshot(self.root)
        self.start_resetd()
        self.w = os.open(self.fifo, os.O_WRONLY)

    def start_resetd(self):
        ready = self.logpath.read_bytes().count(b"resetd: ready")
        self.proc = subprocess.Popen([str(self.build / "src/resetd/resetd"), "--root", str(self.root),
                                      "--foreground"], stdout=self.log_fd, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 5
        while self.logpath.read_bytes().count(b"resetd: ready") <= ready:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("resetd did not start:\n" + self.logpath.read_text())
            time.sleep(0.02)

    def stop_resetd(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def status(self):
        p = subprocess.run(self.ctl + ["--json", "status"], capture_output=True, text=True)
        try:
            return json.loads(p.stdout)
        except ValueError:
            return {"factory_reset": "unknown"}

    def show_reboots(self, out):
        reboots = self.tmp / "reboots"
        if reboots.exists():
            for r in reboots.read_text().splitlines():
                out(f"  {r}")
            reboots.unlink()

    def show_changes(self, out):
        after = snapshot(self.root)
        out("  what changed in the demo root:")
        for d in diff(self.before, after):
            out(d)
        self.before = after

    def boot(self, out, tick):
        """The demo's reboot: resetd stops, the early-boot program runs on
        the demo root (nobody holds the button: it carries out the request
        and reboots), and resetd starts again.  tick() draws the LED."""
        out("  --- the appliance reboots: resetd stops; reset-failsafe runs first at boot ---")
        self.stop_resetd()
        fs_log = self.tmp / "failsafe.log"
        with open(fs_log, "wb") as f:
            fs = subprocess.Popen([str(self.build / "src/reset-failsafe/reset-failsafe"), "--root", str(self.root)],
                                  stdout=f, stderr=subprocess.STDOUT)
            pos = 0
            while True:
                done = fs.poll() is not None
                data = fs_log.read_bytes()
                end = data.rfind(b"\n", pos) + 1 if not done else len(data)
                for line in data[pos:end].decode(errors="replace").splitlines():
                    if line:
                        out(f"  {line}")
                pos = max(pos, end)
                tick()
                if done:
                    break
                time.sleep(0.04)
        self.show_reboots(out)
        self.show_changes(out)
        st = self.status()
        out(f"  resetctl status: factory reset {st.get('factory_reset')}"
            + (f" (finished {st['finished']})" if "finished" in st else ""))
        out("  --- the appliance is up again, in its factory state: resetd starts ---")
        self.start_resetd()

    def button(self, down):
        self.down = down
        self.ups += not down
        if down:
            self.down_at = time.monotonic()
            self.armed = None
        os.write(self.w, b"down\n" if down else b"up\n")

    def new_log_lines(self):
        data = self.logpath.read_bytes()
        new = data[self.log_pos:].decode(errors="replace")
        if not new.endswith("\n"):
            new = new[:new.rfind("\n") + 1]
        self.log_pos += len(new.encode())
        return [ln for ln in new.splitlines() if ln]

    def poll_led(self):
        p = self.tmp / "led"
        if not p.exists():
            return
        data = p.read_bytes()[self.led_pos:].decode()
        if not data.endswith("\n"):
            data = data[:data.rfind("\n") + 1]
        self.led_pos += len(data.encode())
        for line in data.splitlines():
            f = line.split()
            rgb = tuple(int(x) for x in f[2].split(","))
            self.led = (f[1], rgb, int(f[3]) if len(f) > 3 else None, time.monotonic())

    def led_now(self):
        pat, rgb, period, since = self.led
        t = (time.monotonic() - since) * 1000
        if pat == "off":
            return (0, 0, 0)
        if pat == "blink":
            return rgb if (t % period) < period / 2 else (0, 0, 0)
        if pat in ("fade-in", "fade-out"):
            k = min(1.0, t / period)
            k = k if pat == "fade-in" else 1 - k
            return tuple(int(c * k) for c in rgb)
        return rgb

    def dot(self):
        r, g, b = self.led_now()
        if not self.color:
            return "(" + ("*" if (r or g or b) else " ") + ")"
        if not (r or g or b):
            return "\033[38;2;60;60;60m●\033[0m"
        return f"\033[38;2;{r};{g};{b}m●\033[0m"

    def handle_log(self, out, tick=lambda: None):
        """Log lines -> screen; after an action, what changed in the root;
        after a factory-reset request, the reboot into the early-boot
        program."""
        for line in self.new_log_lines():
            msg = line.removeprefix("resetd: ")
            if msg.startswith("armed "):
                self.armed = msg[6:]
            out(f"  resetd: {msg}")
            if msg.startswith("action ") and (" done" in msg or " failed" in msg):
                self.show_reboots(out)
                self.show_changes(out)
                if msg.startswith("action factory-reset done") and self.status().get("factory_reset") == "requested":
                    out("  the request is recorded; nothing else changed yet")
                    self.boot(out, tick)
                show = subprocess.run(self.ctl + ["config", "show"], capture_output=True, text=True)
                tenant = [ln.strip() for ln in show.stdout.splitlines() if "tenant" in ln]
                out(f"  running configuration now: {tenant[0] if tenant else 'the factory configuration'}")

    def stop(self):
        if self.w is not None:
            os.close(self.w)
        if self.proc:
            self.stop_resetd()
        self.log_fd.close()


def banner(out, tmp):
    out("resetkit simulator — the real resetd on a demo appliance in " + str(tmp / "root"))
    out("short windows for the demo (the appliance default is 1 s / 5 s / 16 s / 31 s):")
    out(f"  hold  < {TIMING['reboot-ms'] / 1000:g} s   nothing")
    out(f"  {TIMING['reboot-ms'] / 1000:g}-{TIMING['rescue-ms'] / 1000:g} s   reboot          (green, solid)")
    out(f"  {TIMING['rescue-ms'] / 1000:g}-{TIMING['factory-ms'] / 1000:g} s   rescue config   (amber, blinking)")
    out(f"  {TIMING['factory-ms'] / 1000:g}-{TIMING['cancel-ms'] / 1000:g} s   factory reset   (red, fast blink):"
        " requested, then carried out at the next boot (white fade)")
    out(f"  >= {TIMING['cancel-ms'] / 1000:g} s   cancel")
    out("the reboot-command only prints; everything happens inside the temporary root.")


def interactive(sim):
    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    status = ""

    def out(line):
        sys.stdout.write("\r\033[K" + line + "\r\n")
        sys.stdout.flush()

    banner(out, sim.tmp)
    out("SPACE presses / releases the button, q quits.\n")

    def tick():
        sim.poll_led()
        sys.stdout.write(f"\r\033[K  LED {sim.dot()}   early boot: reset-failsafe running")
        sys.stdout.flush()

    try:
        tty.setcbreak(fd)
        while True:
            r, _, _ = select.select([fd], [], [], 0.04)      # 25 Hz
            if r:
                ch = os.read(fd, 1)
                if ch in (b"q", b"Q", b"\x03"):
                    break
                if ch == b" ":
                    sim.button(not sim.down)
            sim.poll_led()
            sim.handle_log(out, tick)
            held = f"held {time.monotonic() - sim.down_at:4.1f} s" if sim.down else "released   "
            armed = WINDOW_TEXT.get(sim.armed, "-") if sim.down else "-"
            status = f"  LED {sim.dot()}   button {held}   armed: {armed}"
            sys.stdout.write("\r\033[K" + status)
            sys.stdout.flush()
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
        sys.stdout.write("\r\033[K\n")


def scripted(sim, script):
    """Tokens: down, up, a number (ms to wait), 'settle' (wait for the action)."""
    def out(line):
        print(line, flush=True)

    banner(out, sim.tmp)
    out(f"script: {script}")
    for tok in script.split():
        if tok in ("down", "up"):
            sim.button(tok == "down")
            out(f"> button {tok}")
        elif tok == "settle":
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                # every release has its outcome line
                text = sim.logpath.read_text()
                ends = sum(text.count(k) for k in (" done\n", " failed: ", "too short for an action", "cancelled"))
                rel = text.count("released after")
                if rel >= sim.ups and ends >= rel:
                    break
                time.sleep(0.05)
                sim.poll_led()
                sim.handle_log(out, sim.poll_led)
            time.sleep(0.3)
        else:
            end = time.monotonic() + int(tok) / 1000
            while time.monotonic() < end:
                time.sleep(0.02)
                sim.poll_led()
                sim.handle_log(out, sim.poll_led)
        sim.poll_led()
        sim.handle_log(out, sim.poll_led)
    time.sleep(0.3)
    sim.poll_led()
    sim.handle_log(out, sim.poll_led)
    out("LED trace:")
    for line in (sim.tmp / "led").read_text().splitlines() if (sim.tmp / "led").exists() else []:
        out(f"  {line}")


DEFAULT_SCRIPT = "down 1500 up settle 500 down 3500 up settle 500 down 8000 up 500 down 5500 up settle"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build-demo")
    ap.add_argument("--script", help='non-interactive: e.g. "down 1500 up settle down 3500 up settle"')
    ap.add_argument("--keep", action="store_true", help="keep the temporary root")
    a = ap.parse_args()
    build = Path(a.build).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="resetkit-demo."))
    interactive_mode = a.script is None and sys.stdin.isatty() and sys.stdout.isatty()
    sim = None
    try:
        sim = Sim(tmp, build, color=sys.stdout.isatty())
        if interactive_mode:
            interactive(sim)
        else:
            scripted(sim, a.script or DEFAULT_SCRIPT)
    finally:
        if sim:
            sim.stop()
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
