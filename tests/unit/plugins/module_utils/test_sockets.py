# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The waits on cluster_status: sockets connected (with the restart of a node whose sockets
stall), a peer gone, every socket dropped; and the last reading they fail with."""

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperError, WaitTimeout
from ansible_collections.harperdb.cluster.plugins.module_utils._sockets import (
    describe_sockets,
    wait_argument_spec,
    wait_connected,
    wait_disconnected,
    wait_gone,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._state import ClusterState

from fake_harper import ScriptedClient as FakeClient  # tests/lib


def _status(connected):
    return {"type": "cluster-status", "node_name": "node-a", "is_enabled": True, "connections": [
        {"name": "node-b", "url": "wss://node-b:9933",
         "database_sockets": [{"database": "system", "connected": connected}]}]}


def test_connected_sockets_need_no_restart(clock):
    client = FakeClient({"cluster_status": [_status(False), _status(True)]})
    assert wait_connected(client, ["node-b"], 60, restart_stalled=True) is False
    assert "restart_service" not in client.calls


def test_stalled_sockets_get_one_restart_at_half_the_timeout(clock):
    restarted_at = []

    class RestartingClient(FakeClient):
        def call(self, operation, **fields):
            if operation == "restart_service":
                restarted_at.append(clock[0])
                self.answers["cluster_status"] = [_status(False), _status(True)]
            return FakeClient.call(self, operation, **fields)

    client = RestartingClient({
        "cluster_status": [_status(False)],
        "restart_service": [{"message": "Restarting http", "job_id": "j1"}],
        "get_job": [[{"status": "COMPLETE"}]],
    })
    assert wait_connected(client, ["node-b"], 60, restart_stalled=True) is True
    assert client.calls.count("restart_service") == 1
    assert restarted_at and 30 <= restarted_at[0] < 31


def test_sockets_still_stalled_after_the_restart_fail_within_the_timeout(clock):
    client = FakeClient({
        "cluster_status": [_status(False)],
        "restart_service": [{"job_id": "j1"}],
        "get_job": [[{"status": "COMPLETE"}]],
    })
    with pytest.raises(WaitTimeout) as caught:
        wait_connected(client, ["node-b"], 60, restart_stalled=True)
    assert client.calls.count("restart_service") == 1
    assert clock[0] <= 61
    assert "restarted once after 30.0 s" in caught.value.message
    assert "node-b: system not connected" in caught.value.message


def test_without_restart_stalled_a_stall_fails_with_a_hint_and_no_restart(clock):
    client = FakeClient({"cluster_status": [_status(False)]})
    with pytest.raises(WaitTimeout) as caught:
        wait_connected(client, ["node-b"], 60)
    assert "restart_service" not in client.calls
    assert 60 <= clock[0] <= 61
    assert "restart_stalled: true" in caught.value.message


def test_a_refused_read_is_not_taken_for_a_stall(clock):
    refused = HarperError("cluster_status failed: 401 Unauthorized.")
    client = FakeClient({"cluster_status": [refused]})
    with pytest.raises(HarperError) as caught:
        wait_connected(client, ["node-b"], 60, restart_stalled=True)
    assert not isinstance(caught.value, WaitTimeout)
    assert "restart_service" not in client.calls


def test_a_peer_still_listed_fails_wait_gone_with_its_sockets(clock):
    client = FakeClient({"cluster_status": [_status(True)]})
    with pytest.raises(WaitTimeout) as caught:
        wait_gone(client, ["node-b"], 10)
    assert "node-b to leave cluster_status" in caught.value.message
    assert "node-b: system connected" in caught.value.message
    assert 10 <= clock[0] <= 11


def test_wait_gone_ends_when_the_peer_leaves(clock):
    alone = {"type": "cluster-status", "node_name": "node-a", "is_enabled": True, "connections": []}
    client = FakeClient({"cluster_status": [_status(True), alone]})
    wait_gone(client, ["node-b", None], 10)
    assert client.calls == ["cluster_status", "cluster_status"]


def test_wait_disconnected_waits_for_every_socket_to_drop(clock):
    client = FakeClient({"cluster_status": [_status(True), _status(True), _status(False)]})
    wait_disconnected(client, 10)
    assert client.calls.count("cluster_status") == 3
    client = FakeClient({"cluster_status": [_status(True)]})
    with pytest.raises(WaitTimeout) as caught:
        wait_disconnected(client, 5)
    assert "every socket of https://node-a:9925 to disconnect" in caught.value.message


def test_describe_sockets_names_every_peer_and_database():
    status = _status(False)
    status["connections"][0]["database_sockets"].append(
        {"database": "data", "connected": True, "lastReceivedStatus": "Receiving"})
    status["connections"].append({"name": "node-c", "url": "wss://node-c:9933", "database_sockets": []})
    assert describe_sockets(ClusterState(status, None)) == (
        "node-b: system not connected (no status), data connected (Receiving); node-c: no database socket")
    alone = {"type": "cluster-status", "node_name": "node-a", "is_enabled": True, "connections": []}
    assert describe_sockets(ClusterState(alone, None)) == "no peers"


def test_the_wait_options_and_their_defaults():
    assert wait_argument_spec() == {"wait": {"type": "bool", "default": True},
                                    "wait_timeout": {"type": "int", "default": 60},
                                    "restart_stalled": {"type": "bool", "default": False}}
