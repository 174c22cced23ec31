# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rolling restarts and the rolling upgrade of the harper_cluster role, end to end.

One story in file order on three prod-mode hosts of this machine: the cluster is built on Harper
4.7.19; playbooks/upgrade.yml in check mode reports the plan and changes nothing, then upgrades it
to 4.7.29 one node at a time; a configuration change restarts the nodes one at a time; a node whose
new configuration keeps it from coming back stops the rollout at that node (the node after it is
not restarted, the others keep replicating) and the rerun after the fix restarts the node left
behind; playbooks/rolling_restart.yml (as a collection playbook) restarts every node one at a time
changing nothing else, and refuses to start while a node is down.

One node at a time is proved from the play's output (each node is stopped, started and gated, and
every other member gated, before the next node is stopped), from each main process's start time,
and from a watcher that polls every operations port during the run.
"""

import os
import re
import threading

import pytest

from harper_state import replicate_and_read_back
from role_cluster import REPO, laid_out_cluster, mesh_problems, wait_stopped

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

HOSTS = ("harper-1", "harper-2", "harper-3")
OLD_VERSION = "4.7.19"
NEW_VERSION = "4.7.29"
UPGRADE = REPO / "playbooks" / "upgrade.yml"
ROLLING_RESTART = REPO / "playbooks" / "rolling_restart.yml"
MARK = "harper-cluster-restart-pending"

# The steps of tasks/rolling_node.yml seen in the output, by task name.
STEPS = {
    "Stop Harper for the rolling restart": "stop",
    "Install the new harperdb npm package while Harper is stopped": "install",
    "Start Harper again": "start",
    "Wait until the node is connected to every peer and caught up": "gate",
    "Wait until this member is connected to every peer and caught up": "member",
}
TASK_BANNER = re.compile(r"^TASK \[(?:[^\]]*? : )?(?P<name>[^\]]+)\]")
RESULT = re.compile(r"^(?P<status>ok|changed|fatal|failed): \[(?P<host>[^\]\s]+)")


@pytest.fixture(scope="module")
def cluster(address_allocator):
    with laid_out_cluster(address_allocator, HOSTS, "test_role_rolling",
                          group_vars={"harper_cluster_version": OLD_VERSION,
                                      "harper_cluster_rolling_timeout": 60}) as bed:
        yield bed


def main_pid(node):
    with open(os.path.join(node.root_path, "hdb.pid")) as handle:
        return int(handle.read().split()[0])


def started_at(pid):
    """The start time of a process in clock ticks since boot (field 22 of /proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[19])


def processes(cluster):
    """{host: (main pid, its start time)}."""
    found = {}
    for node in cluster.nodes:
        pid = main_pid(node)
        found[node.name] = (pid, started_at(pid))
    return found


def installed_version(node):
    return node.call({"operation": "registration_info"})["version"]


def rolling_steps(output):
    """[(step, host)] of the rolling restart, in the order the play printed them."""
    steps = []
    task = None
    for line in output.splitlines():
        banner = TASK_BANNER.match(line)
        if banner:
            task = banner.group("name")
            continue
        result = RESULT.match(line)
        if result and task in STEPS:
            steps.append((STEPS[task], result.group("host")))
    return steps


def expected_steps(order, upgrade=False):
    steps = []
    for host in order:
        steps.extend([("stop", host)] + ([("install", host)] if upgrade else []) + [("start", host), ("gate", host)])
        steps.extend(("member", other) for other in HOSTS if other != host)
    return steps


def normalized(steps):
    """The members' checks of one step run in parallel: sort each run of them."""
    out = []
    run = []
    for step in steps + [("end", "")]:
        if step[0] == "member":
            run.append(step)
            continue
        out.extend(sorted(run))
        run = []
        if step[0] != "end":
            out.append(step)
    return out


