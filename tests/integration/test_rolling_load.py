# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rolling restart under a write load loses no record and never has two nodes down together.

Three hosts laid out by the role (prod mode, connection local, one loopback address each, as in
test_role_site.py). The write load of write_load.py upserts a numbered record every 100 ms through
a node that answers, switching nodes when one stops, while a monitor probes every node's
operations API every 200 ms; playbooks/rolling_restart.yml runs meanwhile. Afterwards every
acknowledged record must be on every node (count and ids), the monitor must show no two nodes
down at once, and every node must run a new process. The figures (longest write gap, failed
attempts, downtime per node) are printed.
"""

import json
import time

import pytest

from ansible_run import REPO, run_playbook
from harper_state import wait_until
from role_cluster import laid_out_cluster, mesh_problems
from write_load import WriteLoad

pytestmark = pytest.mark.integration

HOSTS = ("harper-1", "harper-2", "harper-3")
ROLLING_RESTART = REPO / "playbooks" / "rolling_restart.yml"
# Writes acknowledged before the rollout starts and after it ends, so the load is seen running.
SETTLE_WRITES = 15


@pytest.fixture(scope="module")
def cluster(address_allocator):
    with laid_out_cluster(address_allocator, HOSTS, "test_rolling_load") as bed:
        run = bed.run()
        bed.timings["first run"] = round(run.seconds, 1)
        run.assert_ok()
        assert mesh_problems(bed.nodes) == []
        yield bed


def run_rolling_restart(cluster, *args):
    started = time.monotonic()
    done = run_playbook(ROLLING_RESTART, ["-i", cluster.write_inventory(), "-e", "@" + cluster.credentials] + list(args),
                        env={"ANSIBLE_LOG_PATH": cluster.ansible_log})
    output = done.stdout + done.stderr
    assert cluster.password not in output, "the admin password appears in the output of rolling_restart.yml"
    return done.returncode, output, time.monotonic() - started


def wait_for_writes(load, count, timeout=60):
    wanted = len(load.acknowledged) + count
    wait_until(lambda: len(load.acknowledged) >= wanted, timeout, "%d more acknowledged writes" % count)


def test_a_rolling_restart_under_write_load_loses_no_record(cluster):
    load = WriteLoad(cluster.nodes)
    load.create_table()
    pids = dict((node.name, set(node.pids())) for node in cluster.nodes)
    assert all(pids.values()), pids
    with load:
        wait_for_writes(load, SETTLE_WRITES)
        returncode, output, seconds = run_rolling_restart(cluster)
        cluster.timings["rolling restart"] = round(seconds, 1)
        wait_for_writes(load, SETTLE_WRITES)
    report = load.verify(timeout=120)
    figures = report.figures()
    print("\nrolling restart under load: %s" % json.dumps(figures))
    assert returncode == 0, "rolling_restart.yml failed (rc %s):\n%s" % (returncode, output[-6000:])
    assert report.problems() == [], (report.problems(), figures, report.failures[:10])
    assert report.lost == [] and len(report.written) > 2 * SETTLE_WRITES, figures
    for node in cluster.nodes:
        now = set(node.pids())
        assert now and now.isdisjoint(pids[node.name]), "%s was not restarted: processes %s before, %s after" % (
            node.name, sorted(pids[node.name]), sorted(now))
        assert report.down[node.name], "the monitor never saw %s down" % node.name
    assert mesh_problems(cluster.nodes) == []
