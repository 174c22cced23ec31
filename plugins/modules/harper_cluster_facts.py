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
