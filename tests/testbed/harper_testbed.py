# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run real Harper (HarperDB) nodes on one machine for integration tests.

Each node gets its own loopback address (127.x.y.z is loopback on Linux), its
own HOME and ROOTPATH, and binds every port to that address, so several nodes
use the same port numbers side by side like real hosts.

Library use::

    with Testbed("/tmp/tb", count=3) as bed:
        bed.nodes[0].call({"operation": "cluster_status"})

Command line::

    python tests/testbed/harper_testbed.py up --dir /tmp/tb --nodes 3
    python tests/testbed/harper_testbed.py status --dir /tmp/tb
    python tests/testbed/harper_testbed.py down --dir /tmp/tb

Only the standard library and ``requests`` are used.
"""

import argparse
import concurrent.futures
import contextlib
import errno
import fcntl
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings

import requests
from urllib3.exceptions import InsecureRequestWarning

HARPER_VERSION = os.environ.get("HARPER_VERSION", "4.7.29")
DEFAULT_FIRST_IP = "127.0.0.2"
DEFAULT_OPS_PORT = 9925
DEFAULT_HTTP_PORT = 9926
DEFAULT_REPLICATION_PORT = 9933
STATE_FILE = "testbed.json"
MODES = ("dev", "prod")

# Linux limits a Unix socket path to 107 bytes; Harper puts its operations
# domain socket under ROOTPATH and fails obscurely when the path is too long.
_MAX_SOCKET_PATH = 100


class TestbedError(Exception):
    """A node could not be installed, started, reached or stopped."""

    __test__ = False  # not a pytest test class despite its name


class PortInUseError(TestbedError):
    """One of a node's ports is already taken on its address."""


class HarperAPIError(TestbedError):
    """The operations API answered with a non-2xx status."""

    def __init__(self, status_code, body, operation):
        self.status_code = status_code
        self.body = body
        super().__init__(
            "operation %r answered HTTP %s: %s" % (operation, status_code, body)
        )


def cache_root():
    return os.environ.get("HARPER_TESTBED_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "harperdb-cluster-testbed"
    )


def ensure_package(version=None):
    """npm-install harperdb@version into the cache once; return its executable.

    A file lock serialises concurrent callers (parallel test sessions); the
    package is installed into a temporary folder and renamed into place so an
    interrupted install never looks complete.
    """
    version = version or HARPER_VERSION
    root = cache_root()
    target = os.path.join(root, "harperdb-%s" % version)
    executable = os.path.join(target, "node_modules", ".bin", "harperdb")
    if os.access(executable, os.X_OK):
        return executable
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "harperdb-%s.lock" % version), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.access(executable, os.X_OK):  # another process finished first
            return executable
        staging = target + ".partial"
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        command = [
            "npm", "install", "--prefix", staging, "--no-audit", "--no-fund",
            "--no-save", "--loglevel=error", "harperdb@%s" % version,
        ]
        result = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, timeout=900, check=False,
        )
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise TestbedError(
                "npm install harperdb@%s failed (exit %s):\n%s"
                % (version, result.returncode, result.stdout[-4000:])
            )
        os.rename(staging, target)
    return executable


