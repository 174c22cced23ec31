# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""harper_cluster_facts: what it reads, what it makes of it, and what it says when the account may\nnot read it; and its run() in-process against fake nodes."""

import time
from unittest import mock

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils._client import AuthorizationError, HarperError, WaitTimeout
from ansible_collections.harperdb.cluster.plugins.module_utils._state import newest_writes
from ansible_collections.harperdb.cluster.plugins.module_utils._harper_cluster_facts import (
    cluster_facts,
    read_facts,
    wait_caught_up,
)

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
    """A client answering from answers (tests/lib/fake_harper.py), as the account username; no
    database has records unless answers says otherwise."""
    answers.setdefault("describe_all", {"data": {}})
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


def test_run_sets_the_fact_from_its_reads_and_writes_nothing():
    world = FakeWorld(joined=True, routes=["wss://n2:9933"])
    outcome, result, text = run(harper_cluster_facts, {"username": USERNAME, "password": PASSWORD,
                                                       "api_url": "http://n1:9925"}, world)
    assert outcome == "exit" and result["changed"] is False and result["operations"] == []
    fact = result["ansible_facts"]["harper_cluster"]
    assert (fact["node_name"], fact["peer_count"], fact["all_connected"]) == ("n1", 1, True)
    assert fact["routes"] == ["wss://n2:9933"] and fact["access"]["super_user"] is True
    # describe_all (the newest writes): the fake nodes do not know it, which leaves the fact as it is.
    assert sorted(body["operation"] for dummy_node, body in world.requests) == [
        "cluster_status", "describe_all", "get_configuration", "search_by_value"]
    assert PASSWORD not in text


# Replication lag. Times as Harper writes them (Date.toUTCString(), whole seconds); NOW is the
# controller's clock: 2025-02-12 16:51:00 UTC.
NOW = 1739379060.0


def socket(**fields):
    return dict({"database": "data", "connected": True, "latency": 0.4,
                 "lastReceivedRemoteTime": "Wed, 12 Feb 2025 16:49:29 GMT",
                 "lastReceivedLocalTime": "Wed, 12 Feb 2025 16:49:29 GMT",
                 "backPressurePercent": 0, "lastReceivedStatus": "Waiting"}, **fields)


def lag_facts(*sockets_of_peers):
    """The fact of node1 whose peers node2, node3... have the given database sockets."""
    names = ["node%d" % (i + 2) for i in range(len(sockets_of_peers))]
    peers = [dict(NODE2, name=name, url="wss://%s:9933" % name) for name in names]
    state = make_state(peers, sockets=dict(zip(names, sockets_of_peers)))
    return cluster_facts(state, {}, now=NOW)


def test_an_idle_cluster_is_caught_up_even_hours_after_its_last_write():
    facts = lag_facts([socket(database="system"), socket(lastReceivedRemoteTime="Wed, 12 Feb 2025 09:00:00 GMT",
                                                         lastReceivedLocalTime="Wed, 12 Feb 2025 09:00:01 GMT")],
                      [socket()])
    assert facts["replication"] == {"caught_up": True, "max_lag_seconds": 0.0, "max_backpressure_percent": 0,
                                    "lagging": []}
    assert [(s["database"], s["lag_seconds"], s["caught_up"]) for s in facts["peers"][0]["databases"]] == [
        ("system", 0.0, True), ("data", 0.0, True)]


def test_a_node_still_sending_its_audit_log_is_behind_by_the_age_of_the_entry_it_sends():
    facts = lag_facts([socket(sendingMessage="Wed, 12 Feb 2025 16:50:48 GMT", backPressurePercent=37.5)], [socket()])
    replication = facts["replication"]
    assert replication["caught_up"] is False and replication["max_lag_seconds"] == 12.0
    assert replication["max_backpressure_percent"] == 37.5
    assert replication["lagging"] == [{"peer": "node2", "database": "data", "lag_seconds": 12.0,
                                       "reason": "sending entries from Wed, 12 Feb 2025 16:50:48 GMT"}]
    assert facts["peers"][0]["databases"][0]["caught_up"] is False
    assert facts["peers"][1]["databases"][0]["caught_up"] is True
    assert facts["all_connected"] is True  # connected, yet not caught up


