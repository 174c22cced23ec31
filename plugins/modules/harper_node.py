#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: harper_node
short_description: Add, update or remove one peer of a Harper node
version_added: 0.1.0
description:
  - Manages the replication relationship between the Harper node at O(api_url) and one peer,
    with Harper's C(add_node), C(update_node) and C(remove_node) operations.
  - Reads the node's records first and writes only what differs from the options given, so a
    rerun sends no write. Harper itself re-handshakes on every C(add_node) and C(update_node).
  - Harper merges C(update_node) into the stored record, and the comparison does the same.
    O(subscriptions) are merged by database and table, O(revoked_certificates) are added to those
    stored. To drop a subscription or a revoked certificate, remove the peer and add it again.
  - The removal of a peer whose record has subscriptions first clears them with an C(update) of
    that record in C(system.hdb_nodes). Otherwise Harper has the removed peer delete this node's
    record, which replicates, and the other members drop this node.
  - A call that names neither O(hostname) nor O(url) is refused before any request is sent, because
    Harper would store, or remove, a node named C(undefined).
author:
  - Harper cluster collection maintainers (@harperdb)
extends_documentation_fragment:
  - harperdb.cluster.connection
  - harperdb.cluster.connection.api_url
  - harperdb.cluster.peer
  - harperdb.cluster.wait
  - harperdb.cluster.attributes
  - harperdb.cluster.attributes.actiongroups
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The peer record before and after, without credentials, certificates and timestamps.
options:
  state:
    description:
      - V(present) adds the peer, or updates it when a field given differs.
      - V(absent) removes the peer from the cluster. Harper usually passes the removal on to the
        other members, but not always; to be sure, run the task against every member (it writes
        only where the peer is still known). A peer that is not there is fine.
    type: str
    choices: [present, absent]
    default: present
  allow_self_removal:
    description:
      - With O(state=absent), allow removing the node O(api_url) points at, which makes it leave
        its cluster.
    type: bool
    default: false
notes:
  - To join several nodes in a row, join one at a time and, before the next join, wait until
    every member shows every socket connected (M(harperdb.cluster.harper_cluster_facts) on each, or
    the P(harperdb.cluster.harper_cluster#role) role, which does this). Joins made while the
    sockets of the previous one still settle can leave a socket unconnected for good.
  - Harper answers some failed handshakes with HTTP 200 and a message that says "but there was an
    error", and writes a local record anyway. The module fails the task on such an answer; after a
    failed add it removes the record Harper left, so a rerun tries again.
seealso:
  - module: harperdb.cluster.harper_cluster
  - module: harperdb.cluster.harper_cluster_facts
"""

EXAMPLES = r"""
- name: Join node2 to node1; node1 verifies node2's certificate (both from the cluster CA)
  harperdb.cluster.harper_node:
    api_url: https://node1.example.com:9925
    username: admin
    password: "{{ harper_admin_password }}"
    ca_path: /etc/pki/harper-cluster-ca.pem
    hostname: node2.example.com
    url: wss://node2.example.com:9933
    authorization:
      username: admin
      password: "{{ harper_admin_password }}"

- name: Replicate only data.dog with node2, both ways
  harperdb.cluster.harper_node:
    api_url: https://node1.example.com:9925
    hostname: node2.example.com
    url: wss://node2.example.com:9933
    subscriptions:
      - database: data
        table: dog
        subscribe: true
        publish: true

- name: Remove node3 from the cluster
  harperdb.cluster.harper_node:
    api_url: https://node1.example.com:9925
    hostname: node3.example.com
    state: absent
"""

RETURN = r"""
node:
  description: The peer record after the task (before it, with O(state=absent)), without credentials.
  returned: always
  type: dict
  sample:
    name: node2.example.com
    url: wss://node2.example.com:9933
    subscriptions: null
    shard: null
    revoked_certificates: null
    replicates: true
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
restarted:
  description: Whether the node's worker threads were restarted because the sockets stalled
    (O(restart_stalled)).
  returned: when a write was sent and O(wait=true)
  type: bool
  sample: false
message:
  description: Harper's answer to the write, if one was sent.
  returned: when a write was sent
  type: str
  sample: Successfully added 'wss://node2.example.com:9933' to cluster
"""

from ansible_collections.harperdb.cluster.plugins.module_utils._harper_node import NodeModule


def main():
    NodeModule().execute()


if __name__ == "__main__":
    main()
