# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Membership benchmark: the role's joins against Harper's own pace and a plain uri play.

For each cluster size N (--sizes), on fresh prod-mode nodes of this machine:

1. Harper's pace: add_node on node 1 for each other node straight from Python,
   one at a time, each followed by a poll of every node's cluster_status until
   every node so far sees every other with every database socket connected.
2. The uri play: a playbook of ansible.builtin.uri tasks posting add_node for
   every pair of nodes (what users write without this collection), run twice:
   converge and rerun.
3. The role: playbooks/site.yml on N hosts, which installs, starts, joins and
   verifies them; converge and no-change rerun, each whole and its membership
   phase (the tasks of roles/harper_cluster/tasks/mesh.yml and the files it
   imports or includes), with the writes and reads its harper_mesh task reports.

On the largest size's converged cluster it then times 20 no-change
harperdb.cluster.harper_node tasks against 20 ansible.builtin.ping tasks, and
with --scale-out adds one host to the inventory and reruns site.yml. It prints
a table and the targets, rewrites docs/performance.md and docs/performance.png,
and stops every node it started, also on failure or Ctrl-C.

    .venv/bin/python tests/bench/membership_bench.py --sizes 3,5,8 --scale-out
"""

import argparse
import contextlib
import datetime
import importlib
import ipaddress
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import requests
import yaml
from urllib3.exceptions import InsecureRequestWarning

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from ansible_run import REPO, ansible_env, collection_tree  # noqa: E402  pylint: disable=wrong-import-position
from role_cluster import RoleNode, local_inventory, terminate  # noqa: E402  pylint: disable=wrong-import-position

collection_tree.use_checkout()  # the collection, tests/ included, importable by its full name
from ansible_collections.harperdb.cluster.tests import testbed  # noqa: E402  pylint: disable=wrong-import-position

SITE = REPO / "playbooks" / "site.yml"
ROLE_TASKS = REPO / "roles" / "harper_cluster" / "tasks"
PHASE_ROOT = "mesh.yml"
CALLBACK_DIR = os.path.join(HERE, "callbacks")
CALLBACK_NAME = "task_timeline"
BENCH_REQUIREMENTS = REPO / "tests" / "requirements-bench.txt"
REPORT_MD = REPO / "docs" / "performance.md"
REPORT_PNG = REPO / "docs" / "performance.png"
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

DEFAULT_FIRST_IP = "127.0.60.2"
# The integration tests, molecule and playbooks/local-cluster.sh bind 127.0.0.x
# and 127.0.2.x; a benchmark there would share ports with them.
RESERVED_NETWORKS = (ipaddress.ip_network("127.0.0.0/24"), ipaddress.ip_network("127.0.2.0/24"))
ADMIN = "admin"
POLL_SECONDS = 0.15
PING_TASKS = 20
TARGET_SIZE = 8
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+"
                        r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)", re.MULTILINE)


class BenchError(Exception):
    """A measurement could not be made: a run failed or a wait ran out."""


# -- addresses ---------------------------------------------------------------

class AddressPool(object):
    """Consecutive loopback addresses, a fresh block for every set of nodes."""

    def __init__(self, first_ip):
        self._next = ipaddress.ip_address(first_ip)
        if not self._next.is_loopback or self._next.version != 4:
            raise ValueError("--first-ip must be an IPv4 loopback address: %s" % first_ip)

    def take(self, count):
        block = [self._next + offset for offset in range(count)]
        for address in block:
            if not address.is_loopback or int(address) & 0xFF in (0, 255):
                raise ValueError("address %s is not a usable loopback host address" % address)
            if any(address in network for network in RESERVED_NETWORKS):
                raise ValueError("address %s is in %s, which the test suite uses; pick another --first-ip"
                                 % (address, ", ".join(str(n) for n in RESERVED_NETWORKS)))
        self._next = block[-1] + 1
        return [str(address) for address in block]


def addresses_needed(sizes, scale_out):
    """Pace, uri play and role for every size, plus one host for the scale-out."""
    return 3 * sum(sizes) + (1 if scale_out else 0)


# -- talking to nodes --------------------------------------------------------

class NodeClient(object):
    """One keep-alive HTTPS session to a node's operations API."""

    def __init__(self, name, api_url, password, username=ADMIN):
        self.name = name
        self.api_url = api_url
        self.session = requests.Session()
        self.session.auth = (username, password)

    def call(self, operation, timeout=10):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureRequestWarning)
            # verify on each request: REQUESTS_CA_BUNDLE would win over the session's.
            answer = self.session.post(self.api_url, json=operation, timeout=timeout, verify=False)
        if answer.status_code >= 300:
            raise BenchError("%s: %s answered HTTP %s: %s" % (self.name, operation.get("operation"),
                                                              answer.status_code, answer.text[:300]))
        return answer.json()

    def close(self):
        self.session.close()


