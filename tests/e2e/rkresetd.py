# SPDX-License-Identifier: GPL-2.0-or-later
"""Drive the real resetd: a --root tree, a fifo: button, a file: LED, a
reboot-command that only writes a marker.  Shared by the e2e tests, the
simulator (scripts/demo) and the benchmark (bench/bench-resetd)."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

BUILD = Path(os.environ.get("RESETKIT_BUILD_DIR", Path(__file__).resolve().parents[2] / "build-test"))
RESETD = BUILD / "src" / "resetd" / "resetd"

# Millisecond windows: every window is reached in well under a second.
FAST_TIMING = {"reboot-ms": 150, "rescue-ms": 300, "factory-ms": 450, "cancel-ms": 600}

# For tests about an action's outcome rather than a boundary: the fifo:
# source stamps lines on arrival, so a loaded machine can shift a hold by
# 100 ms; these windows leave 150-200 ms either side of HOLD.
ACTION_TIMING = {"reboot-ms": 100, "rescue-ms": 400, "factory-ms": 800, "cancel-ms": 1200}
HOLD = {"reboot": 250, "rescue": 600, "factory-reset": 1000}

GREEN = "0,255,0"
AMBER = "255,160,0"
RED = "255,0,0"


def window_of(held_ms, timing):
    """The action a release after held_ms must give (the SPEC table)."""
    if held_ms < timing["reboot-ms"]:
        return "none"
    if held_ms < timing["rescue-ms"]:
        return "reboot"
    if held_ms < timing["factory-ms"]:
        return "rescue"
    if held_ms < timing["cancel-ms"]:
        return "factory-reset"
    return "cancel"


def write_config(path, *, button, led, timing=None, debounce=0, reboot_command=None, extra=""):
    timing = timing or FAST_TIMING
    lines = ["[button]", f"source = {button}", f"debounce-ms = {debounce}", "", "[timing]"]
    lines += [f"{k} = {v}" for k, v in timing.items()]
    lines += ["", "[led]", f"device = {led}", "", "[actions]"]
    if reboot_command:
        lines.append(f"reboot-command = {reboot_command}")
    text = "\n".join(lines) + "\n" + extra
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)


class Resetd:
    """One resetd process on a temporary tree."""

    def __init__(self, tmp, *, timing=None, debounce=0, led=None, button=None,
                 reboot_command=None, make_fifo=True, extra_conf="", env=None, args=(), foreground=True):
        self.tmp = Path(tmp)
        self.root = self.tmp / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.fifo = self.tmp / "button"
        self.led = self.tmp / "led.trace"
        self.marker = self.tmp / "rebooted"
        self.logfile = self.tmp / "resetd.log"
        self.timing = timing or dict(FAST_TIMING)
        self.conf = self.root / "etc/resetkit/resetd.conf"
        if make_fifo and not self.fifo.exists():
            os.mkfifo(self.fifo)
        if reboot_command is None:
            reboot_command = f"echo reboot >> {self.marker}"
        write_config(self.conf, button=button or f"fifo:{self.fifo}", led=led or f"file:{self.led}",
                     timing=self.timing, debounce=debounce, reboot_command=reboot_command, extra=extra_conf)
        self.env = dict(os.environ, **(env or {}))
        self.args = (["--foreground"] if foreground else []) + list(args)
        self.proc = None
        self.w = None
        self.exe = RESETD

    # --- process -------------------------------------------------------
    def start(self, wait_ready=True):
        self.log_fd = open(self.logfile, "wb")
        self.proc = subprocess.Popen([str(self.exe), "--root", str(self.root), *self.args],
                                     stdout=self.log_fd, stderr=subprocess.STDOUT, env=self.env)
        if wait_ready:
            self.wait_log(r"resetd: ready")
        return self

    def run(self, timeout=10):
        """Run to completion (for configurations that must fail)."""
        p = subprocess.run([str(self.exe), "--root", str(self.root), *self.args],
                           capture_output=True, text=True, timeout=timeout, env=self.env)
        return p

    def stop(self):
        if self.w is not None:
            os.close(self.w)
            self.w = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log_fd.close()
        return self.proc.returncode if self.proc else None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- button --------------------------------------------------------
    def say(self, line):
        if self.w is None:
            self.w = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(self.w, (line + "\n").encode())
        self.said = time.monotonic()

    def press(self, ms):
        """Hold for ms (by the wall clock; resetd measures on arrival)."""
        self.say("down")
        end = time.monotonic() + ms / 1000
        # sleep most of it, spin the last 2 ms: sleep() overshoots
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            time.sleep(left - 0.002 if left > 0.003 else 0)
        self.say("up")

    # --- observation ---------------------------------------------------
    def log(self):
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def wait_log(self, pattern, count=1, timeout=10):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()
            if len(rx.findall(text)) >= count:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {count}× /{pattern}/ in resetd's log:\n{text}")
            if self.proc and self.proc.poll() is not None:
                raise AssertionError(f"resetd exited ({self.proc.returncode}) waiting for /{pattern}/:\n{text}")
            time.sleep(0.01)

    def led_lines(self):
        """[(ms, pattern, colour, period or None)] from the file: trace."""
        out = []
        if not self.led.exists():
            return out
        for line in self.led.read_text().splitlines():
            f = line.split()
            out.append((int(f[0]), f[1], f[2], int(f[3]) if len(f) > 3 else None))
        return out

    def wait_led(self, count, timeout=10):
        """The LED trace once it has count lines: the LED change after an
        action's log line is written a moment later."""
        deadline = time.monotonic() + timeout
        while len(self.led_lines()) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.led_lines()

    def releases(self):
        """[(held_ms, outcome)] from the log, outcome the action name, 'none' or 'cancel'."""
        out = []
        for m in re.finditer(r"released after (\d+) ms(: (cancelled|too short))?", self.log()):
            held = int(m.group(1))
            out.append((held, {"cancelled": "cancel", "too short": "none"}.get(m.group(3), "action")))
        return out

    def pid(self):
        return self.proc.pid
