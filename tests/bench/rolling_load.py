# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A day-two operation on 3 prod-mode hosts under a write load, and its figures as a table.

Lays out 3 hosts with playbooks/site.yml (the role, connection local, one loopback address each),
starts the write load of tests/integration/write_load.py (a numbered record every 100 ms through a
node that is up, a probe of every node's API every 200 ms), runs the operation, stops the load,
waits until every node holds every acknowledged record, and prints the figures: records written,
lost, failed attempts, longest write gap, each node's downtime, overlaps, total time.

    --op restart   playbooks/rolling_restart.yml
    --op manual    a hand-made restart, node by node (harperdb stop, start, wait until every socket
                   is connected again), with no playbook: the harness's own check
    --op upgrade   laid out at --from-version, then playbooks/upgrade.yml to --to-version
    --op rotate    laid out with the role's cluster CA, then a new cluster CA: its files removed from
                   harper_cluster_pki_dir and site.yml run again (two rolling passes)

    .venv/bin/python tests/bench/rolling_load.py --op restart
Exit status 1 when a record was lost, two nodes were down together or the operation failed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from ansible_run import REPO, run_playbook  # noqa: E402  pylint: disable=wrong-import-position
from harper_state import wait_until  # noqa: E402  pylint: disable=wrong-import-position
from role_cluster import Cluster, mesh_problems, terminate, wait_stopped  # noqa: E402  pylint: disable=wrong-import-position
from write_load import WriteLoad  # noqa: E402  pylint: disable=wrong-import-position

HOSTS = ("harper-1", "harper-2", "harper-3")
DEFAULT_FIRST_IP = "127.0.83.20"


def log(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def run_operation_playbook(cluster, name, *args):
    """Run playbooks/NAME.yml on the cluster's inventory; (CompletedProcess, seconds)."""
    started = time.monotonic()
    env = {"ANSIBLE_LOG_PATH": cluster.ansible_log}
    done = run_playbook(REPO / "playbooks" / (name + ".yml"),
                        ["-i", cluster.write_inventory(), "-e", "@" + cluster.credentials] + list(args), env=env)
    return done, time.monotonic() - started


def start_node(node):
    env = dict(os.environ, HOME=node.home, ROOTPATH=node.root_path)
    subprocess.run([node.program, "start"], env=env, capture_output=True, timeout=120, check=True)


def manual_restart(cluster, load, timeout=180):
    """Restart every node in turn: stop it, start it, wait until the mesh is whole again."""
    for node in cluster.nodes:
        load.avoid(node.name)
        node.harperdb_stop()
        wait_stopped(node)
        start_node(node)
        wait_until(lambda: mesh_problems(cluster.nodes) == [], timeout, "the mesh whole after restarting %s" % node.name)
        load.allow(node.name)


def installed_version(node):
    path = os.path.join(node.install_dir, "node_modules", "harperdb", "package.json")
    try:
        with open(path) as handle:
            return json.load(handle)["version"]
    except (OSError, ValueError, KeyError):
        return "-"


def figures_table(op, figures, pids_changed, total, result):
    rows = [("operation", op), ("result", result), ("records written", figures["records written"]),
            ("lost", figures["lost"]), ("failed insert attempts", figures["failed attempts"]),
            ("longest write gap (s)", figures["longest gap s"]),
            ("downtime per node (s)", ", ".join("%s %s" % item for item in figures["downtime s"].items())),
            ("down intervals per node", ", ".join("%s %s" % item for item in figures["down intervals"].items())),
            ("two nodes down together", figures["overlaps"]),
            ("writes through each node", ", ".join("%s %s" % item for item in figures["writes by node"].items())),
            ("every process new", pids_changed),
            ("harperdb installed", ", ".join("%s %s" % item for item in figures["versions"].items())),
            ("load (s)", figures["load s"]), ("replication caught up after (s)", figures["verify s"]),
            ("total (s)", round(total, 1))]
    lines = ["| figure | value |", "| --- | --- |"]
    lines.extend("| %s | %s |" % row for row in rows)
    return "\n".join(lines)


def rotate_cluster_ca(cluster):
    """A new cluster CA, as an operator replacing one makes it: the old CA's files removed from
    harper_cluster_pki_dir, then site.yml, which rolls the new CA out in two passes."""
    pki = os.path.join(cluster.base_dir, "harper-pki", "harper")
    for name in ("ca.pem", "ca.key"):
        os.remove(os.path.join(pki, name))
    run = cluster.run()
    log("site.yml (a new cluster CA) rc %s in %.1f s" % (run.returncode, run.seconds))
    return "ok" if run.returncode == 0 else "site.yml failed (rc %s): %s" % (run.returncode, run.tail(2000))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--op", choices=("restart", "manual", "upgrade", "rotate"), required=True)
    parser.add_argument("--first-ip", default=os.environ.get("HARPER_TESTBED_FIRST_IP", DEFAULT_FIRST_IP))
    parser.add_argument("--from-version", default="4.7.19")
    parser.add_argument("--to-version", default="4.7.29")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds of load before and after the operation (default 3)")
    parser.add_argument("--keep", action="store_true", help="leave the nodes running and the folder in place")
    args = parser.parse_args(argv)

    base_dir = tempfile.mkdtemp(prefix="rl", dir="/tmp")
    group_vars = {}
    host_vars = {}
    if args.op == "upgrade":
        group_vars["harper_cluster_version"] = args.from_version
    cluster = Cluster(base_dir, args.first_ip, HOSTS, host_vars=host_vars, group_vars=group_vars)
    status = 1
    started = time.monotonic()
    try:
        log("laying out %s on %s..." % (", ".join(HOSTS), args.first_ip))
        run = cluster.run()
        run.assert_ok()
        log("site.yml: %.1f s" % run.seconds)
        assert mesh_problems(cluster.nodes) == [], mesh_problems(cluster.nodes)
        load = WriteLoad(cluster.nodes)
        load.create_table()
        pids = dict((node.name, set(node.pids())) for node in cluster.nodes)
        op_started = time.monotonic()
        result = "ok"
        with load:
            time.sleep(args.settle)
            log("load running; %s..." % args.op)
            if args.op == "manual":
                manual_restart(cluster, load)
            elif args.op == "restart":
                done, seconds = run_operation_playbook(cluster, "rolling_restart")
                log("rolling_restart.yml rc %s in %.1f s" % (done.returncode, seconds))
                if done.returncode != 0:
                    result = "playbook failed (rc %s): %s" % (done.returncode, done.stdout[-2000:])
            elif args.op == "upgrade":
                done, seconds = run_operation_playbook(cluster, "upgrade", "-e",
                                                       "harper_cluster_version=%s" % args.to_version)
                log("upgrade.yml rc %s in %.1f s" % (done.returncode, seconds))
                if done.returncode != 0:
                    result = "playbook failed (rc %s): %s" % (done.returncode, done.stdout[-2000:])
            else:
                result = rotate_cluster_ca(cluster)
            op_seconds = time.monotonic() - op_started
            time.sleep(args.settle)
        report = load.verify(timeout=180)
        changed = all(pids[node.name].isdisjoint(node.pids()) and node.pids() for node in cluster.nodes)
        figures = report.figures()
        figures["operation s"] = round(op_seconds, 1)
        figures["versions"] = dict((node.name, installed_version(node)) for node in cluster.nodes)
        log("figures: %s" % json.dumps(figures))
        print(figures_table(args.op, figures, changed, time.monotonic() - started, result.splitlines()[0][:200]))
        problems = report.problems()
        if result != "ok":
            print(result)
        for name in sorted(report.probe_failures):
            intervals = [(round(start, 1), round(end, 1)) for start, end in report.down[name]]
            print("%s: down %s; probe failures %s" % (name, intervals, report.probe_failures[name][:6]))
        for problem in problems:
            print("PROBLEM: %s" % problem)
        if report.failures:
            print("failed attempts: %s" % report.failures[:10])
        status = 0 if result == "ok" and not problems else 1
    finally:
        if not args.keep:
            terminate(cluster.all_nodes)
            shutil.rmtree(base_dir, ignore_errors=True)
        else:
            log("kept %s" % base_dir)
    return status


if __name__ == "__main__":
    sys.exit(main())
