# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one Harper node knows of its cluster, read in one place.

Internal to the harperdb.cluster collection: it may change in any release.

cluster_status gives the node's own name and the live sockets to each peer;
system.hdb_nodes gives the stored records (the node's own included), which is
where shard, subscriptions and revoked certificates really live. Records are
shown to users only through public_record(), which drops credentials and
server-only fields.
"""

import calendar
import email.utils
import json
import re

from ansible_collections.harperdb.cluster.plugins.module_utils._client import (
    NOT_CONFIGURED_HINT,
    HarperError,
)

# Fields of a node record that Harper 4.4 drops without an error: add_node and update_node answer
# 200 and store neither (measured on 4.4.18, whose code has no revoked_certificates at all, and
# which writes no replication.shard either); 4.7.19 and 4.7.29 store both.
FIELDS_SINCE_4_7 = ("shard", "revoked_certificates")
FIELDS_SINCE = (4, 7, 0)

# The fields of a node record that a user manages and may see.
PUBLIC_FIELDS = ("name", "url", "subscriptions", "shard", "revoked_certificates", "replicates")

_SOCKET_FIELDS = (
    ("database", "database"),
    ("connected", "connected"),
    ("latency", "latency"),
    ("lastCommitConfirmed", "last_commit_confirmed"),
    ("lastReceivedRemoteTime", "last_received_remote_time"),
    ("lastReceivedLocalTime", "last_received_local_time"),
    ("backPressurePercent", "backpressure_percent"),
    ("lastReceivedStatus", "last_received_status"),
)


def public_record(record):
    """A node record without credentials, certificates and timestamps."""
    if not record:
        return {}
    return dict((field, record.get(field)) for field in PUBLIC_FIELDS)


def socket_summary(socket):
    """One database socket of cluster_status, in snake_case; absent fields are None."""
    summary = dict((ours, socket.get(theirs)) for theirs, ours in _SOCKET_FIELDS)
    summary["connected"] = bool(summary["connected"])
    return summary


def harper_time(text):
    """Seconds since the epoch of a time cluster_status shows (Date.toUTCString(), whole seconds),
    or None for no time, "Copying" or anything else."""
    if not isinstance(text, str):
        return None
    parsed = email.utils.parsedate(text)
    return None if parsed is None else float(calendar.timegm(parsed))


def socket_lag(socket, now, own_write=None):
    """(lag_seconds, caught_up, reason) of one raw database socket of cluster_status.

    own_write is the time of the newest record of the socket's database when this node wrote it
    itself (newer than anything it received from a peer), or None.

    Harper 4.7 keeps, per peer and database, what this node last received from the peer and what
    it is sending to it (docs/replication-lag.md has the measurements):
    - sendingMessage: the time of the audit entry being sent to the peer; absent once the sender
      has reached the end of its audit log, "Copying" during the first full copy of a database.
    - lastReceivedStatus: "Receiving" from a transaction's first message until its end, "Waiting"
      after it; lastReceivedRemoteTime is the peer's time of the last transaction received,
      lastReceivedLocalTime this node's time when it arrived.
    - lastCommitConfirmed: the newest of this node's entries the peer confirmed it committed.
    A connected socket is caught up when it is neither sending nor receiving, and the peer has
    confirmed own_write (a sender is done long before its peer has committed a large insert). Its
    lag is 0 then; until the confirmation, the age of own_write; while sending, the age of the
    entry being sent (now - sendingMessage, now being the controller's clock); while receiving,
    how old the last transaction was when it arrived. Harper
    shows whole seconds. A socket with none of these fields (Harper 4.4) is caught up when it is
    connected and not catching up (catching_up_from), its lag unknown (None).
    """
    if not socket.get("connected"):
        return None, False, "disconnected"
    sending = socket.get("sendingMessage")
    if sending == "Copying":
        return None, False, "copying the database to the peer"
    if sending:
        started = harper_time(sending)
        lag = None if started is None else max(0.0, now - started)
        return lag, False, "sending entries from %s" % sending
    if socket.get("lastReceivedStatus") == "Receiving":
        remote = harper_time(socket.get("lastReceivedRemoteTime"))
        local = harper_time(socket.get("lastReceivedLocalTime"))
        lag = None if remote is None or local is None else max(0.0, local - remote)
        return lag, False, "receiving a transaction"
    if "lastReceivedStatus" not in socket and "sendingMessage" not in socket:
        if socket.get("catching_up_from"):
            return None, False, "catching up from %s" % socket["catching_up_from"]
        return None, True, None
    if own_write is not None:
        confirmed = harper_time(socket.get("lastCommitConfirmed"))
        if confirmed is None or int(own_write) > confirmed:
            return (max(0.0, now - own_write), False,
                    "the peer has not confirmed this node's write of %s" % email.utils.formatdate(own_write, usegmt=True))
    return 0.0, True, None


def newest_writes(described):
    """{database: seconds since the epoch of its newest record} from describe_all
    (last_updated_record, in ms, of each table); {} for anything else."""
    if not isinstance(described, dict):
        return {}
    newest = {}
    for database, tables in described.items():
        if not isinstance(tables, dict):
            continue
        times = [table.get("last_updated_record") for table in tables.values() if isinstance(table, dict)]
        times = [t for t in times if isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0]
        if times:
            newest[database] = max(times) / 1000.0
    return newest


def newest_received(sockets):
    """Seconds since the epoch of the newest transaction received from any peer over sockets."""
    times = []
    for socket in sockets:
        version = socket.get("lastReceivedVersion")
        if isinstance(version, (int, float)) and not isinstance(version, bool) and version > 0:
            times.append(version / 1000.0)
        else:
            remote = harper_time(socket.get("lastReceivedRemoteTime"))
            if remote is not None:
                times.append(remote + 1)
    return max(times) if times else None


class ClusterState:
    """One reading of a node: cluster_status plus system.hdb_nodes."""

    def __init__(self, status, records, where="cluster_status"):
        if not isinstance(status, dict) or status.get("type") != "cluster-status":
            # Without native replication cluster_status falls through to the
            # legacy code: {"connections": []} when clustering is off, the NATS
            # shape (is_enabled, node_name) when NATS clustering is on.
            if isinstance(status, dict) and status.get("is_enabled"):
                raise HarperError(
                    "%s answered in the shape of legacy NATS clustering, which this collection does "
                    "not support. Configure native replication (replication.hostname or "
                    "replication.url) instead." % where)
            raise HarperError("%s answered without native replication (%s). %s"
                              % (where, json.dumps(status)[:200], NOT_CONFIGURED_HINT))
        self.node_name = status.get("node_name")
        self.url = status.get("url")
        self.is_enabled = bool(status.get("is_enabled"))
        self.connections = dict((c.get("name"), c) for c in status.get("connections") or [])
        self.records = dict((r.get("name"), r) for r in records or [] if isinstance(r, dict))

    @classmethod
    def read(cls, client, records=True):
        """Read the node; records=False skips system.hdb_nodes (enough to watch sockets)."""
        status = client.call("cluster_status")
        stored = None
        if records:
            stored = read_records(client)
        return cls(status, stored, where="cluster_status on %s" % client.api_url)

    @property
    def own_record(self):
        return self.records.get(self.node_name) or {}

    def peer_names(self):
        """Every node this one knows of but itself, stored or connected."""
        names = set(self.records) | set(self.connections)
        names.discard(self.node_name)
        names.discard(None)
        return sorted(names)

    def peer_record(self, name):
        """The stored record of a peer, or the cluster_status entry if none is stored."""
        return self.records.get(name) or self.connections.get(name)

    def raw_sockets(self, name):
        """The database sockets to a peer as cluster_status gives them."""
        connection = self.connections.get(name) or {}
        return [s for s in connection.get("database_sockets") or [] if isinstance(s, dict)]

    def sockets(self, name):
        return [socket_summary(s) for s in self.raw_sockets(name)]

    def peer_connected(self, name):
        """True when the peer is listed with at least one socket and all are connected."""
        sockets = self.sockets(name)
        return bool(sockets) and all(s["connected"] for s in sockets)

    def peers(self):
        """Every peer as users see it: the public record, its sockets, and whether all connect."""
        peers = []
        for name in self.peer_names():
            peer = public_record(self.peer_record(name))
            peer["name"] = name
            peer["databases"] = self.sockets(name)
            peer["connected"] = self.peer_connected(name)
            peers.append(peer)
        return peers

    def disconnected(self):
        """(peer, database) pairs not connected; database is None for a peer with no socket."""
        pairs = []
        for name in self.peer_names():
            sockets = self.sockets(name)
            if not sockets:
                pairs.append({"peer": name, "database": None})
            pairs.extend({"peer": name, "database": s["database"]} for s in sockets if not s["connected"])
        return pairs


def read_records(client):
    """Every record of system.hdb_nodes, the node's own included."""
    return client.call("search_by_value", database="system", table="hdb_nodes", search_attribute="name",
                       search_value="*", get_attributes=["*"])


def find_peer(state, hostname=None, url=None):
    """The name of the stored peer meant by hostname and/or url, or None.

    By name first; with only a url, by the stored url, then by the url's host
    (Harper names a record by the name the peer reports, not by the url).
    """
    names = state.peer_names() + [state.node_name]
    if hostname:
        return hostname if hostname in names else None
    wanted = normalize_url(url)
    for name in names:
        record = state.peer_record(name) or {}
        if name == state.node_name:
            stored_url = state.url or record.get("url")
        else:
            stored_url = record.get("url")
        if stored_url and normalize_url(stored_url) == wanted:
            return name
    host = url_host(url)
    return host if host in names else None


def normalize_url(url):
    """Lower-case scheme and host, no trailing slash: how two replication urls compare."""
    url = (url or "").strip().rstrip("/")
    if "://" not in url:
        return url.lower()
    scheme, rest = url.split("://", 1)
    host_port, sep, path = rest.partition("/")
    return "%s://%s%s%s" % (scheme.lower(), host_port.lower(), sep, path)


def url_host(url):
    """The host of a url such as wss://host:9933 (brackets of an IPv6 literal removed)."""
    rest = (url or "").split("://", 1)[-1]
    host_port = rest.split("/", 1)[0]
    if host_port.startswith("["):
        return host_port[1:].split("]", 1)[0]
    return host_port.rsplit(":", 1)[0] if ":" in host_port else host_port


def read_replication_config(client):
    """The replication section of the configuration file, from get_configuration.

    It reads the file, so it holds the true routes (cluster_get_routes answers
    from memory that no route operation refreshes) and the node's own url,
    which cluster_status leaves out until the node has a peer.
    """
    configuration = client.call("get_configuration")
    replication = configuration.get("replication") if isinstance(configuration, dict) else None
    return replication or {}


def version_tuple(version):
    """(major, minor, patch) of a version such as 4.7.29 or 4.4.18-beta, or None."""
    match = re.match(r"\s*(\d+)\.(\d+)\.(\d+)", version) if isinstance(version, str) else None
    return tuple(int(part) for part in match.groups()) if match else None


def read_version(client):
    """Harper's version from registration_info (answered by 4.4 and 4.7), or None when the node
    does not say."""
    try:
        answer = client.call("registration_info")
    except HarperError as exc:
        # An operation a later Harper may drop: without it the version is unknown, not an error.
        if exc.status in (400, 404):
            return None
        raise
    version = answer.get("version") if isinstance(answer, dict) else None
    return version if isinstance(version, str) else None


def refuse_unstored_fields(client, fields, what):
    """Raise HarperError when the node runs a Harper older than 4.7.0, which drops these fields of
    a node record (shard, revoked_certificates) without an error; return the version read (None
    when the node does not say, or when no such field is given: then nothing is read)."""
    fields = [field for field in fields if field in FIELDS_SINCE_4_7]
    if not fields:
        return None
    version = read_version(client)
    parsed = version_tuple(version)
    if parsed is not None and parsed < FIELDS_SINCE:
        raise HarperError(
            "%s: Harper %s at %s stores no %s (it answers 200 and drops %s). Leave %s out for this "
            "node, or upgrade it to Harper %s or later." % (
                what, version, client.api_url, " and no ".join(fields), "them" if len(fields) > 1 else "it",
                " and ".join(fields), ".".join(str(part) for part in FIELDS_SINCE)))
    return version