def mesh_problems(clients):
    """What keeps every node of clients from seeing every other with every socket connected."""
    problems = []
    for client in clients:
        status = client.call({"operation": "cluster_status"}, timeout=5)
        peers = dict((c.get("name"), c) for c in status.get("connections") or [])
        for other in clients:
            if other is client:
                continue
            sockets = (peers.get(other.name) or {}).get("database_sockets") or []
            if not sockets:
                problems.append("%s has no sockets to %s" % (client.name, other.name))
            elif not all(s.get("connected") for s in sockets):
                problems.append("%s -> %s: not connected: %s" % (
                    client.name, other.name, ",".join(str(s.get("database")) for s in sockets if not s.get("connected"))))
    return problems


def wait_mesh(clients, timeout):
    """Seconds until the mesh of clients is connected; BenchError after timeout."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        try:
            problems = mesh_problems(clients)
        except (requests.RequestException, BenchError, ValueError) as exc:
            problems = [str(exc)]
        if not problems:
            return time.monotonic() - started
        if time.monotonic() >= deadline:
            raise BenchError("mesh of %s not connected after %d s: %s"
                             % (",".join(c.name for c in clients), timeout, "; ".join(problems)[:600]))
        time.sleep(POLL_SECONDS)


def add_node_body(peer_name, peer_url, password):
    return {"operation": "add_node", "hostname": peer_name, "url": peer_url, "verify_tls": False,
            "authorization": {"username": ADMIN, "password": password}}


# -- ansible-playbook runs with the timeline callback ---------------------------

def short_name(action):
    """harper_node for harperdb.cluster.harper_node, whichever way the task named it."""
    return action.rsplit(".", 1)[-1]


class Timeline(object):
    """The task_timeline callback's lines of one run."""

    def __init__(self, path):
        self.events = []
        if os.path.exists(path):
            with open(path) as handle:
                self.events = [json.loads(line) for line in handle if line.strip()]

    @staticmethod
    def file_of(event):
        return event["path"].rsplit(":", 1)[0]

    def tasks(self):
        """[(name, action, seconds, [statuses])] in start order: task start to its last host result."""
        starts, ends, statuses = {}, {}, {}
        order = []
        for event in self.events:
            key = event["uuid"]
            if event["event"] == "start":
                if key not in starts:
                    order.append(key)
                starts[key] = event
            else:
                ends[key] = max(ends.get(key, event["t"]), event["t"])
                statuses.setdefault(key, []).append(event["status"])
        return [(starts[key]["task"], starts[key]["action"], ends[key] - starts[key]["t"], statuses[key])
                for key in order if key in ends]

    def span(self, files):
        """Seconds from the start of the first task of files[0] to the last result of any task of files."""
        def in_files(event, names):
            path = self.file_of(event)
            return any(path.endswith(os.sep + os.path.join("roles", "harper_cluster", "tasks", name)) for name in names)

        starts = [e["t"] for e in self.events if e["event"] == "start" and in_files(e, files[:1])]
        ends = [e["t"] for e in self.events if e["event"] == "end" and in_files(e, files)]
        if not starts or not ends:
            return None
        return max(ends) - min(starts)

    def mesh_result(self):
        """{"operations": [write names], "reads": n} of the run's harper_mesh task, or None."""
        found = [e for e in self.events if e["event"] == "end" and "operations" in e]
        return {"operations": found[-1]["operations"], "reads": found[-1].get("reads")} if found else None

    def count(self, module, statuses=("ok", "changed")):
        """Host results of tasks of module (short name) with one of statuses."""
        return sum(1 for e in self.events if e["event"] == "end" and short_name(e["action"]) == module
                   and e["status"] in statuses)


