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

import email.utils
import time

from ansible_collections.harperdb.cluster.plugins.module_utils._base import HarperModule
from ansible_collections.harperdb.cluster.plugins.module_utils._client import (
    AuthorizationError,
    FinalHarperError,
    HarperError,
    WaitTimeout,
    poll_until,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._state import (
    ClusterState,
    read_records,
    harper_time,
    newest_received,
    newest_writes,
    read_replication_config,
    socket_lag,
)


def replication_summary(state, peers, now, sent=None, writes=None):
    """Add lag_seconds and caught_up to each socket of peers; return the replication summary.

    caught_up is true only when every peer has sockets and each is connected and caught up.
    sent, when given (a wait keeps it from one read to the next), maps (peer, database) to the
    newest entry of this node's own seen in sendingMessage, and a socket stays not caught up until
    the peer's lastCommitConfirmed reaches it (confirm_sent). writes maps a database to the time
    of its newest record (newest_writes of describe_all).
    """
    lagging = []
    lags = []
    pressures = []
    received = [harper_time(s.get("lastReceivedLocalTime")) for peer in peers
                for s in state.raw_sockets(peer["name"])]
    received = max([t for t in received if t is not None] or [None]) if received else None
    # A database's newest record is this node's own write when it is newer than anything received
    # from a peer for that database; each peer must then have confirmed it.
    own_writes = {}
    for database, written in (writes or {}).items():
        arrived = newest_received([s for peer in peers for s in state.raw_sockets(peer["name"])
                                   if s.get("database") == database])
        if arrived is None or written > arrived:
            own_writes[database] = written
    for peer in peers:
        raw = state.raw_sockets(peer["name"])
        if not raw:
            lagging.append({"peer": peer["name"], "database": None, "lag_seconds": None,
                            "reason": "no database socket"})
        for socket, summary in zip(raw, peer["databases"]):
            lag, caught_up, reason = socket_lag(socket, now, own_writes.get(summary["database"]))
            if sent is not None:
                lag, caught_up, reason = confirm_sent(sent, (peer["name"], summary["database"]), socket,
                                                      received, now, (lag, caught_up, reason))
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


def confirm_sent(sent, key, socket, received, now, lag):
    """The (lag_seconds, caught_up, reason) of a socket in a wait: what socket_lag says, but not
    caught up until the peer confirmed the newest entry of this node's own seen being sent.

    A node's sender ends well before its peer has committed a large transaction (50,000 records:
    about 20 s on the test bed, docs/replication-lag.md); the peer's lastCommitConfirmed on the
    socket reaches the last entry only then. Entries a node merely passes on (it received them
    from another node and never sends them on, so no peer confirms them) show in sendingMessage
    too, with times within a second of the node's newest lastReceivedLocalTime: only entries
    newer than that count as its own.
    """
    entry = harper_time(socket.get("sendingMessage"))
    if entry is not None and (received is None or entry > received + 1):
        sent[key] = max(sent.get(key, entry), entry)
    if not lag[1] or key not in sent:
        return lag
    confirmed = harper_time(socket.get("lastCommitConfirmed"))
    if confirmed is not None and confirmed >= sent[key]:
        del sent[key]
        return lag
    return (max(0.0, now - sent[key]), False,
            "waiting for the peer to confirm entries up to %s" % email.utils.formatdate(sent[key], usegmt=True))


def cluster_facts(state, replication, now=None, sent=None, writes=None):
    """The harper_cluster fact of one node (sent, writes: see replication_summary)."""
    peers = state.peers()
    own = state.own_record
    disconnected = state.disconnected()
    summary = replication_summary(state, peers, time.time() if now is None else now, sent, writes)
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


def read_newest_writes(client):
    """The time of each database's newest record (describe_all); {} when describe_all fails (then
    no write is waited for, and the fact is what it was without it).

    Read before cluster_status: a record that came from a peer then shows there as received,
    however fast records arrive in between.
    """
    try:
        return newest_writes(client.call("describe_all"))
    except HarperError:
        return {}


def read_facts(client, sent=None):
    """The harper_cluster fact of one node, as far as the account may read it.

    Harper 4.7 lets only a super_user run cluster_status and get_configuration and read
    system.hdb_nodes; each refused read leaves its part of the fact empty (null where a value
    would mislead, such as all_connected) and is named in access, instead of failing.
    Returns (facts, refusals), refusals being the messages of the refused reads.
    """
    writes = read_newest_writes(client)
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
        facts = cluster_facts(state, replication, sent=sent, writes=writes)
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

    A read that fails (a node busy committing a large transaction can take longer than timeout to
    answer) counts as not caught up yet. Raises WaitTimeout when timeout seconds pass first, with
    the fact of the last read that answered in its result; a FinalHarperError at once when the
    account may not read cluster_status (nothing to wait on) or may not log in.
    """
    last = []
    errors = []
    sent = {}

    def check():
        try:
            facts, refusals = read_facts(client, sent)
        except FinalHarperError:
            raise
        except HarperError as exc:
            errors[:] = [exc.message]
            return False, None
        errors[:] = []
        last[:] = [facts, refusals]
        if facts["replication"]["caught_up"] is None:
            error = FinalHarperError("Cannot wait for replication on %s: the account may not read cluster_status. "
                                     "Connect as a super_user, or leave wait off." % client.api_url)
            error.result = {"ansible_facts": {"harper_cluster": facts}}
            raise error
        return facts["replication"]["caught_up"], None

    try:
        poll_until(check, timeout, "replication to catch up")
    except WaitTimeout as exc:
        where = "node %s (%s)" % (last[0]["node_name"], client.api_url) if last else client.api_url
        parts = ["Timed out after %s s waiting for replication on %s to catch up." % (timeout, where)]
        if last:
            parts.append("Not caught up: %s." % describe_lag(last[0]))
            exc.result = {"ansible_facts": {"harper_cluster": last[0]}}
        if errors:
            parts.append("Last read failed: %s" % errors[0])
        exc.message = " ".join(parts)
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
