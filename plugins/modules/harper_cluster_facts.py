#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: harper_cluster_facts
short_description: Read the replication state of one Harper node
version_added: 0.1.0
description:
  - Reads one Harper node's view of its cluster (C(cluster_status), the C(system.hdb_nodes) table
    and the routes in the configuration file) and returns it as the fact C(harper_cluster).
  - Routes are read with C(get_configuration), which reads the file; C(cluster_get_routes) answers
    from memory that Harper does not refresh after a route change.
  - Credentials a peer record may store (C(retain_authorization)) and certificates are never
    returned.
  - Every read needs a C(super_user) (Harper 4.7). With an account that is not one, the module does
    not fail. Each refused read is a warning, its part of the fact stays empty, and
    RV(ansible_facts.harper_cluster.access) says what the account may and may not read.
  - Each database socket to a peer says whether it is caught up and its lag, and
    RV(ansible_facts.harper_cluster.replication) sums them up for an C(assert) or a gate. A socket is
    caught up when it is connected, the node is neither sending the peer entries of its audit log
    nor in the middle of receiving a transaction from it, and the peer has confirmed the newest
    record of the database when this node wrote it (read with C(describe_all)). An idle cluster is
    caught up. The definitions and the measurements behind them are in C(docs/replication-lag.md).
  - With O(wait=true) the module reads again until replication is caught up, and fails after
    O(wait_timeout) naming the sockets still lagging, still returning the fact of the last read.
options:
  wait:
    description:
      - Read the node again (every half second) until
        RV(ansible_facts.harper_cluster.replication.caught_up) is true, then return that read.
      - While waiting, a socket the node was seen sending entries of its own on also waits until
        the peer confirmed the newest of them (C(lastCommitConfirmed)), because after a large insert
        the sender is done well before its peer has committed it. A read that fails or takes too long
        (a node busy committing) counts as not caught up.
      - When O(wait_timeout) passes first, fail with a message naming the node, each peer and
        database still lagging or disconnected, and the figures; the fact of the last read is still
        returned.
      - Without it, the module never fails because of lag.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait=true). From 0 to 86400; 0 reads once.
    type: int
    default: 300
author:
  - Harper cluster collection maintainers (@harperdb)
extends_documentation_fragment:
  - harperdb.cluster.connection
  - harperdb.cluster.connection.api_url
  - harperdb.cluster.attributes
  - harperdb.cluster.attributes.facts
  - harperdb.cluster.attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the cluster state of node1
  harperdb.cluster.harper_cluster_facts:
    api_url: https://node1.example.com:9925
    username: admin
    password: "{{ harper_admin_password }}"
    ca_path: /etc/pki/harper-ca.pem

- name: Every peer of node1 is connected on every database
  ansible.builtin.assert:
    that: ansible_facts.harper_cluster.all_connected
    fail_msg: "Not connected: {{ ansible_facts.harper_cluster.disconnected }}"

- name: Replication on node1 is caught up
  ansible.builtin.assert:
    that: ansible_facts.harper_cluster.replication.caught_up
    fail_msg: "Lagging: {{ ansible_facts.harper_cluster.replication.lagging }}"