def _connectable(ip, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((ip, port)) == 0


def _bindable(ip, port):
    # SO_REUSEADDR tolerates TIME_WAIT leftovers but, unlike SO_REUSEPORT
    # (which Harper uses), still fails when anything listens on ip:port or on
    # the wildcard address with that port.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ip, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def port_is_free(ip, port):
    return not _connectable(ip, port) and _bindable(ip, port)


def _pid_alive(pid):
    """True while any thread of process pid is alive.

    The thread-group leader turns zombie as soon as it exits while its other
    threads may still hold the listening sockets, so every task is checked.
    """
    if not pid:
        return False
    task_dir = "/proc/%d/task" % pid
    try:
        tasks = os.listdir(task_dir)
    except OSError:
        return False
    for task in tasks:
        try:
            with open(os.path.join(task_dir, task, "stat")) as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            return True
    return False


def _pid_is_harper(pid):
    """Guard against signalling an unrelated process that reused a pid."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
            return b"harperdb" in cmdline.read()
    except OSError:
        return False


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _tail(path, lines):
    """Last lines of a file without colour codes or the start-up logo art."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 256 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    readable = [_ANSI_ESCAPE.sub("", line) for line in text.splitlines()]
    readable = [line for line in readable if re.search(r"[A-Za-z0-9]", line)]
    return readable[-lines:]


class HarperNode(object):
    """One Harper instance bound to its own loopback address."""

    def __init__(self, index, name, ip, home, rootpath, password,
                 mode="dev", username="admin", ops_port=DEFAULT_OPS_PORT,
                 http_port=DEFAULT_HTTP_PORT,
                 replication_port=DEFAULT_REPLICATION_PORT, executable=None,
                 pid=None, pin_auth_port=False, replication=True, advertised_url=None):
        if mode not in MODES:
            raise ValueError("mode must be one of %s, not %r" % (MODES, mode))
        self.index = index
        self.name = name
        self.ip = ip
        self.ops_port = ops_port
        self.http_port = http_port
        self.replication_port = replication_port
        self.mode = mode
        self.home = os.path.abspath(home)
        self.rootpath = os.path.abspath(rootpath)
        self.username = username
        self.password = password
        self.executable = executable
        self.pid = pid
        # Harper's authentication middleware has no port of its own, so each
        # node also listens on one random ephemeral port on every address
        # ("::"). Pinning it to the replication port removes that listener
        # and keeps add_node working in dev mode, but in prod it steals the
        # TLS setup of the replication port (sockets never connect) and in
        # both modes REST on the http port stops reading credentials. So it
        # is off by default: the nodes behave like real installations.
        if pin_auth_port and mode != "dev":
            raise ValueError("pin_auth_port breaks replication in prod mode")
        self.pin_auth_port = pin_auth_port
        # replication=False installs without replication.hostname and url, the
        # state in which Harper refuses every replication operation.
        self.replication = replication
        # The replication url the node advertises, which its peers connect to; by default its own
        # address. A test points it at a forwarder in front of the node to cut its replication.
        self.advertised_url = advertised_url
        self._process = None
        socket_path = os.path.join(self.rootpath, "operations-server")
        if len(socket_path) > _MAX_SOCKET_PATH:
            raise ValueError(
                "ROOTPATH too long for Harper's domain socket: %s" % socket_path
            )

    # -- addresses -------------------------------------------------------
    @property
    def scheme(self):
        return "https" if self.mode == "prod" else "http"

    @property
    def api_url(self):
        return "%s://%s:%d" % (self.scheme, self.ip, self.ops_port)

    @property
    def replication_url(self):
        return self.advertised_url or "wss://%s:%d" % (self.ip, self.replication_port)

    @property
    def ports(self):
        return (self.ops_port, self.http_port, self.replication_port)

    @property
    def log_dir(self):
        return os.path.join(self.rootpath, "log")

    @property
    def stdout_path(self):
        # Kept outside ROOTPATH: the installer refuses a non-empty ROOTPATH.
        return os.path.join(self.home, "harperdb-run.out")

    def _env(self):
        env = dict(os.environ)
        env["HOME"] = self.home
        env["ROOTPATH"] = self.rootpath
        return env

    def _bound(self, port):
        return "%s:%d" % (self.ip, port)

    # -- lifecycle -------------------------------------------------------
    def install_args(self):
        if self.mode == "dev":
            # dev defaults to plain HTTP; the secure ports then default to null.
            port_args = [
                "--OPERATIONSAPI_NETWORK_PORT", self._bound(self.ops_port),
                "--HTTP_PORT", self._bound(self.http_port),
            ]
        else:
            # prod defaults to HTTPS with the plain ports null. Do not pass
            # "--..._PORT null": the installer reads any given plain port as
            # "plain wanted" and then nulls the secure one.
            port_args = [
                "--OPERATIONSAPI_NETWORK_SECUREPORT", self._bound(self.ops_port),
                "--HTTP_SECUREPORT", self._bound(self.http_port),
            ]
        return [
            self.executable, "install",
            "--TC_AGREEMENT", "yes",
            "--ROOTPATH", self.rootpath,
            "--HDB_ADMIN_USERNAME", self.username,
            "--DEFAULTS_MODE", self.mode,
        ] + self._replication_identity() + [
            "--REPLICATION_SECUREPORT", self._bound(self.replication_port),
            "--MQTT_NETWORK_PORT", "null",
            "--MQTT_NETWORK_SECUREPORT", "null",
            "--THREADS_COUNT", "1",
            # dev mode turns the inspector on, which binds 127.0.0.1:9229
            # for every node alike.
            "--THREADS_DEBUG", "false",
        ] + port_args

    def _replication_identity(self):
        # The installer asks for a hostname when none is given (and would
        # wait for ever), so one is always given and, without replication,
        # removed from the file again after the install.
        return ["--REPLICATION_HOSTNAME", self.name, "--REPLICATION_URL", self.replication_url]

    def _drop_replication_identity(self):
        with open(self.config_path) as handle:
            config = handle.read()
        for key, value in (("hostname", self.name), ("url", self.replication_url)):
            line = "\n  %s: %s\n" % (key, value)
            if line not in config:
                raise TestbedError("no replication %s line in %s" % (key, self.config_path))
            config = config.replace(line, "\n  %s: null\n" % key, 1)
        with open(self.config_path, "w") as handle:
            handle.write(config)

    @property
    def config_path(self):
        return os.path.join(self.rootpath, "harperdb-config.yaml")

    def install(self):
        """Unattended install; a node already installed here is kept."""
        if os.path.exists(self.config_path):
            return
        if not self.executable:
            self.executable = ensure_package()
        os.makedirs(self.home, exist_ok=True)
        env = self._env()
        # Through the environment, not argv: the installer parses argv with
        # minimist, which reads a password starting with "-" as flags and one
        # made of digits as a number. It also keeps it out of `ps`.
        env["HDB_ADMIN_PASSWORD"] = self.password
        result = subprocess.run(
            self.install_args(), env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, timeout=180, check=False,
        )
        with open(os.path.join(self.home, "install.out"), "w") as out:
            out.write(result.stdout)
        if result.returncode != 0 or not os.path.exists(self.config_path):
            raise TestbedError(
                "install of %s failed (exit %s):\n%s"
                % (self.name, result.returncode, result.stdout[-4000:])
            )
        if self.pin_auth_port:
            self._pin_auth_port()
        if not self.replication:
            self._drop_replication_identity()

    def _pin_auth_port(self):
        with open(self.config_path) as handle:
            config = handle.read()
        if "\nauthentication:\n" not in config:
            raise TestbedError("no authentication section in " + self.config_path)
        config = config.replace(
            "\nauthentication:\n",
            "\nauthentication:\n  securePort: %s\n"
            % self._bound(self.replication_port),
            1,
        )
        with open(self.config_path, "w") as handle:
            handle.write(config)

    def check_ports_free(self):
        for port in self.ports:
            if not port_is_free(self.ip, port):
                raise PortInUseError(
                    "%s:%d is already in use; refusing to start %s there "
                    "(Harper binds with SO_REUSEPORT and would silently share "
                    "the port)" % (self.ip, port, self.name)
                )

    def start(self):
        """Run `harperdb run` in the background in its own process group."""
        if self.is_running():
            return
        self.check_ports_free()
        if not self.executable:
            self.executable = ensure_package()
        with open(self.stdout_path, "ab") as out:
            self._process = subprocess.Popen(
                [self.executable, "run"], env=self._env(), cwd=self.home,
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self._process.pid

    def is_running(self):
        if self._process is not None:
            return self._process.poll() is None
        return _pid_alive(self.pid) and _pid_is_harper(self.pid)

    def _exited(self):
        if self._process is not None:
            return self._process.poll() is not None
        return not _pid_alive(self.pid)

    def ports_released(self):
        return not any(_connectable(self.ip, port) for port in self.ports)

    def stop(self, timeout=20.0):
        """SIGTERM, then SIGKILL after `timeout`; wait until the ports are free."""
        if self.pid is None:  # never started here: the ports are not ours
            return
        if self.is_running():
            self._signal(signal.SIGTERM)
            if not self._wait_for(self._exited, timeout):
                self._signal(signal.SIGKILL)
                if not self._wait_for(self._exited, 10):
                    raise TestbedError("%s (pid %s) survived SIGKILL"
                                       % (self.name, self.pid))
        if not self._wait_for(self.ports_released, 10):
            raise TestbedError("%s stopped but a port on %s still answers"
                               % (self.name, self.ip))
        self.pid = None
        self._process = None

    def _signal(self, signum):
        # The process leads its own group (start_new_session), so the group
        # signal reaches anything it spawned as well.
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(self.pid) == self.pid:
                os.killpg(self.pid, signum)
            else:
                os.kill(self.pid, signum)

    @staticmethod
    def _wait_for(condition, timeout, interval=0.1):
        deadline = time.monotonic() + timeout
        while True:
            if condition():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    # -- operations API --------------------------------------------------
    def call(self, operation, timeout=30.0, auth=True):
        """POST one operation; return the parsed JSON or raise HarperAPIError."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureRequestWarning)
            response = requests.post(
                self.api_url, json=operation, timeout=timeout, verify=False,
                auth=(self.username, self.password) if auth else None,
            )
        if not 200 <= response.status_code < 300:
            raise HarperAPIError(response.status_code, response.text,
                                 operation.get("operation"))
        return response.json()

    def wait_ready(self, timeout=90.0):
        """Poll cluster_status until the node answers; return seconds waited."""
        started = time.monotonic()
        deadline = started + timeout
        last_error = None
        while time.monotonic() < deadline:
            if not self.is_running():
                raise TestbedError(
                    "%s (pid %s) exited before it answered\n%s"
                    % (self.name, self.pid, self.log_tail())
                )
            try:
                if not self.replication:
                    # Without replication cluster_status is refused; any answer will do.
                    self.call({"operation": "get_configuration"}, timeout=2)
                    return time.monotonic() - started
                status = self.call({"operation": "cluster_status"}, timeout=2)
                if status.get("node_name") == self.name:
                    return time.monotonic() - started
                last_error = "answered %r" % (status,)
            except (requests.RequestException, HarperAPIError, ValueError) as exc:
                last_error = exc
            time.sleep(0.25)
        raise TestbedError(
            "%s did not answer on %s within %.0f s (last error: %s)\n%s"
            % (self.name, self.api_url, timeout, last_error, self.log_tail())
        )

    def log_files(self):
        files = []
        if os.path.isdir(self.log_dir):
            files = sorted(
                os.path.join(self.log_dir, name)
                for name in os.listdir(self.log_dir) if name.endswith(".log")
            )
        return files + [self.stdout_path]

    def log_tail(self, lines=40):
        parts = []
        for path in self.log_files():
            tail = _tail(path, lines)
            if tail:
                parts.append("--- %s (last %d lines)\n%s"
                             % (path, len(tail), "\n".join(tail)))
        return "\n".join(parts) or "(no log output under %s)" % self.log_dir

    def rss_bytes(self):
        """Resident memory of the node's process, or None when not running."""
        try:
            with open("/proc/%d/status" % self.pid) as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except (OSError, TypeError):
            pass
        return None

    def describe(self):
        return {
            "index": self.index,
            "name": self.name,
            "ip": self.ip,
            "mode": self.mode,
            "api_url": self.api_url,
            "replication_url": self.replication_url,
            "ops_port": self.ops_port,
            "http_port": self.http_port,
            "replication_port": self.replication_port,
            "home": self.home,
            "rootpath": self.rootpath,
            "pid": self.pid,
            "pin_auth_port": self.pin_auth_port,
            "replication": self.replication,
            "advertised_url": self.advertised_url,
        }


class Testbed(object):
    """A set of Harper nodes on consecutive loopback addresses."""

    __test__ = False  # not a pytest test class despite its name

    def __init__(self, base_dir, count=3, first_ip=DEFAULT_FIRST_IP,
                 mode="dev", name_prefix="node", username="admin",
                 password=None, version=None, ops_port=DEFAULT_OPS_PORT,
                 http_port=DEFAULT_HTTP_PORT,
                 replication_port=DEFAULT_REPLICATION_PORT, pin_auth_port=False,
                 replication=True, advertised_urls=None, nodes=None):
        # advertised_urls: {node index from 1: the replication url that node advertises}.
        if count < 1:
            raise ValueError("count must be at least 1")
        if not ipaddress.ip_address(first_ip).is_loopback:
            raise ValueError("first_ip must be a loopback address: %s" % first_ip)
        self.base_dir = os.path.abspath(base_dir)
        self.mode = mode
        self.username = username
        self.password = password or secrets.token_urlsafe(16)
        self.version = version or HARPER_VERSION
        self.nodes = nodes if nodes is not None else [
            HarperNode(
                index=i,
                name="%s%d" % (name_prefix, i),
                ip=str(ipaddress.ip_address(first_ip) + (i - 1)),
                home=os.path.join(self.base_dir, "%s%d" % (name_prefix, i), "home"),
                rootpath=os.path.join(self.base_dir, "%s%d" % (name_prefix, i), "hdb"),
                password=self.password, mode=mode, username=username,
                ops_port=ops_port, http_port=http_port,
                replication_port=replication_port, pin_auth_port=pin_auth_port,
                replication=replication,
                advertised_url=(advertised_urls or {}).get(i),
            )
            for i in range(1, count + 1)
        ]

    @property
    def state_path(self):
        return os.path.join(self.base_dir, STATE_FILE)

    def _each(self, action, nodes=None):
        """Run action(node) for every node at once; raise the first error
        after all have finished, so a failure never leaves work running."""
        nodes = self.nodes if nodes is None else nodes
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            futures = [pool.submit(action, node) for node in nodes]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]
        return [f.result() for f in futures]

    def start(self, timeout=90.0):
        """Install and start every node, wait until all answer.

        Returns {node name: seconds from start to ready}. On failure every
        node is stopped and the error carries the failing node's log tail.
        """
        executable = ensure_package(self.version)
        os.makedirs(self.base_dir, exist_ok=True)
        try:
            for node in self.nodes:  # refuse before touching anything
                node.check_ports_free()
                node.executable = executable
            self._each(lambda node: node.install())
            for node in self.nodes:
                node.start()
            self.save()
            ready = self._each(lambda node: node.wait_ready(timeout))
        except BaseException:
            with contextlib.suppress(Exception):
                self.stop()
            raise
        self.save()
        return {node.name: seconds for node, seconds in zip(self.nodes, ready)}

    def stop(self):
        try:
            self._each(lambda node: node.stop())
        finally:
            if os.path.isdir(self.base_dir):
                self.save()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def describe(self):
        return {
            "base_dir": self.base_dir,
            "version": self.version,
            "mode": self.mode,
            "username": self.username,
            "password": self.password,
            "nodes": [node.describe() for node in self.nodes],
        }

    def save(self):
        # Holds a throwaway test password: readable by the owner only.
        temp_path = self.state_path + ".tmp"
        fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.describe(), handle, indent=2)
        os.chmod(temp_path, 0o600)
        os.replace(temp_path, self.state_path)

    @classmethod
    def load(cls, base_dir):
        with open(os.path.join(base_dir, STATE_FILE)) as handle:
            state = json.load(handle)
        executable = os.path.join(
            cache_root(), "harperdb-%s" % state["version"],
            "node_modules", ".bin", "harperdb",
        )
        nodes = [
            HarperNode(
                index=n["index"], name=n["name"], ip=n["ip"], home=n["home"],
                rootpath=n["rootpath"], password=state["password"],
                mode=n["mode"], username=state["username"],
                ops_port=n["ops_port"], http_port=n["http_port"],
                replication_port=n["replication_port"],
                executable=executable, pid=n["pid"],
                pin_auth_port=n.get("pin_auth_port", False),
                replication=n.get("replication", True),
                advertised_url=n.get("advertised_url"),
            )
            for n in state["nodes"]
        ]
        return cls(base_dir, count=len(nodes), mode=state["mode"],
                   username=state["username"], password=state["password"],
                   version=state["version"], nodes=nodes)

    def status(self):
        report = []
        for node in self.nodes:
            entry = {"name": node.name, "api_url": node.api_url,
                     "pid": node.pid, "running": node.is_running(),
                     "answering": False, "rss_bytes": node.rss_bytes()}
            if entry["running"]:
                try:
                    cluster = node.call({"operation": "cluster_status"}, timeout=5)
                    entry["answering"] = True
                    entry["connections"] = {
                        peer["name"]: all(s.get("connected") for s in
                                          peer.get("database_sockets", []))
                        for peer in cluster.get("connections", [])
                    }
                except (requests.RequestException, HarperAPIError, ValueError) as exc:
                    entry["error"] = str(exc)
            report.append(entry)
        return report


