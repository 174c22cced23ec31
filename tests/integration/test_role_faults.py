# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults during a run of playbooks/site.yml, on one cluster of three hosts reused by every fault.

Each fault is injected at a point of the run found by watching it, not after a fixed sleep: a
member killed once the seed holds the record of the first add_node that joins it; a member
restarted, and one killed, while the playbook is stopped (SIGSTOP of its process group) between
the wait for the operations APIs and the membership task; a member whose operations API accepts
connections and never answers (a TCP gate in front of it, switched to hold every new connection
when the membership phase begins); a member whose process hangs (SIGSTOP) before the run. Before
each fault, records are written to data.dog.

For each: the run fails with a message that names the member and what to do (or, for a restart
that is over before the membership task starts, converges), the rerun with the fault cleared
converges with no manual step (every socket connected), a second rerun changes nothing, and every
record written so far is on every node.
"""

import os
import re
import signal
import subprocess
import threading
import time

import pytest

from harper_state import ensure_table, wait_until
from role_cluster import OPS_PORT, STOP_TIMEOUT, laid_out_cluster, mesh_problems, wait_stopped
from tcp_gate import TcpGate

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

HOSTS = ("harper-1", "harper-2", "harper-3")
# The banner of the first task of mesh.yml: every host is through wait.yml, harper_mesh is next.
MESH_PHASE = "TASK [harperdb.cluster.harper_cluster : Note whether a real run would start Harper here first"
JOIN_TIMEOUT = 30
REQUEST_TIMEOUT = 3
API_TIMEOUT = 4
RECORDS_PER_FAULT = 25
RECORD_WAIT = 60


@pytest.fixture(scope="module")
def cluster(address_allocator):
    with laid_out_cluster(address_allocator, HOSTS, "test_role_faults",
                          group_vars={"harper_cluster_join_timeout": JOIN_TIMEOUT}) as bed:
        bed.left_out.add("harper-3")
        bed.record_ids = []
        bed.fault_messages = {}
        # The address a gate in front of harper-2's operations API listens on (fault 3).
        bed.gate_ip = address_allocator.take(1)
        yield bed


def failure_messages(run):
    """The msg of every failed task of a run."""
    return re.findall(r'(?:fatal|failed): \[[^\]]+\].*?"msg": "((?:[^"\\]|\\.)*)"', run.output)


def last_failure(run):
    """The msg of the last failed task of a run that must have failed."""
    assert run.returncode != 0, run.tail()
    messages = failure_messages(run)
    assert messages, run.tail()
    return messages[-1]


def insert_records(cluster, label):
    """Write RECORDS_PER_FAULT records to data.dog on the first host; remember their ids."""
    writer = cluster.nodes[0]
    ids = ["%s-%02d" % (label, index) for index in range(RECORDS_PER_FAULT)]
    writer.call({"operation": "insert", "database": "data", "table": "dog",
                 "records": [{"id": record_id, "written_before": label} for record_id in ids]})
    cluster.record_ids.extend(ids)


def assert_every_record_everywhere(cluster):
    """Every record written so far is on every node: the same count and the same ids."""
    expected = sorted(cluster.record_ids)
    seen = {}

    def complete():
        for node in cluster.nodes:
            rows = node.call({"operation": "search_by_value", "database": "data", "table": "dog",
                              "search_attribute": "id", "search_value": "*", "get_attributes": ["id"]})
            seen[node.name] = sorted(row["id"] for row in rows)
        return all(ids == expected for ids in seen.values())

    try:
        wait_until(complete, RECORD_WAIT, "every record on every node")
    except AssertionError:
        lost = dict((name, sorted(set(expected) - set(ids))) for name, ids in seen.items())
        raise AssertionError("records missing (of %d) after %d s: %s" % (len(expected), RECORD_WAIT, lost))


def converge_and_rerun(cluster, label):
    """The rerun with the fault cleared converges; a second rerun changes nothing; no record lost."""
    run = cluster.run()
    cluster.timings[label + ": rerun"] = round(run.seconds, 1)
    run.assert_ok()
    assert mesh_problems(cluster.nodes) == []
    again = cluster.run()
    cluster.timings[label + ": second rerun"] = round(again.seconds, 1)
    again.assert_ok()
    assert again.changed() == dict.fromkeys(again.hosts, 0), again.tail()
    assert again.count("add_node") == 0 and again.count("remove_node") == 0, again.report
    assert_every_record_everywhere(cluster)
    return run


class PauseAt(object):
    """A run watcher: at the first line holding text, stop the playbook's process group, call
    fault(), and let the playbook go on."""

    def __init__(self, text, fault):
        self.text = text
        self.fault = fault
        self.done = False

    def __call__(self, line, process):
        if self.done or self.text not in line:
            return
        self.done = True
        os.killpg(process.pid, signal.SIGSTOP)
        try:
            self.fault()
        finally:
            os.killpg(process.pid, signal.SIGCONT)


def harperdb_start(node):
    """Harper's own start, as the role runs it (the daemon outlives the command)."""
    env = dict(os.environ, HOME=node.home, ROOTPATH=node.root_path)
    subprocess.run([node.program, "start"], env=env, capture_output=True, timeout=STOP_TIMEOUT, check=True)


def test_setup_two_hosts_and_records(cluster):
    run = cluster.run()
    cluster.timings["first run, 2 hosts"] = round(run.seconds, 1)
    run.assert_ok()
    assert mesh_problems(cluster.nodes) == []
    ensure_table(cluster.nodes[0], "dog")
    insert_records(cluster, "setup")
    assert_every_record_everywhere(cluster)


