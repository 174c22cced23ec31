# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fake Harper nodes under http.client, and a module's main() run in-process against them.

The collection's own transport (_http) builds every request, header checks included, and the
fake answers it the way Harper does (membership spreads, a failed add_node leaves its record,
routes are read from the file). Used by tests/unit/plugins/modules/test_properties.py and by the
unit tests of each module's run() in tests/unit/plugins/module_utils/test_harper_*.py.
"""

import base64
import contextlib
import http.client
import io
import json
import socket
import threading
import time
from unittest import mock

import pytest

from ansible.module_utils import basic

from ansible_collections.harperdb.cluster.plugins.module_utils import (
    _client,
    _harper_mesh,
    _restart,
    _sockets,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._client import WRITE_OPERATIONS
from ansible_collections.harperdb.cluster.plugins.module_utils._state import ClusterState

USERNAME = "admin"
PASSWORD = "Pw-s3cret-9"
TOKEN = "tok-Secret-42"
NAMES = ("n1", "n2", "n3")
DOWN = "n4"
# A run that sends more requests than this is stuck in a loop.
MAX_REQUESTS = 400


class Runaway(Exception):
    """The module sent far more requests than any run needs."""


class FakeNode:
    def __init__(self, name):
        self.name = name
        self.url = "wss://%s:9933" % name
        self.records = {name: {"name": name, "url": self.url, "replicates": True}}
        self.routes = []
        self.loaded_routes = []


class FakeWorld:
    """Nodes n1..n3 answering on port 9925, n4 resolving but refusing connections; every request
    received is kept in requests as (node, body)."""

    def __init__(self, joined=False, routes=(), version="4.7.29"):
        self.version = version
        self.nodes = dict((name, FakeNode(name)) for name in NAMES)
        self.requests = []
        self.lock = threading.Lock()
        if joined:
            self._join("n1", "n2")
        self.nodes["n1"].routes = list(routes)
        self.nodes["n1"].loaded_routes = list(routes)

    @property
    def writes(self):
        return [body for dummy_node, body in self.requests if body.get("operation") in WRITE_OPERATIONS]

    def connect(self, host, port):
        if host not in self.nodes and host != DOWN:
            raise socket.gaierror(-2, "Name or service not known")
        if host == DOWN or port != 9925:
            raise ConnectionRefusedError(111, "Connection refused")

    def handle(self, host, headers, raw):
        with self.lock:
            if len(self.requests) > MAX_REQUESTS:
                raise Runaway("more than %d requests" % MAX_REQUESTS)
            body = json.loads(raw.decode("utf-8"))
            self.requests.append((host, body))
            if not _authorized(headers.get("authorization", "")):
                return 401, {"error": "Login failed"}
            node = self.nodes[host]
            handler = getattr(self, "_op_" + str(body.get("operation")), None)
            if handler is None:
                return 400, {"error": "Operation '%s' not found" % body.get("operation")}
            return handler(node, body)

    def _op_cluster_status(self, node, dummy_body):
        connections = [{"name": name, "url": record.get("url"), "replicates": True,
                        "database_sockets": [{"database": "data", "connected": True,
                                              "lastReceivedStatus": "Receiving"}]}
                       for name, record in sorted(node.records.items()) if name != node.name]
        return 200, {"type": "cluster-status", "node_name": node.name, "url": node.url,
                     "is_enabled": True, "connections": connections}

    def _op_registration_info(self, dummy_node, dummy_body):
        return 200, {"version": self.version, "deprecated": True}

    def _op_search_by_value(self, node, dummy_body):
        return 200, [dict(record) for record in node.records.values()]

    def _op_get_configuration(self, node, dummy_body):
        return 200, {"replication": {"hostname": node.name, "url": node.url, "routes": list(node.routes)}}

    def _op_cluster_get_routes(self, node, dummy_body):
        return 200, list(node.loaded_routes)

    def _op_set_configuration(self, node, body):
        routes = body.get("replication_routes")
        if set(body) != {"operation", "replication_routes"} or not isinstance(routes, list):
            return 400, {"error": "bad configuration"}
        node.routes = list(routes)
        return 200, {"message": "Configuration successfully set."}

    def _op_restart_service(self, node, dummy_body):
        node.loaded_routes = list(node.routes)
        return 200, {"message": "Restarting http", "job_id": "job-1"}

    def _op_get_job(self, dummy_node, dummy_body):
        return 200, [{"status": "COMPLETE"}]

    def _join(self, first, second):
        group = set([first, second]) | set(self.nodes[first].records) | set(self.nodes[second].records)
        group = [name for name in group if name in self.nodes]
        for name in group:
            for other in group:
                self.nodes[name].records.setdefault(other, {"name": other, "url": self.nodes[other].url,
                                                            "replicates": True})

    def _op_add_node(self, node, body):
        url = body.get("url")
        target = url.split("://", 1)[-1].split(":", 1)[0].split("/", 1)[0].lower() if url else body.get("hostname")
        if target not in self.nodes:
            # Harper writes the record before the handshake fails.
            name = body.get("hostname") or target
            node.records[name] = {"name": name, "url": url}
            return 500, {"error": "connect ECONNREFUSED %s:9933" % target}
        if target == node.name:
            return 400, {"error": "Cannot add self"}
        self._join(node.name, target)
        record = node.records[target]
        for field in ("url", "subscriptions", "shard", "revoked_certificates"):
            if body.get(field) is not None:
                record[field] = body[field]
        return 200, {"message": "Successfully added '%s' to cluster" % target}

    def _op_update_node(self, node, body):
        name = body.get("hostname")
        if name not in node.records:
            return 400, {"error": "Node %s does not exist" % name}
        record = node.records[name]
        for field in ("url", "subscriptions", "shard"):
            if body.get(field) is not None:
                record[field] = body[field]
        if body.get("revoked_certificates"):
            record["revoked_certificates"] = list(record.get("revoked_certificates") or []) + [
                c for c in body["revoked_certificates"] if c not in (record.get("revoked_certificates") or [])]
        return 200, {"message": "Successfully updated '%s'" % name}

    def _op_remove_node(self, node, body):
        name = body.get("hostname")
        if name not in node.records:
            return 400, {"error": "Node %s does not exist" % name}
        for other in self.nodes.values():
            other.records.pop(name, None)
        if name in self.nodes:
            removed = self.nodes[name]
            removed.records = {name: removed.records.get(name, {"name": name, "url": removed.url})}
        return 200, {"message": "Successfully removed '%s' from cluster" % name}

    def _op_update(self, node, body):
        for record in body.get("records") or []:
            if record.get("name") in node.records:
                node.records[record["name"]].update(record)
        return 200, {"message": "updated 1 of 1 records"}


def _authorized(header):
    if header == "Bearer " + TOKEN:
        return True
    if header.startswith("Basic "):
        return base64.b64decode(header[6:]) == ("%s:%s" % (USERNAME, PASSWORD)).encode("utf-8")
    return False


def fake_connection_class(world):
    class FakeConnection(http.client.HTTPConnection):
        """http.client's request building and checks, with the fake world for a network."""

        def __init__(self, host, port=None, timeout=None, context=None):
            super().__init__(host, port, timeout=timeout)
            self.context = context
            self.sent = b""

        def connect(self):
            # What socket.create_connection checks before a packet leaves.
            self.host.encode("idna")
            with socket.socket() as probe:
                probe.settimeout(self.timeout)
            world.connect(self.host, self.port)

        def send(self, data):
            if not self.sent:
                self.connect()
            self.sent += data if isinstance(data, bytes) else data.encode("utf-8")

        def getresponse(self):
            head, dummy_sep, body = self.sent.partition(b"\r\n\r\n")
            headers = dict((line.split(b":", 1)[0].decode("latin-1").lower(),
                            line.split(b":", 1)[1].strip().decode("latin-1"))
                           for line in head.split(b"\r\n")[1:])
            self.sent = b""
            status, answer = world.handle(self.host, headers, body)
            return FakeAnswer(status, answer)

    return FakeConnection


