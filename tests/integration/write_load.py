# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A write load and a downtime monitor on real Harper nodes, to show that a day-two operation
(rolling restart, upgrade, certificate rotation) loses nothing.

While the operation runs:
- the writer upserts a numbered record every `interval` seconds (0.1 by default) into a table of
  its own, through one node; when that node fails an attempt, or the monitor sees it down, or the
  caller says it is about to go down (`avoid`), the writer moves to the next node that answers.
  An id is retried until some node acknowledges it (an upsert, so a retry of a write that did land
  changes nothing): every acknowledged id must end up on every node.
- the monitor probes every node's operations API (`cluster_status`, every `probe_interval`
  seconds, one thread per node) and keeps each node's down intervals.

Afterwards `verify` waits (with a deadline) until every node holds every acknowledged id, and
`LoadReport` gives the figures: records written, lost per node, failed attempts, the longest gap
between two acknowledged writes, each node's down intervals and any moment two nodes were down
together.

Plain `requests` against the operations API, not the collection's code. Nodes are any objects with
`name`, `api_url` and `password` (user `admin`), as `role_cluster.RoleNode`. The bookkeeping
(`down_intervals`, `overlaps`, `longest_gap`) is plain functions of recorded times, unit-tested in
tests/unit/test_write_load.py.
"""

import threading
import time
import warnings

import requests
from urllib3.exceptions import InsecureRequestWarning

from harper_state import wait_until

ADMIN = "admin"
DATABASE = "load"
TABLE = "records"
# The nodes have self-signed certificates. Set once: catch_warnings is not safe across threads.
warnings.filterwarnings("ignore", category=InsecureRequestWarning)


def down_intervals(samples, end=None):
    """[(start, end)] of the times a node was down, from its probes [(time, up)] in time order.

    A down interval starts at the first probe that failed and ends at the next probe that
    answered; one still open at the last probe ends at `end` (or that probe's time).
    """
    intervals = []
    start = None
    for moment, up in samples:
        if not up and start is None:
            start = moment
        elif up and start is not None:
            intervals.append((start, moment))
            start = None
    if start is not None:
        intervals.append((start, samples[-1][0] if end is None else max(end, samples[-1][0])))
    return intervals


def overlaps(intervals_by_node):
    """Every moment two nodes were down together: [(node_a, node_b, start, end)], sorted.

    intervals_by_node: {node: [(start, end)]}. Intervals that only touch do not overlap.
    """
    found = []
    names = sorted(intervals_by_node)
    for index, first in enumerate(names):
        for second in names[index + 1:]:
            for start_a, end_a in intervals_by_node[first]:
                for start_b, end_b in intervals_by_node[second]:
                    start, end = max(start_a, start_b), min(end_a, end_b)
                    if start < end:
                        found.append((first, second, start, end))
    return sorted(found, key=lambda entry: (entry[2], entry[0], entry[1]))


def longest_gap(times):
    """The longest time between two consecutive acknowledged writes (0.0 with fewer than two)."""
    ordered = sorted(times)
    return max((later - earlier for earlier, later in zip(ordered, ordered[1:])), default=0.0)


def failure_kind(exc):
    """A short name for why a request got no answer (or an error)."""
    text = str(exc)
    for needle, kind in (("refused", "connection refused"), ("reset", "connection reset"),
                         ("aborted", "connection aborted"), ("HTTP", "HTTP error")):
        if needle in text:
            return kind
    return text[:80]


def failure_counts(failures):
    """{kind: count} of [(time, kind)]."""
    counts = {}
    for dummy_time, kind in failures:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


class Endpoint(object):
    """One node's operations API, with a session per thread that uses it."""

    def __init__(self, node, timeout):
        self.name = node.name
        self.url = node.api_url
        self.auth = (ADMIN, node.password)
        self.timeout = timeout
        self.session = requests.Session()

    def call(self, operation, timeout=None):
        """The operation's answer (parsed JSON); raises on any failure or an HTTP error."""
        answer = self.session.post(self.url, json=operation, auth=self.auth, verify=False,
                                   timeout=timeout or self.timeout)
        if answer.status_code != 200:
            raise RuntimeError("%s: %s answered HTTP %s: %s" % (self.name, operation["operation"],
                                                                answer.status_code, answer.text[:300]))
        return answer.json()


class LoadReport(object):
    """The figures of one run of the load (times are seconds since the load started)."""

    def __init__(self, load, on_nodes):
        self.started = load.started
        self.seconds = load.stopped - load.started
        self.written = sorted(load.acknowledged)
        self.write_times = [moment - load.started for moment in load.write_times]
        self.failed_attempts = load.failed_attempts
        self.failures = list(load.failures)
        self.writes_by_node = dict(load.writes_by_node)
        self.samples = dict((name, [(moment - load.started, up) for moment, up in probes])
                            for name, probes in load.samples.items())
        self.down = dict((name, down_intervals(probes, self.seconds)) for name, probes in self.samples.items())
        self.probe_failures = dict((name, [(moment - load.started, kind) for moment, kind in failures])
                                   for name, failures in getattr(load, "probe_failures", {}).items())
        self.overlaps = overlaps(self.down)
        self.longest_gap = longest_gap(self.write_times)
        # {node: {"count": n, "missing": [ids], "extra": [ids]}} as verify last read it.
        self.on_nodes = on_nodes
        self.verify_seconds = None

    @property
    def lost(self):
        """The acknowledged ids missing on at least one node."""
        missing = set()
        for state in self.on_nodes.values():
            missing.update(state["missing"])
        return sorted(missing)

    def downtime(self, name):
        return sum(end - start for start, end in self.down.get(name, []))

    def figures(self):
        """The figures as one dict, for a table or a test's output."""
        return {
            "records written": len(self.written),
            "lost": len(self.lost),
            "failed attempts": self.failed_attempts,
            "longest gap s": round(self.longest_gap, 2),
            "downtime s": dict((name, round(self.downtime(name), 1)) for name in sorted(self.down)),
            "down intervals": dict((name, len(self.down[name])) for name in sorted(self.down)),
            "overlaps": len(self.overlaps),
            "probe failures": dict((name, failure_counts(self.probe_failures[name]))
                                   for name in sorted(self.probe_failures) if self.probe_failures[name]),
            "writes by node": dict(sorted(self.writes_by_node.items())),
            "load s": round(self.seconds, 1),
            "verify s": self.verify_seconds,
        }

    def problems(self):
        """What the run must not show: lost records, wrong counts, two nodes down together."""
        found = []
        for name, state in sorted(self.on_nodes.items()):
            if state["missing"]:
                found.append("%s lacks %d of %d acknowledged records (first ids: %s)"
                             % (name, len(state["missing"]), len(self.written), state["missing"][:10]))
            if state["count"] < len(self.written):
                found.append("%s counts %d records, %d were acknowledged" % (name, state["count"], len(self.written)))
        for first, second, start, end in self.overlaps:
            found.append("%s and %s were down together from %.1f s to %.1f s" % (first, second, start, end))
        if not self.written:
            found.append("no write was acknowledged")
        return found


class WriteLoad(object):
    """The writer and the monitor over nodes; `with WriteLoad(nodes) as load:` starts both.

    nodes: objects with name, api_url, password. start_on: the name of the node to write through
    first (default: the last one, which a rollout in inventory order restarts last).
    """

    def __init__(self, nodes, interval=0.1, probe_interval=0.2, request_timeout=2.0, probe_timeout=2.0,
                 database=DATABASE, table=TABLE, start_on=None):
        self.nodes = list(nodes)
        self.names = [node.name for node in self.nodes]
        self.interval = interval
        self.probe_interval = probe_interval
        self.request_timeout = request_timeout
        self.probe_timeout = probe_timeout
        self.database = database
        self.table = table
        self.current = self.names.index(start_on) if start_on else len(self.names) - 1
        self.acknowledged = set()
        self.write_times = []
        self.writes_by_node = dict.fromkeys(self.names, 0)
        self.failed_attempts = 0
        self.failures = []
        self.samples = dict((name, []) for name in self.names)
        self.probe_failures = dict((name, []) for name in self.names)
        self.up = dict.fromkeys(self.names, True)
        self.avoided = set()
        self.started = None
        self.stopped = None
        self._stop = threading.Event()
        self._threads = []
        self._lock = threading.Lock()

    # -- setup ---------------------------------------------------------------------------------
    def create_table(self, timeout=60):
        """Create the load's table on the first node and wait until every node has it, empty."""
        first = Endpoint(self.nodes[0], 30)
        try:
            first.call({"operation": "create_table", "database": self.database, "table": self.table,
                        "primary_key": "id"})
        except RuntimeError as exc:
            if "already exists" not in str(exc):
                raise
        for node in self.nodes:
            endpoint = Endpoint(node, 10)
            wait_until(lambda endpoint=endpoint: self._ids(endpoint) is not None, timeout,
                       "table %s.%s on %s" % (self.database, self.table, node.name))

    # -- running -------------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def start(self):
        self.started = time.monotonic()
        for node in self.nodes:
            self._threads.append(threading.Thread(target=self._monitor, args=(node,), daemon=True))
        self._threads.append(threading.Thread(target=self._writer, daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self):
        if self.stopped is None:
            self._stop.set()
            for thread in self._threads:
                thread.join(timeout=30)
            self.stopped = time.monotonic()

    def avoid(self, name):
        """Stop writing through name (about to go down) until `allow(name)`."""
        with self._lock:
            self.avoided.add(name)

    def allow(self, name):
        with self._lock:
            self.avoided.discard(name)

    def _monitor(self, node):
        endpoint = Endpoint(node, self.probe_timeout)
        probes = self.samples[node.name]
        while not self._stop.is_set():
            moment = time.monotonic()
            try:
                endpoint.call({"operation": "cluster_status"})
                up = True
            except requests.Timeout:
                up = False
                self.probe_failures[node.name].append((moment, "no answer within %.1f s" % endpoint.timeout))
            except Exception as exc:  # pylint: disable=broad-except  # any failure to answer is down
                up = False
                self.probe_failures[node.name].append((moment, failure_kind(exc)))
            probes.append((moment, up))
            self.up[node.name] = up
            self._stop.wait(max(0.0, moment + self.probe_interval - time.monotonic()))

    def _usable(self, name):
        return self.up[name] and name not in self.avoided

    def _writer(self):
        endpoints = dict((node.name, Endpoint(node, self.request_timeout)) for node in self.nodes)
        number = 1
        tick = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                if not self._usable(self.names[self.current]):
                    for step in range(1, len(self.names)):
                        candidate = (self.current + step) % len(self.names)
                        if self._usable(self.names[candidate]):
                            self.current = candidate
                            break
                name = self.names[self.current]
            try:
                answer = endpoints[name].call({
                    "operation": "upsert", "database": self.database, "table": self.table,
                    "records": [{"id": number, "via": name, "at": time.time()}]})
                if number not in (answer.get("upserted_hashes") or []):
                    raise RuntimeError("%s: upsert of %d answered %s" % (name, number, answer))
            except Exception as exc:  # pylint: disable=broad-except  # a failed attempt: next node
                self.failed_attempts += 1
                self.failures.append((time.monotonic(), name, str(exc)[:200]))
                with self._lock:
                    self.current = (self.current + 1) % len(self.names)
                # Try the same id again on the next node at once, but never more than one round of
                # the nodes within one tick.
                if time.monotonic() - tick < self.interval * len(self.names):
                    continue
            else:
                self.acknowledged.add(number)
                self.write_times.append(time.monotonic())
                self.writes_by_node[name] += 1
                number += 1
            tick = max(tick + self.interval, time.monotonic() - self.interval)
            self._stop.wait(max(0.0, tick - time.monotonic()))

    # -- afterwards ----------------------------------------------------------------------------
    def _ids(self, endpoint):
        """The ids stored on a node, or None when the table is not there (yet)."""
        try:
            rows = endpoint.call({"operation": "search_by_value", "database": self.database, "table": self.table,
                                  "search_attribute": "id", "search_value": "*", "get_attributes": ["id"]})
        except RuntimeError as exc:
            if "does not exist" in str(exc):
                return None
            raise
        return [row["id"] for row in rows]

    def _count(self, endpoint):
        answer = endpoint.call({"operation": "sql", "sql": "SELECT COUNT(*) AS n FROM %s.%s" % (self.database, self.table)})
        return int(answer[0]["n"])

    def verify(self, timeout=120, names=None):
        """Stop the load, wait until every node (or those named) holds every acknowledged id (or the
        deadline) and return the LoadReport with what each node holds."""
        self.stop()
        wanted = set(self.acknowledged)
        endpoints = [Endpoint(node, 30) for node in self.nodes if names is None or node.name in names]
        on_nodes = {}
        began = time.monotonic()
        deadline = began + timeout
        while True:
            for endpoint in endpoints:
                try:
                    ids = self._ids(endpoint) or []
                    count = self._count(endpoint)
                except Exception as exc:  # pylint: disable=broad-except  # read again until the deadline
                    on_nodes[endpoint.name] = {"count": -1, "missing": sorted(wanted), "extra": [],
                                               "error": str(exc)[:200]}
                    continue
                present = set(ids)
                on_nodes[endpoint.name] = {"count": count, "ids": len(present),
                                           "missing": sorted(wanted - present), "extra": sorted(present - wanted)}
            done = all(not state["missing"] and state["count"] >= len(wanted) for state in on_nodes.values())
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        report = LoadReport(self, on_nodes)
        report.verify_seconds = round(time.monotonic() - began, 1)
        return report
