"""harper_cluster against real Harper nodes in prod mode: what YAML cannot express well.

The module's contract (check mode, apply, rerun unchanged, diff, purge and its rerun, bad input)
lives in the ansible-test target tests/integration/targets/harper_cluster. Here, in file order on
one 4-node test bed: node1 declares three peers at once and they form a mesh that replicates
records; then node4 is purged, Harper passes the removal on to every member, and records still
replicate, over an entry limited to one table too.
"""

import pytest

from ansible_run import run_module
from harper_state import (
    connection_args,
    join_writes,
    peer_args,
    read_records,
    replicate_and_read_back,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.testbed(4, mode="prod")]

DOG_BOTH_WAYS = {"database": "data", "table": "dog", "subscribe": True, "publish": True}


def cluster_task(node, entries, **extra):
    return dict(connection_args(node), connections=entries, **extra)


def run_ok(args, **flags):
    run = run_module("harper_cluster", args, **flags)
    assert not run.failed, run.get("msg")
    return run


def peers_of(node):
    return sorted(c["name"] for c in node.call({"operation": "cluster_status"}).get("connections", []))


def all_connected(node, names):
    status = node.call({"operation": "cluster_status"})
    connected = dict((c["name"], bool(c.get("database_sockets")) and
                      all(s.get("connected") for s in c["database_sockets"]))
                     for c in status.get("connections", []))
    return all(connected.get(name) for name in names)


def test_three_peers_declared_on_an_empty_node_form_a_mesh_that_replicates(n):
    # restart_stalled, as the role sets it: a join can leave a socket stuck in Harper.
    run = run_ok(cluster_task(n[0], [peer_args(p) for p in n[1:]], restart_stalled=True))
    assert run.changed
    assert join_writes(run) == ["add_node"] * 3
    assert all(op["authorization"] == "********" for op in run.writes("add_node"))
    assert [p["status"] for p in run["plan"]] == ["done"] * 3
    assert sorted(p["name"] for p in run["peers"]) == [p.name for p in n[1:]]
    assert all(p["connected"] for p in run["peers"])
    # Harper spreads membership: the peers connect to each other by themselves.
    for node in n:
        others = [o.name for o in n if o is not node]
        wait_until(lambda node=node, others=others: all_connected(node, others), 60,
                   "%s to connect to every other node" % node.name)
    replicate_and_read_back(n[0], n[1:])
    replicate_and_read_back(n[3], n[:3])


def test_purge_removes_the_dropped_peer_from_every_member_and_records_still_replicate(n):
    # node3's entry is limited to data.dog in the same run: one update and one removal.
    entries = [peer_args(p) for p in n[1:3]]
    entries[1]["subscriptions"] = [DOG_BOTH_WAYS]
    run = run_ok(cluster_task(n[0], entries, purge=True))
    assert [(op["operation"], op["hostname"]) for op in run.writes()] == [
        ("update_node", n[2].name), ("remove_node", n[3].name)]
    records = read_records(n[0])
    assert n[3].name not in records
    assert records[n[2].name]["subscriptions"] == [DOG_BOTH_WAYS]
    assert peers_of(n[0]) == [n[1].name, n[2].name]
    # Harper passes the removal on: node4 leaves the other members too.
    for member in n[1:3]:
        wait_until(lambda member=member: peers_of(member) == sorted(o.name for o in n[:3] if o is not member),
                   30, "%s to drop node4 and keep the others" % member.name)
    replicate_and_read_back(n[0], [n[1]])
    replicate_and_read_back(n[0], [n[2]], table="dog")
