# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

class ModuleDocFragment:
    """The options of the wait after each change, for harper_node and harper_cluster.

    Paired with wait_argument_spec() in plugins/module_utils/_sockets.py: change both together.
    """

    DOCUMENTATION = r"""
options:
  wait:
    description:
      - After each join or update, wait until C(cluster_status) shows every database socket to the
        peers joined so far connected; after each removal, until the peer is gone from it.
      - After the node removed itself (O(harperdb.cluster.harper_node#module:allow_self_removal)),
        wait until none of its sockets is connected; it keeps its records of the other nodes.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for each change when O(wait=true), before failing with the last socket
        status of the peers waited for.
      - From 0 to 86400; 0 checks once, without waiting.
    type: int
    default: 60
  restart_stalled:
    description:
      - With O(wait=true), when the database sockets to the peers waited for are still not
        connected after half of O(wait_timeout), restart the node's worker threads once (Harper's
        C(restart_service) of C(http); the process stays) and wait the other half.
      - This works around a race in Harper. A socket that retries while its node reloads its
        certificates, which a join makes it do, can stop retrying for good; C(update_node) does not
        wake it, new worker threads open every socket anew.
      - The restart interrupts the node's API and replication for a few seconds. It counts as a
        change and shows as C(restart_service) in RV(operations).
    type: bool
    default: false
"""