def test_a_node_receiving_a_transaction_lags_by_how_old_it_was_when_it_arrived():
    facts = lag_facts([socket(lastReceivedStatus="Receiving",
                              lastReceivedRemoteTime="Wed, 12 Feb 2025 16:50:50 GMT",
                              lastReceivedLocalTime="Wed, 12 Feb 2025 16:50:53 GMT")])
    assert facts["replication"]["caught_up"] is False
    assert facts["replication"]["lagging"] == [{"peer": "node2", "database": "data", "lag_seconds": 3.0,
                                                "reason": "receiving a transaction"}]


def test_the_first_copy_of_a_database_has_no_known_lag():
    facts = lag_facts([socket(sendingMessage="Copying")])
    assert facts["replication"]["caught_up"] is False and facts["replication"]["max_lag_seconds"] is None
    assert facts["replication"]["lagging"][0]["reason"] == "copying the database to the peer"


def test_a_disconnected_socket_or_a_peer_without_one_is_never_caught_up():
    facts = lag_facts([socket(connected=False, backPressurePercent=90)], [])
    replication = facts["replication"]
    assert replication["caught_up"] is False and facts["all_connected"] is False
    assert replication["max_lag_seconds"] is None and replication["max_backpressure_percent"] is None
    assert replication["lagging"] == [
        {"peer": "node2", "database": "data", "lag_seconds": None, "reason": "disconnected"},
        {"peer": "node3", "database": None, "lag_seconds": None, "reason": "no database socket"}]


def test_harper_4_4_sockets_are_caught_up_when_connected_and_not_catching_up():
    facts = lag_facts([{"database": "data", "connected": True, "thread_id": 3}])
    assert facts["replication"]["caught_up"] is True and facts["replication"]["max_lag_seconds"] is None
    facts = lag_facts([{"database": "data", "connected": True, "catching_up_from": 1739379000000}])
    assert facts["replication"]["lagging"][0]["reason"] == "catching up from 1739379000000"


def test_a_node_with_no_peer_is_caught_up():
    assert lag_facts()["replication"]["caught_up"] is True


def status_with(*sockets):
    return dict(STATUS, connections=[dict(PEER, database_sockets=list(sockets))])


@pytest.fixture
def fake_clock(monkeypatch):
    from fake_harper import FakeClock
    from ansible_collections.harperdb.cluster.plugins.module_utils import _client
    clock = FakeClock()
    monkeypatch.setattr(_client, "time", mock.Mock(monotonic=clock.monotonic, sleep=clock.sleep))
    return clock


def test_wait_reads_until_the_peer_confirmed_what_was_sent_and_returns_the_last_read(fake_clock):
    sending = status_with(socket(sendingMessage="Wed, 12 Feb 2025 16:50:48 GMT"))
    sent_unconfirmed = status_with(socket(lastCommitConfirmed="Wed, 12 Feb 2025 16:40:00 GMT"))
    confirmed = status_with(socket(lastCommitConfirmed="Wed, 12 Feb 2025 16:50:48 GMT"))
    client = scripted({"cluster_status": [sending, sent_unconfirmed, sent_unconfirmed, confirmed],
                       "search_by_value": [RECORDS], "get_configuration": CONFIG}, username="admin")
    facts, refusals = wait_caught_up(client, 60)
    assert facts["replication"]["caught_up"] is True and refusals == []
    assert client.calls.count("cluster_status") == 4


