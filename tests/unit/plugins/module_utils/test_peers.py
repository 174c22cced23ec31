# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation, comparison and planning of one peer, on recorded server state."""

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils._client import AuthorizationError, HarperError
from ansible_collections.harperdb.cluster.plugins.module_utils._peers import (
    PeerInputError,
    PeerSpec,
    apply_change,
    merge_revoked,
    merge_subscriptions,
    plan_absent,
    plan_present,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._state import ClusterState

from fake_harper import NODE2, ScriptedClient, make_state  # tests/lib

DOG = {"database": "data", "table": "dog", "subscribe": True, "publish": False}
CAT = {"database": "data", "table": "cat", "subscribe": True, "publish": True}


def spec(**params):
    return PeerSpec(params, label="harper_node")


@pytest.mark.parametrize("params, message", [
    ({}, "name neither hostname nor url"),
    ({"url": "https://10.0.0.2:9925"}, "is not a replication url"),
    ({"url": "10.0.0.2:9933"}, "is not a replication url"),
    ({"hostname": "n", "shard": -1}, "shard must not be negative"),
    ({"hostname": "n", "authorization": {"username": "a"}}, "authorization must be a dict"),
    ({"hostname": "n", "subscriptions": [DOG, dict(DOG, foo=1)]}, "subscriptions[1]: unknown field 'foo'"),
    ({"hostname": "n", "subscriptions": [{"database": "d", "subscribe": True, "publish": True}]},
     "subscriptions[0]: 'table' is a required field"),
    ({"hostname": "n", "subscriptions": [dict(DOG, publish="yes")]},
     "subscriptions[0].publish: 'yes' is not of type 'boolean'"),
    ({"hostname": "n", "subscriptions": [dict(DOG, schema="data")]}, "exactly once"),
])
def test_bad_input_is_refused_with_the_entry_and_field(params, message):
    with pytest.raises(PeerInputError) as info:
        spec(**params)
    assert message in str(info.value)
    assert str(info.value).startswith("harper_node: ")


def test_schema_is_the_legacy_name_of_database():
    legacy = dict(DOG)
    legacy["schema"] = legacy.pop("database")
    assert spec(hostname="n", subscriptions=[legacy]).subscriptions == [DOG]


def test_merges_mirror_what_harper_stores():
    assert merge_subscriptions([DOG], [CAT]) == [DOG, CAT]
    assert merge_subscriptions([DOG, CAT], [dict(DOG, publish=True)]) == [dict(DOG, publish=True), CAT]
    assert merge_subscriptions(None, [DOG]) == [DOG]
    assert merge_revoked(["A"], ["B", "A"]) == ["A", "B"]


def test_absent_peer_is_added_with_only_the_fields_given():
    change = plan_present(make_state(), spec(url="wss://10.0.0.2:9933", verify_tls=False,
                                             authorization={"username": "u", "password": "p"}))
    assert change.action == "add"
    assert change.body == {"url": "wss://10.0.0.2:9933", "verify_tls": False,
                           "authorization": {"username": "u", "password": "p"}}
    assert change.before == {}
    assert change.after["url"] == "wss://10.0.0.2:9933"


def test_same_input_plans_nothing_and_ignores_server_only_fields():
    state = make_state([dict(NODE2, subscriptions=[DOG], revoked_certificates=["A"], shard=1)])
    change = plan_present(state, spec(hostname="node2", url="WSS://10.0.0.2:9933/", shard=1,
                                      subscriptions=[DOG], revoked_certificates=["A"],
                                      verify_tls=False))
    assert change.action is None
    assert "ca" not in change.before and "__updatedtime__" not in change.before


def test_a_subset_of_stored_subscriptions_plans_nothing():
    state = make_state([dict(NODE2, subscriptions=[DOG, CAT])])
    assert plan_present(state, spec(hostname="node2", subscriptions=[CAT])).action is None


def test_update_always_sends_url_and_all_subscriptions():
    state = make_state([dict(NODE2, subscriptions=[DOG])])
    change = plan_present(state, spec(hostname="node2", shard=2))
    assert change.action == "update"
    assert change.body == {"hostname": "node2", "url": "wss://10.0.0.2:9933", "subscriptions": [DOG],
                           "shard": 2}
    assert change.before["shard"] is None and change.after["shard"] == 2


def test_update_of_revoked_certificates_is_a_union():
    state = make_state([dict(NODE2, revoked_certificates=["A"])])
    change = plan_present(state, spec(hostname="node2", revoked_certificates=["B"]))
    assert change.after["revoked_certificates"] == ["A", "B"]
    assert change.body["revoked_certificates"] == ["B"]


def test_hostname_that_does_not_match_the_recorded_name_is_refused():
    with pytest.raises(PeerInputError) as info:
        plan_present(make_state([NODE2]), spec(hostname="wrong", url="wss://10.0.0.2:9933"))
    assert "Set hostname to 'node2'" in str(info.value)


def test_a_node_cannot_be_its_own_peer():
    with pytest.raises(PeerInputError):
        plan_present(make_state(), spec(hostname="node1"))


def test_absent():
    state = make_state([NODE2])
    assert plan_absent(state, spec(hostname="node9")).action is None
    change = plan_absent(state, spec(url="wss://10.0.0.2:9933"))
    assert (change.action, change.body) == ("remove", {"hostname": "node2"})
    with pytest.raises(PeerInputError) as info:
        plan_absent(state, spec(hostname="node1"))
    assert "allow_self_removal" in str(info.value)
    assert plan_absent(state, spec(hostname="node1"), allow_self_removal=True).body == {"hostname": "node1"}


def recording_client():
    """Answers every write apply_change may send with a plain message; bodies keeps them."""
    done = {"message": "done"}
    return ScriptedClient({"update": done, "remove_node": done})


def test_removal_of_a_peer_with_subscriptions_clears_them_first():
    # With subscriptions on the record, remove_node makes the removed node delete the
    # caller's record, which replicates and drops the caller from every member.
    client = recording_client()
    apply_change(client, plan_absent(make_state([dict(NODE2, subscriptions=[DOG])]), spec(hostname="node2")))
    assert client.bodies == [
        {"operation": "update", "database": "system", "table": "hdb_nodes",
         "records": [{"name": "node2", "subscriptions": None}]},
        {"operation": "remove_node", "hostname": "node2"},
    ]
    client = recording_client()
    apply_change(client, plan_absent(make_state([NODE2]), spec(hostname="node2")))
    assert client.bodies == [{"operation": "remove_node", "hostname": "node2"}]


def test_a_misspelt_field_is_named_with_the_field_it_leaves_missing():
    with pytest.raises(PeerInputError) as info:
        spec(hostname="n", subscriptions=[{"database": "data", "table": "dog", "subscribe": True, "publsh": True}])
    assert str(info.value) == (
        "harper_node: subscriptions[0]: unknown field 'publsh' (allowed: database, schema, table, subscribe, "
        "publish); subscriptions[0]: 'publish' is a required field.")


def test_a_refused_add_node_is_not_undone_and_keeps_its_message():
    state = ClusterState({"type": "cluster-status", "node_name": "node1", "connections": []}, [])
    change = plan_present(state, PeerSpec({"hostname": "node2", "url": "wss://node2:9933"}))
    assert change.action == "add"
    denial = AuthorizationError("add_node on https://node1:9925 failed: Harper refused it to user 'monitor' "
                                "(HTTP 403).", 403, account="monitor",
                                denied=["Operation 'addNode' is restricted to 'super_user' roles"])
    client = ScriptedClient({"add_node": denial})
    with pytest.raises(AuthorizationError) as info:
        apply_change(client, change)
    assert client.calls == ["add_node"]  # no cluster_status or remove_node to undo a write never made
    assert info.value.message == denial.message


HINTS = ("The node cannot reach the peer", "The peer refused the credentials",
         "The peer refused to sign this node's certificate", "The node does not trust the peer's certificate")


@pytest.mark.parametrize("harper_says, hint", [
    # What harperdb 4.7.29 answers for a url where nothing listens, and for a wrong password.
    ("Error returned from wss://10.0.0.3:9939: connect ECONNREFUSED 10.0.0.3:9939 and connection was "
     "required to sign certificate", "The node cannot reach the peer"),
    ("Error returned from wss://10.0.0.3:9933: Connection closed Unauthorized 1008 and connection was "
     "required to sign certificate", "The peer refused the credentials"),
    ("Error returned from wss://10.0.0.3:9933: required to sign certificate",
     "The peer refused to sign this node's certificate"),
    ("Error returned from wss://10.0.0.3:9933: self-signed certificate",
     "The node does not trust the peer's certificate"),
    # What 4.7.29 answers with verify_tls: true for a peer's certificate of another CA (a fresh
    # node: HTTP 500), a name it does not hold and an expired one (a former member: a 200 "but
    # there was an error"), measured in docs/security.md.
    ("Error returned from wss://10.0.0.3:9933: self-signed certificate in certificate chain and "
     "connection was required to sign certificate", "The node does not trust the peer's certificate"),
    ("Error returned from wss://10.0.0.3:9933: Hostname/IP does not match certificate's altnames: IP: "
     "10.0.0.3 is not in the cert's list: ", "The node does not trust the peer's certificate"),
    ("Error returned from wss://10.0.0.3:9933: certificate has expired",
     "The node does not trust the peer's certificate"),
])
def test_a_failed_add_node_names_the_fix_of_its_cause(harper_says, hint):
    status = {"type": "cluster-status", "node_name": "node1", "connections": []}
    change = plan_present(ClusterState(status, []), PeerSpec({"url": "wss://10.0.0.3:9939"}))
    client = ScriptedClient({
        "add_node": HarperError("add_node on https://node1:9925 failed (HTTP 500): %s" % harper_says),
        "cluster_status": status,
        "search_by_value": [[]],
    })
    with pytest.raises(HarperError) as info:
        apply_change(client, change)
    assert client.calls == ["add_node", "cluster_status", "search_by_value"]  # no record left to remove
    hints = [text for text in HINTS if text in info.value.message]
    assert hints == [hint]