- name: Wait up to ten minutes until node1 has sent and received everything
  harperdb.cluster.harper_cluster_facts:
    api_url: https://node1.example.com:9925
    username: admin
    password: "{{ harper_admin_password }}"
    wait: true
    wait_timeout: 600
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to C(ansible_facts).
  returned: always
  type: dict
  contains:
    harper_cluster:
      description: The node's view of its cluster.
      returned: always
      type: dict
      contains:
        node_name:
          description: The node's own name (its replication hostname).
          type: str
          sample: node1
        url:
          description: The replication URL the node advertises to its peers.
          type: str
          sample: wss://node1.example.com:9933
        is_enabled:
          description: Whether replication is enabled on the node.
          type: bool
        shard:
          description: The shard of the node's own record, if any.
          type: int
        routes:
          description: The routes in the node's configuration file.
          type: list
          elements: raw
        peers:
          description:
            - Every other node this node knows of, with its database sockets in C(databases) and
              C(connected) true when the peer has sockets and all of them are connected.
          type: list
          elements: dict
          sample:
            - name: node2
              url: wss://node2.example.com:9933
              subscriptions: null
              shard: null
              revoked_certificates: null
              replicates: true
              connected: true
              databases:
                - database: data
                  connected: true
                  latency: 0.7
                  last_commit_confirmed: null
                  last_received_remote_time: "Wed, 12 Feb 2025 16:49:29 GMT"
                  last_received_local_time: "Wed, 12 Feb 2025 16:50:59 GMT"
                  backpressure_percent: 0
                  last_received_status: Waiting
                  lag_seconds: 0.0
                  caught_up: true
          contains:
            databases:
              description:
                - One entry per database socket to the peer, with Harper's figures in snake_case
                  (times as Harper writes them, whole seconds), and two of this module's.
                - C(caught_up) is true when the socket is connected, the node is neither sending
                  the peer entries of its audit log (C(sendingMessage)) nor in the middle of
                  receiving a transaction from it (C(lastReceivedStatus) C(Receiving)), and, when
                  the newest record of the database is this node's own write (newer than anything
                  received from a peer), the peer's C(lastCommitConfirmed) has reached it.
                - C(lag_seconds) is 0 for a socket caught up; while sending, the age of the entry
                  being sent (by the controller's clock); until the peer confirmed this node's
                  newest write, the age of that write; while receiving, how old the last
                  transaction was when it arrived; null when disconnected, during the first copy
                  of a database, or on a Harper version without these fields (4.4).
                - With O(wait=true), a socket whose peer has not yet confirmed the newest entry
                  seen sent is not caught up either, its lag the age of that entry.
              type: list
              elements: dict
        peer_count:
          description: How many peers the node knows of.
          type: int
          sample: 2
        all_connected:
          description: True when every peer has at least one database socket and all are connected.
          type: bool
        disconnected:
          description:
            - The peer and database of every socket that is not connected. A peer with no socket at
              all is listed once with O(ignore:database) set to null.
          type: list
          elements: dict
          sample:
            - peer: node3
              database: data
        replication:
          description:
            - The replication lag of the node's sockets, summed up.
            - All values are null, and C(lagging) empty, when the account may not read
              C(cluster_status).
          type: dict
          contains:
            caught_up:
              description:
                - True when every peer has database sockets and each of them is connected and
                  caught up (so it implies RV(ansible_facts.harper_cluster.all_connected)). True on
                  an idle cluster, and on a node with no peers.
              type: bool
              sample: false
            max_lag_seconds:
              description: The largest C(lag_seconds) of any socket; null when none is known.
              type: float
              sample: 4.0
            max_backpressure_percent:
              description: The largest C(backpressure_percent) of a connected socket; null when none shows one.
              type: float
              sample: 0
            lagging:
              description:
                - Every socket that is not caught up, with its lag and why (C(disconnected),
                  C(sending entries from ...), C(copying the database to the peer),
                  C(receiving a transaction), C(the peer has not confirmed this node's write of ...),
                  and with O(wait=true)
                  C(waiting for the peer to confirm entries up to ...)).
                - A peer with no socket is listed once with C(database) null and the reason
                  C(no database socket).
              type: list
              elements: dict
              sample:
                - peer: node2
                  database: data
                  lag_seconds: 4.0
                  reason: "sending entries from Wed, 12 Feb 2025 16:50:55 GMT"
        access:
          description:
            - What the account may read on the node. Harper 4.7 runs C(cluster_status) and
              C(get_configuration), and shows C(system.hdb_nodes), to a C(super_user) only.
            - When a read is refused, its part of the fact is empty; V(null) where a value would
              mislead (RV(ansible_facts.harper_cluster.node_name),
              RV(ansible_facts.harper_cluster.is_enabled),
              RV(ansible_facts.harper_cluster.peer_count),
              RV(ansible_facts.harper_cluster.all_connected)).
          type: dict
          contains:
            account:
              description: The user name the module connected as; null with a token whose user Harper did not name.
              type: str
              sample: monitor
            role:
              description: The account's role, read with C(user_info) only when a read was refused.
              type: str
              sample: monitoring
            super_user:
              description: Whether the account's role is a C(super_user) role.
              type: bool
              sample: false
            can_read:
              description: For C(cluster_status), C(hdb_nodes) (the C(system.hdb_nodes) table) and
                C(configuration) (C(get_configuration)), whether the account may read it.
              type: dict
              sample:
                cluster_status: false
                hdb_nodes: false
                configuration: false
            denied:
              description: Each refused read with Harper's reason.
              type: list
              elements: str
              sample:
                - "cluster_status: Operation 'clusterStatus' is restricted to 'super_user' roles"
                - "hdb_nodes: read of system.hdb_nodes"
"""

from ansible_collections.harperdb.cluster.plugins.module_utils._harper_cluster_facts import ClusterFactsModule


def main():
    ClusterFactsModule().execute()


if __name__ == "__main__":
    main()
