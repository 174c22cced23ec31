"""harper_node against real Harper nodes in prod mode (HTTPS, credentials required).

The module's contract (check mode, join, rerun unchanged, update with diff, removal, wrong input)
lives in the ansible-test target tests/integration/targets/harper_node. Here is what YAML does not
express well: records replicated through a mesh that Harper spreads by itself, -vvv output scanned
for passwords, a node removing itself, and a wait that times out. The tests run in file order as
one story on one 4-node test bed.
"""

import pytest

from ansible_run import run_module
from harper_state import (
    connection_args,
    join_writes,
    peer_connected,
    peer_args,
    read_records,
    replicate_and_read_back,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.testbed(4, mode="prod")]


def node_task(node, peer, **extra):
    args = connection_args(node)
    args.update(peer_args(peer))
    args.update(extra)
    return args


def test_three_nodes_join_into_a_mesh_that_replicates(n):
    # restart_stalled, as the role sets it: a join can leave a socket stuck in Harper.
    first = run_module("harper_node", node_task(n[0], n[1], restart_stalled=True))
    assert not first.failed, first.get("msg")
    assert first.changed
    assert join_writes(first) == ["add_node"]
    assert first["node"]["name"] == n[1].name
    # harper_node waits for the node it talks to; before the next join, wait until both sides
    # see each other, as the role does: joins made while sockets still settle race in Harper.
    for node in n[:2]:
        wait_until(lambda node=node: _all_connected(node, 1), 60, "%s to see 1 connected peer" % node.name)
    second = run_module("harper_node", node_task(n[1], n[2], restart_stalled=True))
    assert not second.failed, second.get("msg")
    assert join_writes(second) == ["add_node"]
    # Harper spreads membership: node1 connects to node3 by itself.
    for node in n[:3]:
        wait_until(lambda node=node: _all_connected(node, 2), 60, "%s to see 2 connected peers" % node.name)
    replicate_and_read_back(n[0], n[1:3], table="dog")


def _all_connected(node, count):
    connections = node.call({"operation": "cluster_status"})["connections"]
    return len(connections) == count and all(
        s.get("connected") for c in connections for s in c.get("database_sockets") or [None] if s)


def _peer_names(node):
    return [c["name"] for c in node.call({"operation": "cluster_status"})["connections"]]


def test_join_without_waiting_and_retained_credentials_stay_hidden(n):
    args = node_task(n[0], n[3], wait=False, retain_authorization=True)
    run = run_module("harper_node", args, diff=True, verbosity=3)
    assert not run.failed, run.get("msg")
    assert run.changed
    assert [op["operation"] for op in run.writes()] == ["add_node"]
    assert run.writes()[0]["authorization"] == "********"
    assert n[0].password not in run.output and n[3].password not in run.output
    assert "********" in run.output
    # Harper keeps the credentials on the record; neither harper_node nor the facts show them.
    assert "authorization" in read_records(n[0])[n[3].name]
    wait_until(lambda: peer_connected(n[0], n[3].name), 60, "node1 to connect to node4")
    # Harper #2205 reports that a dict authorization with retain_authorization sends the header
    # "[object Object]" and leaves the pair half-connected: both directions must connect.
    wait_until(lambda: peer_connected(n[3], n[0].name), 60, "node4 to connect to node1")
    again = run_module("harper_node", args, verbosity=3)
    assert not again.changed and again.writes() == []
    facts = run_module("harper_cluster_facts", connection_args(n[0]), verbosity=3)
    assert n[3].name in [p["name"] for p in facts["ansible_facts"]["harper_cluster"]["peers"]]
    assert n[3].password not in again.output + facts.output


def test_a_node_can_remove_itself_when_allowed(n):
    args = dict(connection_args(n[3]), hostname=n[3].name, state="absent", allow_self_removal=True)
    run = run_module("harper_node", args)
    assert not run.failed, run.get("msg")
    assert run.writes() == [{"operation": "remove_node", "hostname": n[3].name}]
    wait_until(lambda: n[3].name not in _peer_names(n[0]), 60, "node1 to drop node4")


def test_wait_timeout_reports_the_last_socket_status(n):
    run = run_module("harper_node", node_task(n[1], n[3], wait_timeout=0))
    assert run.failed
    assert run["msg"].startswith("Timed out after 0 s waiting for every database socket to %s to connect. "
                                 "Last cluster_status of %s: " % (n[3].name, n[1].api_url))
    assert n[3].name + ": " in run["msg"]
    assert run.writes("add_node")
