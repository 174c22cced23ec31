# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""harper_cluster_facts: what it reads, what it makes of it, and what it says when the account may\nnot read it; and its run() in-process against fake nodes."""

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils._client import AuthorizationError, HarperError
from ansible_collections.harperdb.cluster.plugins.module_utils._harper_cluster_facts import cluster_facts, read_facts

from ansible_collections.harperdb.cluster.plugins.modules import harper_cluster_facts

from fake_harper import NODE2, PASSWORD, USERNAME, FakeWorld, ScriptedClient, make_state, run  # tests/lib

URL = "https://node1.example.com:9925"
PEER = {"name": "node2", "url": "wss://node2:9933", "authorization": {"username": "admin", "password": "pw"},
        "database_sockets": [{"database": "data", "connected": True}]}
STATUS = {"type": "cluster-status", "node_name": "node1", "url": "wss://node1:9933", "is_enabled": True,
          "connections": [PEER]}
RECORDS = [{"name": "node1", "url": "wss://node1:9933", "shard": 2},
           {"name": "node2", "url": "wss://node2:9933", "authorization": "Basic YWRtaW46cHc="}]
CONFIG = {"replication": {"url": "wss://node1:9933", "routes": ["wss://node3:9933"]}}


def refused(operation, item):
    return AuthorizationError("%s on %s failed: Harper refused it to user 'monitor' (HTTP 403)." % (operation, URL),
                              403, account="monitor", denied=[item])


def scripted(answers, username="monitor"):
    """A client answering from answers (tests/lib/fake_harper.py), as the account username."""
    return ScriptedClient(answers, api_url=URL, username=username)


def test_a_super_user_reads_everything_and_no_user_info_is_asked():
    client = scripted({"cluster_status": STATUS, "search_by_value": [RECORDS], "get_configuration": CONFIG},
                      username="admin")
    facts, refusals = read_facts(client)
    assert refusals == []
    assert facts["access"] == {"account": "admin", "role": None, "super_user": True, "denied": [],
                               "can_read": {"cluster_status": True, "hdb_nodes": True, "configuration": True}}
    assert facts["node_name"] == "node1" and facts["shard"] == 2 and facts["all_connected"] is True
    assert facts["routes"] == ["wss://node3:9933"]
    assert "authorization" not in facts["peers"][0]
    assert "user_info" not in client.calls


def test_an_account_that_is_no_super_user_gets_what_it_may_read_and_why_not_the_rest():
    client = scripted({
        "cluster_status": refused("cluster_status", "Operation 'clusterStatus' is restricted to 'super_user' roles"),
        "search_by_value": refused("search_by_value", "read of system.hdb_nodes"),
        "get_configuration": refused("get_configuration",
                                     "Operation 'getConfiguration' is restricted to 'super_user' roles"),
        "user_info": {"active": True, "username": "monitor",
                      "role": {"role": "monitoring", "permission": {"super_user": False}}},
    })
    facts, refusals = read_facts(client)
    assert len(refusals) == 3 and refusals[0].startswith("cluster_status on %s failed" % URL)
    assert facts["access"] == {
        "account": "monitor", "role": "monitoring", "super_user": False,
        "can_read": {"cluster_status": False, "hdb_nodes": False, "configuration": False},
        "denied": ["cluster_status: Operation 'clusterStatus' is restricted to 'super_user' roles",
                   "hdb_nodes: read of system.hdb_nodes",
                   "configuration: Operation 'getConfiguration' is restricted to 'super_user' roles"]}
    # Nothing that reads as healthy when it was not read.
    assert facts["all_connected"] is None and facts["peer_count"] is None and facts["node_name"] is None
    assert facts["peers"] == [] and facts["disconnected"] == [] and facts["routes"] == []


def test_only_the_records_refused_still_gives_the_sockets():
    client = scripted({"cluster_status": STATUS,
                       "search_by_value": refused("search_by_value", "read of system.hdb_nodes"),
                       "get_configuration": CONFIG, "user_info": HarperError("no user_info")})
    facts, refusals = read_facts(client)
    assert len(refusals) == 1
    assert facts["access"]["can_read"] == {"cluster_status": True, "hdb_nodes": False, "configuration": True}
    assert facts["access"]["super_user"] is None  # user_info failed: not known
    assert facts["peer_count"] == 1 and facts["all_connected"] is True
    assert "authorization" not in facts["peers"][0]


def test_other_errors_still_fail():
    client = scripted({"cluster_status": HarperError("cluster_status on %s failed: connection refused." % URL)})
    with pytest.raises(HarperError) as info:
        read_facts(client)
    assert "connection refused" in info.value.message


def test_facts_summarise_connection_health():
    state = make_state([NODE2, dict(NODE2, name="node3", url="wss://10.0.0.3:9933")], sockets={
        "node3": [{"database": "system", "connected": True}, {"database": "data", "connected": False}]})
    facts = cluster_facts(state, {"routes": ["wss://10.0.0.3:9933"], "url": "wss://x:1"})
    assert facts["peer_count"] == 2
    assert facts["all_connected"] is False
    assert facts["disconnected"] == [{"peer": "node3", "database": "data"}]
    assert facts["routes"] == ["wss://10.0.0.3:9933"]
    assert "ca" not in facts["peers"][0]


def test_run_sets_the_fact_from_the_three_reads_and_writes_nothing():
    world = FakeWorld(joined=True, routes=["wss://n2:9933"])
    outcome, result, text = run(harper_cluster_facts, {"username": USERNAME, "password": PASSWORD,
                                                       "api_url": "http://n1:9925"}, world)
    assert outcome == "exit" and result["changed"] is False and result["operations"] == []
    fact = result["ansible_facts"]["harper_cluster"]
    assert (fact["node_name"], fact["peer_count"], fact["all_connected"]) == ("n1", 1, True)
    assert fact["routes"] == ["wss://n2:9933"] and fact["access"]["super_user"] is True
    assert sorted(body["operation"] for dummy_node, body in world.requests) == [
        "cluster_status", "get_configuration", "search_by_value"]
    assert PASSWORD not in text
