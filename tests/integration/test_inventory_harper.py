"""The harperdb.cluster.harper inventory plugin through ansible-inventory, against real prod-mode nodes.

One 3-node bed, in file order: two unjoined seeds disagree; the mesh as --graph and --list; the
example report play; a stopped node moves to harper_disconnected and a seed down is a warning; two
shards make two groups; a bad password and a closed port fail naming the seed and the fix.
"""

from pathlib import Path

import pytest
from ansible.release import __version__ as ansible_version

from ansible_run import REPO, run_inventory, run_module, run_playbook
from harper_state import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.testbed(3, mode="prod")]
ANSIBLE_VERSION = tuple(int(part) for part in ansible_version.split(".")[:2])


def credentials(node, **override):
    """The environment an AWX credential would inject: the password never sits in the file."""
    env = {"HARPER_USERNAME": node.username, "HARPER_PASSWORD": node.password, "HARPER_VALIDATE_CERTS": "false"}
    env.update(override)
    return env


def said(text, output):
    """Whether output holds text, wherever Ansible wrapped its warning and error lines (older
    ansible-core also breaks lines after a hyphen)."""
    return "".join(text.split()) in "".join(output.split())


def config(*seeds, **extra):
    source = {"plugin": "harperdb.cluster.harper", "seeds": [seed.api_url for seed in seeds]}
    source.update(extra)
    return source


def inventory_ok(*seeds, graph=False, env=None, **extra):
    run = run_inventory(config(*seeds, **extra), graph=graph, env=env or credentials(seeds[0]))
    assert run.returncode == 0, run.output
    assert seeds[0].password not in run.output
    return run


def mesh_args(nodes, **member_extra):
    first = nodes[0]
    return {"username": first.username, "password": first.password, "validate_certs": False,
            "verify_tls": False, "restart_stalled": True, "wait_timeout": 60,
            "members": [dict({"name": node.name, "api_url": node.api_url, "url": node.replication_url},
                             **member_extra.get(node.name, {})) for node in nodes]}


@pytest.fixture(scope="module")
def mesh(n):
    run = run_module("harper_mesh", mesh_args(n))
    assert not run.failed, run.get("msg")
    return n


def test_unjoined_seeds_disagree_and_each_is_reported(n):
    run = inventory_ok(n[0], n[1])
    assert sorted(run.listing["_meta"]["hostvars"]) == ["node1", "node2"]
    assert run.hosts("harper_connected") == ["node1", "node2"]
    assert run.hostvars("node1")["harper_seen_by"] == ["node1"]
    assert run.hostvars("node1")["harper_disagreements"] == ["listed by node1; not by node2"]
    assert said("Seeds disagree about member node1: listed by node1; not by node2.", run.stderr)
    assert said("Seeds disagree about member node2: listed by node2; not by node1.", run.stderr)


def test_mesh_graph(mesh):
    run = inventory_ok(mesh[0], graph=True)
    assert run.stdout.splitlines() == [
        "@all:",
        "  |--@ungrouped:",
        "  |--@harper_connected:",
        "  |  |--node1",
        "  |  |--node2",
        "  |  |--node3",
        "  |--@harper_disconnected:",
    ], run.stdout
    assert "disagree" not in run.stderr


def test_mesh_list(mesh):
    run = inventory_ok(mesh[0], mesh[1])
    assert run.hosts("harper_connected") == ["node1", "node2", "node3"]
    assert run.hosts("harper_disconnected") == []
    for node in mesh:
        host = run.hostvars(node.name)
        assert host["harper_node_name"] == node.name
        assert host["harper_replication_url"] == node.replication_url
        assert host["harper_api_url"] == node.api_url
        assert host["harper_shard"] is None
        assert host["harper_is_seed"] is (node in mesh[:2])
        assert host["harper_seen_by"] == ["node1", "node2"]
        assert host["harper_connected"] is True
        assert host["harper_disagreements"] == []
        sockets = host["harper_connections"]
        assert sockets and all(s["connected"] for s in sockets), sockets
        assert {s["database"] for s in sockets} >= {"system"}
        assert all(s["last_received_local_time"] is not None for s in sockets if s["database"] == "system")
    node3 = run.hostvars("node3")
    # node3 is no seed: each seed reports its own sockets to it.
    reporters = {(s["reported_by"], s["peer"]) for s in node3["harper_connections"]}
    assert reporters == {("node1", "node1"), ("node2", "node2")}
    assert "warning" not in run.stderr.lower(), run.stderr
    if ANSIBLE_VERSION >= (2, 19):
        # ansible-inventory marks the values that must never be templated: all that the cluster said.
        assert {node.replication_url for node in mesh} | {"node1", "node2", "node3"} <= set(run.unsafe)


