# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""harper_cluster_facts' replication lag on two real prod-mode nodes (docs/replication-lag.md).

An idle mesh is caught up (a play asserts it); right after an insert of 50,000 records through
node1 returns, a wait with a tiny timeout fails naming the lagging socket, and a wait with a long
one returns only once node2 holds all 50,000 records. The insert and its replication take about a
minute on a 2-core machine, so this is a reliability test (tests/run-reliability.sh).
"""

import json
import time

import pytest

from ansible_run import run_module, run_playbook
from harper_state import connection_args, ensure_table, peer_args, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.testbed(2, mode="prod")]

RECORDS = 50000
TABLE = "lag"


def all_connected(node):
    connections = node.call({"operation": "cluster_status"})["connections"]
    return len(connections) == 1 and all(
        s.get("connected") for c in connections for s in c.get("database_sockets") or [{}])


@pytest.fixture(scope="module")
def mesh(n):
    join = run_module("harper_node", dict(connection_args(n[0]), restart_stalled=True, **peer_args(n[1])))
    assert not join.failed, join.get("msg")
    for node in n:
        # harper_node waits on the node it talks to; the peer's side of a socket can stay stuck in
        # Harper's join race, which a restart of its worker threads mends.
        try:
            wait_until(lambda node=node: all_connected(node), 30, "%s to connect" % node.name)
        except AssertionError:
            node.call({"operation": "restart_service", "service": "http"})
            wait_until(lambda node=node: all_connected(node), 60, "%s to connect after a restart" % node.name)
    ensure_table(n[0], TABLE)

    def table_on_node2():
        return n[1].call({"operation": "describe_table", "database": "data", "table": TABLE}).get("name") == TABLE

    wait_until(table_on_node2, 60, "table %s to reach node2" % TABLE)
    return n


def facts(node, **extra):
    return run_module("harper_cluster_facts", dict(connection_args(node), **extra))


def count(node):
    return node.call({"operation": "sql", "sql": "SELECT COUNT(*) AS c FROM data.%s" % TABLE},
                     timeout=300)[0]["c"]


def test_a_play_asserts_an_idle_mesh_is_caught_up(mesh, tmp_path):
    tasks = []
    for node in mesh:
        read = dict(connection_args(node), wait=True, wait_timeout=120)
        tasks.append({"name": "read %s" % node.name, "harperdb.cluster.harper_cluster_facts": read})
        tasks.append({"name": "%s is caught up" % node.name, "ansible.builtin.assert": {"that": [
            "ansible_facts.harper_cluster.replication.caught_up",
            "ansible_facts.harper_cluster.replication.lagging == []",
            "ansible_facts.harper_cluster.replication.max_lag_seconds == 0",
            "ansible_facts.harper_cluster.all_connected"]}})
    # Idle, the fact stays caught up read after read, without a wait.
    for node in mesh:
        tasks.append({"name": "read %s again" % node.name,
                      "harperdb.cluster.harper_cluster_facts": connection_args(node)})
        tasks.append({"name": "%s is still caught up" % node.name, "ansible.builtin.assert": {
            "that": "ansible_facts.harper_cluster.replication.caught_up"}})
    playbook = tmp_path / "idle.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    done = run_playbook(playbook)
    assert done.returncode == 0, done.stdout[-3000:]


def test_wait_lasts_until_a_bulk_insert_has_reached_the_peer(mesh):
    node1, node2 = mesh
    assert count(node2) == 0
    records = [{"id": i, "payload": "x" * 200} for i in range(RECORDS)]
    started = time.monotonic()
    node1.call({"operation": "insert", "database": "data", "table": TABLE, "records": records}, timeout=600)
    inserted = time.monotonic() - started

    # Still replicating: a wait of one second fails, naming node1, the peer and why.
    short = facts(node1, wait=True, wait_timeout=1)
    assert short.failed, short["ansible_facts"]["harper_cluster"]["replication"]
    assert short["msg"].startswith("Timed out after 1 s waiting for replication on node %s (%s) to catch up. "
                                   "Not caught up: %s/data (" % (node1.name, node1.api_url, node2.name)), short["msg"]
    assert any(reason in short["msg"] for reason in (
        "sending entries from", "the peer has not confirmed this node's write of", "waiting for the peer to confirm")), (
        short["msg"])
    replication = short["ansible_facts"]["harper_cluster"]["replication"]
    assert replication["caught_up"] is False
    assert [(e["peer"], e["database"]) for e in replication["lagging"]] == [(node2.name, "data")]

    begun = time.monotonic()
    waited = facts(node1, wait=True, wait_timeout=600)
    waited_seconds = time.monotonic() - begun
    assert not waited.failed, waited.get("msg")
    assert waited["ansible_facts"]["harper_cluster"]["replication"]["caught_up"] is True
    # Once the wait returns, every record is on the other node.
    present = node2.call({"operation": "search_by_id", "database": "data", "table": TABLE,
                          "ids": [RECORDS - 1], "get_attributes": ["id"]}, timeout=300)
    assert present, "the wait returned before the last record reached %s" % node2.name
    assert count(node2) == RECORDS
    print("insert of %d records: %.1f s; wait on %s after it: %.1f s"
          % (RECORDS, inserted, node1.name, waited_seconds))