def test_a_single_read_does_not_know_what_was_sent_before_it_without_describe_all():
    client = scripted({"cluster_status": status_with(socket(lastCommitConfirmed="Wed, 12 Feb 2025 16:40:00 GMT")),
                       "search_by_value": [RECORDS], "get_configuration": CONFIG}, username="admin")
    assert read_facts(client)[0]["replication"]["caught_up"] is True


def test_in_a_wait_a_sender_behind_its_peers_confirmation_says_so(fake_clock):
    client = scripted({"cluster_status": [status_with(socket(sendingMessage="Wed, 12 Feb 2025 16:50:48 GMT")),
                                          status_with(socket(lastCommitConfirmed="Wed, 12 Feb 2025 16:40:00 GMT"))],
                       "search_by_value": [RECORDS], "get_configuration": CONFIG}, username="admin")
    with pytest.raises(WaitTimeout) as info:
        wait_caught_up(client, 3)
    assert "node2/data (waiting for the peer to confirm entries up to Wed, 12 Feb 2025 16:50:48 GMT, lag " in (
        info.value.message)


def test_entries_a_node_only_passes_on_need_no_confirmation(fake_clock):
    # Sent within a second of the newest arrival: entries received from another node, which no
    # peer confirms.
    relayed = socket(sendingMessage="Wed, 12 Feb 2025 16:50:49 GMT", lastReceivedLocalTime="Wed, 12 Feb 2025 16:50:48 GMT",
                     lastCommitConfirmed="Wed, 12 Feb 2025 16:40:00 GMT")
    idle = socket(lastReceivedLocalTime="Wed, 12 Feb 2025 16:50:48 GMT", lastCommitConfirmed="Wed, 12 Feb 2025 16:40:00 GMT")
    client = scripted({"cluster_status": [status_with(relayed), status_with(idle)], "search_by_value": [RECORDS],
                       "get_configuration": CONFIG}, username="admin")
    facts, dummy_refusals = wait_caught_up(client, 60)
    assert facts["replication"]["caught_up"] is True
    assert client.calls.count("cluster_status") == 2


def test_a_read_that_fails_while_waiting_counts_as_not_caught_up(fake_clock):
    client = scripted({"cluster_status": [HarperError("cluster_status on %s failed: read timed out." % URL),
                                          status_with(socket())],
                       "search_by_value": [RECORDS], "get_configuration": CONFIG}, username="admin")
    assert wait_caught_up(client, 60)[0]["replication"]["caught_up"] is True
    client = scripted({"cluster_status": HarperError("cluster_status on %s failed: read timed out." % URL)})
    with pytest.raises(WaitTimeout) as info:
        wait_caught_up(client, 2)
    assert info.value.message == ("Timed out after 2 s waiting for replication on %s to catch up. Last read failed: "
                                  "cluster_status on %s failed: read timed out." % (URL, URL))


def test_wait_fails_after_its_timeout_naming_the_node_the_sockets_and_figures(fake_clock):
    client = scripted({"cluster_status": status_with(
        socket(sendingMessage="Wed, 12 Feb 2025 16:50:48 GMT", backPressurePercent=12),
        socket(database="system", connected=False)),
        "search_by_value": [RECORDS], "get_configuration": CONFIG}, username="admin")
    with pytest.raises(WaitTimeout) as info:
        wait_caught_up(client, 5)
    message = info.value.message
    assert message.startswith("Timed out after 5 s waiting for replication on node node1 (%s) to catch up." % URL)
    assert "node2/data (sending entries from Wed, 12 Feb 2025 16:50:48 GMT, lag " in message
    assert "node2/system (disconnected)" in message and "max backpressure 12%" in message
    assert info.value.result["ansible_facts"]["harper_cluster"]["replication"]["caught_up"] is False


def test_wait_cannot_wait_without_cluster_status():
    client = scripted({
        "cluster_status": refused("cluster_status", "Operation 'clusterStatus' is restricted to 'super_user' roles"),
        "search_by_value": [RECORDS], "get_configuration": CONFIG, "user_info": HarperError("no")})
    with pytest.raises(HarperError) as info:
        wait_caught_up(client, 5)
    assert "may not read cluster_status" in info.value.message
    assert info.value.result["ansible_facts"]["harper_cluster"]["replication"]["caught_up"] is None


