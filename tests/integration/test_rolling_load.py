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

Then the same load while a node fails to come back (its harperdb-config.yaml broken while it is
stopped): the rollout stops at that node, the node after it keeps its process, and the writes go
on through the other two, which both end up with every acknowledged record.
"""

import json
import os
import shutil
import subprocess
import time

import pytest
import yaml

from ansible_run import REPO, run_playbook
from harper_state import wait_until
from role_cluster import laid_out_cluster, mesh_problems, wait_stopped
from write_load import WriteLoad

# The role lays out three hosts (about 2 min here) before the rollouts: longer than the test
# command allows, so tests/run-reliability.sh runs this file.
pytestmark = [pytest.mark.integration, pytest.mark.reliability]

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


def run_rolling_restart(cluster, *args, **kwargs):
    started = time.monotonic()
    done = run_playbook(ROLLING_RESTART, ["-i", cluster.write_inventory(), "-e", "@" + cluster.credentials] + list(args),
                        env={"ANSIBLE_LOG_PATH": cluster.ansible_log}, watch=kwargs.get("watch"))
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


# How long the rollout waits for the broken node before it stops there.
BROKEN_TIMEOUT = 45
# Its operations API bound to an address this machine does not have: Harper starts and never
# answers where the role waits for it. (A line that is not YAML appended to the file was ignored:
# the node came back.)
UNREACHABLE_PORT = "192.0.2.1:9925"
STOPPED_TASK = "TASK [harperdb.cluster.harper_cluster : Wait until the stopped Harper has let go of its port]"


def break_config(path):
    with open(path) as handle:
        config = yaml.safe_load(handle)
    config.setdefault("operationsApi", {}).setdefault("network", {})["securePort"] = UNREACHABLE_PORT
    with open(path, "w") as handle:
        yaml.safe_dump(config, handle)


def test_a_node_that_does_not_come_back_stops_the_rollout_and_the_others_keep_the_writes(cluster):
    first, broken, last = (cluster.by_name[name] for name in HOSTS)
    config = os.path.join(broken.root_path, "harperdb-config.yaml")
    saved = config + ".saved"
    shutil.copyfile(config, saved)
    seen = []

    def break_config_once_stopped(line, dummy_process):
        # The rollout goes in inventory order: the second node's stop has returned when this task
        # header is printed for the second time, and its start is two tasks later. (Stopping the
        # playbook's process group here instead once left a worker forked meanwhile stopped.)
        if line.startswith(STOPPED_TASK):
            seen.append(line)
            if len(seen) == 2:
                break_config(config)

    load = WriteLoad(cluster.nodes, table="records_broken_node", start_on=last.name)
    load.create_table()
    pids = dict((node.name, set(node.pids())) for node in cluster.nodes)
    try:
        with load:
            wait_for_writes(load, SETTLE_WRITES)
            returncode, output, seconds = run_rolling_restart(
                cluster, "-e", "harper_cluster_rolling_timeout=%d" % BROKEN_TIMEOUT, watch=break_config_once_stopped)
            cluster.timings["rolling restart, broken node"] = round(seconds, 1)
            acknowledged_at_failure = len(load.acknowledged)
            wait_for_writes(load, SETTLE_WRITES)
        report = load.verify(timeout=120, names=(first.name, last.name))
        figures = report.figures()
        print("\nrolling restart with %s broken, under load: %s" % (broken.name, json.dumps(figures)))
        assert len(seen) == 2, "the rollout never reached %s:\n%s" % (broken.name, output[-6000:])
        assert returncode != 0, output[-6000:]
        assert "Rolling restart stopped at %s" % broken.name in output, output[-6000:]
        assert not broken.answers(), "%s answers on its address with its configuration broken" % broken.name
        assert set(last.pids()) == pids[last.name], "%s, after the failed node, was touched" % last.name
        assert set(first.pids()).isdisjoint(pids[first.name]), "%s was not restarted" % first.name
        # Writes went on through the two others after the rollout stopped, and both hold them all.
        assert len(report.written) >= acknowledged_at_failure + SETTLE_WRITES
        assert report.problems() == [], (report.problems(), figures)
        assert report.overlaps == []
    finally:
        shutil.move(saved, config)
    # Stopped (it runs without answering) and started again with its configuration back, the node
    # catches up on every record.
    broken.harperdb_stop()
    wait_stopped(broken)
    env = dict(os.environ, HOME=broken.home, ROOTPATH=broken.root_path)
    subprocess.run([broken.program, "start"], env=env, capture_output=True, timeout=120, check=True)
    wait_until(lambda: mesh_problems(cluster.nodes) == [], 180, "the mesh whole after %s started again" % broken.name)
    report = load.verify(timeout=120)
    assert report.problems() == [], report.problems()