def phase_files(tasks_dir=ROLE_TASKS, root=PHASE_ROOT):
    """root and every task file it imports or includes, directly or not, root first.

    Works with today's mesh.yml (which includes join.yml and imports verify.yml)
    as well as with a mesh.yml that holds the whole phase itself.
    """
    keys = ("import_tasks", "include_tasks", "ansible.builtin.import_tasks", "ansible.builtin.include_tasks")
    found, queue = [], [root]
    while queue:
        name = queue.pop(0)
        if name in found:
            continue
        found.append(name)
        path = os.path.join(str(tasks_dir), name)
        if not os.path.exists(path):
            continue
        with open(path) as handle:
            stack = list(yaml.safe_load(handle) or [])
        while stack:
            task = stack.pop(0)
            if not isinstance(task, dict):
                continue
            for section in ("block", "rescue", "always"):
                stack.extend(task.get(section) or [])
            for key in keys:
                target = task.get(key)
                if isinstance(target, dict):
                    target = target.get("file")
                if isinstance(target, str) and "{{" not in target:
                    queue.append(os.path.normpath(target))
    return found


class PlaybookRun(object):
    def __init__(self, done, seconds, timeline):
        self.returncode = done.returncode
        self.output = done.stdout + done.stderr
        self.seconds = seconds
        self.timeline = timeline
        self.recap = dict((m.group("host"), m.groupdict()) for m in RECAP_LINE.finditer(self.output.split("PLAY RECAP")[-1]))

    def check(self, what):
        if self.returncode != 0:
            raise BenchError("%s failed (rc %s):\n%s" % (what, self.returncode, self.output[-3000:]))
        return self

    def changed(self):
        return sum(int(counts["changed"]) for counts in self.recap.values())


def run_playbook(playbook, work_dir, args=(), timeout=1800):
    """ansible-playbook with the timeline callback; wall seconds include its start-up."""
    timeline_path = tempfile.mkstemp(prefix="timeline-", suffix=".jsonl", dir=work_dir)[1]
    env = ansible_env({
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACK_DIR,
        "ANSIBLE_CALLBACKS_ENABLED": CALLBACK_NAME,
        "TASK_TIMELINE_FILE": timeline_path,
    })
    command = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", str(playbook)] + list(args)
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    return PlaybookRun(done, seconds, Timeline(timeline_path))


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


# -- 1. Harper's pace --------------------------------------------------------

def measure_pace(size, ips, args, work_dir):
    """Seconds for size-1 serial add_node calls, each waited for until the mesh so far is connected."""
    with testbed.Testbed(os.path.join(work_dir, "pace-n%d" % size), count=size, mode="prod",
                         first_ip=ips[0]) as bed:
        clients = [NodeClient(n.name, n.api_url, bed.password) for n in bed.nodes]
        try:
            started = time.monotonic()
            for index in range(1, size):
                peer = bed.nodes[index]
                answer = clients[0].call(add_node_body(peer.name, peer.replication_url, bed.password), timeout=60)
                if "but there was an error" in str(answer.get("message", "")):
                    raise BenchError("add_node %s answered: %s" % (peer.name, answer["message"][:300]))
                wait_mesh(clients[:index + 1], args.mesh_timeout)
            return {"pace": time.monotonic() - started}
        finally:
            for client in clients:
                client.close()


# -- 2. the uri play ---------------------------------------------------------

def uri_playbook(nodes, secrets_path):
    tasks = []
    for i, node in enumerate(nodes):
        for peer in nodes[i + 1:]:
            tasks.append({
                "name": "Add %s on %s" % (peer.name, node.name),
                "ansible.builtin.uri": {
                    "url": node.api_url,
                    "method": "POST",
                    "body_format": "json",
                    "body": {"operation": "add_node", "hostname": peer.name, "url": peer.replication_url,
                             "verify_tls": False,
                             "authorization": {"username": ADMIN, "password": "{{ harper_password }}"}},
                    "url_username": ADMIN,
                    "url_password": "{{ harper_password }}",
                    "force_basic_auth": True,
                    "validate_certs": False,
                    "status_code": 200,
                },
                "no_log": True,
            })
    return [{"name": "Join every pair with add_node", "hosts": "localhost", "gather_facts": False,
             "vars_files": [secrets_path], "tasks": tasks}]


def measure_uri(size, ips, args, work_dir):
    base = os.path.join(work_dir, "uri-n%d" % size)
    with testbed.Testbed(base, count=size, mode="prod", first_ip=ips[0]) as bed:
        secrets_path = write_private(os.path.join(base, "secrets.yml"), "harper_password: %s\n" % json.dumps(bed.password))
        playbook = os.path.join(base, "uri-play.yml")
        with open(playbook, "w") as handle:
            json.dump(uri_playbook(bed.nodes, secrets_path), handle, indent=1)
        result = {}
        converge = run_playbook(playbook, base).check("uri play converge")
        result["uri_converge"] = converge.seconds
        result["uri_writes"] = converge.timeline.count("uri")
        clients = [NodeClient(n.name, n.api_url, bed.password) for n in bed.nodes]
        try:
            result["uri_mesh_after"] = wait_mesh(clients, args.mesh_timeout)
        except BenchError as exc:
            result["uri_mesh_after"] = None
            result.setdefault("notes", []).append("uri play N=%d: %s" % (size, exc))
        finally:
            for client in clients:
                client.close()
        rerun = run_playbook(playbook, base).check("uri play rerun")
        result["uri_rerun"] = rerun.seconds
        result["uri_rerun_writes"] = rerun.timeline.count("uri")
        return result


