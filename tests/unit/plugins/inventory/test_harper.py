# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harper inventory plugin with its client faked: options, groups, constructed, cache, errors."""

import json

import pytest
import yaml

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar

from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperError

PASSWORD = "s3cret-pw"


def status(name, peers, down=()):
    connections = [{"name": peer, "url": "wss://%s.example.com:9933" % peer, "shard": 1 if peer == "node2" else None,
                    "authorization": {"username": "admin", "password": PASSWORD},
                    "database_sockets": [{"database": "data", "connected": peer not in down,
                                          "backPressurePercent": 0, "lastReceivedLocalTime": 1.5}]}
                   for peer in peers]
    return {"type": "cluster-status", "node_name": name, "url": "wss://%s.example.com:9933" % name,
            "is_enabled": True, "connections": connections}


def records(name, peers):
    return [{"name": node, "url": "wss://%s.example.com:9933" % node, "shard": 1 if node == "node2" else None}
            for node in [name] + list(peers)]


class FakeClient:
    """Stands in for HarperClient: answers from CLUSTER by seed url, records what it was built with."""

    built = []

    def __init__(self, url, **options):
        self.api_url = url
        self.options = options
        FakeClient.built.append((url, options))

    def call(self, operation, **dummy_body):
        answer = CLUSTER[self.api_url][operation]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def scrub(self, text):
        return text.replace(PASSWORD, "********")


CLUSTER = {}
MESH = {
    "https://node1.example.com:9925": {"cluster_status": status("node1", ["node2", "node3"], down=["node3"]),
                                       "search_by_value": records("node1", ["node2", "node3"])},
    "https://node2.example.com:9925": {"cluster_status": status("node2", ["node1", "node3"], down=["node3"]),
                                       "search_by_value": records("node2", ["node1", "node3"])},
}


@pytest.fixture
def cluster(monkeypatch):
    from ansible_collections.harperdb.cluster.plugins.inventory import harper
    monkeypatch.setattr(harper, "HarperClient", FakeClient)
    for name in ("HARPER_USERNAME", "HARPER_PASSWORD", "HARPER_TOKEN", "HARPER_VALIDATE_CERTS",
                 "HARPER_CA_PATH", "HARPER_API_URL"):
        monkeypatch.delenv(name, raising=False)
    CLUSTER.clear()
    CLUSTER.update(json.loads(json.dumps(MESH)))
    FakeClient.built = []
    return CLUSTER


def parse(tmp_path, config, name="cluster.harper.yml", cache=True, warnings=None):
    path = tmp_path / name
    path.write_text(json.dumps(dict({"plugin": "harperdb.cluster.harper"}, **config)))
    plugin = inventory_loader.get("harperdb.cluster.harper")
    if warnings is not None:
        plugin.display.warning = lambda msg, *a, **k: warnings.append(msg)
    inventory = InventoryData()
    assert plugin.verify_file(str(path))
    plugin.parse(inventory, DataLoader(), str(path), cache=cache)
    if getattr(plugin, "_cache", None):  # as the inventory manager does after each source
        plugin.update_cache_if_changed()
    return inventory


def members(inventory, group):
    return sorted(host.name for host in inventory.groups[group].get_hosts())


def test_verify_file_takes_only_harper_files(tmp_path):
    plugin = inventory_loader.get("harperdb.cluster.harper")
    for name, taken in (("a.harper.yml", True), ("a.harper.yaml", True), ("harper.yml", False),
                        ("a.yml", False), ("a.harper.json", False)):
        path = tmp_path / name
        path.write_text("plugin: harperdb.cluster.harper\n")
        assert plugin.verify_file(str(path)) is taken, name