class DownWatcher(object):
    """Polls every node's operations port while a run lasts; keeps the most nodes seen down at once."""

    def __init__(self, nodes, interval=0.1):
        self.nodes = list(nodes)
        self.interval = interval
        self.most_down = 0
        self.down_seen = set()
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self._stop.is_set():
            down = [node.name for node in self.nodes if not node.answers()]
            self.down_seen.update(down)
            self.most_down = max(self.most_down, len(down))
            self.polls += 1
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def assert_one_at_a_time(cluster, run, before, watcher, order, upgrade=False):
    after = processes(cluster)
    steps = rolling_steps(run.output)
    assert normalized(steps) == normalized(expected_steps(order, upgrade)), run.tail()
    for name in order:
        assert after[name][0] != before[name][0], "%s was not restarted: %s -> %s" % (name, before, after)
    # Each node's new process started after the one before it in the rollout.
    starts = [after[name][1] for name in order]
    assert starts == sorted(starts), after
    assert watcher.most_down <= 1, "%d nodes were down at once (%d polls)" % (watcher.most_down, watcher.polls)
    assert not any(os.path.exists(os.path.join(node.root_path, MARK)) for node in cluster.nodes)


def test_the_cluster_on_the_old_version(cluster):
    run = cluster.run()
    cluster.timings["first run %s" % OLD_VERSION] = round(run.seconds, 1)
    run.assert_ok()
    assert mesh_problems(cluster.nodes) == []
    assert [installed_version(node) for node in cluster.nodes] == [OLD_VERSION] * len(HOSTS)


def test_upgrade_in_check_mode_reports_the_plan_and_changes_nothing(cluster):
    before = processes(cluster)
    check = cluster.run("--check", "-e", "harper_cluster_version=" + NEW_VERSION, playbook=UPGRADE)
    cluster.timings["upgrade, check mode"] = round(check.seconds, 1)
    assert check.returncode == 0, check.tail()
    assert ("Check mode: a real run would restart one node at a time, in this order: harper-1, harper-2, harper-3; "
            "upgraded to Harper %s: harper-1, harper-2, harper-3." % NEW_VERSION) in " ".join(check.output.split()), \
        check.tail()
    assert rolling_steps(check.output) == []
    assert processes(cluster) == before
    assert [installed_version(node) for node in cluster.nodes] == [OLD_VERSION] * len(HOSTS)


def test_upgrade_replaces_one_node_at_a_time(cluster):
    before = processes(cluster)
    cluster.group_vars["harper_cluster_version"] = NEW_VERSION
    with DownWatcher(cluster.nodes) as watcher:
        run = cluster.run(playbook=UPGRADE)
    cluster.timings["upgrade %s -> %s" % (OLD_VERSION, NEW_VERSION)] = round(run.seconds, 1)
    run.assert_ok()
    assert_one_at_a_time(cluster, run, before, watcher, HOSTS, upgrade=True)
    assert [installed_version(node) for node in cluster.nodes] == [NEW_VERSION] * len(HOSTS)
    assert mesh_problems(cluster.nodes) == []
    replicate_and_read_back(cluster.nodes[0], cluster.nodes[1:])


def test_upgrade_rerun_changes_nothing(cluster):
    before = processes(cluster)
    run = cluster.run(playbook=UPGRADE)
    cluster.timings["upgrade rerun"] = round(run.seconds, 1)
    run.assert_ok()
    assert run.changed() == dict.fromkeys(HOSTS, 0), run.tail()
    assert processes(cluster) == before


def test_a_configuration_change_restarts_one_node_at_a_time(cluster):
    before = processes(cluster)
    cluster.group_vars["harper_cluster_config_overrides"] = {"logging": {"level": "info"}}
    with DownWatcher(cluster.nodes) as watcher:
        run = cluster.run()
    cluster.timings["configuration change"] = round(run.seconds, 1)
    run.assert_ok()
    assert_one_at_a_time(cluster, run, before, watcher, HOSTS)
    assert watcher.down_seen == set(HOSTS), "the watcher never saw a node down: %s" % watcher.down_seen
    assert mesh_problems(cluster.nodes) == []


