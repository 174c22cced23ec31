#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: harper_cluster
short_description: Declare all the peers of a Harper node at once
version_added: 0.1.0
description:
  - Makes the peers of the Harper node at O(api_url) match O(connections), and with O(purge=true)
    removes every other peer. This is what Harper's C(configure_cluster) is documented to do; the
    server's C(configure_cluster) only adds.
  - Reads the node's state, computes one plan (add, update or remove, per peer), shows it in check
    mode and diff mode, and applies it with one C(add_node), C(update_node) or C(remove_node) per
    peer that differs. A rerun with the same input sends no write.
  - The removal of a peer whose record has subscriptions first clears them with an C(update) of
    that record in C(system.hdb_nodes). Otherwise Harper has the removed peer delete this node's
    record, which replicates, and the other members drop this node.
  - Peers are joined one at a time. With O(wait=true) the module waits, after each join, until
    every database socket to the peers joined so far is connected. Harper's joins sent back to
    back race, and a socket can stay unconnected.
  - A change that fails is reported against its peer in RV(plan) and the other changes go on; the
    task then fails. A rerun plans again from the node's state, so it retries only what is left.
  - Each entry is compared as M(harperdb.cluster.harper_node) compares one peer. Only the fields
    given are managed, subscriptions are merged by database and table, revoked certificates are
    added to those stored.
  - Harper spreads membership. When a listed peer is already in a cluster, its members join this
    node by themselves; with O(purge=true) a later run removes those that are not listed. Harper
    passes a removal on to every member of the cluster, so a purged peer leaves the whole cluster,
    not only this node. List every member you want to keep, or leave O(purge=false).
author:
  - Harper cluster collection maintainers (@harperdb)
extends_documentation_fragment:
  - harperdb.cluster.connection
  - harperdb.cluster.connection.api_url
  - harperdb.cluster.peer.connections
  - harperdb.cluster.wait
  - harperdb.cluster.attributes
  - harperdb.cluster.attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Returns the plan; nothing is written.
  diff_mode:
    support: full
    details: The records of the peers in the plan before and after, keyed by peer name, without
      credentials, certificates and timestamps.
options:
  purge:
    description:
      - Remove every peer of the node that O(connections) does not list. The node itself is never
        removed.
      - Harper passes a removal on to the whole cluster; see the description.
    type: bool
    default: false
notes:
  - Joins run one at a time, about 3 seconds each with O(wait=true).
  - A removed peer keeps its own records of the members; their sockets stay unconnected.
  - On Harper 4.7.29, removing a peer whose record carries subscriptions was seen to cut the node
    off from the other members as well. Check the result with M(harperdb.cluster.harper_cluster_facts).
seealso:
  - module: harperdb.cluster.harper_node
  - module: harperdb.cluster.harper_cluster_facts
"""

EXAMPLES = r"""
- name: Node1's peers are node2 and node3, and only they
  harperdb.cluster.harper_cluster:
    api_url: https://node1.example.com:9925
    username: admin
    password: "{{ harper_admin_password }}"
    ca_path: /etc/pki/harper-cluster-ca.pem
    purge: true
    connections:
      - hostname: node2.example.com
        url: wss://node2.example.com:9933
        authorization:
          username: admin
          password: "{{ harper_admin_password }}"
      - hostname: node3.example.com
        url: wss://node3.example.com:9933
        authorization:
          username: admin
          password: "{{ harper_admin_password }}"
        subscriptions:
          - database: data
            table: dog
            subscribe: true
            publish: true
"""

RETURN = r"""
plan:
  description:
    - One entry per listed peer and per peer to purge, in the order applied.
    - C(action) is C(add), C(update), C(remove) or C(none); C(before) and C(after) are the peer's
      records without credentials. Once applied, C(status) is C(done) or C(failed), with C(error)
      and Harper's C(message), and C(restarted) true when the change's sockets stalled and the
      node's worker threads were restarted (O(restart_stalled)).
  returned: always
  type: list
  elements: dict
  sample:
    - peer: node2.example.com
      action: add
      before: {}
      after:
        name: node2.example.com
        url: wss://node2.example.com:9933
        subscriptions: null
        shard: null
        revoked_certificates: null
        replicates: true
      status: done
peers:
  description: The node's peers after the task (in check mode, before it), with their database
    sockets in C(databases) and C(connected) true when every one of them is connected.
  returned: always
  type: list
  elements: dict
  sample:
    - name: node2.example.com
      url: wss://node2.example.com:9933
      subscriptions: null
      shard: null
      revoked_certificates: null
      replicates: true
      connected: true
operations:
  description: The write operations sent to Harper, in order, with credentials replaced by C(********).
  returned: always
  type: list
  elements: dict
  sample:
    - operation: add_node
      hostname: node2.example.com
      url: wss://node2.example.com:9933
      verify_tls: true
      authorization: "********"
"""

from ansible_collections.harperdb.cluster.plugins.module_utils._harper_cluster import ClusterModule


def main():
    ClusterModule().execute()


if __name__ == "__main__":
    main()