# -- 3. the role -------------------------------------------------------------

class RoleHost(RoleNode):
    """A host laid out by the role (its files, processes and operations API), as the role tests know it."""

    def __init__(self, name, ip, host_dir):
        super().__init__(name, ip, host_dir, password=None)
        self.replication_url = "wss://%s:9933" % ip


class RoleCluster(object):
    """Hosts laid out by site.yml under base_dir: inventory and credentials."""

    def __init__(self, base_dir, ips, password):
        self.base_dir = base_dir
        os.makedirs(base_dir)
        self.password = password
        self.hosts = [RoleHost("harper-%d" % (i + 1), ip, os.path.join(base_dir, "h%d" % (i + 1))) for i, ip in enumerate(ips)]
        self.count = len(ips)
        self.credentials = write_private(os.path.join(base_dir, "credentials.yml"),
                                         "harper_cluster_admin_password: %s\n" % json.dumps(password))

    @property
    def members(self):
        return self.hosts[:self.count]

    def inventory(self):
        inventory = local_inventory(self.members)
        path = os.path.join(self.base_dir, "hosts-%d.json" % self.count)
        with open(path, "w") as handle:
            json.dump(inventory, handle, indent=2)
        return path

    def site(self, what, timeout):
        """Run site.yml; return (run, {"operations": [write names], "reads": n} of its harper_mesh task)."""
        run = run_playbook(SITE, self.base_dir, ["-i", self.inventory(), "-e", "@" + self.credentials], timeout=timeout)
        if self.password in run.output:
            raise BenchError("%s printed the admin password" % what)
        run.check(what)
        return run, run.timeline.mesh_result()

    def clients(self):
        return [NodeClient(h.name, h.api_url, self.password) for h in self.members]

    def stop(self, timeout=60):
        """SIGTERM every Harper process of these hosts, SIGKILL what is left at the deadline."""
        terminate(self.hosts, timeout)


def report_writes(report):
    if report is None:
        return None
    return len(report["operations"])


def report_add_nodes(report):
    if report is None:
        return None
    return report["operations"].count("add_node")


def write_kinds(report):
    """{operation: count} of the harper_mesh task's writes."""
    kinds = {}
    for name in (report or {}).get("operations") or []:
        kinds[name] = kinds.get(name, 0) + 1
    return kinds


def report_reads(report):
    reads = (report or {}).get("reads")
    return None if reads is None else int(reads)


def measure_role(cluster, size, args, files):
    result = {}
    converge, report = cluster.site("site.yml converge, N=%d" % size, args.playbook_timeout)
    result["role_converge"] = converge.seconds
    result["harper_version"] = installed_harper_version(cluster.hosts[0])
    result["role_phase"] = converge.timeline.span(files)
    result["role_writes"] = report_writes(report)
    result["role_write_kinds"] = write_kinds(report)
    result["role_reads"] = report_reads(report)
    rerun, report = cluster.site("site.yml rerun, N=%d" % size, args.playbook_timeout)
    result["role_rerun"] = rerun.seconds
    result["role_rerun_phase"] = rerun.timeline.span(files)
    result["role_rerun_writes"] = report_writes(report)
    result["role_rerun_write_kinds"] = write_kinds(report)
    result["role_rerun_reads"] = report_reads(report)
    result["role_rerun_changed"] = rerun.changed()
    return result


# -- 4. harper_node against ping ---------------------------------------------

