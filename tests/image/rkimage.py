"""Boot resetkit's test appliance image under QEMU and drive it from outside.

One `Machine` is one disk (a copy-on-write qcow2 overlay over the built raw
image) booted any number of times, one QEMU process per boot:

- TCG (`-accel tcg,thread=multi -cpu max`), OVMF with its own copy of the
  variable store, the disk on virtio, `-no-reboot` (a guest reboot or power-off
  ends QEMU: `Boot.wait_end()` tells which from the serial console);
- the serial console to `<dir>/<name>-console.log` (all boots appended);
- a QMP socket: `Boot.key()` presses and releases a key of the virtio
  keyboard with `input-send-event`, timed by the host;
- the test agent (tests/image/rk-agent) on virtio-serial port `rk.agent`:
  `Boot.run()` runs a shell command in the guest and returns its exit status
  and output.

Nothing here touches a block device of the host: the disks are files.
"""

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
KEYBOARD_ID = "rkkbd"
# the button of tests/image/resetd.conf: KEY_HELP
BUTTON_QCODE = "help"


class GuestError(Exception):
    pass


def log(msg):
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Machine:
    def __init__(self, base, workdir, name, mem="1024", cache="unsafe", ssh_port=None):
        # cache: "unsafe" is fastest; a scenario that kills QEMU (a power
        # cut) takes "writeback", so what the guest flushed is on the host
        # file, qcow2's metadata included
        self.cache = cache
        # ssh_port: a NIC on QEMU's user network, isolated (restrict=on),
        # whose port 22 is forwarded from the host's 127.0.0.1:ssh_port only
        self.ssh_port = ssh_port
        self.base = os.path.abspath(base)
        self.dir = os.path.abspath(workdir)
        self.name = name
        self.mem = mem
        os.makedirs(self.dir, exist_ok=True)
        self.disk = os.path.join(self.dir, f"{name}.qcow2")
        self.vars = os.path.join(self.dir, f"{name}-vars.fd")
        self.console = os.path.join(self.dir, f"{name}-console.log")
        for p in (self.disk, self.vars, self.console):
            if os.path.exists(p):
                os.unlink(p)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", self.base, "-F", "raw", self.disk],
                       check=True)
        shutil.copyfile(OVMF_VARS, self.vars)
        self.boots = 0

    def boot(self, timeout=600, paused=False):
        self.boots += 1
        return Boot(self, self.boots, timeout, paused)

    def raw_bytes_path(self):
        """The disk as one raw file (the overlay over the base), for scans."""
        out = os.path.join(self.dir, f"{self.name}-scan.raw")
        subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", self.disk, out], check=True)
        return out


