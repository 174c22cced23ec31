# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harper_cluster role, end to end through playbooks/site.yml.

One story in file order on three hosts of this machine (connection local, one
loopback address each, prod mode, a random admin password in an extra-vars
file): first run, rerun at -vvv, a node stopped under a run limited to the
others, recovery, scale in, and a final run that stops every node. Each host
gets its own npm install of harperdb; the role runs npm with the caller's HOME,
so every install after the first on a machine takes the package files from
npm's own cache (~/.npm) instead of downloading them again.

What the role did is read from its join reports and the PLAY RECAP; what the
cluster is is read from each node over HTTP, without the collection's code.
"""

import pytest

from harper_state import replicate_and_read_back
from role_cluster import laid_out_cluster, mesh_problems, wait_stopped

pytestmark = pytest.mark.integration

HOSTS = ("harper-1", "harper-2", "harper-3")


@pytest.fixture(scope="module")
def cluster(address_allocator):
    with laid_out_cluster(address_allocator, HOSTS, "test_role_site") as bed:
        yield bed


def test_first_run_joins_the_hosts_with_two_writes(cluster):
    run = cluster.run()
    cluster.timings["first run"] = round(run.seconds, 1)
    run.assert_ok()
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