def ping_ratio(cluster, work_dir):
    """Median seconds per task of PING_TASKS no-change harper_node tasks and as many pings, interleaved."""
    seed, peer = cluster.members[0], cluster.members[1]
    tasks = []
    for number in range(1, PING_TASKS + 1):
        tasks.append({"name": "harper_node no change %d" % number, "harperdb.cluster.harper_node": {
            "api_url": seed.api_url, "username": ADMIN, "password": "{{ harper_cluster_admin_password }}",
            "validate_certs": False, "hostname": peer.name, "url": peer.replication_url, "verify_tls": False,
            "authorization": {"username": ADMIN, "password": "{{ harper_cluster_admin_password }}"},
            "wait": True}, "no_log": True})
        tasks.append({"name": "ping %d" % number, "ansible.builtin.ping": {}})
    playbook = os.path.join(work_dir, "ping-ratio.yml")
    with open(playbook, "w") as handle:
        json.dump([{"name": "harper_node against ping", "hosts": "localhost", "gather_facts": False,
                    "vars_files": [cluster.credentials], "tasks": tasks}], handle, indent=1)
    run = run_playbook(playbook, work_dir).check("harper_node/ping play")
    node_seconds, ping_seconds = [], []
    for _name, action, seconds, statuses in run.timeline.tasks():
        if short_name(action) == "harper_node":
            if statuses != ["ok"]:
                raise BenchError("a no-change harper_node task reported %s" % statuses)
            node_seconds.append(seconds)
        elif short_name(action) == "ping":
            ping_seconds.append(seconds)
    if len(node_seconds) != PING_TASKS or len(ping_seconds) != PING_TASKS:
        raise BenchError("timed %d harper_node and %d ping tasks, expected %d each"
                         % (len(node_seconds), len(ping_seconds), PING_TASKS))
    node, ping = statistics.median(node_seconds), statistics.median(ping_seconds)
    return {"harper_node": node, "ping": ping, "ratio": node / ping}


# -- the run -----------------------------------------------------------------

def measure_size(size, pool, args, work_dir, files, last):
    """Every measurement of one size; on the last one also the ping ratio and the scale-out."""
    result = {"notes": []}
    steps = (("pace", measure_pace), ("uri", measure_uri))
    for label, measure in steps:
        ips = pool.take(size)
        log("N=%d: %s on %s-%s" % (size, label, ips[0], ips[-1]))
        try:
            measured = measure(size, ips, args, work_dir)
            result["notes"].extend(measured.pop("notes", []))
            result.update(measured)
        except (BenchError, testbed.TestbedError, requests.RequestException, subprocess.TimeoutExpired) as exc:
            result["notes"].append("N=%d %s failed: %s" % (size, label, exc))
            result.setdefault("errors", []).append(label)
    ips = pool.take(size + (1 if last and args.scale_out else 0))
    log("N=%d: role on %s-%s" % (size, ips[0], ips[size - 1]))
    cluster = RoleCluster(os.path.join(work_dir, "role-n%d" % size), ips, secrets.token_urlsafe(24))
    cluster.count = size
    try:
        result.update(measure_role(cluster, size, args, files))
        if last:
            log("N=%d: %d harper_node and %d ping tasks" % (size, PING_TASKS, PING_TASKS))
            result["ping"] = ping_ratio(cluster, cluster.base_dir)
            if args.scale_out:
                cluster.count = size + 1
                log("N=%d: scale-out to %d hosts" % (size, cluster.count))
                run, report = cluster.site("site.yml scale-out to N=%d" % cluster.count, args.playbook_timeout)
                result["scale_out"] = {"seconds": run.seconds, "phase": run.timeline.span(files),
                                       "add_node": report_add_nodes(report), "writes": report_writes(report)}
    except (BenchError, requests.RequestException, subprocess.TimeoutExpired) as exc:
        result["notes"].append("N=%d role failed: %s" % (size, exc))
        result.setdefault("errors", []).append("role")
    finally:
        cluster.stop()
    return result


