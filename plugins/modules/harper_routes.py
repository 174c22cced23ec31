#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: harper_routes
short_description: Manage the replication routes of a Harper node
version_added: 0.1.0
description:
  - Adds, removes or replaces the replication routes of the Harper node at O(api_url), the
    C(replication.routes) list of its configuration file, and optionally restarts it so they take
    effect. It does the job of Harper's C(cluster_set_routes), C(cluster_get_routes) and
    C(cluster_delete_routes) operations, without their flaws.
  - The routes are read from the configuration file with C(get_configuration).
    C(cluster_get_routes) answers with the routes the node loaded at start, so it is used only to
    tell whether a restart is needed.
  - Routes are compared in the normal form C(wss://host:port) with the host in lower case, so a
    dict with C(hostname) V(node2) and C(port) V(9933) and the string C(wss://node2:9933) are the
    same route, and two hosts on the same port are two routes. Harper's own operations compare
    object routes by port only.
  - The whole list is written at once with C(set_configuration). Several changes in a row without a
    restart all stay in the file; with C(cluster_set_routes) the second would overwrite the first.
  - Routes already in the file are kept as they are written there; new routes are written as
    C(wss://host:port) strings.
  - Harper reads routes only at start. O(restart=true) restarts the node's worker threads (Harper's
    C(restart_service) of the C(http) service, which keeps the process) when the routes it runs with
    differ from the file, and waits until it answers again.
  - A route makes the node connect to a peer at start; it does not create trust. Under Harper's
    default self-signed certificates, a route reaches only a peer that was once added with
    credentials (M(harperdb.cluster.harper_node) with O(harperdb.cluster.harper_node#module:authorization)).
author:
  - Harper cluster collection maintainers (@harperdb)
extends_documentation_fragment:
  - harperdb.cluster.connection
  - harperdb.cluster.connection.api_url
  - harperdb.cluster.attributes
  - harperdb.cluster.attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Reports the routes the file would hold and whether a restart would be done or needed.
  diff_mode:
    support: full
    details: The route list of the configuration file before and after.
options:
  routes:
    description:
      - The routes, each a string C(wss://host:port) or a dict with the keys C(hostname) and C(port).
      - A port is required, from 1 to 65535; only the C(wss) scheme is accepted. Each route may be
        listed once.
      - With O(exclusive=true), an empty list removes every route.
    type: list
    elements: raw
    required: true
  state:
    description:
      - V(present) adds the routes that are not in the file yet.
      - V(absent) removes the routes listed, in whatever form the file holds them.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), make the node's routes exactly O(routes), removing every other one.
      - Cannot be used with O(state=absent).
    type: bool
    default: false
  restart:
    description:
      - Restart the node's worker threads when the routes it runs with differ from those of the file
        (after this task's change, or an earlier one's), then wait until it answers again.
      - Otherwise the change takes effect at the next restart, and RV(restart_required) says so.
    type: bool
    default: false
  restart_timeout:
    description:
      - Seconds to wait for the restart to complete and the node to answer again.
      - From 1 to 86400.
    type: int
    default: 120
notes:
  - A restart interrupts the node's replication and its HTTP and operations APIs for a few seconds.
seealso:
  - module: harperdb.cluster.harper_node
  - module: harperdb.cluster.harper_cluster_facts
"""

EXAMPLES = r"""
- name: Route node1 to node2 and node3, and restart it so the routes take effect
  harperdb.cluster.harper_routes:
    api_url: https://node1.example.com:9925
    username: admin
    password: "{{ harper_admin_password }}"
    routes:
      - wss://node2.example.com:9933
      - hostname: node3.example.com
        port: 9933
    restart: true

- name: Make node1's routes exactly this one
  harperdb.cluster.harper_routes:
    api_url: https://node1.example.com:9925
    routes:
      - wss://node2.example.com:9933
    exclusive: true

- name: Remove a route; the change takes effect at the next restart
  harperdb.cluster.harper_routes:
    api_url: https://node1.example.com:9925
    routes:
      - wss://node3.example.com:9933
    state: absent
"""

RETURN = r"""
routes:
  description:
    - The routes in the node's configuration file after the task, as the file holds them.
    - In check mode, the routes the file would hold.
  returned: always
  type: list
  elements: raw
  sample:
    - wss://node2.example.com:9933
    - hostname: node3.example.com
      port: 9933
restarted:
  description: Whether the node was restarted (in check mode, whether it would be).
  returned: always
  type: bool
  sample: false
restart_required:
  description:
    - True when the routes the node runs with differ from those in its configuration file and no
      restart was done. The file changed, now or earlier, and the node has not read it yet.
  returned: always
  type: bool
  sample: true
operations:
  description: The write operations sent to Harper, in order.
  returned: always
  type: list
  elements: dict
  sample:
    - operation: set_configuration
      replication_routes:
        - wss://node2.example.com:9933
    - operation: restart_service
      service: http
"""

from ansible_collections.harperdb.cluster.plugins.module_utils._harper_routes import RoutesModule


def main():
    RoutesModule().execute()


if __name__ == "__main__":
    main()
