# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harper_cluster role, end to end through playbooks/site.yml.

One story in file order on three hosts of this machine (connection local, one
loopback address each, prod mode, a random admin password in an extra-vars
file): first run, rerun at -vvv, check mode with nothing to do, with a new host and with a host
marked absent (nothing changes on any node), a node stopped under a run limited
to the others, recovery, scale in, and a final run that stops every node. Each host
gets its own npm install of harperdb; the role runs npm with the caller's HOME,
so every install after the first on a machine takes the package files from
npm's own cache (~/.npm) instead of downloading them again.

What the role did is read from its join reports and the PLAY RECAP; what the
cluster is is read from each node over HTTP, without the collection's code.
"""

import os

import pytest

from harper_state import read_records, replicate_and_read_back
from role_cluster import laid_out_cluster, mesh_problems, wait_stopped

pytestmark = pytest.mark.integration

HOSTS = ("harper-1", "harper-2", "harper-3")
# A host that only a check-mode run sees in the inventory.
NEW_HOST = "harper-4"


@pytest.fixture(scope="module")
def cluster(address_allocator):
    with laid_out_cluster(address_allocator, HOSTS + (NEW_HOST,), "test_role_site") as bed:
        bed.left_out.add(NEW_HOST)
        yield bed


def cluster_state(nodes):
    """Every node's harperdb-config.yaml and node records, to compare before and after a check."""
    state = {}
    for node in nodes:
        with open(os.path.join(node.root_path, "harperdb-config.yaml")) as handle:
            config = handle.read()
        state[node.name] = (config, read_records(node, timestamps=True))
    return state


def test_first_run_joins_the_hosts_with_two_writes_and_keeps_the_password_nowhere(cluster):
    run = cluster.run("-vvv", "--diff")
    cluster.timings["first run"] = round(run.seconds, 1)
    run.assert_ok()
    # Not in the output, fact cache, log file or join reports, nor in Harper's log, configuration
    # or data on any node (its user table holds a hash; no credential is retained by default).
    assert os.listdir(cluster.report_dir) and os.path.exists(cluster.ansible_log)
    assert cluster.secret_findings(run) == []
    assert run.count("add_node") == len(HOSTS) - 1, run.report
    assert run.count("remove_node") == 0, run.report
    assert mesh_problems(cluster.nodes) == []
    replicate_and_read_back(cluster.nodes[0], cluster.nodes[1:])
    # The teardown finds the nodes by their processes: make sure it can.
    assert all(node.pids() for node in cluster.nodes)


def test_rerun_at_vvv_changes_nothing_and_hides_the_password(cluster):
    # cluster.run checks that the password is absent from the output.
    run = cluster.run("-vvv")
    cluster.timings["rerun -vvv"] = round(run.seconds, 1)
    run.assert_ok()
    assert run.changed() == dict.fromkeys(HOSTS, 0), run.tail()
    assert run.count("add_node") == 0, run.report
    assert mesh_problems(cluster.nodes) == []
    assert cluster.secret_findings(run) == []


def test_check_mode_on_the_converged_cluster_has_nothing_to_do(cluster):
    members = [cluster.by_name[name] for name in HOSTS]
    before = cluster_state(members)
    run = cluster.run("--check", "--diff")
    cluster.timings["check mode, converged"] = round(run.seconds, 1)
    assert run.returncode == 0, run.tail()
    assert run.changed() == dict.fromkeys(HOSTS, 0), run.tail()
    assert cluster_state(members) == before


def test_rolling_restart_collection_playbook_in_check_mode_reports_the_order_and_restarts_nothing(cluster):
    members = [cluster.by_name[name] for name in HOSTS]
    before = cluster_state(members)
    pids = dict((node.name, sorted(node.pids())) for node in members)
    run = cluster.run("--check", playbook="harperdb.cluster.rolling_restart")
    cluster.timings["rolling_restart, check mode"] = round(run.seconds, 1)
    assert run.returncode == 0, run.tail()
    assert "Check mode: a real run would restart one node at a time, in this order: harper-1, harper-2, harper-3." \
        in " ".join(run.output.split()), run.tail()
    assert "Stop Harper for the rolling restart" not in run.output, run.tail()
    assert dict((node.name, sorted(node.pids())) for node in members) == pids
    assert cluster_state(members) == before