def test_hosts_groups_and_vars(tmp_path, cluster):
    warnings = []
    inventory = parse(tmp_path, {"seeds": ["https://node1.example.com:9925"], "username": "admin",
                                 "password": PASSWORD, "validate_certs": False}, warnings=warnings)
    assert members(inventory, "harper_connected") == ["node1", "node2"]
    assert members(inventory, "harper_disconnected") == ["node3"]
    assert members(inventory, "harper_shard_1") == ["node2"]
    node2 = inventory.get_host("node2").get_vars()
    assert node2["harper_api_url"] == "https://node2.example.com:9925"
    assert node2["harper_connections"][0]["last_received_local_time"] == 1.5
    assert warnings == []
    url, options = FakeClient.built[0]
    assert url == "https://node1.example.com:9925"
    assert options["username"] == "admin" and options["password"] == PASSWORD
    assert options["validate_certs"] is False and options["retries"] == 1
    assert PASSWORD not in repr(dict((h, inventory.get_host(h).get_vars()) for h in inventory.hosts))


def templated(inventory, host, expression):
    """expression, trusted as a template as a playbook's own text is, templated with host's vars."""
    try:
        from ansible.template import trust_as_template  # pylint: disable=import-outside-toplevel
    except ImportError:  # before ansible-core 2.19 every str is trusted
        pass
    else:
        expression = trust_as_template(expression)
    return Templar(loader=DataLoader(), variables=inventory.get_host(host).get_vars()).template(expression)


def test_values_from_the_cluster_are_never_templated(tmp_path, cluster):
    sneaky = "wss://{{ 6 * 7 }}:9933"
    cluster["https://node1.example.com:9925"]["cluster_status"]["connections"][1]["url"] = sneaky
    cluster["https://node1.example.com:9925"]["search_by_value"][2]["url"] = sneaky
    inventory = parse(tmp_path, {"seeds": ["https://node1.example.com:9925"]})
    assert templated(inventory, "node3", "{{ harper_replication_url }}") == sneaky
    assert templated(inventory, "node3", "{{ harper_api_url }}") == "https://{{ 6 * 7 }}:9925"


def test_credentials_and_seeds_come_from_the_environment(tmp_path, cluster, monkeypatch):
    monkeypatch.setenv("HARPER_API_URL", "https://node1.example.com:9925,https://node2.example.com:9925")
    monkeypatch.setenv("HARPER_USERNAME", "envuser")
    monkeypatch.setenv("HARPER_PASSWORD", PASSWORD)
    monkeypatch.setenv("HARPER_VALIDATE_CERTS", "false")
    monkeypatch.setenv("HARPER_CA_PATH", "/etc/ssl/harper-ca.pem")
    parse(tmp_path, {})
    assert [url for url, dummy in FakeClient.built] == ["https://node1.example.com:9925",
                                                        "https://node2.example.com:9925"]
    options = FakeClient.built[0][1]
    assert (options["username"], options["password"]) == ("envuser", PASSWORD)
    assert options["validate_certs"] is False
    assert options["ca_path"] == "/etc/ssl/harper-ca.pem"


def test_token_from_the_environment(tmp_path, cluster, monkeypatch):
    monkeypatch.setenv("HARPER_TOKEN", "tok")
    parse(tmp_path, {"seeds": ["https://node1.example.com:9925"]})
    assert FakeClient.built[0][1]["token"] == "tok"


def test_token_and_password_together_are_refused(tmp_path, cluster):
    with pytest.raises(AnsibleParserError, match="Set either token or username and password"):
        parse(tmp_path, {"seeds": ["https://node1.example.com:9925"], "token": "t", "password": "p"})


def test_constructed_options(tmp_path, cluster):
    inventory = parse(tmp_path, {
        "seeds": ["https://node1.example.com:9925"],
        "compose": {"ansible_host": "harper_replication_url | urlsplit('hostname')"},
        "groups": {"links_down": "harper_connections | rejectattr('connected') | list | length > 0"},
        "keyed_groups": [{"key": "harper_seen_by", "prefix": "seen_by"}],
    })
    assert inventory.get_host("node3").get_vars()["ansible_host"] == "node3.example.com"
    assert members(inventory, "links_down") == ["node1", "node3"]
    assert members(inventory, "seen_by_node1") == ["node1", "node2", "node3"]


