#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: harper_mesh
short_description: Converge the membership of a whole Harper cluster in one task
version_added: 0.1.0
description:
  - Makes the members of O(members) with O(members[].state=present) one replication mesh in which
    every member sees every other with all database sockets connected, and removes the members with
    O(members[].state=absent) from every member that still lists them.
  - Reads every member's view in parallel, then plans. Two members are in one mesh when each lists
    the other. The seed is the first member of the largest mesh, so an existing cluster is extended.
    Every present member outside the seed's mesh is joined with one C(add_node) on the seed; Harper
    spreads membership, so a cluster of N nodes takes N-1 joins, and a rerun takes none.
  - Joins are applied one at a time at Harper's pace. After each one, every member joined so far
    is polled in parallel until all of them see each other connected, because joins sent back to
    back race inside Harper and can leave a socket stuck.
  - A removal is sent to one member that lists the node. Harper usually passes it on; every other
    member that still lists the node a few seconds later gets its own C(remove_node), and the task
    waits until no member lists it.
  - O(members[].shard) and O(members[].subscriptions) are sent with the join, and kept up to date
    with C(update_node) on the seed's record of each member, compared field by field as
    M(harperdb.cluster.harper_node) compares one peer.
  - A member's record of itself is given O(members[].shard) with an C(update) of
    C(system.hdb_nodes) on that member. A node restarted with a new C(replication.shard) passes the
    new shard to the others but can keep the old one in its own copy, and the seed's own shard is
    set no other way. A member not joined yet has no such record; Harper writes it at the join.
  - Ends with a check of the whole mesh; with O(restart_stalled=true) a member still holding a
    socket down half way through a wait has its worker threads restarted once, whichever member it
    is.
  - Runs on the controller (or any host that reaches every member's operations API).
author:
  - Harper cluster collection maintainers (@harperdb)
extends_documentation_fragment:
  - harperdb.cluster.connection
  - harperdb.cluster.attributes
  - harperdb.cluster.attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Returns the plan and every member's current view; nothing is written and nothing is
      waited for.
  diff_mode:
    support: full
    details: Each present member's peer names before and as the plan leaves them.
options:
  members:
    description:
      - Every node of the cluster, in order of preference for the seed of a new cluster.
      - The connection options at the top level (O(username), O(password), O(token),
        O(validate_certs), O(ca_path)) are each member's defaults.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The node's name as Harper records it, its C(replication.hostname). The node at
            O(members[].api_url) must answer under this name.
        type: str
        required: true
      url:
        description:
          - The node's replication URL as its peers reach it, for example
            C(wss://node1.example.com:9933). Required for a present member.
        type: str
      api_url:
        description:
          - URL of the node's operations API as this task reaches it, for example
            C(https://node1.example.com:9925).
        type: str
        required: true
      state:
        description:
          - V(present) joins the node into the mesh; V(absent) removes it from every member that
            lists it. An absent node is not written to; it need not answer.
        type: str
        choices: [present, absent]
        default: present
      username:
        description: User name for this member's operations API, instead of O(username).
        type: str
      password:
        description: Password for this member's operations API, instead of O(password).
        type: str
      token:
        description: Operation token for this member's operations API, instead of O(token).
        type: str
      validate_certs:
        description: Whether to verify this member's TLS certificate, instead of O(validate_certs).
        type: bool
      ca_path:
        description: CA file to verify this member's certificate with, instead of O(ca_path).
        type: path
      authorization:
        description:
          - Credentials of a super_user of this node that the seed presents when it joins it, as a
            dict with the keys C(username) and C(password), or a string in HTTP Authorization form.
          - Defaults to the member's own connection credentials. Never compared, never returned.
        type: raw
      shard:
        description:
          - The shard the node belongs to, on the seed's record of it and on the node's record of itself.
          - Harper reads a node's own shard from C(replication.shard) in its configuration, which this module
            does not change (the C(harperdb.cluster.harper_cluster) role sets both).
          - Needs Harper 4.7.0 or later on every present member; with an older one (4.4 answers 200 and
            stores no shard) a shard is refused before any write.
        type: int
      subscriptions:
        description:
          - What the seed replicates with this node, each a dict of C(database) (or C(schema)),
            C(table), C(subscribe) and C(publish). Merged by database and table with the stored ones.
        type: list
        elements: dict
  verify_tls:
    description:
      - Whether the seed verifies the joining node's TLS certificate during the first handshake.
        The seed must trust the CA that signed it, as the harper_cluster role's cluster CA makes
        every node do.
      - V(false) accepts any certificate (for nodes with Harper's default self-signed
        certificates); the module then warns, naming each node joined that way.
    type: bool
    default: true
  retain_authorization:
    description:
      - Whether Harper stores each join's O(members[].authorization) on the node record, in plain
        text. Left out of the join when not set.
    type: bool
  wait_timeout:
    description:
      - Seconds each wait may take; one wait follows each join, one each removal, one ends the task.
      - From 0 to 86400; 0 checks once, without waiting.
    type: int
    default: 60
  restart_stalled:
    description:
      - When sockets between members are still down after half of O(wait_timeout), restart the
        worker threads (Harper's C(restart_service) of C(http); the process stays) of each member
        that holds such a socket, once per wait, and wait the other half.
      - This works around a race in Harper. A socket that retries while its node reloads its
        certificates, which a join makes it do, can stop retrying for good; new worker threads open
        every socket anew.
      - A restart interrupts that member's API and replication for a few seconds. It shows in
        RV(restarted) and as C(restart_service) in RV(operations).
    type: bool
    default: false
notes:
  - Reads are C(cluster_status) and a C(search_by_value) of C(system.hdb_nodes) on every member,
    then C(cluster_status) only while waiting. A rerun with nothing to do reads each member once.
  - Peers that some member lists but O(members) does not name are left alone and reported in
    the C(unmanaged_peers) of RV(plan).
seealso:
  - module: harperdb.cluster.harper_cluster_facts
  - module: harperdb.cluster.harper_node
  - module: harperdb.cluster.harper_cluster
"""

EXAMPLES = r"""
- name: Node1, node2 and node3 are one mesh; node4 has left it
  harperdb.cluster.harper_mesh:
    username: admin
    password: "{{ harper_admin_password }}"
    ca_path: /etc/pki/harper-ca.pem
    restart_stalled: true
    members:
      - name: node1.example.com
        api_url: https://node1.example.com:9925
        url: wss://node1.example.com:9933
      - name: node2.example.com
        api_url: https://node2.example.com:9925
        url: wss://node2.example.com:9933
      - name: node3.example.com
        api_url: https://node3.example.com:9925
        url: wss://node3.example.com:9933
        shard: 2
      - name: node4.example.com
        api_url: https://node4.example.com:9925
        state: absent
"""

RETURN = r"""
plan:
  description:
    - What the task does (in check mode, would do), in order. C(seed) is the member the joins are
      sent to; C(mesh) the members already in its mesh; C(join) the members joined to it; C(remove)
      each absent member with the members that listed it (C(on)); C(update) the seed's records of
      members brought up to date, each with C(before) and C(after); C(own_shard) the members whose
      record of themselves gets the shard of O(members[].shard) (C(name), C(before), C(after));
      C(unmanaged_peers) per member
      the peers that O(members) does not name; C(absent_not_answering) the absent members that did
      not answer.
  returned: always
  type: dict
  sample:
    seed: node1.example.com
    mesh: [node1.example.com, node2.example.com]
    join: [node3.example.com]
    remove: [{name: node4.example.com, "on": [node1.example.com, node2.example.com]}]
    update: []
    own_shard: []
    unmanaged_peers: {}
    absent_not_answering: [node4.example.com]
members:
  description:
    - Each present member's view after the task (in check mode, before it). C(peers) are the names it
      lists, C(all_connected) whether every database socket to them is connected, C(disconnected)
      the (peer, database) pairs that are not; C(answering) is false, with C(error), for a member
      that did not answer.
  returned: always
  type: dict
  sample:
    node1.example.com:
      answering: true
      peers: [node2.example.com, node3.example.com]
      all_connected: true
      disconnected: []
restarted:
  description: The members whose worker threads were restarted to heal a stalled socket.
  returned: always
  type: list
  elements: str
  sample: []
reads:
  description: How many read operations were sent to the members, all together.
  returned: success and not in check mode
  type: int
  sample: 16
operations:
  description:
    - The write operations sent, in order, each with the member it went to in C(node), credentials
      replaced by C(********).
  returned: always
  type: list
  elements: dict
  sample:
    - operation: add_node
      node: node1.example.com
      hostname: node3.example.com
      url: wss://node3.example.com:9933
      verify_tls: true
      authorization: "********"
"""

from ansible_collections.harperdb.cluster.plugins.module_utils._harper_mesh import MeshModule


def main():
    MeshModule().execute()


if __name__ == "__main__":
    main()
