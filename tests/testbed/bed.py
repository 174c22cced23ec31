# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A set of Harper nodes on consecutive loopback addresses, saved to and loaded from a file."""

import concurrent.futures
import contextlib
import ipaddress
import json
import os
import secrets

import requests

from .errors import HarperAPIError
from .node import (DEFAULT_HTTP_PORT, DEFAULT_OPS_PORT, DEFAULT_REPLICATION_PORT, HarperNode)
from .package import HARPER_VERSION, cache_root, ensure_package

DEFAULT_FIRST_IP = "127.0.0.2"
STATE_FILE = "testbed.json"


class Testbed:
    """A set of Harper nodes on consecutive loopback addresses."""

    __test__ = False  # not a pytest test class despite its name

    def __init__(self, base_dir, count=3, first_ip=DEFAULT_FIRST_IP,
                 mode="dev", name_prefix="node", username="admin",
                 password=None, version=None, ops_port=DEFAULT_OPS_PORT,
                 http_port=DEFAULT_HTTP_PORT,
                 replication_port=DEFAULT_REPLICATION_PORT, pin_auth_port=False,
                 replication=True, advertised_urls=None, nodes=None):
        # advertised_urls: {node index from 1: the replication url that node advertises}.
        if count < 1:
            raise ValueError("count must be at least 1")
        if not ipaddress.ip_address(first_ip).is_loopback:
            raise ValueError("first_ip must be a loopback address: %s" % first_ip)
        self.base_dir = os.path.abspath(base_dir)
        self.mode = mode
        self.username = username
        self.password = password or secrets.token_urlsafe(16)
        self.version = version or HARPER_VERSION
        self.nodes = nodes if nodes is not None else [
            HarperNode(
                index=i,
                name="%s%d" % (name_prefix, i),
                ip=str(ipaddress.ip_address(first_ip) + (i - 1)),
                home=os.path.join(self.base_dir, "%s%d" % (name_prefix, i), "home"),
                rootpath=os.path.join(self.base_dir, "%s%d" % (name_prefix, i), "hdb"),
                password=self.password, mode=mode, username=username,
                ops_port=ops_port, http_port=http_port,
                replication_port=replication_port, pin_auth_port=pin_auth_port,
                replication=replication,
                advertised_url=(advertised_urls or {}).get(i),
            )
            for i in range(1, count + 1)
        ]

    @property
    def state_path(self):
        return os.path.join(self.base_dir, STATE_FILE)

    def _each(self, action, nodes=None):
        """Run action(node) for every node at once; raise the first error
        after all have finished, so a failure never leaves work running."""
        nodes = self.nodes if nodes is None else nodes
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            futures = [pool.submit(action, node) for node in nodes]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]
        return [f.result() for f in futures]

    def start(self, timeout=90.0):
        """Install and start every node, wait until all answer.

        Returns {node name: seconds from start to ready}. On failure every
        node is stopped and the error carries the failing node's log tail.
        """
        executable = ensure_package(self.version)
        os.makedirs(self.base_dir, exist_ok=True)
        try:
            for node in self.nodes:  # refuse before touching anything
                node.check_ports_free()
                node.executable = executable
            self._each(lambda node: node.install())
            for node in self.nodes:
                node.start()
            self.save()
            ready = self._each(lambda node: node.wait_ready(timeout))
        except BaseException:
            with contextlib.suppress(Exception):
                self.stop()
            raise
        self.save()
        return {node.name: seconds for node, seconds in zip(self.nodes, ready)}

    def stop(self):
        try:
            self._each(lambda node: node.stop())
        finally:
            if os.path.isdir(self.base_dir):
                self.save()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def describe(self):
        return {
            "base_dir": self.base_dir,
            "version": self.version,
            "mode": self.mode,
            "username": self.username,
            "password": self.password,
            "nodes": [node.describe() for node in self.nodes],
        }

    def save(self):
        # Holds a throwaway test password: readable by the owner only.
        temp_path = self.state_path + ".tmp"
        fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.describe(), handle, indent=2)
        os.chmod(temp_path, 0o600)
        os.replace(temp_path, self.state_path)

    @classmethod
    def load(cls, base_dir):
        with open(os.path.join(base_dir, STATE_FILE)) as handle:
            state = json.load(handle)
        executable = os.path.join(
            cache_root(), "harperdb-%s" % state["version"],
            "node_modules", ".bin", "harperdb",
        )
        nodes = [
            HarperNode(
                index=n["index"], name=n["name"], ip=n["ip"], home=n["home"],
                rootpath=n["rootpath"], password=state["password"],
                mode=n["mode"], username=state["username"],
                ops_port=n["ops_port"], http_port=n["http_port"],
                replication_port=n["replication_port"],
                executable=executable, pid=n["pid"],
                pin_auth_port=n.get("pin_auth_port", False),
                replication=n.get("replication", True),
                advertised_url=n.get("advertised_url"),
            )
            for n in state["nodes"]
        ]
        return cls(base_dir, count=len(nodes), mode=state["mode"],
                   username=state["username"], password=state["password"],
                   version=state["version"], nodes=nodes)

    def status(self):
        report = []
        for node in self.nodes:
            entry = {"name": node.name, "api_url": node.api_url,
                     "pid": node.pid, "running": node.is_running(),
                     "answering": False, "rss_bytes": node.rss_bytes()}
            if entry["running"]:
                try:
                    cluster = node.call({"operation": "cluster_status"}, timeout=5)
                    entry["answering"] = True
                    entry["connections"] = {
                        peer["name"]: all(s.get("connected") for s in
                                          peer.get("database_sockets", []))
                        for peer in cluster.get("connections", [])
                    }
                except (requests.RequestException, HarperAPIError, ValueError) as exc:
                    entry["error"] = str(exc)
            report.append(entry)
        return report