def test_the_documented_example_works(tmp_path, cluster):
    from ansible_collections.harperdb.cluster.plugins.inventory import harper
    example = yaml.safe_load(harper.EXAMPLES)
    example["cache_connection"] = str(tmp_path / "cache")
    example["seeds"] = list(MESH)
    inventory = parse(tmp_path, example)
    assert inventory.get_host("node3").get_vars()["ansible_host"] == "node3.example.com"
    assert inventory.get_host("node3").get_vars()["harper_api_url"] == "https://node3.ops.example.com:9925"
    assert members(inventory, "harper_links_down") == ["node1", "node2", "node3"]
    assert members(inventory, "listed_by_node2") == ["node1", "node2", "node3"]


def test_strict_fails_on_a_bad_expression(tmp_path, cluster):
    config = {"seeds": ["https://node1.example.com:9925"], "compose": {"x": "harper_no_such_var.y"}}
    parse(tmp_path, config)
    with pytest.raises(AnsibleError, match="Could not set x for host node1"):
        parse(tmp_path, dict(config, strict=True))


def test_seeds_that_disagree_are_warned_about(tmp_path, cluster):
    cluster["https://node2.example.com:9925"] = {"cluster_status": status("node2", ["node1"]),
                                                 "search_by_value": records("node2", ["node1"])}
    warnings = []
    inventory = parse(tmp_path, {"seeds": ["https://node1.example.com:9925", "https://node2.example.com:9925"]},
                      warnings=warnings)
    assert warnings == ["Seeds disagree about member node3: listed by node1; not by node2."]
    assert inventory.get_host("node3").get_vars()["harper_seen_by"] == ["node1"]


def test_a_seed_down_is_a_warning(tmp_path, cluster):
    cluster["https://node2.example.com:9925"] = {"cluster_status": HarperError(
        "cluster_status on https://node2.example.com:9925 failed: connection refused.")}
    warnings = []
    inventory = parse(tmp_path, {"seeds": ["https://node2.example.com:9925", "https://node1.example.com:9925"]},
                      warnings=warnings)
    assert sorted(inventory.hosts) == ["node1", "node2", "node3"]
    assert len(warnings) == 1 and warnings[0].startswith("Seed https://node2.example.com:9925 is left out")


def test_every_seed_down_fails_naming_them(tmp_path, cluster):
    for url in list(cluster):
        cluster[url] = {"cluster_status": HarperError(
            "cluster_status on %s failed: Harper rejected the credentials (HTTP 401: Login failed). "
            "Check username and password (or token) for this node." % url)}
    with pytest.raises(AnsibleParserError) as caught:
        parse(tmp_path, {"seeds": list(cluster), "password": PASSWORD, "username": "admin"})
    message = str(caught.value)
    assert message.startswith("harper inventory: No seed answered. Seed https://node1.example.com:9925: ")
    assert "Seed https://node2.example.com:9925: cluster_status on https://node2.example.com:9925 failed" in message
    assert "Check username and password" in message
    assert PASSWORD not in message


@pytest.mark.parametrize("config, words", [
    ({"seeds": ["node1:9925"]}, "Give each entry of seeds as http(s)://HOST:PORT"),
    ({"seeds": []}, "seeds is empty"),
    ({"seeds": ["https://node1.example.com:9925"], "api_url_template": "https://{ip}"}, "{name} and {host}"),
])
def test_bad_options_are_refused_before_any_read(tmp_path, cluster, config, words):
    with pytest.raises(AnsibleParserError) as caught:
        parse(tmp_path, config)
    assert words in str(caught.value)
    assert FakeClient.built == []


def test_cache_serves_the_second_parse_and_flush_reads_again(tmp_path, cluster):
    config = {"seeds": ["https://node1.example.com:9925"], "cache": True, "cache_plugin": "ansible.builtin.jsonfile",
              "cache_connection": str(tmp_path / "cache")}
    parse(tmp_path, config)
    assert len(FakeClient.built) == 1
    cached = list((tmp_path / "cache").iterdir())
    assert len(cached) == 1 and PASSWORD not in cached[0].read_text()
    inventory = parse(tmp_path, config)
    assert len(FakeClient.built) == 1
    assert members(inventory, "harper_disconnected") == ["node3"]
    assert templated(inventory, "node3", "{{ harper_api_url }}") == "https://node3.example.com:9925"
    parse(tmp_path, config, cache=False)
    assert len(FakeClient.built) == 2