def _main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="install and start nodes")
    up.add_argument("--dir", required=True)
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--mode", choices=MODES, default="dev")
    up.add_argument("--first-ip", default=DEFAULT_FIRST_IP)
    up.add_argument("--prefix", default="node")
    up.add_argument("--username", default="admin")
    up.add_argument("--password")
    up.add_argument("--version", default=HARPER_VERSION)
    up.add_argument("--timeout", type=float, default=90.0)
    up.add_argument("--pin-auth-port", action="store_true",
                    help="dev mode only: bind Harper's authentication "
                         "listener to the replication port instead of a "
                         "random port on all addresses")
    for name, text in (("down", "stop the nodes of a testbed"),
                       ("status", "report whether the nodes answer")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--dir", required=True)
    args = parser.parse_args(argv)

    if args.command == "up":
        bed = Testbed(args.dir, count=args.nodes, first_ip=args.first_ip,
                      mode=args.mode, name_prefix=args.prefix,
                      username=args.username, password=args.password,
                      version=args.version, pin_auth_port=args.pin_auth_port)
        try:
            ready = bed.start(timeout=args.timeout)
        except TestbedError as exc:
            print("testbed failed to come up: %s" % exc, file=sys.stderr)
            return 1
        summary = bed.describe()
        summary["ready_seconds"] = {k: round(v, 2) for k, v in ready.items()}
        print(json.dumps(summary, indent=2))
        return 0
    bed = Testbed.load(args.dir)
    if args.command == "down":
        bed.stop()
        print(json.dumps({"stopped": [node.name for node in bed.nodes]}))
        return 0
    report = bed.status()
    print(json.dumps(report, indent=2))
    return 0 if all(entry["answering"] for entry in report) else 3


if __name__ == "__main__":
    sys.exit(_main())