def test_check_mode_with_a_new_host_reports_its_join_and_changes_nothing(cluster):
    members = [cluster.by_name[name] for name in HOSTS]
    before = cluster_state(members)
    cluster.left_out.discard(NEW_HOST)
    try:
        run = cluster.run("--check", "--diff")
    finally:
        cluster.left_out.add(NEW_HOST)
    cluster.timings["check mode, new host"] = round(run.seconds, 1)
    assert run.returncode == 0, run.tail()
    assert run.changed()[NEW_HOST] > 0 and all(run.changed()[name] == 0 for name in HOSTS), run.tail()
    assert "Check mode: Harper does not run on %s, so it was not read; a real run would start it there first." \
        % NEW_HOST in run.output, run.tail()
    assert "joined ['%s'] (0 add_node)" % NEW_HOST in run.output, run.tail()
    assert cluster_state(members) == before
    assert not os.path.exists(cluster.by_name[NEW_HOST].home), "check mode created the new host's files"


def test_check_mode_with_a_host_marked_absent_reports_its_removal_and_changes_nothing(cluster):
    before = cluster_state(cluster.by_name[name] for name in HOSTS)
    cluster.absent.add("harper-2")
    try:
        run = cluster.run("--check", "--diff")
    finally:
        cluster.absent.discard("harper-2")
    cluster.timings["check mode, host absent"] = round(run.seconds, 1)
    assert run.returncode == 0, run.tail()
    assert "removed ['harper-2'] (0 remove_node)" in run.output, run.tail()
    assert cluster_state(cluster.by_name[name] for name in HOSTS) == before
    assert mesh_problems([cluster.by_name[name] for name in HOSTS]) == []


def test_a_run_limited_to_the_others_leaves_a_stopped_node_alone(cluster):
    stopped = cluster.by_name["harper-3"]
    stopped.harperdb_stop()
    wait_stopped(stopped)
    others = [node.name for node in cluster.nodes if node is not stopped]
    run = cluster.run("--limit", ",".join(others))
    cluster.timings["limited run, one node down"] = round(run.seconds, 1)
    assert run.returncode == 0, run.tail()
    assert sorted(run.recap) == sorted(others), run.tail()
    # The members keep their record of the stopped node; the run neither removes nor joins it.
    assert run.count("add_node") == 0 and run.count("remove_node") == 0, run.report
    assert run.report["unmanaged_peers"] == dict((name, ["harper-3"]) for name in others), run.report
    assert mesh_problems([node for node in cluster.nodes if node is not stopped]) != [], \
        "the others should still list harper-3, with its sockets down"
    assert stopped.is_stopped(), "a run limited to %s touched %s" % (others, stopped.name)


def test_the_full_run_starts_the_node_and_converges(cluster):
    run = cluster.run()
    cluster.timings["full run, recovery"] = round(run.seconds, 1)
    run.assert_ok()
    assert run.changed()["harper-3"] > 0, run.tail()  # it was started
    # The node kept its records: it comes back without a new join.
    assert run.count("add_node") == 0, run.report
    assert mesh_problems(cluster.nodes) == []


def test_scale_in_removes_and_stops_the_seed_host(cluster):
    # harper-1 is the seed that sent every join: its removal must move the seed.
    leaving = cluster.by_name["harper-1"]
    cluster.absent.add(leaving.name)
    run = cluster.run()
    cluster.timings["scale in"] = round(run.seconds, 1)
    run.assert_ok()
    assert run.count("remove_node") == 1, run.report
    assert run.count("add_node") == 0, run.report
    remaining = [node for node in cluster.nodes if node is not leaving]
    assert mesh_problems(remaining) == []
    wait_stopped(leaving)
    replicate_and_read_back(remaining[0], remaining[1:])


def test_scale_in_rerun_changes_nothing(cluster):
    run = cluster.run()
    cluster.timings["scale in rerun"] = round(run.seconds, 1)
    run.assert_ok()
    assert run.changed() == dict.fromkeys(HOSTS, 0), run.tail()
    assert run.count("remove_node") == 0, run.report
    assert run.count("add_node") == 0, run.report
    assert cluster.by_name["harper-1"].is_stopped()