class FakeAnswer:
    will_close = False

    def __init__(self, status, answer):
        self.status = status
        self.body = json.dumps(answer).encode("utf-8")

    def read(self):
        return self.body


class FakeClock:
    """time.monotonic and time.sleep of the collection's code: sleeping advances the clock."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        self.now += 0.001
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@contextlib.contextmanager
def module_args(args):
    """AnsibleModule reads args: patch_module_args where ansible-core has it (2.19), else the
    global it reads (2.16)."""
    try:
        from ansible.module_utils.testing import patch_module_args  # pylint: disable=import-outside-toplevel
    except ImportError:
        with mock.patch.object(basic, "_ANSIBLE_ARGS",
                               json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8")):
            yield
    else:
        with patch_module_args(args):
            yield


def run(module, args, world, check_mode=False):
    """Run module's main() on args against world: ('exit' or 'fail', the printed result, the text
    printed)."""
    args = dict(args, _ansible_module_name=module.__name__.rsplit(".", 1)[-1],
                _ansible_check_mode=check_mode)
    clock = FakeClock()
    fake_time = mock.Mock(monotonic=clock.monotonic, sleep=clock.sleep)
    connection = fake_connection_class(world)
    output = io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(module_args(args))
        stack.enter_context(mock.patch.object(http.client, "HTTPConnection", connection))
        stack.enter_context(mock.patch.object(http.client, "HTTPSConnection", connection))
        for namespace in (_client, _sockets, _harper_mesh, _restart):
            stack.enter_context(mock.patch.object(namespace, "time", fake_time))
        stack.enter_context(mock.patch.object(time, "sleep", clock.sleep))
        stack.enter_context(mock.patch.object(basic.AnsibleModule, "_log_invocation"))
        stack.enter_context(contextlib.redirect_stdout(output))
        with pytest.raises(SystemExit) as info:
            module.main()
    text = output.getvalue()
    result = json.loads(text.strip().splitlines()[-1])
    assert info.value.code in (0, 1), text
    return ("fail" if result.get("failed") else "exit"), result, text


class ScriptedClient:
    """A HarperClient stand-in for one module_utils function: each operation answers from a
    script, a list whose items are used in turn (the last one repeated), or one answer (not a
    list) for every call; an answer that is a list goes in a list of its own. An exception in the
    script is raised. Every call is kept in calls (operation) and
    bodies (operation and fields)."""

    def __init__(self, answers, api_url="https://node-a:9925", username="admin"):
        self.answers = answers
        self.api_url = api_url
        self.username = username
        self.retries = 3
        self.calls = []
        self.bodies = []

    def add_secrets(self, *secrets):
        """The real client scrubs these from its messages; nothing to scrub here."""

    def call(self, operation, **fields):
        self.calls.append(operation)
        self.bodies.append(dict(fields, operation=operation))
        script = self.answers[operation]
        if isinstance(script, list):
            answer = script.pop(0) if len(script) > 1 else script[0]
        else:
            answer = script
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_state(peers=(), sockets=None):
    """node1 with the given stored peer records; every peer connected unless sockets says otherwise."""
    sockets = sockets or {}
    records = [{"name": "node1", "url": "wss://10.0.0.1:9933", "subscriptions": None}]
    connections = []
    for peer in peers:
        records.append(dict(peer, ca="CERT", ca_info={"serialNumber": "1"}, __updatedtime__=1))
        connections.append(dict(peer, database_sockets=sockets.get(
            peer["name"], [{"database": "data", "connected": True, "lastReceivedStatus": "Waiting"}])))
    status = {"type": "cluster-status", "node_name": "node1", "url": "wss://10.0.0.1:9933",
              "is_enabled": True, "connections": connections}
    return ClusterState(status, records)


NODE2 = {"name": "node2", "url": "wss://10.0.0.2:9933", "subscriptions": None, "shard": None,
         "revoked_certificates": None, "replicates": True}
