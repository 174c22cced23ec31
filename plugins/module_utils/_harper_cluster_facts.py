# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harper_cluster_facts module: one node's view of its cluster, as a fact.

Internal to the harperdb.cluster collection: it may change in any release.

Three reads (cluster_status, system.hdb_nodes, get_configuration), no write.
An account that may not run one of them gets the rest of the fact, its access
fact naming each refused read, and a warning each, instead of a failure.
"""

from ansible_collections.harperdb.cluster.plugins.module_utils._base import HarperModule
from ansible_collections.harperdb.cluster.plugins.module_utils._client import AuthorizationError, HarperError
from ansible_collections.harperdb.cluster.plugins.module_utils._state import (
    ClusterState,
    read_records,
    read_replication_config,
)


def cluster_facts(state, replication):
    """The harper_cluster fact of one node."""
    peers = state.peers()
    own = state.own_record
    disconnected = state.disconnected()
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
        }
    else:
        state = ClusterState(answers["cluster_status"], answers["hdb_nodes"],
                             where="cluster_status on %s" % client.api_url)
        facts = cluster_facts(state, replication)
    facts["access"] = access
    return facts, refusals


class ClusterFactsModule(HarperModule):
    """The harper_cluster_facts module: no option but the connection's."""

    def __init__(self):
        super().__init__({})

    def run(self):
        facts, refusals = read_facts(self.client)
        for refusal in refusals:
            self.module.warn(self.scrub(refusal))
        return {"changed": False, "ansible_facts": {"harper_cluster": facts}}
