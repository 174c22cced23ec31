# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ClusterState: one node's cluster_status and records, read and looked up; the url helpers."""

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperError
from ansible_collections.harperdb.cluster.plugins.module_utils._state import (
    ClusterState,
    find_peer,
    normalize_url,
    public_record,
    read_replication_config,
    read_version,
    refuse_unstored_fields,
    url_host,
    version_tuple,
)

from fake_harper import NODE2, ScriptedClient, make_state  # tests/lib


def test_peer_found_by_url_then_by_host():
    state = make_state([NODE2])
    assert find_peer(state, url="wss://10.0.0.2:9933") == "node2"
    renamed = make_state([dict(NODE2, name="10.0.0.2", url="wss://other:9933")])
    assert find_peer(renamed, url="wss://10.0.0.2:9933") == "10.0.0.2"
    assert find_peer(state, url="wss://10.0.0.9:9933") is None


def test_a_peer_without_sockets_is_disconnected():
    state = make_state([NODE2], sockets={"node2": []})
    assert state.disconnected() == [{"peer": "node2", "database": None}]


def test_a_node_without_replication_is_explained():
    with pytest.raises(HarperError) as info:
        ClusterState({"connections": []}, [], where="cluster_status on https://n:9925")
    assert info.value.message.startswith(
        'cluster_status on https://n:9925 answered without native replication ({"connections": []}). '
        "Replication is not configured on this node: set replication.hostname")


def test_legacy_nats_answer_is_refused():
    with pytest.raises(HarperError) as info:
        ClusterState({"node_name": "n", "is_enabled": True, "connections": []}, [])
    assert "legacy NATS" in info.value.message


def test_url_helpers():
    assert normalize_url("WSS://Node2:9933/") == "wss://node2:9933"
    assert url_host("wss://[::1]:9933") == "::1"
    assert url_host("wss://node2") == "node2"


def test_read_takes_the_sockets_and_the_records_and_shows_records_without_secrets():
    status = {"type": "cluster-status", "node_name": "node1", "url": "wss://node1:9933", "is_enabled": True,
              "connections": [{"name": "node2", "url": "wss://node2:9933",
                               "database_sockets": [{"database": "data", "connected": True}]}]}
    records = [{"name": "node1", "url": "wss://node1:9933", "shard": 2},
               {"name": "node2", "url": "wss://node2:9933", "authorization": "Basic YWRtaW46cHc=", "ca": "CERT"}]
    client = ScriptedClient({"cluster_status": status, "search_by_value": [records]})
    state = ClusterState.read(client)
    assert client.calls == ["cluster_status", "search_by_value"]
    assert state.node_name == "node1" and state.own_record["shard"] == 2
    assert state.peer_connected("node2") and state.disconnected() == []
    assert public_record(state.records["node2"]) == {"name": "node2", "url": "wss://node2:9933", "shard": None,
                                                     "subscriptions": None, "revoked_certificates": None,
                                                     "replicates": None}
    assert ClusterState.read(ScriptedClient({"cluster_status": status}), records=False).peer_names() == ["node2"]


def test_the_replication_section_is_read_from_the_file():
    client = ScriptedClient({"get_configuration": {"replication": {"url": "wss://node1:9933", "routes": []}}})
    assert read_replication_config(client) == {"url": "wss://node1:9933", "routes": []}
    assert read_replication_config(ScriptedClient({"get_configuration": {}})) == {}


def test_the_version_decides_whether_shards_and_revoked_certificates_are_refused():
    assert version_tuple("4.7.29") == (4, 7, 29) and version_tuple("4.4.18-beta.1") == (4, 4, 18)
    assert version_tuple(None) is None and version_tuple("unknown") is None
    assert refuse_unstored_fields(ScriptedClient({"registration_info": {"version": "4.7.0"}}), ["shard"], "x") == "4.7.0"
    # No such field given: nothing is read.
    client = ScriptedClient({})
    assert refuse_unstored_fields(client, ["subscriptions"], "x") is None and client.calls == []
    with pytest.raises(HarperError) as caught:
        refuse_unstored_fields(ScriptedClient({"registration_info": {"registered": False, "version": "4.4.18"}}),
                               ["shard"], "harper_node")
    assert caught.value.message == ("harper_node: Harper 4.4.18 at https://node-a:9925 stores no shard (it answers 200 "
                                    "and drops it). Leave shard out for this node, or upgrade it to Harper 4.7.0 or "
                                    "later.")
    # A node that does not say its version is not refused: the write goes on as before.
    refused = HarperError("registration_info failed: Operation 'registration_info' not found", status=400)
    assert refuse_unstored_fields(ScriptedClient({"registration_info": refused}), ["shard"], "x") is None
    assert read_version(ScriptedClient({"registration_info": [["not", "a", "dict"]]})) is None
    with pytest.raises(HarperError):
        read_version(ScriptedClient({"registration_info": HarperError("refused", status=500)}))
