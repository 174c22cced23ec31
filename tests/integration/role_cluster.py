# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hosts laid out by the harper_cluster role on this machine, for the role's end-to-end tests.

Each host is a loopback address with its own HOME, ROOTPATH and npm install
(connection local, prod mode, a random admin password in an extra-vars file).
What the role did is read from its join reports and the PLAY RECAP; what the
cluster is is read from each node over HTTP, without the collection's code.
"""

import base64
import contextlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings

import requests
from urllib3.exceptions import InsecureRequestWarning

from ansible_run import REPO, run_playbook
from harper_state import wait_until

SITE = REPO / "playbooks" / "site.yml"
ADMIN = "admin"
OPS_PORT = 9925
STOP_TIMEOUT = 60
RECAP_LINE = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)", re.MULTILINE)


def local_inventory(nodes, host_vars=None, group_vars=None):
    """The inventory of nodes (RoleNode) as hosts of this machine: group harper, connection
    local, every port bound to the host's own loopback address, Harper's own start and stop."""
    hosts = {}
    for node in nodes:
        hosts[node.name] = {
            "ansible_host": node.ip,
            "harper_cluster_home": node.home,
            "harper_cluster_root_path": node.root_path,
            "harper_cluster_install_dir": node.install_dir,
        }
        hosts[node.name].update((host_vars or {}).get(node.name, {}))
    group = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "harper_cluster_bind_address": "{{ ansible_host }}",
        "harper_cluster_service_manager": "harper",
        "harper_cluster_threads": 1,
    }
    group.update(group_vars or {})
    return {"harper": {"hosts": hosts, "vars": group}}


def secret_forms(username, password):
    """The forms a password can take where it is kept: itself, the base64 of "user:password" (an
    HTTP Basic header, which Harper stores and may log) and the JSON-escaped password."""
    forms = {"password": password,
             "base64 of user:password": base64.b64encode(("%s:%s" % (username, password)).encode()).decode()}
    escaped = json.dumps(password)[1:-1]
    if escaped != password:
        forms["JSON-escaped password"] = escaped
    return forms


def find_secrets(forms, texts=None, paths=()):
    """Every place a form of a secret appears: ["WHERE: FORM"], WHERE being a text's name or a
    file (directories in paths are walked, binary files read as bytes).

    forms: {name of the form: secret string}; texts: {name: text}.
    """
    found = []
    needles = [(name, value.encode()) for name, value in forms.items() if value]
    for where, text in sorted((texts or {}).items()):
        data = (text or "").encode()
        found.extend("%s: %s" % (where, name) for name, needle in needles if needle in data)
    files = []
    for path in paths:
        if os.path.isdir(path):
            for folder, dummy_dirs, names in os.walk(path):
                files.extend(os.path.join(folder, name) for name in names)
        elif os.path.exists(path):
            files.append(path)
    for path in sorted(files):
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:  # a socket or a file gone meanwhile
            continue
        found.extend("%s: %s" % (path, name) for name, needle in needles if needle in data)
    return found


class RoleNode(object):
    """One host laid out by the role, read over its operations API."""

    def __init__(self, name, ip, node_dir, password):
        self.name = name
        self.ip = ip
        self.home = os.path.join(node_dir, "home")
        self.root_path = os.path.join(node_dir, "hdb")
        self.install_dir = os.path.join(node_dir, "npm")
        self.api_url = "https://%s:%d" % (ip, OPS_PORT)
        self.password = password

    @property
    def program(self):
        return os.path.join(self.install_dir, "node_modules", ".bin", "harperdb")

    def call(self, operation, timeout=30):
        # verify is passed on each request: REQUESTS_CA_BUNDLE would win otherwise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureRequestWarning)
            answer = requests.post(self.api_url, json=operation, auth=(ADMIN, self.password),
                                   verify=False, timeout=timeout)
        if answer.status_code >= 400:
            raise AssertionError("%s: %s answered HTTP %s: %s"
                                 % (self.name, operation.get("operation"), answer.status_code, answer.text))
        return answer.json()

    def answers(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(1)
            return probe.connect_ex((self.ip, OPS_PORT)) == 0

    def pids(self):
        """Processes of this host's instance.

        The daemon `harperdb start` leaves runs as `node bin/harperdb.js` from
        the package folder, so it is known by the ROOTPATH in its environment.
        """
        wanted = ("ROOTPATH=" + self.root_path).encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % entry, "rb") as environ:
                    variables = environ.read().split(b"\0")
            except OSError:  # gone meanwhile, or not ours to read
                continue
            if wanted in variables:
                found.append(int(entry))
        return found

    def is_stopped(self):
        return not self.pids() and not self.answers()

    def harperdb_stop(self):
        """Harper's own stop, for the instance HOME and ROOTPATH name."""
        env = dict(os.environ, HOME=self.home, ROOTPATH=self.root_path)
        subprocess.run([self.program, "stop"], env=env, capture_output=True, timeout=STOP_TIMEOUT, check=False)

    def kill(self):
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Cluster(object):
    """The inventory, credentials and reports of a cluster of hosts under base_dir.

    host_vars: {host: {variable: value}} added to that host's inventory entry;
    group_vars: added to the group's vars.
    """

    def __init__(self, base_dir, first_ip, hosts, host_vars=None, group_vars=None):
        self.base_dir = base_dir
        self.hosts = tuple(hosts)
        self.host_vars = dict((name, dict(values)) for name, values in (host_vars or {}).items())
        self.group_vars = dict(group_vars or {})
        self.password = secrets.token_urlsafe(24)
        first = ipaddress.ip_address(first_ip)
        self.all_nodes = [RoleNode(name, str(first + index), os.path.join(base_dir, "h%d" % (index + 1)), self.password)
                          for index, name in enumerate(self.hosts)]
        self.by_name = dict((node.name, node) for node in self.all_nodes)
        self.report_dir = os.path.join(base_dir, "reports")
        # What a controller keeps of a run besides its output: a fact cache and a log file.
        self.fact_cache = os.path.join(base_dir, "facts")
        self.ansible_log = os.path.join(base_dir, "ansible.log")
        self.credentials = os.path.join(base_dir, "credentials.yml")
        fd = os.open(self.credentials, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as credentials:
            credentials.write("harper_cluster_admin_password: %s\n" % json.dumps(self.password))
        self.absent = set()
        # Hosts left out of the inventory for now (a host that is yet to be added).
        self.left_out = set()
        self.timings = {}

    @property
    def nodes(self):
        """The hosts in the inventory (all but the ones left out)."""
        return [node for node in self.all_nodes if node.name not in self.left_out]

    def write_inventory(self):
        inventory = local_inventory(self.nodes, self.host_vars, dict(self.group_vars, harper_cluster_join_report_dir=self.report_dir))
        for name in self.absent:
            inventory["harper"]["hosts"][name]["harper_cluster_state"] = "absent"
        path = os.path.join(self.base_dir, "hosts.json")
        with open(path, "w") as handle:
            json.dump(inventory, handle, indent=2)
        return path

    def reports(self):
        if not os.path.isdir(self.report_dir):
            return []
        return sorted(os.listdir(self.report_dir))

    def run(self, *args, **kwargs):
        """Run site.yml (or playbook=, a path or a collection playbook name) with extra args;
        return a SiteRun. watch: see run_playbook."""
        before = set(self.reports())
        started = time.monotonic()
        env = {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": self.fact_cache,
               "ANSIBLE_LOG_PATH": self.ansible_log}
        done = run_playbook(kwargs.get("playbook", SITE), ["-i", self.write_inventory(), "-e", "@" + self.credentials] + list(args),
                            env=env, watch=kwargs.get("watch"))
        new = [name for name in self.reports() if name not in before]
        report = None
        if new:
            with open(os.path.join(self.report_dir, new[-1])) as handle:
                report = json.load(handle)
        run = SiteRun(done, report, time.monotonic() - started, [name for name in self.hosts if name not in self.left_out])
        # Every run, at every verbosity, must keep the password to itself.
        leaks = [line.replace(self.password, "<PASSWORD>")[:400]
                 for line in run.output.splitlines() if self.password in line]
        assert not leaks, "the admin password appears in the output of %s:\n%s" % (args, "\n".join(leaks))
        return run

    def secret_findings(self, run=None):
        """Every place the admin password (in any of its forms) is kept: the run's output, the
        controller's fact cache, log file and join reports, and each node's HOME and ROOTPATH
        (Harper's log, configuration and data files). ["WHERE: FORM"]."""
        texts = {"output of the run": run.output} if run is not None else {}
        paths = [self.report_dir, self.fact_cache, self.ansible_log]
        for node in self.all_nodes:
            paths.extend([node.home, node.root_path])
        return find_secrets(secret_forms(ADMIN, self.password), texts, paths)


class SiteRun(object):
    """One run of site.yml: return code, output, PLAY RECAP and the join report it wrote."""

    def __init__(self, done, report, seconds, hosts):
        self.hosts = hosts
        self.returncode = done.returncode
        self.output = done.stdout + done.stderr
        self.report = report
        self.seconds = seconds
        # {host: {"ok": n, "changed": n, "unreachable": n, "failed": n}}
        self.recap = {}
        for line in RECAP_LINE.finditer(self.output.split("PLAY RECAP", 1)[-1]):
            counts = line.groupdict()
            host = counts.pop("host")
            self.recap[host] = dict((key, int(value)) for key, value in counts.items())

    def tail(self, chars=6000):
        return self.output[-chars:]

    def assert_ok(self):
        assert self.returncode == 0, "site.yml failed (rc %s):\n%s" % (self.returncode, self.tail())
        assert sorted(self.recap) == sorted(self.hosts), self.tail()

    def changed(self):
        return dict((host, counts["changed"]) for host, counts in self.recap.items())

    def count(self, operation):
        assert self.report is not None, "no join report written:\n%s" % self.tail()
        return int(self.report[operation + "_count"])


def mesh_problems(nodes):
    """What keeps nodes from being one mesh of exactly themselves, read over HTTP."""
    problems = []
    for node in nodes:
        status = node.call({"operation": "cluster_status"})
        connections = status.get("connections", [])
        expected = sorted(other.name for other in nodes if other is not node)
        names = sorted(connection["name"] for connection in connections)
        if names != expected:
            problems.append("%s lists peers %s, expected %s" % (node.name, names, expected))
        for connection in connections:
            sockets = connection.get("database_sockets") or []
            down = [s.get("database") for s in sockets if not s.get("connected")]
            if not sockets or down:
                problems.append("%s -> %s: %d sockets, not connected: %s"
                                % (node.name, connection["name"], len(sockets), down))
    return problems


def wait_stopped(node):
    wait_until(node.is_stopped, STOP_TIMEOUT, "%s to stop and release port %d" % (node.name, OPS_PORT))


def terminate(nodes, timeout=STOP_TIMEOUT):
    """SIGTERM every Harper process of nodes, SIGKILL what is left at the deadline.

    Faster than the role's way down (stop_everything), for benchmarks that throw the nodes away.
    """
    nodes = list(nodes)
    for node in nodes:
        for pid in node.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(n.pids() or n.answers() for n in nodes):
        time.sleep(0.25)
    for node in nodes:
        node.kill()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(n.pids() for n in nodes):
        time.sleep(0.25)
    left = dict((n.name, n.pids()) for n in nodes if n.pids())
    if left:
        raise RuntimeError("Harper processes still running after SIGKILL: %s" % left)


def stop_everything(cluster):
    """The role's own way down, then Harper's stop and SIGKILL for whatever it left.

    Raises the first problem only after every node is down.
    """
    errors = []
    if any(os.path.exists(node.program) for node in cluster.all_nodes):
        cluster.absent.clear()
        try:
            run = cluster.run("-e", "harper_cluster_state=absent")
            cluster.timings["teardown run"] = round(run.seconds, 1)
            run.assert_ok()
        except AssertionError as exc:
            errors.append(exc)
    for node in cluster.all_nodes:
        if node.pids():
            node.harperdb_stop()
    for node in cluster.all_nodes:
        try:
            wait_stopped(node)
        except AssertionError as exc:
            errors.append(exc)
            node.kill()
    leftovers = dict((node.name, node.pids()) for node in cluster.all_nodes if node.pids())
    assert not leftovers, "Harper processes of this test still run: %s" % leftovers
    if errors:
        raise errors[0]


@contextlib.contextmanager
def laid_out_cluster(address_allocator, hosts, label, **kwargs):
    """A Cluster of hosts under a fresh /tmp folder; on the way out the role takes every
    node down (and whatever it leaves is killed), and the folder is removed."""
    # A short base path: Harper's domain socket lives under ROOTPATH and must
    # stay under about 100 characters.
    base_dir = tempfile.mkdtemp(prefix="hr", dir="/tmp")
    bed = Cluster(base_dir, address_allocator.take(len(hosts)), hosts, **kwargs)
    started = time.monotonic()
    try:
        yield bed
        stop_everything(bed)
    finally:
        if any(node.pids() for node in bed.all_nodes):  # the story or its teardown broke off
            for node in bed.all_nodes:
                node.kill()
        shutil.rmtree(base_dir, ignore_errors=True)
        bed.timings["module total"] = round(time.monotonic() - started, 1)
        print("\n%s timings (s): %s" % (label, bed.timings))