def test_report_play_shows_every_member(mesh, tmp_path):
    source = tmp_path / "cluster.harper.yml"
    source.write_text("plugin: harperdb.cluster.harper\nseeds: [%s]\n" % mesh[0].api_url)
    done = run_playbook(Path(REPO) / "playbooks" / "cluster_report.yml", ["-i", str(source)],
                        env=credentials(mesh[0]))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for node in mesh:
        assert "%s: connected" % node.name in done.stdout
    assert "3 members: 3 connected, 0 disconnected" in done.stdout
    assert mesh[0].password not in done.stdout + done.stderr


def test_a_stopped_node_moves_to_disconnected(mesh):
    mesh[2].stop()
    try:
        wait_until(lambda: inventory_ok(mesh[0]).hosts("harper_disconnected") == ["node3"], 60,
                   "node3 to show in harper_disconnected")
        run = inventory_ok(mesh[0], mesh[2], retries=0)
        assert run.hosts("harper_connected") == ["node1", "node2"]
        assert run.hosts("harper_disconnected") == ["node3"]
        node3 = run.hostvars("node3")
        assert node3["harper_connected"] is False
        assert not any(s["connected"] for s in node3["harper_connections"])
        assert said("Seed %s is left out, the inventory is built from the other seeds: cluster_status on %s "
                    "failed: connection refused." % (mesh[2].api_url, mesh[2].api_url), run.stderr)
    finally:
        mesh[2].start()
        mesh[2].wait_ready()
    wait_until(lambda: inventory_ok(mesh[0]).hosts("harper_connected") == ["node1", "node2", "node3"], 90,
               "node3 to reconnect")


def test_two_shards_make_two_groups(mesh):
    shards = {"node1": {"shard": 1}, "node2": {"shard": 1}, "node3": {"shard": 2}}
    # harper_mesh sets the shard on its seed's records of the other members, and its seed is the
    # first member: a second run led by node2 gives node1 its shard.
    for order in (mesh, [mesh[1], mesh[0], mesh[2]]):
        run = run_module("harper_mesh", mesh_args(order, **shards))
        assert not run.failed, run.get("msg")
    wait_until(lambda: inventory_ok(mesh[2]).hosts("harper_shard_1") == ["node1", "node2"], 30,
               "node3 to hold node1's shard")
    listing = inventory_ok(mesh[0], mesh[2])
    assert listing.hosts("harper_shard_1") == ["node1", "node2"]
    assert listing.hosts("harper_shard_2") == ["node3"]
    assert listing.hostvars("node3")["harper_shard"] == 2
    assert all(listing.hostvars(node.name)["harper_disagreements"] == [] for node in mesh)
    graph = inventory_ok(mesh[0], graph=True)
    assert "  |--@harper_shard_1:\n  |  |--node1\n  |  |--node2\n" in graph.stdout
    assert "  |--@harper_shard_2:\n  |  |--node3\n" in graph.stdout


def test_bad_password_fails_naming_the_seed_and_the_fix(mesh):
    run = run_inventory(config(mesh[0]), env=credentials(mesh[0], HARPER_PASSWORD="not-the-password"))
    assert run.returncode != 0
    assert said("harper inventory: No seed answered. Seed %s: cluster_status on %s failed: Harper rejected the "
                "credentials (HTTP 401: Login failed). Check username and password (or token) for this node."
                % (mesh[0].api_url, mesh[0].api_url), run.output)
    assert "not-the-password" not in run.output
    assert mesh[0].password not in run.output


def test_closed_port_fails_naming_the_seed(mesh):
    seed = "https://%s:9999" % mesh[0].ip
    run = run_inventory(dict(config(), seeds=[seed], retries=0), env=credentials(mesh[0]))
    assert run.returncode != 0
    assert said("cluster_status on %s failed: connection refused. Check that Harper is running and that the seed's "
                "URL points at its operations API port" % seed, run.output)


def test_seed_without_replication_is_explained(mesh, testbed_factory):
    bed = testbed_factory(1, mode="dev", replication=False, password=mesh[0].password)
    try:
        lone = bed.nodes[0]
        advice = ('cluster_status on %s answered without native replication ({"connections": []}). '
                  "Replication is not configured on this node: set replication.hostname or replication.url "
                  "in harperdb-config.yaml (REPLICATION_HOSTNAME at install) and restart it." % lone.api_url)
        run = inventory_ok(mesh[0], lone)
        assert run.hosts("harper_connected") == ["node1", "node2", "node3"]
        assert said("Seed %s is left out, the inventory is built from the other seeds: %s"
                    % (lone.api_url, advice), run.stderr)
        alone = run_inventory(config(lone), env=credentials(mesh[0]))
        assert alone.returncode != 0
        assert said("No seed answered. Seed %s: %s" % (lone.api_url, advice), alone.output)
    finally:
        bed.stop()
