# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory's logic: seed readings in, hosts, vars, groups and warnings out."""

import pytest

from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperError
from ansible_collections.harperdb.cluster.plugins.module_utils._inventory import (
    InventoryError,
    SeedReading,
    build_inventory,
    check_seed_url,
    check_template,
    member_api_url,
    read_seeds,
    shard_group,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._state import ClusterState


def socket(database="data", connected=True, **extra):
    entry = {"database": database, "connected": connected, "latency": 0.5,
             "lastReceivedRemoteTime": "2026-11-29T18:00:00.000Z", "backPressurePercent": 0}
    entry.update(extra)
    return entry


def record(name, shard=None, **extra):
    entry = {"name": name, "url": "wss://%s.example.com:9933" % name, "shard": shard,
             "subscriptions": None, "ca": "-----BEGIN CERTIFICATE-----"}
    entry.update(extra)
    return entry


def reading(name, peers, shards=None, down=(), url=None, unsocketed=(), extra_records=()):
    """A seed named name that stores and connects to peers; sockets to down are not connected."""
    shards = shards or {}
    connections = []
    for peer in peers:
        sockets = [] if peer in unsocketed else [socket(connected=peer not in down),
                                                 socket("system", connected=peer not in down)]
        connections.append(dict(record(peer, shards.get(peer)), database_sockets=sockets))
    status = {"type": "cluster-status", "node_name": name, "url": "wss://%s.example.com:9933" % name,
              "is_enabled": True, "connections": connections}
    records = [record(name, shards.get(name))] + [record(peer, shards.get(peer)) for peer in peers]
    records.extend(extra_records)
    return SeedReading(url or "https://%s.example.com:9925" % name, state=ClusterState(status, records))


def failed(url, message="cluster_status on %s failed: connection refused."):
    return SeedReading(url, error=message % url)


MESH = ("node1", "node2", "node3")


def mesh_reading(name, **kwargs):
    return reading(name, [peer for peer in MESH if peer != name], **kwargs)


def test_one_seed_makes_one_host_per_member_all_connected():
    found = build_inventory([mesh_reading("node1")])
    assert sorted(found["hosts"]) == list(MESH)
    assert found["groups"] == {"harper_connected": ["node1", "node2", "node3"], "harper_disconnected": []}
    assert found["warnings"] == []
    node2 = found["hosts"]["node2"]
    assert node2["harper_replication_url"] == "wss://node2.example.com:9933"
    assert node2["harper_api_url"] == "https://node2.example.com:9925"
    assert node2["harper_is_seed"] is False
    assert node2["harper_seen_by"] == ["node1"]
    assert node2["harper_connected"] is True
    assert [(c["peer"], c["database"], c["reported_by"]) for c in node2["harper_connections"]] == [
        ("node1", "data", "node1"), ("node1", "system", "node1")]
    assert node2["harper_connections"][0]["last_received_remote_time"] == "2026-11-29T18:00:00.000Z"
    assert node2["harper_connections"][0]["backpressure_percent"] == 0
    seed = found["hosts"]["node1"]
    assert seed["harper_is_seed"] is True
    assert seed["harper_api_url"] == "https://node1.example.com:9925"
    assert {c["peer"] for c in seed["harper_connections"]} == {"node2", "node3"}


def test_no_certificate_or_credential_reaches_the_host_vars():
    stored = record("node2", authorization={"username": "admin", "password": "s3cret"})
    found = build_inventory([reading("node1", ["node2"], extra_records=[stored])])
    text = repr(found)
    assert "s3cret" not in text
    assert "BEGIN CERTIFICATE" not in text


def test_a_member_down_is_disconnected_and_the_seed_stays_connected():
    found = build_inventory([mesh_reading("node1", down=("node3",))])
    assert found["groups"]["harper_connected"] == ["node1", "node2"]
    assert found["groups"]["harper_disconnected"] == ["node3"]
    assert found["hosts"]["node3"]["harper_connected"] is False


def test_a_seed_that_another_seed_sees_down_is_disconnected():
    found = build_inventory([mesh_reading("node1", down=("node2",)), mesh_reading("node2")])
    assert found["groups"]["harper_disconnected"] == ["node2"]


def test_a_stored_member_without_sockets_is_disconnected():
    found = build_inventory([mesh_reading("node1", unsocketed=("node3",))])
    assert found["groups"]["harper_disconnected"] == ["node3"]
    assert found["hosts"]["node3"]["harper_connections"] == [
        {"peer": "node1", "database": None, "connected": False, "reported_by": "node1"}]


def test_shards_make_groups():
    shards = {"node1": 1, "node2": 1, "node3": 2}
    found = build_inventory([mesh_reading("node1", shards=shards)])
    assert found["groups"]["harper_shard_1"] == ["node1", "node2"]
    assert found["groups"]["harper_shard_2"] == ["node3"]
    assert found["hosts"]["node3"]["harper_shard"] == 2


def test_shard_group_names_are_safe():
    assert shard_group(0) == "harper_shard_0"
    assert shard_group("eu-west 1") == "harper_shard_eu_west_1"


def test_seeds_that_list_different_members_are_reported():
    found = build_inventory([reading("node1", ["node2"]), reading("node3", [])])
    assert sorted(found["hosts"]) == ["node1", "node2", "node3"]
    assert found["hosts"]["node2"]["harper_seen_by"] == ["node1"]
    assert found["hosts"]["node2"]["harper_disagreements"] == ["listed by node1; not by node3"]
    assert "Seeds disagree about member node2: listed by node1; not by node3." in found["warnings"]
    assert "Seeds disagree about member node3: listed by node3; not by node1." in found["warnings"]


def test_seeds_that_store_another_shard_are_reported_and_the_member_own_word_wins():
    found = build_inventory([mesh_reading("node1", shards={"node2": 1}),
                             mesh_reading("node2", shards={"node2": 2})])
    node2 = found["hosts"]["node2"]
    assert node2["harper_shard"] == 2
    assert node2["harper_disagreements"] == ["shard: node1 says 1, node2 says 2"]
    assert found["groups"]["harper_shard_2"] == ["node2"]
    assert "Seeds disagree about member node2: shard: node1 says 1, node2 says 2." in found["warnings"]


def test_urls_that_differ_only_in_case_agree():
    upper = record("node2", url="WSS://NODE2.example.com:9933/")
    found = build_inventory([reading("node1", ["node2"]), reading("node3", ["node2"], extra_records=[upper])])
    assert not any("url" in line for line in found["hosts"]["node2"]["harper_disagreements"])


def test_a_seed_that_failed_is_a_warning_and_the_others_build_the_inventory():
    found = build_inventory([failed("https://node9.example.com:9925"), mesh_reading("node1")])
    assert sorted(found["hosts"]) == list(MESH)
    assert found["warnings"] == [
        "Seed https://node9.example.com:9925 is left out, the inventory is built from the other "
        "seeds: cluster_status on https://node9.example.com:9925 failed: connection refused."]


def test_no_seed_answering_fails_with_every_seed_named():
    with pytest.raises(InventoryError) as caught:
        build_inventory([failed("https://a:9925"), failed("https://b:9925")])
    assert str(caught.value) == (
        "No seed answered. Seed https://a:9925: cluster_status on https://a:9925 failed: connection "
        "refused. Seed https://b:9925: cluster_status on https://b:9925 failed: connection refused.")


def test_the_same_node_twice_is_read_once():
    found = build_inventory([mesh_reading("node1"), mesh_reading("node1", url="https://10.0.0.1:9925")])
    assert found["warnings"] == ["Seeds https://node1.example.com:9925 and https://10.0.0.1:9925 are the "
                                 "same node, node1; it is read once."]
    assert found["hosts"]["node2"]["harper_seen_by"] == ["node1"]


def test_api_url_from_the_seed_scheme_and_port():
    seed = mesh_reading("node1", url="http://127.0.0.2:19925/")
    assert member_api_url("node2", "wss://10.1.2.3:9933", seed) == "http://10.1.2.3:19925"
    assert member_api_url("node1", "wss://node1.example.com:9933", seed) == "http://127.0.0.2:19925"
    assert member_api_url("node2", "wss://[fd00::2]:9933", seed) == "http://[fd00::2]:19925"
    assert member_api_url("node2", None, seed) == "http://node2:19925"
    assert member_api_url("node2", "wss://h:9933", mesh_reading("node1", url="https://n1")) == "https://h"


def test_api_url_template_wins_for_every_member():
    found = build_inventory([mesh_reading("node1")], "https://{name}.ops:9925/{host}")
    assert found["hosts"]["node1"]["harper_api_url"] == "https://node1.ops:9925/node1.example.com"
    assert found["hosts"]["node3"]["harper_api_url"] == "https://node3.ops:9925/node3.example.com"


@pytest.mark.parametrize("template", ["https://{nam}:9925", "https://{0}", "https://{name.x}", "https://{"])
def test_a_bad_template_is_refused(template):
    with pytest.raises(InventoryError, match="only the placeholders {name} and {host}"):
        check_template(template)


@pytest.mark.parametrize("url", ["node1:9925", "wss://node1:9933", "https://", ""])
def test_a_seed_that_is_not_an_api_url_is_refused(url):
    with pytest.raises(InventoryError, match="Give each entry of seeds as http"):
        check_seed_url(url)


class ScriptedClient:
    """Answers cluster_status and search_by_value from a script, or raises."""

    def __init__(self, url, answers):
        self.api_url = url
        self.answers = answers

    def call(self, operation, **dummy_body):
        answer = self.answers[operation]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def scrub(self, text):
        return text.replace("s3cret", "********")


def test_read_seeds_keeps_each_error_in_the_inventory_words():
    status = {"type": "cluster-status", "node_name": "node1", "connections": []}
    scripts = {
        "https://ok:9925": {"cluster_status": status, "search_by_value": [record("node1")]},
        "https://down:9925": {"cluster_status": HarperError(
            "cluster_status on https://down:9925 failed: the host name in api_url does not resolve. "
            "Check api_url.")},
        "https://legacy:9925": {"cluster_status": {"connections": []}, "search_by_value": []},
        "https://leak:9925": {"cluster_status": HarperError("failed: password s3cret")},
    }
    readings = read_seeds(list(scripts), lambda url: ScriptedClient(url, scripts[url]))
    assert [r.name for r in readings] == ["node1", None, None, None]
    assert readings[1].error == ("cluster_status on https://down:9925 failed: the host name in the seed's URL "
                                 "does not resolve. Check the seed's URL in seeds.")
    assert "Replication is not configured on this node" in readings[2].error
    assert readings[3].error == "failed: password ********"
