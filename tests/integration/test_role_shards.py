# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shards from the inventory, end to end through playbooks/site.yml.

Four hosts in two shards: harper_cluster_shard per host, and the database
`data` marked sharded in harper_cluster_replication_databases (`catalog`
replicates everywhere). One story in file order: first run, where each record
lands, rerun, a host moved to the other shard (check mode first), rerun, and a
version that ignores shards refused before anything is touched.
"""

import uuid

import pytest
import yaml

from harper_state import ensure_table, wait_until
from role_cluster import laid_out_cluster, mesh_problems

pytestmark = pytest.mark.integration

HOSTS = ("shard-1a", "shard-1b", "shard-2a", "shard-2b")
DATABASES = [{"name": "data", "sharded": True}, "catalog"]
REPLICATION_TIMEOUT = 30


@pytest.fixture(scope="module")
def cluster(address_allocator):
    host_vars = dict((name, {"harper_cluster_shard": 1 if "-1" in name else 2}) for name in HOSTS)
    with laid_out_cluster(address_allocator, HOSTS, "test_role_shards", host_vars=host_vars,
                          group_vars={"harper_cluster_replication_databases": DATABASES}) as bed:
        yield bed


def shard_of(cluster, node):
    return cluster.host_vars[node.name]["harper_cluster_shard"]


def config(node):
    with open("%s/harperdb-config.yaml" % node.root_path) as handle:
        return yaml.safe_load(handle)


def stored_shards(node):
    """{node name: shard} as node's system.hdb_nodes has them."""
    records = node.call({"operation": "search_by_value", "database": "system", "table": "hdb_nodes",
                         "search_attribute": "name", "search_value": "*", "get_attributes": ["name", "shard"]})
    return dict((record["name"], record.get("shard")) for record in records)


def has_record(node, database, table, record_id):
    rows = node.call({"operation": "search_by_id", "database": database, "table": table,
                      "ids": [record_id], "get_attributes": ["id"]})
    return bool(rows)


def write_and_trace(cluster, writer):
    """Insert one record into data.dog and then one into catalog.cat on writer, wait until the
    catalog record is on every node, and return the names of the nodes holding the dog.

    catalog replicates everywhere, so once its later record is everywhere, a sharded record
    that was going to reach a node of the other shard has had its chance to."""
    dog, cat = uuid.uuid4().hex, uuid.uuid4().hex
    writer.call({"operation": "insert", "database": "data", "table": "dog", "records": [{"id": dog}]})
    writer.call({"operation": "insert", "database": "catalog", "table": "cat", "records": [{"id": cat}]})
    same_shard = [node for node in cluster.nodes if shard_of(cluster, node) == shard_of(cluster, writer)]
    for node in same_shard:
        wait_until(lambda node=node: has_record(node, "data", "dog", dog), REPLICATION_TIMEOUT,
                   "data.dog %s written on %s to reach %s (same shard)" % (dog, writer.name, node.name))
    for node in cluster.nodes:
        wait_until(lambda node=node: has_record(node, "catalog", "cat", cat), REPLICATION_TIMEOUT,
                   "catalog.cat %s written on %s to reach %s" % (cat, writer.name, node.name))
    return sorted(node.name for node in cluster.nodes if has_record(node, "data", "dog", dog))


def records_per_node(cluster):
    counts = {}
    for node in cluster.nodes:
        counts[node.name] = dict(
            (table, node.call({"operation": "sql", "sql": "SELECT COUNT(*) AS n FROM %s" % table})[0]["n"])
            for table in ("data.dog", "catalog.cat"))
    return counts


def test_first_run_puts_each_host_in_its_shard(cluster):
    run = cluster.run()
    cluster.timings["first run"] = round(run.seconds, 1)
    run.assert_ok()
    assert run.count("add_node") == len(HOSTS) - 1, run.report
    assert mesh_problems(cluster.nodes) == []
    for node in cluster.nodes:
        replication = config(node)["replication"]
        assert replication["shard"] == shard_of(cluster, node), replication
        # system is added: without it neither membership nor schema would spread.
        assert replication["databases"] == ["catalog", {"name": "data", "sharded": True}, "system"], replication
        wanted = dict((other.name, shard_of(cluster, other)) for other in cluster.nodes)
        wait_until(lambda node=node: stored_shards(node) == wanted, REPLICATION_TIMEOUT,
                   "the node records on %s to hold the shards %s" % (node.name, wanted))


