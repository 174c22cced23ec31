# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Harper node: install, start, stop, call the operations API, describe."""

import contextlib
import os
import signal
import subprocess
import time
import warnings

import requests
from urllib3.exceptions import InsecureRequestWarning

from .errors import HarperAPIError, PortInUseError, TestbedError
from .package import ensure_package
from .processes import connectable, pid_alive, pid_is_harper, port_is_free, readable_tail

DEFAULT_OPS_PORT = 9925
DEFAULT_HTTP_PORT = 9926
DEFAULT_REPLICATION_PORT = 9933
STATE_FILE = "testbed.json"
MODES = ("dev", "prod")

# Linux limits a Unix socket path to 107 bytes; Harper puts its operations
# domain socket under ROOTPATH and fails obscurely when the path is too long.
_MAX_SOCKET_PATH = 100


class HarperNode:
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
        return pid_alive(self.pid) and pid_is_harper(self.pid)

    def _exited(self):
        if self._process is not None:
            return self._process.poll() is not None
        return not pid_alive(self.pid)

    def ports_released(self):
        return not any(connectable(self.ip, port) for port in self.ports)

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
            tail = readable_tail(path, lines)
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