def log(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def ensure_matplotlib():
    """matplotlib with the Agg backend, pip-installed into this venv from tests/requirements-bench.txt if missing."""
    try:
        return importlib.import_module("matplotlib")
    except ImportError:
        log("installing %s" % BENCH_REQUIREMENTS)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-r", str(BENCH_REQUIREMENTS)], check=True)
        importlib.invalidate_caches()
        return importlib.import_module("matplotlib")


def command_output(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False).stdout.strip()
    except OSError:
        return ""


def machine_facts():
    cpu = ""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    memory = ""
    with contextlib.suppress(OSError, StopIteration, ValueError):
        with open("/proc/meminfo") as handle:
            memory = "%.1f GiB" % (int(next(line for line in handle if line.startswith("MemTotal")).split()[1]) / 2.0 ** 20)
    return {
        "nproc": command_output(["nproc"]) or str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ansible": ansible_core_version(),
        "node": command_output(["node", "--version"]),
        "load": load_average(),
    }


def ansible_core_version():
    match = re.search(r"\[core ([^\]]+)\]", command_output([ANSIBLE_PLAYBOOK, "--version"]))
    return "ansible-core " + (match.group(1) if match else "unknown")


def load_average():
    return "%.2f %.2f %.2f" % os.getloadavg()


def installed_harper_version(host):
    """harperdb's version from the package the role installed on host, or None."""
    with contextlib.suppress(OSError, ValueError):
        with open(os.path.join(host.install_dir, "node_modules", "harperdb", "package.json")) as handle:
            return json.load(handle).get("version")
    return None


# -- output ------------------------------------------------------------------

def seconds(value):
    return "-" if value is None else "%.1f" % value


def pair(first, second, first_kinds=None, second_kinds=None):
    """'a / b', each count followed by its kinds of write when there is more than one kind."""
    def one(value, kinds):
        if value is None:
            return "n/a"
        if kinds and len(kinds) > 1:
            return "%d (%s)" % (value, ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items())))
        return str(value)
    return "%s / %s" % (one(first, first_kinds), one(second, second_kinds))


ROWS = (
    ("Harper's pace: serial add_node + wait, Python (s)", lambda r: seconds(r.get("pace"))),
    ("uri play: converge (s)", lambda r: seconds(r.get("uri_converge"))),
    ("uri play: mesh connected after it (s)",
     lambda r: seconds(r.get("uri_mesh_after")) if "uri_converge" not in r or r.get("uri_mesh_after") is not None
     else "never"),
    ("uri play: rerun (s)", lambda r: seconds(r.get("uri_rerun"))),
    ("uri play: add_node writes, converge / rerun", lambda r: pair(r.get("uri_writes"), r.get("uri_rerun_writes"))),
    ("role: whole converge (s)", lambda r: seconds(r.get("role_converge"))),
    ("role: membership phase of the converge (s)", lambda r: seconds(r.get("role_phase"))),
    ("role: whole no-change rerun (s)", lambda r: seconds(r.get("role_rerun"))),
    ("role: membership phase of the rerun (s)", lambda r: seconds(r.get("role_rerun_phase"))),
    ("role: writes, converge / rerun", lambda r: pair(r.get("role_writes"), r.get("role_rerun_writes"),
                                                      r.get("role_write_kinds"), r.get("role_rerun_write_kinds"))),
    ("role: reads, converge / rerun", lambda r: pair(r.get("role_reads"), r.get("role_rerun_reads"))),
    ("role: tasks changed on the rerun", lambda r: str(r.get("role_rerun_changed", "-"))),
)


def table(results):
    sizes = sorted(results)
    lines = ["| measurement | " + " | ".join("N = %d" % n for n in sizes) + " |",
             "| --- | " + " | ".join(["---:"] * len(sizes)) + " |"]
    for label, cell in ROWS:
        lines.append("| %s | %s |" % (label, " | ".join(cell(results[n]) for n in sizes)))
    return "\n".join(lines)


def extras(results):
    lines = []
    largest = results[max(results)]
    if "ping" in largest:
        ping = largest["ping"]
        lines.append("harper_node (no change, wait) against ansible.builtin.ping, %d tasks each on the N = %d cluster: "
                     "median %.2f s against %.2f s per task, ratio %.2f"
                     % (PING_TASKS, max(results), ping["harper_node"], ping["ping"], ping["ratio"]))
    if "scale_out" in largest:
        scale = largest["scale_out"]
        lines.append("scale-out from N = %d to %d: site.yml %.1f s, membership phase %s s, add_node writes %s"
                     % (max(results), max(results) + 1, scale["seconds"], seconds(scale["phase"]),
                        "n/a" if scale["add_node"] is None else scale["add_node"]))
    return lines


