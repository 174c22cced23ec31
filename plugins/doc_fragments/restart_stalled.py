# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    """The option that restarts a node whose sockets stall after a join."""

    DOCUMENTATION = r"""
options:
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