def test_member_killed_in_the_middle_of_its_join(cluster):
    seed = cluster.by_name["harper-1"]
    joining = cluster.by_name["harper-3"]
    insert_records(cluster, "join")
    cluster.left_out.discard(joining.name)
    stop = threading.Event()
    killed = []

    def kill_once_recorded():
        # The seed writes its record of the joining node when add_node reaches it.
        while not stop.is_set():
            try:
                rows = seed.call({"operation": "search_by_id", "database": "system", "table": "hdb_nodes",
                                  "ids": [joining.name], "get_attributes": ["name"]}, timeout=5)
            except Exception:  # pylint: disable=broad-except
                rows = []
            if rows:
                joining.kill()
                killed.append(time.monotonic())
                return
            stop.wait(0.05)

    watcher = threading.Thread(target=kill_once_recorded, daemon=True)
    watcher.start()
    try:
        run = cluster.run()
    finally:
        stop.set()
        watcher.join(10)
    cluster.timings["fault 1: failing run"] = round(run.seconds, 1)
    assert killed, "the seed never recorded %s: the join was not reached\n%s" % (joining.name, run.tail())
    message = last_failure(run)
    assert joining.name in message or joining.ip in message, message
    assert "%s stopped answering during the run: start it" % joining.name in message, message
    # The others' sockets to a dead member are no stall: their worker threads are left alone.
    assert "restarted once" not in message, message
    wait_stopped(joining)
    cluster.fault_messages["killed during its join"] = message
    converge_and_rerun(cluster, "fault 1")


def test_member_restarted_between_the_wait_and_the_membership_task(cluster):
    restarted = cluster.by_name["harper-2"]
    insert_records(cluster, "restart")
    pids_before = set(restarted.pids())

    def restart():
        restarted.harperdb_stop()
        wait_stopped(restarted)
        harperdb_start(restarted)
        wait_until(lambda: restarted.call({"operation": "cluster_status"}, timeout=5), 90,
                   "%s to answer after its restart" % restarted.name)

    pause = PauseAt(MESH_PHASE, restart)
    run = cluster.run(watch=pause)
    cluster.timings["fault 2: run"] = round(run.seconds, 1)
    assert pause.done, run.tail()
    assert not pids_before & set(restarted.pids()), "%s was not restarted" % restarted.name
    # A member that is back before the membership task starts is no fault for it: the task waits
    # until its sockets connect again.
    run.assert_ok()
    assert run.count("add_node") == 0, run.report
    assert mesh_problems(cluster.nodes) == []
    converge_and_rerun(cluster, "fault 2")


def test_member_whose_api_never_answers(cluster):
    hung = cluster.by_name["harper-2"]
    insert_records(cluster, "hang")
    gate = TcpGate((cluster.gate_ip, OPS_PORT), (hung.ip, OPS_PORT))
    gate.open()
    cluster.host_vars[hung.name] = {"harper_cluster_api_url": "https://%s:%d" % (cluster.gate_ip, OPS_PORT)}
    cluster.group_vars["harper_cluster_request_timeout"] = REQUEST_TIMEOUT
    try:
        pause = PauseAt(MESH_PHASE, gate.hang)
        run = cluster.run(watch=pause)
        cluster.timings["fault 3: failing run"] = round(run.seconds, 1)
        assert pause.done, run.tail()
        message = last_failure(run)
        assert hung.name in message, message
        assert "no answer within %d seconds" % REQUEST_TIMEOUT in message, message
        assert "Raise timeout" in message, message
        # 4 tries of REQUEST_TIMEOUT s and 7 s between them, not 4 x 30 s.
        assert run.seconds < 90, run.seconds
        cluster.fault_messages["API never answers"] = message
        gate.open()
        run = cluster.run()
        cluster.timings["fault 3: rerun through the open gate"] = round(run.seconds, 1)
        run.assert_ok()
    finally:
        del cluster.host_vars[hung.name]
        del cluster.group_vars["harper_cluster_request_timeout"]
        gate.close()
    converge_and_rerun(cluster, "fault 3")


def test_member_whose_process_hangs_fails_the_wait_naming_it(cluster):
    # A stopped process (SIGSTOP) still has its connections accepted by the kernel, and answers none.
    hung = cluster.by_name["harper-2"]
    insert_records(cluster, "frozen")
    cluster.group_vars["harper_cluster_api_timeout"] = API_TIMEOUT
    pids = hung.pids()
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        run = cluster.run()
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        del cluster.group_vars["harper_cluster_api_timeout"]
    cluster.timings["fault 3b: failing run"] = round(run.seconds, 1)
    assert run.returncode != 0, run.tail()
    assert run.recap[hung.name]["failed"] == 1, run.tail()
    messages = failure_messages(run)
    assert len(messages) == 1, run.tail()
    message = messages[0]
    assert message.startswith("%s: the operations API at %s did not answer" % (hung.name, hung.api_url)), message
    assert "Check that Harper runs there and is not hung" in message and "Then rerun." in message, message
    # The others went on: the membership task ran for them, without the host that failed.
    assert all(run.recap[node.name]["failed"] == 0 for node in cluster.nodes if node is not hung), run.tail()
    cluster.fault_messages["process hung at the wait"] = message
    converge_and_rerun(cluster, "fault 3b")


def test_member_down_when_the_membership_is_verified(cluster):
    down = cluster.by_name["harper-3"]
    insert_records(cluster, "down")

    def kill():
        down.kill()
        wait_stopped(down)

    pause = PauseAt(MESH_PHASE, kill)
    run = cluster.run(watch=pause)
    cluster.timings["fault 4: failing run"] = round(run.seconds, 1)
    assert pause.done, run.tail()
    message = last_failure(run)
    assert down.name in message, message
    assert "Check that Harper is running" in message, message
    cluster.fault_messages["down at the check"] = message
    converge_and_rerun(cluster, "fault 4")
    print("\nfailure messages: %s" % cluster.fault_messages)
