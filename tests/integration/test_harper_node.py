"""harper_node against real Harper nodes in prod mode (HTTPS, credentials required).

The tests run in file order as one story on one 4-node test bed: check mode,
join, rerun, update, diff, removal, bad input, secrets. node4 is never joined
before the bad-input tests, so its credentials are still checked by Harper.
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


def test_check_mode_on_an_absent_peer_changes_nothing(n):
    before = read_records(n[0])
    run = run_module("harper_node", node_task(n[0], n[1]), check=True, diff=True)
    assert not run.failed, run.get("msg")
    assert run.changed
    assert run.writes() == []
    assert run["diff"]["before"] == {}
    assert run["diff"]["after"]["url"] == n[1].replication_url
    assert read_records(n[0]) == before
    assert n[1].name not in read_records(n[0])


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


def test_rerun_changes_nothing_and_sends_no_write(n):
    before = [read_records(node, timestamps=True) for node in n[:3]]
    for node, peer in ((n[0], n[1]), (n[1], n[2])):
        run = run_module("harper_node", node_task(node, peer))
        assert not run.failed, run.get("msg")
        assert not run.changed
        assert run.writes() == []
    assert [read_records(node, timestamps=True) for node in n[:3]] == before


def test_update_of_subscriptions_shard_and_revoked_certificates(n):
    wanted = dict(shard=1, revoked_certificates=["AB12CD34"],
                  subscriptions=[{"database": "data", "table": "dog", "subscribe": True, "publish": False}])
    before = read_records(n[0])
    check = run_module("harper_node", node_task(n[0], n[2], **wanted), check=True, diff=True)
    assert check.changed and check.writes() == []
    assert read_records(n[0]) == before

    run = run_module("harper_node", node_task(n[0], n[2], **wanted), diff=True)
    assert not run.failed, run.get("msg")
    assert run.changed
    assert [op["operation"] for op in run.writes()] == ["update_node"]
    diff = run["diff"]
    assert (diff["before"]["shard"], diff["after"]["shard"]) == (None, 1)
    assert diff["before"]["subscriptions"] is None
    assert diff["after"]["subscriptions"] == wanted["subscriptions"]
    assert diff["after"]["revoked_certificates"] == ["AB12CD34"]
    stored = read_records(n[0])[n[2].name]
    assert stored["shard"] == 1
    assert stored["revoked_certificates"] == ["AB12CD34"]
    assert stored["subscriptions"] == wanted["subscriptions"]
    assert stored["url"] == n[2].replication_url

    again = run_module("harper_node", node_task(n[0], n[2], **wanted))
    assert not again.changed and again.writes() == []

    # Harper merges: a second certificate is added to the first, and the diff says so.
    more = run_module("harper_node", node_task(n[0], n[2], revoked_certificates=["EF56"]), diff=True)
    assert more.changed
    assert more["diff"]["after"]["revoked_certificates"] == ["AB12CD34", "EF56"]
    assert read_records(n[0])[n[2].name]["revoked_certificates"] == ["AB12CD34", "EF56"]
    assert read_records(n[0])[n[2].name]["subscriptions"] == wanted["subscriptions"]


def test_removal_leaves_every_member_and_is_idempotent(n):
    args = node_task(n[0], n[2], state="absent")
    check = run_module("harper_node", args, check=True, diff=True)
    assert check.changed and check.writes() == []
    assert check["diff"]["after"] == {}
    assert n[2].name in read_records(n[0])

    run = run_module("harper_node", args)
    assert not run.failed, run.get("msg")
    # node3's record has subscriptions (the update above): they are cleared first, or Harper's
    # remove_node has node3 delete node1's record, which replicates and drops node1 from the mesh.
    clear = {"operation": "update", "database": "system", "table": "hdb_nodes",
             "records": [{"name": n[2].name, "subscriptions": None}]}
    remove = {"operation": "remove_node", "hostname": n[2].name}
    assert run.writes() == [clear, remove]
    assert n[2].name not in _peer_names(n[0])
    assert n[0].name in _peer_names(n[1]), "node2 lost node1: the removal broke the mesh"
    # Harper passes a removal on to the other members, but not always: the same task on the
    # other member makes sure, and writes only if that member still has the peer.
    other = run_module("harper_node", node_task(n[1], n[2], state="absent"))
    assert not other.failed, other.get("msg")
    assert other.writes() in ([], [remove], [clear, remove])
    assert n[2].name not in _peer_names(n[1])

    for node in n[:2]:
        again = run_module("harper_node", node_task(node, n[2], state="absent"))
        assert not again.failed and not again.changed and again.writes() == []


def _peer_names(node):
    return [c["name"] for c in node.call({"operation": "cluster_status"})["connections"]]


def peer_records(node):
    """The node's records of its peers. Its own record is left out: every add_node, even one
    that fails, rewrites it (Harper resets its subscriptions to null)."""
    records = read_records(node)
    records.pop(node.name)
    return records


def test_wrong_peer_credentials_fail_and_leave_no_record(n):
    before = peer_records(n[0])
    args = node_task(n[0], n[3])
    args["authorization"] = {"username": "admin", "password": "not-the-password"}
    run = run_module("harper_node", args)
    assert run.failed
    assert run["msg"].startswith("add_node on %s failed" % n[0].api_url)
    assert "Unauthorized" in run["msg"]
    assert "The peer refused the credentials: give authorization as a super_user of the peer." in run["msg"]
    assert run["msg"].endswith("a rerun will try add_node again.")
    assert "not-the-password" not in run.output
    assert peer_records(n[0]) == before


def test_unreachable_peer_url_fails_and_leaves_no_record(n):
    before = peer_records(n[0])
    args = node_task(n[0], n[3])
    args["url"] = "wss://%s:9939" % n[3].ip
    del args["hostname"]
    run = run_module("harper_node", args)
    assert run.failed
    assert "add_node on %s failed" % n[0].api_url in run["msg"]
    assert "ECONNREFUSED" in run["msg"]
    assert "The node cannot reach the peer: check url" in run["msg"]
    assert peer_records(n[0]) == before


@pytest.mark.parametrize("extra, message", [
    ({"subscriptions": [{"database": "data", "table": "dog", "subscribe": True, "publish": True,
                         "replicate": True}]},
     "harper_node: subscriptions[0]: unknown field 'replicate' (allowed: database, schema, table, "
     "subscribe, publish)."),
    ({"hostname": None, "url": None}, "one of the following is required: hostname, url"),
    ({"hostname": None, "url": "https://127.0.0.9:9925"}, "is not a replication url"),
])
def test_bad_input_fails_before_any_request(n, extra, message):
    before = read_records(n[0])
    args = node_task(n[0], n[3])
    args.update(extra)
    args = dict((k, v) for k, v in args.items() if v is not None)
    run = run_module("harper_node", args)
    assert run.failed
    assert message in run["msg"]
    assert run.get("operations", []) == []
    assert read_records(n[0]) == before


def test_removing_the_node_itself_is_refused(n):
    before = read_records(n[0])
    run = run_module("harper_node", dict(connection_args(n[0]), hostname=n[0].name, state="absent"))
    assert run.failed
    assert run["msg"] == ("harper_node: %s is the node api_url points at; removing it makes that node "
                          "leave its cluster. Set allow_self_removal: true if that is what you want."
                          % n[0].name)
    assert read_records(n[0]) == before


def test_passwords_never_appear_in_verbose_output(n):
    args = node_task(n[0], n[2])
    run = run_module("harper_node", args, diff=True, verbosity=3)
    assert not run.failed, run.get("msg")
    assert run.changed
    assert n[0].password not in run.output
    assert "********" in run.output
    # The module waited for node3's sockets; node2's may still be settling after node3 came
    # back, which is not what this test is about.
    assert peer_connected(n[0], n[2].name)


def test_join_without_waiting_and_retained_credentials_stay_hidden(n):
    args = node_task(n[0], n[3], wait=False, retain_authorization=True)
    run = run_module("harper_node", args, diff=True, verbosity=3)
    assert not run.failed, run.get("msg")
    assert run.changed
    assert [op["operation"] for op in run.writes()] == ["add_node"]
    assert run.writes()[0]["authorization"] == "********"
    assert n[3].password not in run.output
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
