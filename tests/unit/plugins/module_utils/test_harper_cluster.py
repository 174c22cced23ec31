# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""harper_cluster's logic: the entries read, the plan of a whole node, and run() in-process
against fake nodes (tests/lib/fake_harper.py), the path where one change fails included."""

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils._harper_cluster import (
    parse_connections,
    plan_cluster,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._peers import PeerInputError
from ansible_collections.harperdb.cluster.plugins.modules import harper_cluster

from fake_harper import NODE2, PASSWORD, USERNAME, FakeWorld, make_state, run  # tests/lib

LOGIN = {"username": USERNAME, "password": PASSWORD, "api_url": "http://n1:9925"}
NODE3 = dict(NODE2, name="node3", url="wss://10.0.0.3:9933")


def test_parse_connections_reads_every_entry_in_order():
    specs = parse_connections([{"hostname": "node2"}, {"url": "wss://10.0.0.3:9933", "shard": 1}])
    assert [(s.label, s.hostname, s.url) for s in specs] == [
        ("connections[0]", "node2", None), ("connections[1]", None, "wss://10.0.0.3:9933")]
    assert parse_connections(None) == [] and parse_connections([]) == []


def test_parse_connections_names_every_bad_entry_and_every_repeated_peer():
    with pytest.raises(PeerInputError) as info:
        parse_connections([
            {"hostname": "node2", "url": "wss://10.0.0.2:9933"},
            {},
            {"hostname": "node3", "url": "WSS://10.0.0.2:9933/"},
            {"hostname": "node2"},
        ])
    message = str(info.value)
    assert "connections[1]:" in message
    assert ("connections[2]: names the same peer as connections[0] (url wss://10.0.0.2:9933); list each "
            "peer once") in message
    assert "connections[3]: names the same peer as connections[0] (hostname node2)" in message


def test_plan_cluster_plans_entries_in_order_and_nothing_for_what_is_there():
    state = make_state([NODE2])
    changes = plan_cluster(state, parse_connections([{"hostname": "node3", "url": "wss://10.0.0.3:9933"},
                                                     {"hostname": "node2"}]), purge=False)
    assert [(c.name, c.action) for c in changes] == [("node3", "add"), ("node2", None)]


def test_plan_cluster_with_purge_removes_every_peer_not_listed_and_never_the_node():
    state = make_state([NODE2, NODE3])
    changes = plan_cluster(state, parse_connections([{"hostname": "node2"}]), purge=True)
    assert [(c.name, c.action, c.spec.label) for c in changes] == [
        ("node2", None, "connections[0]"), ("node3", "remove", "purge")]
    changes = plan_cluster(state, [], purge=True)
    assert [(c.name, c.action) for c in changes] == [("node2", "remove"), ("node3", "remove")]
    assert plan_cluster(state, [], purge=False) == []


def test_plan_cluster_refuses_two_entries_that_find_the_same_record():
    # Different hostname and url, but the url is the stored url of node2.
    state = make_state([NODE2])
    with pytest.raises(PeerInputError) as info:
        plan_cluster(state, parse_connections([{"hostname": "node2"}, {"url": "wss://10.0.0.2:9933"}]), False)
    assert str(info.value) == ("connections[1]: names the same peer as connections[0] (node2); list each "
                               "peer once.")


def test_run_joins_in_check_mode_applies_then_plans_nothing():
    world = FakeWorld()
    args = dict(LOGIN, connections=[{"hostname": "n2"}, {"hostname": "n3"}], _ansible_diff=True)
    outcome, result, dummy_text = run(harper_cluster, args, world, check_mode=True)
    assert outcome == "exit" and result["changed"] is True
    assert [(p["peer"], p["action"]) for p in result["plan"]] == [("n2", "add"), ("n3", "add")]
    assert world.writes == [] and result["operations"] == []
    assert sorted(result["diff"]["after"]) == ["n2", "n3"] and result["diff"]["before"] == {}

    outcome, result, dummy_text = run(harper_cluster, args, world)
    assert outcome == "exit" and result["changed"] is True
    assert [p["status"] for p in result["plan"]] == ["done", "done"]
    assert [w["operation"] for w in world.writes] == ["add_node", "add_node"]
    assert [o["operation"] for o in result["operations"]] == ["add_node", "add_node"]
    assert sorted(p["name"] for p in result["peers"]) == ["n2", "n3"]

    outcome, result, dummy_text = run(harper_cluster, args, world)
    assert outcome == "exit" and result["changed"] is False and result["operations"] == []


def test_run_goes_on_after_a_failed_change_then_fails_naming_it_and_a_rerun_retries_only_it():
    world = FakeWorld()
    args = dict(LOGIN, connections=[{"hostname": "n9", "url": "wss://n9:9933"}, {"hostname": "n2"}])
    outcome, result, text = run(harper_cluster, args, world)
    assert outcome == "fail"
    assert result["msg"].startswith("1 of 2 changes failed (a rerun retries them): n9 (connections[0]): ")
    assert "ECONNREFUSED" in result["msg"]
    failed, done = result["plan"]
    assert (failed["peer"], failed["status"]) == ("n9", "failed") and "ECONNREFUSED" in failed["error"]
    assert (done["peer"], done["status"]) == ("n2", "done")
    # The record Harper wrote for the failed add was removed, so the rerun adds it again.
    assert [w["operation"] for w in world.writes] == ["add_node", "remove_node", "add_node"]
    assert [o["operation"] for o in result["operations"]] == ["add_node", "remove_node", "add_node"]
    assert [p["name"] for p in result["peers"]] == ["n2"]
    assert PASSWORD not in text

    del world.requests[:]
    outcome, result, dummy_text = run(harper_cluster, args, world)
    assert outcome == "fail" and result["msg"].startswith("1 of 1 changes failed")
    assert [(p["peer"], p.get("status")) for p in result["plan"]] == [("n9", "failed"), ("n2", None)]


def test_run_refuses_a_shard_or_revoked_certificates_on_harper_4_4_before_any_write():
    world = FakeWorld(version="4.4.18")
    args = dict(LOGIN, connections=[{"hostname": "n2", "revoked_certificates": ["AB"]}, {"hostname": "n3", "shard": 2}])
    outcome, result, dummy_text = run(harper_cluster, args, world)
    assert outcome == "fail"
    assert result["msg"] == ("harper_cluster (connections[0], connections[1]): Harper 4.4.18 at http://n1:9925 stores "
                             "no revoked_certificates and no shard (it answers 200 and drops them). Leave "
                             "revoked_certificates and shard out for this node, or upgrade it to Harper 4.7.0 or "
                             "later.")
    assert world.writes == [] and result["operations"] == []
