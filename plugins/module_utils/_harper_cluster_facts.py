# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harper_cluster_facts module: one node's view of its cluster, as a fact.

Internal to the harperdb.cluster collection: it may change in any release.

Three reads (cluster_status, system.hdb_nodes, get_configuration), no write.
An account that may not run one of them gets the rest of the fact, its access
fact naming each refused read, and a warning each, instead of a failure.
Each peer's database sockets carry their replication lag (_state.socket_lag),
summed up in replication; with wait, the reads repeat until it is caught up.
"""

import time

from ansible_collections.harperdb.cluster.plugins.module_utils._base import HarperModule
from ansible_collections.harperdb.cluster.plugins.module_utils._client import (
    AuthorizationError,
    HarperError,
    WaitTimeout,
    poll_until,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._state import (
    ClusterState,
    read_records,
    read_replication_config,
    socket_lag,
)


def replication_summary(state, peers, now):
    """Add lag_seconds and caught_up to each socket of peers; return the replication summary.

    caught_up is true only when every peer has sockets and each is connected and caught up.
    """
    lagging = []
    lags = []
    pressures = []
    for peer in peers:
        raw = state.raw_sockets(peer["name"])
        if not raw:
            lagging.append({"peer": peer["name"], "database": None, "lag_seconds": None,
                            "reason": "no database socket"})
        for socket, summary in zip(raw, peer["databases"]):
            lag, caught_up, reason = socket_lag(socket, now)
            summary["lag_seconds"] = lag
            summary["caught_up"] = caught_up
            if lag is not None:
                lags.append(lag)
            if isinstance(summary.get("backpressure_percent"), (int, float)) and summary["connected"]:
                pressures.append(summary["backpressure_percent"])
            if not caught_up:
                lagging.append({"peer": peer["name"], "database": summary["database"], "lag_seconds": lag,
                                "reason": reason})
    return {
        "caught_up": not lagging,
        "max_lag_seconds": max(lags) if lags else None,
        "max_backpressure_percent": max(pressures) if pressures else None,
        "lagging": lagging,
    }


def cluster_facts(state, replication, now=None):
    """The harper_cluster fact of one node."""
    peers = state.peers()
    own = state.own_record
    disconnected = state.disconnected()
    summary = replication_summary(state, peers, time.time() if now is None else now)
    return {
        "node_name": state.node_name,
        "url": state.url or own.get("url") or replication.get("url"),
        "is_enabled": state.is_enabled,
        "shard": own.get("shard", replication.get("shard")),
        "routes": list(replication.get("routes") or []),
        "peers": peers,
        "peer_count": len(peers),
        "all_connected": not disconnected,
        "disconnected": disconnected,
        "replication": summary,
    }


# What harper_cluster_facts reads, by the name its access fact gives each.
_FACT_READS = (
    ("cluster_status", lambda client: client.call("cluster_status")),
    ("hdb_nodes", read_records),
    ("configuration", read_replication_config),
)


def read_facts(client):
    """The harper_cluster fact of one node, as far as the account may read it.

    Harper 4.7 lets only a super_user run cluster_status and get_configuration and read
    system.hdb_nodes; each refused read leaves its part of the fact empty (null where a value
    would mislead, such as all_connected) and is named in access, instead of failing.
    Returns (facts, refusals), refusals being the messages of the refused reads.
    """
    answers = {}
    refusals = []
    access = {"account": client.username, "role": None, "super_user": None, "can_read": {}, "denied": []}
    for name, read in _FACT_READS:
        access["can_read"][name] = True
        try:
            answers[name] = read(client)
        except AuthorizationError as exc:
            answers[name] = None
            access["can_read"][name] = False
            refusals.append(exc.message)
            access["denied"].extend("%s: %s" % (name, item) for item in exc.denied or ["refused (HTTP 403)"])
    if refusals:
        try:
            info = client.call("user_info")
        except HarperError:
            info = None
        if isinstance(info, dict):
            role = info.get("role") if isinstance(info.get("role"), dict) else {}
            access["role"] = role.get("role")
            access["super_user"] = bool((role.get("permission") or {}).get("super_user"))
            access["account"] = info.get("username") or access["account"]
    else:
        # Harper runs cluster_status for a super_user only.
        access["super_user"] = True
    replication = answers["configuration"] or {}
    if answers["cluster_status"] is None:
        facts = {
            "node_name": None,
            "url": replication.get("url"),
            "is_enabled": None,
            "shard": replication.get("shard"),
            "routes": list(replication.get("routes") or []),
            "peers": [],
            "peer_count": None,
            "all_connected": None,
            "disconnected": [],
            "replication": {"caught_up": None, "max_lag_seconds": None, "max_backpressure_percent": None,
                            "lagging": []},
        }
    else:
        state = ClusterState(answers["cluster_status"], answers["hdb_nodes"],
                             where="cluster_status on %s" % client.api_url)
        facts = cluster_facts(state, replication)
    facts["access"] = access
    return facts, refusals


def describe_lag(facts):
    """The sockets of a fact that are not caught up, with their figures, in one line."""
    replication = facts["replication"]
    parts = []
    for entry in replication["lagging"]:
        where = entry["peer"] if entry["database"] is None else "%s/%s" % (entry["peer"], entry["database"])
        lag = "" if entry["lag_seconds"] is None else ", lag %.0f s" % entry["lag_seconds"]
        parts.append("%s (%s%s)" % (where, entry["reason"], lag))
    figures = "max lag %s s, max backpressure %s%%" % (
        "unknown" if replication["max_lag_seconds"] is None else "%.0f" % replication["max_lag_seconds"],
        "unknown" if replication["max_backpressure_percent"] is None
        else "%g" % replication["max_backpressure_percent"])
    return "%s; %s" % ("; ".join(parts) or "nothing lagging", figures)


def wait_caught_up(client, timeout):
    """Read the fact until replication is caught up; return the last (facts, refusals).

    Raises WaitTimeout, the last fact in its result, when timeout seconds pass first; and
    HarperError at once when the account may not read cluster_status (nothing to wait on).
    """
    last = []

    def check():
        facts, refusals = read_facts(client)
        last[:] = [facts, refusals]
        if facts["replication"]["caught_up"] is None:
            error = HarperError("Cannot wait for replication on %s: the account may not read cluster_status. "
                                "Connect as a super_user, or leave wait off." % client.api_url)
            error.result = {"ansible_facts": {"harper_cluster": facts}}
            raise error
        return facts["replication"]["caught_up"], "Not caught up: %s." % describe_lag(facts)

    try:
        poll_until(check, timeout, "replication to catch up")
    except WaitTimeout as exc:
        facts = last[0]
        exc.message = ("Timed out after %s s waiting for replication on node %s (%s) to catch up. Not caught "
                       "up: %s." % (timeout, facts["node_name"], client.api_url, describe_lag(facts)))
        exc.result = {"ansible_facts": {"harper_cluster": facts}}
        raise
    return last[0], last[1]


class ClusterFactsModule(HarperModule):
    """The harper_cluster_facts module: the connection's options, wait and wait_timeout."""

    def __init__(self):
        super().__init__(dict(
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=300),
        ))

    def run(self):
        if self.params["wait"]:
            facts, refusals = wait_caught_up(self.client, self.params["wait_timeout"])
        else:
            facts, refusals = read_facts(self.client)
        for refusal in refusals:
            self.module.warn(self.scrub(refusal))
        return {"changed": False, "ansible_facts": {"harper_cluster": facts}}
