"""harper_cluster against real Harper nodes in prod mode.

The tests run in file order as one story on one 4-node test bed: node1
starts empty and declares node2, node3 and node4 as its peers, then changes
one entry's subscriptions, then drops node4 with purge. Every step is run in
check mode first, which must leave the server as it was.
"""

import pytest

from ansible_run import run_module
from harper_state import (
    check_writes_nothing,
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


def test_check_mode_on_an_empty_node_shows_the_plan(n):
    run = check_writes_nothing("harper_cluster", n[:1], cluster_task(n[0], [peer_args(p) for p in n[1:]]))
    assert [(p["peer"], p["action"]) for p in run["plan"]] == [(p.name, "add") for p in n[1:]]
    assert run["diff"]["before"] == {}
    assert sorted(run["diff"]["after"]) == [p.name for p in n[1:]]
    assert set(read_records(n[0])) <= {n[0].name}  # no peer: a fresh node may have no record at all


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


def test_rerun_changes_nothing_and_sends_no_write(n):
    run = run_ok(cluster_task(n[0], [peer_args(p) for p in n[1:]]))
    assert not run.changed
    assert run.writes() == []
    assert [p["action"] for p in run["plan"]] == ["none"] * 3


def entries_with_subscriptions(peers):
    """Entries for peers, node3's limited to data.dog (both ways)."""
    entries = [peer_args(p) for p in peers]
    entries[1]["subscriptions"] = [DOG_BOTH_WAYS]
    return entries


def test_change_of_one_entrys_subscriptions_updates_only_that_peer(n):
    entries = entries_with_subscriptions(n[1:])
    check = check_writes_nothing("harper_cluster", n[:1], cluster_task(n[0], entries))
    assert [p["action"] for p in check["plan"]] == ["none", "update", "none"]
    assert check["diff"]["after"][n[2].name]["subscriptions"] == [DOG_BOTH_WAYS]
    run = run_ok(cluster_task(n[0], entries))
    assert [op["operation"] for op in run.writes()] == ["update_node"]
    assert run.writes()[0]["hostname"] == n[2].name
    assert read_records(n[0])[n[2].name]["subscriptions"] == [DOG_BOTH_WAYS]
    rerun = run_ok(cluster_task(n[0], entries))
    assert not rerun.changed and rerun.writes() == []


def test_purge_removes_the_peer_dropped_from_the_list(n):
    entries = entries_with_subscriptions(n[1:3])
    check = check_writes_nothing("harper_cluster", n[:1], cluster_task(n[0], entries, purge=True))
    assert [(p["peer"], p["action"]) for p in check["plan"]] == [
        (n[1].name, "none"), (n[2].name, "none"), (n[3].name, "remove")]
    assert check["diff"]["before"][n[3].name]["name"] == n[3].name
    assert n[3].name not in check["diff"]["after"]
    run = run_ok(cluster_task(n[0], entries, purge=True))
    assert [op["operation"] for op in run.writes()] == ["remove_node"]
    assert n[3].name not in read_records(n[0])
    assert peers_of(n[0]) == [n[1].name, n[2].name]
    # Harper passes the removal on: node4 leaves the other members too.
    for member in n[1:3]:
        wait_until(lambda member=member: peers_of(member) == sorted(o.name for o in n[:3] if o is not member),
                   30, "%s to drop node4 and keep the others" % member.name)
    replicate_and_read_back(n[0], [n[1]])
    replicate_and_read_back(n[0], [n[2]], table="dog")
    rerun = run_ok(cluster_task(n[0], entries, purge=True))
    assert not rerun.changed and rerun.writes() == []


@pytest.mark.parametrize("mangle, message", [
    (lambda entries: entries + [dict(entries[0])],
     "connections[2]: names the same peer as connections[0] (hostname node2); list each peer once."),
    (lambda entries: entries + [dict(entries[0], hostname=None)],
     "connections[2]: names the same peer as connections[0] (url wss://"),
    (lambda entries: entries + [{"verify_tls": False}],
     "connections[2]: name neither hostname nor url"),
    (lambda entries: entries[:1] + [dict(entries[1], url="https://127.0.4.9:9925")],
     "connections[1]: url 'https://127.0.4.9:9925' is not a replication url"),
])
def test_bad_input_fails_before_any_request(n, mangle, message):
    before = read_records(n[0])
    entries = mangle([peer_args(p) for p in n[1:3]])
    # A wrong password proves that no request was sent: one would fail with HTTP 401.
    args = dict(cluster_task(n[0], entries), password="not-the-password")
    run = run_module("harper_cluster", args)
    assert run.failed
    assert message in run["msg"]
    assert run.get("operations", []) == []
    assert read_records(n[0]) == before


def test_an_entry_naming_the_node_itself_is_refused(n):
    entries = [peer_args(p) for p in n[:3]]
    run = run_module("harper_cluster", cluster_task(n[0], entries))
    assert run.failed
    assert run["msg"] == ("connections[0]: %s is the node api_url points at; a node cannot be its own "
                          "peer." % n[0].name)
    assert run.get("operations", []) == []
