"""Helpers for the reset-failsafe end-to-end tests: an appliance in a temp
dir (a --root tree, a fifo: button, a file: LED, command markers) and the
real reset-failsafe run against it."""
import os
import signal
import subprocess
import time

from pathlib import Path

from rktree import snapshot as tree  # noqa: F401  (re-exported for the tests)

BUILD = Path(os.environ.get("RESETKIT_BUILD_DIR", "build-test"))
SRC = Path(os.environ.get("RESETKIT_SRC_DIR", Path(__file__).resolve().parents[2]))
FAILSAFE = BUILD / "src" / "reset-failsafe" / "reset-failsafe"
RESETCTL = BUILD / "src" / "resetctl" / "resetctl"
FAULT_INJECTION = os.environ.get("RESETKIT_FAULT_INJECTION") == "1"

HOLD_MS = 300
RELEASE_MS = 500
RAMP_MS = HOLD_MS // 10     # a tenth of hold-ms (at most 1 s)

RED = (255, 0, 0)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)


def config_text(appl, hold_ms=HOLD_MS, release_ms=RELEASE_MS, early="reboot", enabled=True,
                extra=""):
    return f"""[button]
source = fifo:{appl.fifo}
debounce-ms = 10
[led]
device = file:{appl.led}
[actions]
reboot-command = touch {appl.reboot_marker}
poweroff-command = touch {appl.poweroff_marker}
[failsafe]
enabled = {"true" if enabled else "false"}
hold-ms = {hold_ms}
release-timeout-ms = {release_ms}
on-early-release = {early}
{extra}"""


class Appliance:
    """Everything outside the root lives beside it in tmp: the button's
    fifo, the LED trace, the markers the power commands leave."""

    def __init__(self, tmp, root=None):
        self.tmp = Path(tmp)
        self.root = Path(root) if root else self.tmp / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.fifo = self.tmp / "button"
        self.led = self.tmp / "led"
        self.reboot_marker = self.tmp / "rebooted"
        self.poweroff_marker = self.tmp / "powered-off"
        os.mkfifo(self.fifo)
        # O_RDWR: the test holds both ends, so lines can wait in the pipe
        # before reset-failsafe starts ("held at power-on").
        self.fd = os.open(self.fifo, os.O_RDWR | os.O_NONBLOCK)
        self.proc = None

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.fd)

    def configure(self, **kw):
        p = self.root / "etc/resetkit/resetd.conf"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(config_text(self, **kw))

    def press(self):
        os.write(self.fd, b"down\n")

    def release(self):
        os.write(self.fd, b"up\n")

    def start(self, *args, env=None):
        e = dict(os.environ)
        e.pop("RESETKIT_FAULT", None)
        if env:
            e.update(env)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([str(FAILSAFE), "--root", str(self.root), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     stdin=subprocess.DEVNULL, env=e)
        return self.proc

    def wait(self, timeout=60):
        out, err = self.proc.communicate(timeout=timeout)
        self.elapsed = time.monotonic() - self.t0
        self.stdout, self.stderr = out, err
        return self.proc.returncode

    def trace(self):
        """The LED trace: [(ms, pattern, (r, g, b), period or None)]"""
        if not self.led.exists():
            return []
        out = []
        for line in self.led.read_text().splitlines():
            f = line.split()
            rgb = tuple(int(x) for x in f[2].split(","))
            out.append((int(f[0]), f[1], rgb, int(f[3]) if len(f) > 3 else None))
        return out

    def patterns(self):
        """The trace without its times: [(pattern, rgb, period)]"""
        return [(p, c, per) for _, p, c, per in self.trace()]

    def wait_led(self, pattern, rgb, period=None, timeout=10):
        """Block until the LED shows pattern (the process's own pace)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for _, p, c, per in self.trace():
                if p == pattern and c == rgb and (period is None or per == period):
                    return
            if self.proc.poll() is not None:
                raise AssertionError(f"reset-failsafe exited before the LED showed {pattern} {rgb}: "
                                     f"{self.proc.returncode}, trace {self.trace()}")
            time.sleep(0.003)
        raise AssertionError(f"LED never showed {pattern} {rgb}: trace {self.trace()}")

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)