def targets(results, scale_out):
    """[(status, text)]: held, NOT held or not measured, from this run's numbers."""
    checks = []
    at = TARGET_SIZE if TARGET_SIZE in results else max(results)
    where = "N = %d" % at if at == TARGET_SIZE else "N = %d; the target is set for N = %d, not in --sizes" % (at, TARGET_SIZE)
    r = results[at]

    def bound(label, value, limit, limit_text):
        if value is None or limit is None:
            checks.append(("not measured", "%s (%s)" % (label, where)))
        else:
            checks.append(("held" if value <= limit else "NOT held",
                           "%s: %.1f s against %s = %.1f s (%s)" % (label, value, limit_text, limit, where)))

    def scaled(factor, key):
        return None if r.get(key) is None else factor * r[key]

    bound("membership phase <= 1.3 x Harper's pace", r.get("role_phase"), scaled(1.3, "pace"),
          "1.3 x %s s" % seconds(r.get("pace")))
    bound("membership phase <= 0.5 x uri play converge", r.get("role_phase"), scaled(0.5, "uri_converge"),
          "0.5 x %s s" % seconds(r.get("uri_converge")))
    bound("no-change membership phase <= 2 s", r.get("role_rerun_phase"), 2.0, "2 s")
    bound("whole-site no-change rerun <= 0.6 x uri play rerun", r.get("role_rerun"), scaled(0.6, "uri_rerun"),
          "0.6 x %s s" % seconds(r.get("uri_rerun")))

    def writes(label, key, wanted):
        got = dict((n, results[n].get(key)) for n in sorted(results))
        text = ", ".join("N = %d: %s (want %d)" % (n, "n/a" if got[n] is None else got[n], wanted(n)) for n in got)
        if any(v is None for v in got.values()):
            checks.append(("not measured", "%s: %s" % (label, text)))
        else:
            checks.append(("held" if all(got[n] == wanted(n) for n in got) else "NOT held", "%s: %s" % (label, text)))

    writes("writes to converge = N-1", "role_writes", lambda n: n - 1)
    writes("writes on a rerun = 0", "role_rerun_writes", lambda n: 0)
    largest = results[max(results)]
    if not scale_out:
        checks.append(("not measured", "1 add_node to add one host (run with --scale-out)"))
    elif (largest.get("scale_out") or {}).get("add_node") is None:
        checks.append(("not measured", "1 add_node to add one host (the scale-out did not run to its report)"))
    else:
        got = largest["scale_out"]["add_node"]
        checks.append(("held" if got == 1 else "NOT held",
                       "1 add_node to add one host: %d (N = %d to %d)" % (got, max(results), max(results) + 1)))
    if "ping" in largest:
        ping = largest["ping"]
        checks.append(("held" if ping["ratio"] <= 1.3 else "NOT held",
                       "no-change harper_node task <= 1.3 x ansible.builtin.ping task: %.2f s against 1.3 x %.2f s = %.2f s"
                       % (ping["harper_node"], ping["ping"], 1.3 * ping["ping"])))
    else:
        checks.append(("not measured", "no-change harper_node task <= 1.3 x ansible.builtin.ping task"))
    return checks


def plot(results, path):
    matplotlib = ensure_matplotlib()
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    sizes = sorted(results)
    figure, axes = pyplot.subplots(figsize=(7, 5))
    for key, label, style in (("pace", "Harper's pace (Python, serial)", "o-"),
                              ("uri_converge", "uri play converge", "s-"),
                              ("role_phase", "role membership phase", "^-"),
                              ("role_converge", "role whole converge", "v-"),
                              ("role_rerun", "role no-change rerun", "d--")):
        points = [(n, results[n][key]) for n in sizes if results[n].get(key) is not None]
        if points:
            axes.plot([p[0] for p in points], [p[1] for p in points], style, label=label)
    axes.set_xlabel("nodes (N)")
    axes.set_ylabel("seconds")
    axes.set_xticks(sizes)
    # Log scale: the whole converge (npm installs) is ten times the joins it is compared with.
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(importlib.import_module("matplotlib.ticker").ScalarFormatter())
    axes.grid(True, alpha=0.3)
    axes.set_title("Harper mesh membership, prod mode, one machine")
    axes.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
    figure.tight_layout()
    figure.savefig(str(path), dpi=100)
    pyplot.close(figure)


