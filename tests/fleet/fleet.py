# SPDX-License-Identifier: GPL-2.0-or-later
"""The fleet: N appliances on this machine, each a network namespace with its
own sshd (listening only on the namespace's address) and its own --root tree,
and the controller side Ansible needs (inventory, keys, known_hosts,
ansible.cfg, the collection path) — all under one temp dir.

Nothing here touches the host's interfaces, /etc or ~: each namespace gets a
veth pair whose host end carries the only address of a /30 of 198.18.0.0/15
(RFC 2544's benchmarking range) and no route leaves it; sshd runs in a
private mount namespace with its own tmpfs on /run (its privilege-separation
directory); Ansible's home, temp, control sockets and config are in the temp
dir.  Fleet.close() kills every sshd (by pid), deletes every namespace and
removes the temp dir; it runs from `finally`, atexit and SIGTERM."""
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = Path(os.environ.get("RESETKIT_SRC_DIR", HERE.parents[1]))
BUILD = Path(os.environ.get("RESETKIT_BUILD_DIR", SRC / "build-test"))
RESETCTL = BUILD / "src" / "resetctl" / "resetctl"
SSHD = "/usr/sbin/sshd"
NS_PREFIX = "rkfleet-"

sys.path.insert(0, str(SRC / "tests" / "e2e"))
import rkreset  # noqa: E402  (a realistic SSR tree, like the e2e tests')

CERT_KEY = "usr/lib/resetkit/identity/cert.key"


def sh(cmd, timeout=30, check=True, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))}: rc {p.returncode}: {p.stderr.strip()}")
    return p


def namespaces():
    """The rkfleet- network namespaces that exist now (any run's)."""
    p = sh(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in p.stdout.splitlines() if line.startswith(NS_PREFIX)]


def free_subnet():
    """A /24 of 198.18.0.0/15 no address or route of this host uses."""
    used = sh(["ip", "-4", "-o", "addr"]).stdout + sh(["ip", "-4", "route", "show", "table", "all"]).stdout
    for k in [os.getpid() % 250] + list(range(250)):
        if f"198.18.{k}." not in used and "198.18.0.0/15" not in used:
            return f"198.18.{k}"
    raise RuntimeError("no free /24 in 198.18.0.0/15")


