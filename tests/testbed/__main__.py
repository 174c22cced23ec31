# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line: ``python -m tests.testbed install|up|status|down`` from the repo root."""

import argparse
import json
import os
import sys

from .bed import DEFAULT_FIRST_IP, STATE_FILE, Testbed
from .errors import TestbedError
from .node import MODES
from .package import HARPER_VERSION, ensure_package


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tests.testbed",
        description="Run real Harper (HarperDB) nodes on one machine for integration tests.")
    commands = parser.add_subparsers(dest="command", required=True)
    install = commands.add_parser(
        "install", help="npm-install the pinned harperdb into the cache (what `up` starts from); "
                        "for callers, such as ansible-test, that give `up` too few variables to reach npm")
    install.add_argument("--version", default=HARPER_VERSION)
    up = commands.add_parser("up", help="install and start nodes")
    up.add_argument("--dir", required=True)
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--mode", choices=MODES, default="dev")
    up.add_argument("--first-ip", default=DEFAULT_FIRST_IP)
    up.add_argument("--prefix", default="node")
    up.add_argument("--username", default="admin")
    up.add_argument("--password")
    up.add_argument("--version", default=HARPER_VERSION)
    up.add_argument("--timeout", type=float, default=90.0)
    up.add_argument("--pin-auth-port", action="store_true",
                    help="dev mode only: bind Harper's authentication "
                         "listener to the replication port instead of a "
                         "random port on all addresses")
    for name, text in (("down", "stop the nodes of a testbed"),
                       ("status", "report whether the nodes answer")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--dir", required=True)
    args = parser.parse_args(argv)

    if args.command == "install":
        try:
            print(ensure_package(args.version))
        except TestbedError as exc:
            print("harperdb %s could not be installed: %s" % (args.version, exc), file=sys.stderr)
            return 1
        return 0
    if args.command == "up":
        bed = Testbed(args.dir, count=args.nodes, first_ip=args.first_ip,
                      mode=args.mode, name_prefix=args.prefix,
                      username=args.username, password=args.password,
                      version=args.version, pin_auth_port=args.pin_auth_port)
        try:
            ready = bed.start(timeout=args.timeout)
        except TestbedError as exc:
            print("testbed failed to come up: %s" % exc, file=sys.stderr)
            return 1
        summary = bed.describe()
        summary["ready_seconds"] = {k: round(v, 2) for k, v in ready.items()}
        print(json.dumps(summary, indent=2))
        return 0
    if args.command == "down" and not os.path.exists(os.path.join(args.dir, STATE_FILE)):
        # `up` failed before saving the bed, and stopped what it had started.
        print(json.dumps({"stopped": []}))
        return 0
    bed = Testbed.load(args.dir)
    if args.command == "down":
        bed.stop()
        print(json.dumps({"stopped": [node.name for node in bed.nodes]}))
        return 0
    report = bed.status()
    print(json.dumps(report, indent=2))
    return 0 if all(entry["answering"] for entry in report) else 3


if __name__ == "__main__":
    sys.exit(main())