def test_run_with_wait_fails_with_the_fact_and_without_wait_never_fails_for_lag():
    # The fake nodes always show a transaction being received.
    world = FakeWorld(joined=True)
    args = {"username": USERNAME, "password": PASSWORD, "api_url": "http://n1:9925"}
    outcome, result, text = run(harper_cluster_facts, args, world)
    assert outcome == "exit" and result["ansible_facts"]["harper_cluster"]["replication"]["caught_up"] is False
    outcome, result, text = run(harper_cluster_facts, dict(args, wait=True, wait_timeout=3), world)
    assert outcome == "fail" and result["operations"] == []
    assert result["msg"].startswith("Timed out after 3 s waiting for replication on node n1 (http://n1:9925)")
    assert "n2/data (receiving a transaction)" in result["msg"]
    assert result["ansible_facts"]["harper_cluster"]["replication"]["lagging"][0]["peer"] == "n2"
    assert PASSWORD not in text


DESCRIBED = {"data": {"lag": {"last_updated_record": 1739379050500.25}, "empty": {"last_updated_record": None}}}


def test_a_write_of_this_node_is_caught_up_only_once_every_peer_confirmed_it():
    # The newest record (16:50:50.5) is newer than anything received: node1 wrote it.
    unconfirmed = socket(lastCommitConfirmed="Wed, 12 Feb 2025 16:40:00 GMT")
    client = scripted({"cluster_status": status_with(unconfirmed, socket(database="system")),
                       "search_by_value": [RECORDS], "get_configuration": CONFIG, "describe_all": DESCRIBED},
                      username="admin")
    facts = read_facts(client)[0]
    assert facts["replication"]["caught_up"] is False
    assert facts["replication"]["lagging"] == [{
        "peer": "node2", "database": "data", "lag_seconds": pytest.approx(time.time() - 1739379050.50025, abs=5),
        "reason": "the peer has not confirmed this node's write of Wed, 12 Feb 2025 16:50:50 GMT"}]
    confirmed = socket(lastCommitConfirmed="Wed, 12 Feb 2025 16:50:50 GMT")
    client = scripted({"cluster_status": status_with(confirmed), "search_by_value": [RECORDS],
                       "get_configuration": CONFIG, "describe_all": DESCRIBED}, username="admin")
    assert read_facts(client)[0]["replication"]["caught_up"] is True


def test_a_newest_record_received_from_a_peer_needs_no_confirmation():
    received = socket(lastReceivedVersion=1739379050500.25, lastCommitConfirmed="Wed, 12 Feb 2025 16:40:00 GMT")
    client = scripted({"cluster_status": status_with(received), "search_by_value": [RECORDS],
                       "get_configuration": CONFIG, "describe_all": DESCRIBED}, username="admin")
    assert read_facts(client)[0]["replication"]["caught_up"] is True


def test_without_describe_all_no_write_is_waited_for():
    unconfirmed = socket(lastCommitConfirmed="Wed, 12 Feb 2025 16:40:00 GMT")
    client = scripted({"cluster_status": status_with(unconfirmed), "search_by_value": [RECORDS],
                       "get_configuration": CONFIG, "describe_all": HarperError("describe_all: timed out")},
                      username="admin")
    assert read_facts(client)[0]["replication"]["caught_up"] is True


def test_newest_writes_reads_describe_all():
    assert newest_writes(DESCRIBED) == {"data": 1739379050.50025}
    assert newest_writes({"dev": {}, "x": {"t": {"last_updated_record": True}}}) == {}
    assert newest_writes(["not", "a", "dict"]) == {} and newest_writes({"data": ["lag"]}) == {}