def test_a_node_that_does_not_come_back_stops_the_rollout_at_it(cluster):
    before = processes(cluster)
    change = {"logging": {"level": "error"}}
    cluster.group_vars["harper_cluster_config_overrides"] = change
    # Its operations API bound to an address this machine does not have: Harper starts, and
    # never answers where the role waits for it.
    cluster.host_vars.setdefault("harper-2", {})["harper_cluster_config_overrides"] = dict(
        change, operationsApi={"network": {"securePort": "192.0.2.1:9925"}})
    cluster.group_vars["harper_cluster_rolling_timeout"] = 20
    try:
        run = cluster.run()
    finally:
        cluster.group_vars["harper_cluster_rolling_timeout"] = 60
        del cluster.host_vars["harper-2"]["harper_cluster_config_overrides"]
    cluster.timings["rollout stopped at a broken node"] = round(run.seconds, 1)
    assert run.returncode != 0, run.tail()
    message = " ".join(run.output.split())
    assert "Rolling restart stopped at harper-2: its operations API did not answer within " \
        "harper_cluster_rolling_timeout (20 s)" in message, run.tail()
    assert "The nodes not restarted yet (harper-3) were left running untouched." in message, run.tail()
    after = processes(cluster)
    assert after["harper-1"][0] != before["harper-1"][0], "harper-1, before the broken node, was not restarted"
    assert after["harper-3"] == before["harper-3"], "harper-3, after the broken node, was restarted"
    assert rolling_steps(run.output)[-1] == ("start", "harper-2"), run.tail()
    assert not cluster.by_name["harper-2"].answers()
    # The others keep running and replicating.
    working = [cluster.by_name["harper-1"], cluster.by_name["harper-3"]]
    replicate_and_read_back(working[0], working[1:])
    replicate_and_read_back(working[1], working[:1])
    # harper-3 keeps its mark: its configuration is written but not applied yet.
    assert os.path.exists(os.path.join(cluster.by_name["harper-3"].root_path, MARK))


def test_the_rerun_after_the_fix_restarts_the_node_left_behind(cluster):
    broken = cluster.by_name["harper-2"]
    # The fix: stop the node that runs without answering; the rerun starts it with the right file.
    broken.harperdb_stop()
    wait_stopped(broken)
    left_behind = main_pid(cluster.by_name["harper-3"])
    run = cluster.run()
    cluster.timings["rerun after the fix"] = round(run.seconds, 1)
    run.assert_ok()
    assert main_pid(cluster.by_name["harper-3"]) != left_behind, "harper-3 was not restarted by the rerun"
    assert [step for step in rolling_steps(run.output) if step[0] != "member"] == \
        [("stop", "harper-3"), ("start", "harper-3"), ("gate", "harper-3")], run.tail()
    assert mesh_problems(cluster.nodes) == []
    assert not any(os.path.exists(os.path.join(node.root_path, MARK)) for node in cluster.nodes)
    replicate_and_read_back(cluster.nodes[1], [cluster.nodes[0], cluster.nodes[2]])


def test_rolling_restart_playbook_in_check_mode_reports_the_plan(cluster):
    before = processes(cluster)
    run = cluster.run("--check", playbook=ROLLING_RESTART)
    cluster.timings["rolling_restart.yml, check mode"] = round(run.seconds, 1)
    assert run.returncode == 0, run.tail()
    assert "Check mode: a real run would restart one node at a time, in this order: harper-1, harper-2, harper-3." \
        in " ".join(run.output.split()), run.tail()
    assert processes(cluster) == before


def test_rolling_restart_playbook_restarts_every_node_and_changes_nothing_else(cluster):
    before = processes(cluster)
    configs = dict((node.name, open(os.path.join(node.root_path, "harperdb-config.yaml")).read()) for node in cluster.nodes)
    with DownWatcher(cluster.nodes) as watcher:
        run = cluster.run(playbook="harperdb.cluster.rolling_restart")
    cluster.timings["harperdb.cluster.rolling_restart"] = round(run.seconds, 1)
    run.assert_ok()
    assert_one_at_a_time(cluster, run, before, watcher, HOSTS)
    assert configs == dict((node.name, open(os.path.join(node.root_path, "harperdb-config.yaml")).read())
                           for node in cluster.nodes)
    assert mesh_problems(cluster.nodes) == []


def test_rolling_restart_is_refused_while_a_node_is_down(cluster):
    down = cluster.by_name["harper-3"]
    down.harperdb_stop()
    wait_stopped(down)
    before = dict((name, value) for name, value in processes_of(cluster, ("harper-1", "harper-2")).items())
    run = cluster.run(playbook=ROLLING_RESTART)
    assert run.returncode != 0, run.tail()
    assert "Rolling restart refused before any restart: Harper does not run on harper-3" \
        in " ".join(run.output.split()), run.tail()
    assert rolling_steps(run.output) == []
    assert processes_of(cluster, ("harper-1", "harper-2")) == before


def processes_of(cluster, names):
    return dict((name, (main_pid(cluster.by_name[name]), started_at(main_pid(cluster.by_name[name])))) for name in names)