def test_a_sharded_record_stays_in_the_shard_it_was_written_in(cluster):
    writer = cluster.nodes[0]
    ensure_table(writer, "dog")
    ensure_table(writer, "cat", database="catalog")
    for node in cluster.nodes:
        wait_until(lambda node=node: node.call({"operation": "describe_all"}).get("data", {}).get("dog"),
                   REPLICATION_TIMEOUT, "the table data.dog to reach %s" % node.name)
    for writer in cluster.nodes:
        holders = write_and_trace(cluster, writer)
        expected = sorted(node.name for node in cluster.nodes if shard_of(cluster, node) == shard_of(cluster, writer))
        assert holders == expected, "a record written on %s is on %s" % (writer.name, holders)
    counts = records_per_node(cluster)
    print("\nrecords per node per table: %s" % counts)
    assert [counts[name]["data.dog"] for name in HOSTS] == [2, 2, 2, 2], counts
    assert [counts[name]["catalog.cat"] for name in HOSTS] == [4, 4, 4, 4], counts


def test_rerun_changes_nothing(cluster):
    run = cluster.run()
    cluster.timings["rerun"] = round(run.seconds, 1)
    run.assert_ok()
    assert run.changed() == dict.fromkeys(HOSTS, 0), run.tail()
    assert run.report["operations"] == [], run.report


def test_check_mode_shows_a_shard_move_and_writes_nothing(cluster):
    moving = cluster.by_name["shard-1b"]
    before = (config(moving), [stored_shards(node) for node in cluster.nodes])
    assert before[1] == [before[1][0]] * len(HOSTS), before
    cluster.host_vars[moving.name]["harper_cluster_shard"] = 2
    try:
        run = cluster.run("--check", "--diff")
    finally:
        cluster.host_vars[moving.name]["harper_cluster_shard"] = 1
    run.assert_ok()
    assert run.changed()[moving.name] > 0, run.tail()
    assert "-  shard: 1\n+  shard: 2" in run.output.replace("\r", ""), run.tail()
    assert (config(moving), [stored_shards(node) for node in cluster.nodes]) == before


def test_moving_a_host_to_the_other_shard_converges(cluster):
    moving = cluster.by_name["shard-1b"]
    cluster.host_vars[moving.name]["harper_cluster_shard"] = 2
    run = cluster.run()
    cluster.timings["shard move"] = round(run.seconds, 1)
    run.assert_ok()
    assert run.changed()[moving.name] > 0, run.tail()
    assert run.count("add_node") == 0, run.report
    assert config(moving)["replication"]["shard"] == 2
    # The old shard's sockets for data to the moved node go stale (connected false, for good):
    # harper_mesh restarts the worker threads that hold them, and the mesh is whole again.
    cluster.timings["worker restarts in the move"] = run.report["restarted"]
    assert mesh_problems(cluster.nodes) == []
    # Every node's records, the moved node's record of itself included (Harper leaves that one
    # at the old shard; harper_mesh updates it).
    wanted = dict((node.name, shard_of(cluster, node)) for node in cluster.nodes)
    for node in cluster.nodes:
        assert stored_shards(node) == wanted, (node.name, stored_shards(node))
    cluster.timings["writes in the move"] = [op["operation"] for op in run.report["operations"]]
    # New writes follow the new layout: shard 1 is one node now, shard 2 three.
    assert write_and_trace(cluster, cluster.by_name["shard-1a"]) == ["shard-1a"]
    assert write_and_trace(cluster, cluster.by_name["shard-2a"]) == ["shard-1b", "shard-2a", "shard-2b"]
    print("\nrecords per node per table after the move: %s" % records_per_node(cluster))


def test_rerun_after_the_move_changes_nothing(cluster):
    run = cluster.run()
    cluster.timings["rerun after move"] = round(run.seconds, 1)
    run.assert_ok()
    assert run.changed() == dict.fromkeys(HOSTS, 0), run.tail()
    assert run.report["operations"] == [], run.report


def test_a_version_that_ignores_shards_is_refused_before_anything_changes(cluster):
    before = [config(node) for node in cluster.nodes]
    run = cluster.run("-e", "harper_cluster_version=4.4.18")
    assert run.returncode != 0
    assert "Harper 4.4.18 ignores shards" in run.output, run.tail()
    assert "harper_cluster_version 4.7.0 or later" in run.output, run.tail()
    assert [config(node) for node in cluster.nodes] == before
