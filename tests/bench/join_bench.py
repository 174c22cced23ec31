# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Join benchmark: how long joins take, and how often Harper leaves a socket stuck.

Each round starts N fresh prod-mode nodes and joins them one at a time,
each new node added on the first node with harper_node
(wait, and restart_stalled unless --no-restart-stalled), then a wait until
every node so far sees every other with all sockets connected (spread by
Harper, not by the module). It prints one line per join and a summary:
seconds per join, worker restarts, sockets that never connected, and the
nodes' resident memory at the end of each round.

    .venv/bin/python tests/bench/join_bench.py --nodes 4 --rounds 5
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from ansible_run import collection_tree, run_module  # noqa: E402  pylint: disable=wrong-import-position
from harper_state import connection_args, peer_args, peer_connected  # noqa: E402  pylint: disable=wrong-import-position

collection_tree.use_checkout()  # the collection, tests/ included, importable by its full name
from ansible_collections.harperdb.cluster.tests import testbed  # noqa: E402  pylint: disable=wrong-import-position

MESH_TIMEOUT = 60
POLL_SECONDS = 0.2


def mesh_connected(nodes):
    return all(peer_connected(node, other.name) for node in nodes for other in nodes if other is not node)


def wait_mesh(nodes, timeout):
    """Seconds until every node sees every other connected, or None after timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if mesh_connected(nodes):
                return time.monotonic() - started
        except Exception:  # pylint: disable=broad-except  # a restarting node refuses for a while
            pass
        time.sleep(POLL_SECONDS)
    return None


def run_round(number, args, base_dir):
    bed = testbed.Testbed(os.path.join(base_dir, "round%d" % number), count=args.nodes,
                          mode="prod", first_ip=args.first_ip)
    joins = []
    bed.start()
    try:
        seed = bed.nodes[0]
        for index in range(1, args.nodes):
            joining = bed.nodes[index]
            task = dict(connection_args(seed), wait_timeout=args.wait_timeout,
                        restart_stalled=args.restart_stalled, **peer_args(joining))
            started = time.monotonic()
            run = run_module("harper_node", task)
            join = {"round": number, "node": joining.name, "seconds": time.monotonic() - started,
                    "restarted": bool(run.get("restarted")), "failed": run.failed,
                    "message": run.get("msg", "") if run.failed else ""}
            join["mesh_seconds"] = None if run.failed else wait_mesh(bed.nodes[:index + 1], MESH_TIMEOUT)
            joins.append(join)
            print("round %d  %-6s join %5.1f s  restarted %-5s  mesh %s%s" % (
                number, joining.name, join["seconds"], join["restarted"],
                "%.1f s" % join["mesh_seconds"] if join["mesh_seconds"] is not None else "NOT CONNECTED",
                "  FAILED: " + join["message"][:200] if join["failed"] else ""), flush=True)
            if join["failed"] or join["mesh_seconds"] is None:
                break
        rss = [node.rss_bytes() for node in bed.nodes]
    finally:
        bed.stop()
    return joins, [r for r in rss if r]


def summary(joins, rss):
    seconds = sorted(j["seconds"] for j in joins if not j["failed"])
    mesh = sorted(j["mesh_seconds"] for j in joins if j["mesh_seconds"] is not None)
    lines = [
        "joins: %d, failed: %d, worker restarts: %d, never fully connected: %d" % (
            len(joins), sum(j["failed"] for j in joins), sum(j["restarted"] for j in joins),
            sum(1 for j in joins if not j["failed"] and j["mesh_seconds"] is None)),
    ]
    if seconds:
        lines.append("join (harper_node run, incl. ansible-playbook start): median %.1f s, max %.1f s"
                     % (statistics.median(seconds), seconds[-1]))
    if mesh:
        lines.append("mesh so far connected after the join: median %.1f s, max %.1f s"
                     % (statistics.median(mesh), mesh[-1]))
    if rss:
        lines.append("node RSS at round end: median %.0f MiB, max %.0f MiB"
                     % (statistics.median(rss) / 2.0 ** 20, max(rss) / 2.0 ** 20))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--first-ip", default="127.0.7.2")
    parser.add_argument("--wait-timeout", type=int, default=60)
    parser.add_argument("--no-restart-stalled", dest="restart_stalled", action="store_false")
    args = parser.parse_args(argv)
    if args.nodes < 2 or args.rounds < 1:
        parser.error("--nodes must be at least 2 and --rounds at least 1")
    joins, rss = [], []
    with tempfile.TemporaryDirectory(prefix="harper-join-bench-") as base_dir:
        for number in range(1, args.rounds + 1):
            round_joins, round_rss = run_round(number, args, base_dir)
            joins.extend(round_joins)
            rss.extend(round_rss)
    print(summary(joins, rss))
    return 0 if all(not j["failed"] and j["mesh_seconds"] is not None for j in joins) else 1


if __name__ == "__main__":
    sys.exit(main())
