# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Soak: consecutive from-scratch runs of playbooks/site.yml, each checked to the last socket.

Each of --runs runs lays out --size fresh hosts on this machine (a new directory and a fresh
block of loopback addresses after --first-ip, so no run meets a port or a file of the one
before), then:

1. converge: site.yml installs, starts and joins them;
2. every node's cluster_status must list every other node with every database socket
   connected, read right after the run (no grace: the role says it checked);
3. rerun: site.yml again, which must report changed=0 on every host and write nothing;
4. the mesh is read again, then every Harper process of the run is stopped (SIGTERM, SIGKILL
   at a deadline) before the next run starts.

Heals are the worker restarts the role's harper_mesh task made to revive a stalled socket,
read from the join report (`restarted`, written through harper_cluster_join_report_dir) and
counted as restart_service operations in it. A run that fails keeps its output, join reports
and every node's Harper log under --failure-dir; the soak goes on with the next run.

It prints a table and the totals and, unless --no-docs, writes them into the "Soak" section
of docs/reliability.md between its markers. Exit status 1 when any run failed.

    .venv/bin/python tests/bench/soak.py --runs 20
"""

import argparse
import datetime
import ipaddress
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from ansible_run import REPO  # noqa: E402  pylint: disable=wrong-import-position
from role_cluster import Cluster, mesh_problems, terminate  # noqa: E402  pylint: disable=wrong-import-position

RELIABILITY_MD = REPO / "docs" / "reliability.md"
BEGIN_MARK = "<!-- soak: begin (tests/bench/soak.py writes this part) -->"
END_MARK = "<!-- soak: end -->"
DEFAULT_FIRST_IP = "127.0.75.2"
# The test command and the role tests bind 127.0.0.x and 127.0.2.x.
RESERVED_NETWORKS = (ipaddress.ip_network("127.0.0.0/24"), ipaddress.ip_network("127.0.2.0/24"))


class RunFailed(Exception):
    """One soak run did not end converged, connected and unchanged on its rerun."""


def log(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def address_blocks(first_ip, runs, size):
    """runs blocks of size consecutive loopback addresses, checked before any node starts."""
    first = ipaddress.ip_address(first_ip)
    blocks = []
    for run in range(runs):
        block = [first + run * size + offset for offset in range(size)]
        for address in block:
            if address.version != 4 or not address.is_loopback or int(address) & 0xFF in (0, 255):
                raise ValueError("address %s is not a usable IPv4 loopback host address; pick another --first-ip"
                                 % address)
            if any(address in network for network in RESERVED_NETWORKS):
                raise ValueError("address %s is in %s, which the test suite uses; pick another --first-ip"
                                 % (address, ", ".join(str(n) for n in RESERVED_NETWORKS)))
        blocks.append(str(block[0]))
    return blocks


def heals(report):
    """(members restarted, restart_service writes) of one join report."""
    if not report:
        return 0, 0
    restarts = [op for op in report.get("operations") or [] if op.get("operation") == "restart_service"]
    return len(report.get("restarted") or []), len(restarts)


def keep_failure(cluster, runs, failure_dir, index):
    """Copy the run's outputs, join reports and every node's Harper logs under failure_dir."""
    target = os.path.join(failure_dir, "run-%02d" % index)
    os.makedirs(target, exist_ok=True)
    for name, run in runs:
        with open(os.path.join(target, "%s.log" % name), "w") as handle:
            handle.write(run.output.replace(cluster.password, "<PASSWORD>"))
    if os.path.isdir(cluster.report_dir):
        shutil.copytree(cluster.report_dir, os.path.join(target, "reports"), dirs_exist_ok=True)
    for node in cluster.all_nodes:
        logs = os.path.join(node.root_path, "log")
        if os.path.isdir(logs):
            shutil.copytree(logs, os.path.join(target, node.name + "-log"), dirs_exist_ok=True)
    return target


def checked_run(cluster, name, runs, row):
    """One site.yml run that must pass and leave the mesh connected; its seconds and heals go in row."""
    run = cluster.run()
    runs.append((name, run))
    row[name] = run.seconds
    if run.returncode != 0:
        raise RunFailed("%s failed (rc %s)" % (name, run.returncode))
    run.assert_ok()
    row[name + "_heals"], row[name + "_restarts"] = heals(run.report)
    problems = mesh_problems(cluster.nodes)
    if problems:
        raise RunFailed("mesh not connected after the %s: %s" % (name, "; ".join(problems)))
    return run


def one_run(index, first_ip, size, work_dir, failure_dir, removals):
    """A from-scratch converge, mesh check, rerun and stop; a dict of what was measured."""
    base_dir = tempfile.mkdtemp(prefix="s%02d" % index, dir=work_dir)
    hosts = ["harper-%d" % (i + 1) for i in range(size)]
    cluster = Cluster(base_dir, first_ip, hosts)
    row = {"run": index, "first_ip": first_ip, "ok": False}
    runs = []
    try:
        converge = checked_run(cluster, "converge", runs, row)
        row["add_node"] = converge.count("add_node")
        rerun = checked_run(cluster, "rerun", runs, row)
        row["rerun_changed"] = sum(rerun.changed().values())
        row["rerun_writes"] = len(rerun.report.get("operations") or [])
        if row["rerun_changed"] or row["rerun_writes"]:
            raise RunFailed("rerun changed %d tasks and wrote %d operations"
                            % (row["rerun_changed"], row["rerun_writes"]))
        row["ok"] = True
    except (RunFailed, AssertionError, OSError, ValueError, KeyError) as exc:
        row["error"] = " ".join(str(exc).split())[:400]
        row["kept"] = keep_failure(cluster, runs, failure_dir, index)
    finally:
        started = time.monotonic()
        try:
            terminate(cluster.all_nodes)
        finally:
            row["stop"] = time.monotonic() - started
            # Five npm installs take a minute or two to delete on a loaded machine: in the
            # background, while the next run goes on.
            removals.append(subprocess.Popen(["rm", "-rf", "--", base_dir]))
    return row


def fmt(value, pattern="%.1f"):
    return "-" if value is None else pattern % value


def table(rows):
    lines = ["| run | converge (s) | rerun (s) | rerun changed | add_node | heals (converge / rerun) | result |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for row in rows:
        lines.append("| %d | %s | %s | %s | %s | %s / %s | %s |" % (
            row["run"], fmt(row.get("converge")), fmt(row.get("rerun")), fmt(row.get("rerun_changed"), "%d"),
            fmt(row.get("add_node"), "%d"), fmt(row.get("converge_heals"), "%d"), fmt(row.get("rerun_heals"), "%d"),
            "ok" if row["ok"] else "FAILED: " + row.get("error", "")[:160]))
    return "\n".join(lines)


def totals(rows, size, planned):
    done = [row for row in rows if row["ok"]]
    heal_count = sum(row.get("converge_heals", 0) + row.get("rerun_heals", 0) for row in rows)
    restart_count = sum(row.get("converge_restarts", 0) + row.get("rerun_restarts", 0) for row in rows)
    so_far = "" if len(rows) == planned else "; %d runs of %d made so far" % (len(rows), planned)
    lines = ["runs converged, connected and unchanged on the rerun: %d of %d (N = %d)%s"
             % (len(done), len(rows), size, so_far),
             "heals (members whose worker threads were restarted): %d in all, %d restart_service writes"
             % (heal_count, restart_count)]
    timed = [row for row in rows if row.get("converge") is not None]
    if timed:
        slowest = max(timed, key=lambda r: r["converge"] + (r.get("rerun") or 0))
        converges = sorted(row["converge"] for row in timed)
        lines.append("slowest run: %d, converge %.1f s + rerun %s s" % (
            slowest["run"], slowest["converge"], fmt(slowest.get("rerun"))))
        lines.append("converge seconds: min %.1f, median %.1f, max %.1f" % (
            converges[0], converges[len(converges) // 2], converges[-1]))
    reruns = sorted(row["rerun"] for row in rows if row.get("rerun") is not None)
    if reruns:
        lines.append("rerun seconds: min %.1f, median %.1f, max %.1f" % (reruns[0], reruns[len(reruns) // 2], reruns[-1]))
    return lines


def section(command, started, ended, load, rows, size, planned):
    lines = [BEGIN_MARK,
             "",
             "- Command: `%s`" % command,
             "- From %s to %s, load average %s at the start and %s at the end" % (
                 started.strftime("%Y-%m-%d %H:%M"), ended.strftime("%H:%M UTC"), load[0], load[1]),
             ""]
    lines.extend("- %s" % line for line in totals(rows, size, planned))
    lines.extend(["", table(rows), "", END_MARK])
    return "\n".join(lines)


def write_docs(text):
    with open(str(RELIABILITY_MD)) as handle:
        doc = handle.read()
    if BEGIN_MARK in doc and END_MARK in doc:
        head, rest = doc.split(BEGIN_MARK, 1)
        doc = head + text + rest.split(END_MARK, 1)[1]
    else:
        heading = "\n## Soak\n"
        if heading not in doc:
            raise RuntimeError("%s has no '## Soak' section to write into" % RELIABILITY_MD)
        after = doc.index(heading) + len(heading)
        following = doc.find("\n## ", after)
        following = len(doc) if following < 0 else following
        doc = doc[:following].rstrip("\n") + "\n\n" + text + "\n" + doc[following:]
    with open(str(RELIABILITY_MD), "w") as handle:
        handle.write(doc)


def load_average():
    return "%.2f %.2f %.2f" % os.getloadavg()


def _terminate(signum, _frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=20, help="from-scratch runs to make")
    parser.add_argument("--size", type=int, default=5, help="hosts per run")
    parser.add_argument("--first-ip", default=DEFAULT_FIRST_IP,
                        help="first loopback address; run k takes the size addresses after run k-1's")
    parser.add_argument("--failure-dir", default=None,
                        help="where failed runs keep their logs (default: a new folder under /tmp)")
    parser.add_argument("--no-docs", dest="docs", action="store_false",
                        help="print the table only; leave docs/reliability.md alone")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.size < 2:
        parser.error("--runs must be at least 1 and --size at least 2")
    try:
        blocks = address_blocks(args.first_ip, args.runs, args.size)
    except ValueError as exc:
        parser.error(str(exc))
    signal.signal(signal.SIGTERM, _terminate)
    command = " ".join([".venv/bin/python", "tests/bench/soak.py"] + [shlex.quote(a) for a in (
        argv if argv is not None else sys.argv[1:])])
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = load_average()
    # Short: Harper's domain socket lives under each ROOTPATH and must stay under about 100 characters.
    work_dir = tempfile.mkdtemp(prefix="hsk", dir="/tmp")
    failure_dir = args.failure_dir or tempfile.mkdtemp(prefix="soak-failures-", dir="/tmp")
    os.makedirs(failure_dir, exist_ok=True)
    removals = []
    rows = []
    try:
        for index, first_ip in enumerate(blocks, 1):
            row = one_run(index, first_ip, args.size, work_dir, failure_dir, removals)
            rows.append(row)
            log("run %d/%d from %s: %s, converge %s s, rerun %s s, rerun changed %s, heals %s/%s, stop %.1f s%s" % (
                index, args.runs, first_ip, "ok" if row["ok"] else "FAILED", fmt(row.get("converge")),
                fmt(row.get("rerun")), fmt(row.get("rerun_changed"), "%d"), fmt(row.get("converge_heals"), "%d"),
                fmt(row.get("rerun_heals"), "%d"), row["stop"],
                "" if row["ok"] else "\n    %s\n    logs kept in %s" % (row["error"], row["kept"])))
            if args.docs:  # after every run, so a soak cut short still leaves its figures
                write_docs(section(command, started, datetime.datetime.now(datetime.timezone.utc),
                                   (load_start, load_average()), rows, args.size, args.runs))
    except KeyboardInterrupt:
        log("interrupted after %d runs; every node of the run in progress was stopped" % len(rows))
        if not rows:
            return 130
    finally:
        for removal in removals:
            removal.wait()
        shutil.rmtree(work_dir, ignore_errors=True)
        if not os.listdir(failure_dir):
            os.rmdir(failure_dir)
    ended = datetime.datetime.now(datetime.timezone.utc)
    print(table(rows))
    print()
    for line in totals(rows, args.size, args.runs):
        print(line)
    if args.docs:
        write_docs(section(command, started, ended, (load_start, load_average()), rows, args.size, args.runs))
        log("wrote the Soak section of %s" % RELIABILITY_MD)
    return 0 if all(row["ok"] for row in rows) and len(rows) == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