def markdown(command, started, facts, harper_version, results, checks, notes, plotted):
    lines = [
        "# Membership performance",
        "",
        "Written by `tests/bench/membership_bench.py` on every run; the numbers are from its last run.",
        "",
        "- Command: `%s`" % command,
        "- Date: %s" % started.strftime("%Y-%m-%d %H:%M UTC"),
        "- Machine: nproc %s, %s, %s memory, Linux %s, load average %s at the start and %s at the end"
        % (facts["nproc"], facts["cpu"] or "unknown CPU", facts["memory"] or "unknown", facts["kernel"], facts["load"],
           facts["load_end"]),
        "- Software: harperdb %s (prod mode, 1 thread), Node.js %s, %s, Python %s"
        % (harper_version, facts["node"], facts["ansible"], facts["python"]),
        "",
        "Every column starts from fresh nodes on loopback addresses of this machine: Harper's pace, the",
        "uri play and the role each get nodes of their own. The role's membership phase runs from the",
        "start of the first task of `roles/harper_cluster/tasks/%s` to the last result of a task of" % PHASE_ROOT,
        "that file or of a file it imports or includes (%s), timed by the callback" % ", ".join(
            "`%s`" % name for name in phase_files()),
        "`tests/bench/callbacks/task_timeline.py`. Writes and reads are the `operations` and `reads` that",
        "the role's harper_mesh task returns (no join report is written, so none is timed). The uri",
        "play posts add_node for every pair of nodes; its converge and rerun are whole ansible-playbook runs.",
        "",
        "## Results",
        "",
        table(results),
        "",
    ]
    if extras(results):
        lines.extend(["- %s" % line for line in extras(results)] + [""])
    lines.extend(["## Targets", ""])
    lines.extend("- **%s**: %s" % (status, text) for status, text in checks)
    if notes:
        lines.extend(["", "## Notes from this run", ""])
        lines.extend("- %s" % " ".join(note.split()) for note in notes)
    if plotted:
        lines.extend(["", "![seconds against N](performance.png)"])
    return "\n".join(lines) + "\n"


def parse_sizes(text):
    try:
        sizes = sorted(set(int(part) for part in text.split(",") if part.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError("--sizes takes numbers separated by commas, e.g. 3,5,8")
    if not sizes or sizes[0] < 2:
        raise argparse.ArgumentTypeError("every size must be at least 2")
    return sizes


def _terminate(signum, _frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[3, 5, 8], help="cluster sizes, e.g. 3,5,8")
    parser.add_argument("--first-ip", default=DEFAULT_FIRST_IP,
                        help="first loopback address; each set of nodes takes a fresh block after it")
    parser.add_argument("--scale-out", action="store_true",
                        help="after the largest size's role runs, add one host and count its add_node writes")
    parser.add_argument("--mesh-timeout", type=int, default=60, help="seconds to wait for a mesh to connect")
    parser.add_argument("--playbook-timeout", type=int, default=1800, help="seconds one site.yml run may take")
    parser.add_argument("--no-docs", dest="docs", action="store_false",
                        help="print the table only; leave docs/performance.md and .png alone")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (nodes are stopped anyway)")
    args = parser.parse_args(argv)
    pool = AddressPool(args.first_ip)
    pool_check = AddressPool(args.first_ip)
    try:
        pool_check.take(addresses_needed(args.sizes, args.scale_out))
    except ValueError as exc:
        parser.error(str(exc))

    signal.signal(signal.SIGTERM, _terminate)
    if args.docs:
        ensure_matplotlib()
    command = " ".join([".venv/bin/python", "tests/bench/membership_bench.py"] + [shlex.quote(a) for a in (
        argv if argv is not None else sys.argv[1:])])
    started = datetime.datetime.now(datetime.timezone.utc)
    facts = machine_facts()
    files = phase_files()
    log("membership phase files: %s" % ", ".join(files))
    # Short: Harper's domain socket lives under each ROOTPATH and must stay under about 100 characters.
    work_dir = tempfile.mkdtemp(prefix="hmb", dir="/tmp")
    results = {}
    try:
        for size in args.sizes:
            results[size] = measure_size(size, pool, args, work_dir, files, size == args.sizes[-1])
        facts["load_end"] = load_average()
    except KeyboardInterrupt:
        log("interrupted; every node was stopped")
        return 130
    finally:
        if not args.keep:
            shutil.rmtree(work_dir, ignore_errors=True)
        else:
            log("work directory kept: %s" % work_dir)
    notes = [note for n in sorted(results) for note in results[n].get("notes", [])]
    harper_version = next((results[n]["harper_version"] for n in sorted(results) if results[n].get("harper_version")),
                          "%s (pinned; no role install finished)" % testbed.HARPER_VERSION)
    checks = targets(results, args.scale_out)
    print(table(results))
    print()
    for line in extras(results):
        print(line)
    print()
    print("Targets:")
    for status, text in checks:
        print("  %-12s %s" % (status, text))
    for note in notes:
        print("note: %s" % note)
    if args.docs:
        plot(results, REPORT_PNG)
        with open(str(REPORT_MD), "w") as handle:
            handle.write(markdown(command, started, facts, harper_version, results, checks, notes, True))
        log("wrote %s and %s" % (REPORT_MD, REPORT_PNG))
    return 1 if any(results[n].get("errors") for n in results) else 0


if __name__ == "__main__":
    sys.exit(main())