class Boot:
    def __init__(self, m, n, timeout, paused):
        self.m = m
        self.n = n
        tag = f"{m.name}-{n}"
        self.qmp_path = os.path.join(m.dir, f"{tag}.qmp")
        self.agent_path = os.path.join(m.dir, f"{tag}.agent")
        self.pid_path = os.path.join(m.dir, f"{tag}.pid")
        for p in (self.qmp_path, self.agent_path, self.pid_path):
            if os.path.exists(p):
                os.unlink(p)
        with open(m.console, "ab") as f:
            f.write(f"\n===== rkimage: boot {n} =====\n".encode())
        self.console_start = os.path.getsize(m.console)
        cmd = [
            "timeout", "-k", "5", str(timeout),
            "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none",
            "-machine", "q35", "-accel", "tcg,thread=multi", "-cpu", "max", "-smp", "2", "-m", m.mem,
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,unit=1,file={m.vars}",
            "-drive", f"if=none,id=disk0,format=qcow2,file={m.disk},cache={m.cache},discard=unmap",
            "-device", "virtio-blk-pci,drive=disk0,addr=0x4",
            "-device", f"virtio-keyboard-pci,id={KEYBOARD_ID},addr=0x5",
            "-device", "virtio-serial-pci,addr=0x6",
            "-chardev", f"socket,id=agent,path={self.agent_path},server=on,wait=off",
            "-device", "virtserialport,chardev=agent,name=rk.agent",
            "-chardev", f"file,id=serial0,path={m.console},append=on",
            "-serial", "chardev:serial0",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
            "-no-reboot", "-pidfile", self.pid_path,
        ]
        if m.ssh_port:
            cmd += ["-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{m.ssh_port}-:22",
                    "-device", "virtio-net-pci,netdev=n0,addr=0x7"]
        if paused:
            cmd.append("-S")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        self.qmp = self._connect(self.qmp_path)
        self.qmp_buf = b""
        self._qmp_read()  # greeting
        self.qmp_cmd("qmp_capabilities")
        self.agent = None
        self.agent_buf = b""
        self.seq = 0

    # ---- plumbing ----
    def _connect(self, path, deadline=30):
        end = time.monotonic() + deadline
        while True:
            if self.proc.poll() is not None:
                raise GuestError(f"QEMU exited with status {self.proc.returncode} before {path} was up")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                return s
            except OSError:
                s.close()
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)

    def _qmp_read(self):
        while b"\n" not in self.qmp_buf:
            d = self.qmp.recv(65536)
            if not d:
                raise GuestError("QMP connection closed")
            self.qmp_buf += d
        line, self.qmp_buf = self.qmp_buf.split(b"\n", 1)
        return json.loads(line)

    def qmp_cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.qmp.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._qmp_read()
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise GuestError(f"QMP {name}: {r['error']}")
            # an event: ignore

    def elapsed(self):
        return time.monotonic() - self.t0

    def console_text(self):
        with open(self.m.console, "rb") as f:
            f.seek(self.console_start)
            return f.read().decode(errors="replace")

    def wait_console(self, pattern, timeout, poll=0.2):
        end = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < end:
            m = rx.search(self.console_text())
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(poll)
        raise GuestError(f"boot {self.n}: no /{pattern}/ on the console within {timeout} s")

    # ---- the button ----
    def key_event(self, down, qcode=BUTTON_QCODE):
        # No `device`: QMP routes to a device by name only through a display
        # console, and this machine has none.  Unnamed, the event goes to the
        # input handler activated last: the virtio keyboard's, from the
        # moment the guest's driver sets it up.
        self.qmp_cmd("input-send-event",
                     events=[{"type": "key", "data": {"down": down, "key": {"type": "qcode", "data": qcode}}}])

    def key(self, hold_s, qcode=BUTTON_QCODE):
        """Press the button, hold it hold_s seconds (host time), release."""
        self.key_event(True, qcode)
        t = time.monotonic()
        time.sleep(hold_s)
        self.key_event(False, qcode)
        return time.monotonic() - t

    def cont(self):
        self.qmp_cmd("cont")

    def throttle_reads(self, bps):
        """Limit the disk's reads to bps bytes a second (QEMU's I/O
        throttling, from now on in this boot): a step that is over in a
        blink on the emulated disk lasts long enough to be cut."""
        self.qmp_cmd("block_set_io_throttle", device="disk0", bps=0, bps_rd=bps, bps_wr=0,
                     iops=0, iops_rd=0, iops_wr=0)

    # ---- the agent ----
    def wait_agent(self, timeout=300):
        """Until the agent answers (the system has booted that far)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise GuestError(f"boot {self.n}: QEMU exited ({self.proc.returncode}) before the agent answered")
            if self.agent is None:
                self.agent = self._connect(self.agent_path)
            try:
                rc, _ = self.run("true", timeout=3)
                if rc == 0:
                    return self.elapsed()
            except TimeoutError:
                pass
        raise GuestError(f"boot {self.n}: the agent did not answer within {timeout} s")

    def run(self, command, timeout=120):
        """Run `command` with the guest's /bin/sh: (exit status, output)."""
        if self.agent is None:
            self.agent = self._connect(self.agent_path)
        self.seq += 1
        rid = f"{self.n}.{self.seq}"
        self.agent.sendall(f"{rid} {base64.b64encode(command.encode()).decode()}\n".encode())
        end = time.monotonic() + timeout
        self.agent.settimeout(0.5)
        while True:
            while b"\n" in self.agent_buf:
                line, self.agent_buf = self.agent_buf.split(b"\n", 1)
                parts = line.decode(errors="replace").split(" ")
                if len(parts) >= 3 and parts[0] == "RK-RESULT" and parts[1] == rid:
                    out = base64.b64decode(parts[3]) if len(parts) > 3 and parts[3] else b""
                    return int(parts[2]), out.decode(errors="replace")
            if time.monotonic() > end:
                raise TimeoutError(f"agent: no answer to {command!r} within {timeout} s")
            if self.proc.poll() is not None:
                raise GuestError(f"boot {self.n}: QEMU exited during {command!r}")
            try:
                d = self.agent.recv(65536)
            except socket.timeout:
                continue
            if d:
                self.agent_buf += d
            else:
                time.sleep(0.2)

    def check(self, command, timeout=120):
        rc, out = self.run(command, timeout)
        if rc != 0:
            raise GuestError(f"guest: `{command}` exited {rc}:\n{out}")
        return out

    # ---- the end of a boot ----
    def wait_end(self, timeout):
        """Wait for QEMU to end; 'reboot', 'poweroff' or 'exit' (none seen)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise GuestError(f"boot {self.n}: still running after {timeout} s")
        text = self.console_text()
        if "reboot: Restarting system" in text:
            return "reboot"
        if "reboot: Power down" in text:
            return "poweroff"
        return "exit"

    def request(self, command):
        """Run a command that ends this boot (reboot, power-off) a second
        from now, so the agent answers before it goes down."""
        self.check(f"systemd-run --no-block --on-active=1 --timer-property=AccuracySec=100ms {command}")

    def power_cut(self):
        """SIGKILL to QEMU itself (not to `timeout` around it): the guest
        loses what it had not flushed."""
        with open(self.pid_path) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGKILL)
        self.proc.wait(30)

    def running(self):
        return self.proc.poll() is None

    def kill(self):
        if self.proc.poll() is None:
            try:
                self.qmp_cmd("quit")
            except Exception:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in (self.qmp, self.agent):
            if s:
                s.close()