class Appliance:
    def __init__(self, fleet, i):
        self.fleet = fleet
        self.i = i
        self.name = f"r{i + 1}"
        self.ns = f"{NS_PREFIX}{os.getpid()}-{i}"
        self.host_if = f"rkf{os.getpid()}h{i}"
        self.ns_if = f"rkf{os.getpid()}n{i}"
        self.host_addr = f"{fleet.subnet}.{4 * i + 1}"
        self.addr = f"{fleet.subnet}.{4 * i + 2}"
        self.dir = fleet.tmp / self.name
        self.root = self.dir / "root"
        self.sshd = None
        self.pubkey = None  # the controller's copy of its certificate public key

    # -- the tree --------------------------------------------------------
    def build_tree(self, signing):
        conf = f"[reset]\ncertificate-key = /{CERT_KEY}\n" if signing else ""
        rkreset.build_ssr_root(self.root, config=conf)
        if signing:
            priv = self.dir / "cert.key"
            self.pubkey = self.fleet.tmp / "controller" / "pubkeys" / f"{self.name}.pem"
            self.pubkey.parent.mkdir(parents=True, exist_ok=True)
            sh(["openssl", "genpkey", "-algorithm", "ED25519", "-out", priv])
            sh(["openssl", "pkey", "-in", priv, "-pubout", "-out", self.pubkey])
            rkreset.write(self.root, CERT_KEY, priv.read_bytes(), 0o400)

    def resetctl(self, *args, check=0):
        """The real resetctl on this appliance's tree (always with --root)."""
        p = sh([RESETCTL, "--root", self.root, *args], check=False, timeout=60)
        if check is not None:
            assert p.returncode == check, f"{self.name}: resetctl {' '.join(args)}: rc {p.returncode}: {p.stderr}"
        return p

    def json(self, *args):
        return json.loads(self.resetctl("--json", *args).stdout)

    def sha256(self):
        """name → sha256 of every stored configuration (config list exits 3
        after listing them all when one is corrupt)."""
        p = self.resetctl("--json", "config", "list", check=None)
        assert p.returncode in (0, 3), f"{self.name}: config list: rc {p.returncode}: {p.stderr}"
        return {c["name"]: c["sha256"] for c in json.loads(p.stdout)}

    # -- the network and sshd --------------------------------------------
    def up(self):
        f = self.fleet
        sh(["ip", "netns", "add", self.ns])
        f.created_ns.append(self.ns)
        sh(["ip", "-n", self.ns, "link", "set", "lo", "up"])
        sh(["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if, "netns", self.ns])
        sh(["ip", "addr", "add", f"{self.host_addr}/30", "dev", self.host_if])
        sh(["ip", "link", "set", self.host_if, "up"])
        sh(["ip", "-n", self.ns, "addr", "add", f"{self.addr}/30", "dev", self.ns_if])
        sh(["ip", "-n", self.ns, "link", "set", self.ns_if, "up"])
        hostkey = self.dir / "ssh_host_ed25519_key"
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"rkfleet {self.name}", "-f", hostkey])
        (self.dir / "tmp").mkdir(mode=0o700)
        conf = self.dir / "sshd_config"
        conf.write_text(f"""# the fleet test's sshd for {self.name}: this namespace's address only
ListenAddress {self.addr}:22
HostKey {hostkey}
PidFile {self.dir}/sshd.pid
AuthorizedKeysFile {f.tmp}/controller/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# the temp dir is under /tmp (world-writable): the ownership walk would refuse it
StrictModes no
PrintMotd no
PrintLastLog no
AllowTcpForwarding no
X11Forwarding no
AcceptEnv none
# the modules' temporary files stay in the temp dir
SetEnv TMPDIR={self.dir}/tmp
Subsystem sftp internal-sftp
LogLevel VERBOSE
""")
        sh(self.in_ns(SSHD, "-t", "-f", conf))
        self.log = open(self.dir / "sshd.log", "w")
        self.sshd = subprocess.Popen(self.in_ns(SSHD, "-D", "-e", "-f", conf),
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        f.sshd.append(self.sshd)
        # known_hosts: this appliance's host key under its address
        pub = (self.dir / "ssh_host_ed25519_key.pub").read_text().split()
        with open(f.known_hosts, "a") as kh:
            kh.write(f"{self.addr} {pub[0]} {pub[1]}\n")

    def in_ns(self, *cmd):
        """cmd in this appliance's network namespace and a private mount
        namespace whose /run is a tmpfs: sshd wants its privilege-separation
        dir /run/sshd, and the host's /run is left alone.  Each program
        execs the next: the pid is cmd's."""
        script = "mount -t tmpfs -o mode=755,size=1m rkfleet /run && mkdir -m 755 /run/sshd && exec \"$@\""
        return ["ip", "netns", "exec", self.ns, "unshare", "-m", "--propagation", "private", "--",
                "sh", "-c", script, "sh", *map(str, cmd)]

    def wait_ssh(self, deadline):
        while True:
            if self.sshd.poll() is not None:
                raise RuntimeError(f"{self.name}: sshd exited {self.sshd.returncode}: "
                                   + (self.dir / "sshd.log").read_text()[-2000:])
            p = sh(["ip", "netns", "exec", self.ns, "ss", "-Hltn", f"src {self.addr}:22"], check=False)
            if p.stdout.strip():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: sshd not listening on {self.addr}:22")
            time.sleep(0.1)


class Fleet:
    def __init__(self, n=4, signing=(0, 2)):
        self.tmp = Path(tempfile.mkdtemp(prefix="rkfleet-"))
        os.chmod(self.tmp, 0o700)
        self.created_ns = []
        self.sshd = []
        self.closed = False
        atexit.register(self.close)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        self.subnet = free_subnet()
        ctl = self.tmp / "controller"
        ctl.mkdir()
        self.known_hosts = ctl / "known_hosts"
        self.key = ctl / "id_ed25519"
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rkfleet controller", "-f", self.key])
        (ctl / "authorized_keys").write_text((ctl / "id_ed25519.pub").read_text())
        self.certs = ctl / "certificates"
        self.appliances = [Appliance(self, i) for i in range(n)]
        for a in self.appliances:
            a.dir.mkdir()
            a.build_tree(a.i in signing)
        self._controller_setup()

    def up(self, timeout=20):
        for a in self.appliances:
            a.up()
        deadline = time.monotonic() + timeout
        for a in self.appliances:
            a.wait_ssh(deadline)

    # -- the controller --------------------------------------------------
    def _controller_setup(self):
        ctl = self.tmp / "controller"
        coll = ctl / "collections" / "ansible_collections" / "resetkit"
        coll.mkdir(parents=True)
        (coll / "appliance").symlink_to(SRC / "ansible")
        for d in ("home", "local-tmp", "cp"):
            (ctl / d).mkdir()
        (ctl / "ssh_config").write_text("# empty: the user's ~/.ssh/config is not read\n")
        ssh_args = (f"-F {ctl}/ssh_config -o UserKnownHostsFile={self.known_hosts} "
                    "-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes "
                    "-o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5 "
                    "-o ControlMaster=auto -o ControlPersist=30s")
        (ctl / "ansible.cfg").write_text(f"""[defaults]
home = {ctl}/home
local_tmp = {ctl}/local-tmp
remote_tmp = {self.tmp}/remote-tmp
collections_path = {ctl}/collections
collections_scan_sys_path = false
host_key_checking = true
retry_files_enabled = false
forks = 4
timeout = 10
interpreter_python = /usr/bin/python3
nocows = 1
callback_plugins = {HERE}/callback_plugins
stdout_callback = fleet_json
gathering = explicit

[ssh_connection]
ssh_args = {ssh_args}
control_path_dir = {ctl}/cp
pipelining = true
usetty = false
""")
        self.ansible_cfg = ctl / "ansible.cfg"

    def inventory(self, overrides=None, name="inventory.yml"):
        """One inventory, group routers; overrides: host → extra vars."""
        hosts = {}
        for a in self.appliances:
            v = {
                "ansible_host": a.addr,
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(self.key),
                "ansible_python_interpreter": "/usr/bin/python3",
                "resetkit_root": str(a.root),
                "resetkit_resetctl": str(RESETCTL),
                # the trees are temp dirs: nothing to zero, and never this host's disks
                "resetkit_zeroize": False,
            }
            if a.pubkey:
                v["resetkit_cert_pubkey"] = str(a.pubkey)
            v.update((overrides or {}).get(a.name, {}))
            hosts[a.name] = v
        # the rule every playbook run here relies on: resetctl never without --root
        for h, v in hosts.items():
            assert v.get("resetkit_root", "").startswith(str(self.tmp) + "/"), f"{h}: no resetkit_root in the temp dir"
        path = self.tmp / "controller" / name
        path.write_text(json.dumps({"routers": {"hosts": hosts}}, indent=2))
        return path

    def env(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        ctl = self.tmp / "controller"
        e.update({
            "ANSIBLE_CONFIG": str(self.ansible_cfg),
            "ANSIBLE_HOME": str(ctl / "home"),
            "ANSIBLE_LOCAL_TEMP": str(ctl / "local-tmp"),
            "ANSIBLE_COLLECTIONS_PATH": str(ctl / "collections"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(ctl / "cp"),
            "ANSIBLE_STDOUT_CALLBACK": "fleet_json",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
            "HOME": str(ctl / "home"),
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        return e

    def playbook(self, playbook, inventory=None, args=(), timeout=120):
        """ansible-playbook over SSH with the json callback: returns
        (rc, result dict, stderr)."""
        inv = inventory or self.inventory()
        cmd = ["ansible-playbook", "-i", str(inv), str(playbook), *map(str, args)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=self.env(),
                           cwd=self.tmp / "controller", stdin=subprocess.DEVNULL)
        try:
            out = json.loads(p.stdout[p.stdout.index("{"):])
        except ValueError:
            raise RuntimeError(f"ansible-playbook {playbook}: rc {p.returncode}, no JSON:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        # a run that matched no host would be "unchanged" for nothing
        ran = sorted(out["stats"])
        assert ran == sorted(a.name for a in self.appliances), f"{playbook}: ran on {ran}\n{p.stderr[-2000:]}"
        return p.returncode, out, p.stderr

    # -- cleanup ---------------------------------------------------------
    def close(self):
        if self.closed:
            return
        self.closed = True
        # 1. the ssh control masters this run started (their command lines
        # name our control_path_dir), by pid: their sessions end with them
        cp = str(self.tmp / "controller" / "cp")
        for pid, cmdline in processes_naming(cp).items():
            if cmdline.split()[0] in ("ssh", "ssh:"):
                kill(pid)
        # 2. the listening sshds (ip netns exec, unshare and sh each exec the
        # next: the pid is sshd's)
        for p in self.sshd:
            if p.poll() is None:
                p.terminate()
        for p in self.sshd:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        # 3. whatever still runs in our namespaces (sshd's session children):
        # every pid there is one this run started
        for ns in self.created_ns:
            for _ in range(50):
                pids = sh(["ip", "netns", "pids", ns], check=False).stdout.split()
                if not pids:
                    break
                for pid in pids:
                    kill(int(pid), signal.SIGKILL)
                time.sleep(0.1)
            sh(["ip", "netns", "delete", ns], check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


def processes_naming(text):
    """pid → command line of every process whose command line holds text
    (a path of this run's temp dir: processes this run started)."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found[int(pid)] = cmdline.replace("\0", " ").strip()
    return found


def kill(pid, sig=signal.SIGTERM):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
