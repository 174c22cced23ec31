# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harper_node module: one peer, read, compared, written only if it differs.

Internal to the harperdb.cluster collection: it may change in any release.
"""

from ansible_collections.harperdb.cluster.plugins.module_utils._base import HarperModule, unverified_join_warning
from ansible_collections.harperdb.cluster.plugins.module_utils._peers import (
    PeerInputError,
    PeerSpec,
    apply_change,
    peer_argument_spec,
    plan_absent,
    plan_present,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._sockets import (
    wait_argument_spec,
    wait_connected,
    wait_disconnected,
    wait_gone,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._state import (
    FIELDS_SINCE_4_7,
    ClusterState,
    public_record,
    refuse_unstored_fields,
)


def _argument_spec():
    spec = peer_argument_spec()
    spec.update(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        allow_self_removal=dict(type="bool", default=False),
    )
    spec.update(wait_argument_spec())
    return spec


class NodeModule(HarperModule):
    def __init__(self):
        super().__init__(_argument_spec(), required_one_of=[("hostname", "url")])

    def run(self):
        try:
            spec = PeerSpec(self.params, label="harper_node")
            if self.params["state"] == "present":
                refuse_unstored_fields(self.client, [field for field in FIELDS_SINCE_4_7
                                                     if self.params.get(field) is not None], "harper_node")
            state = ClusterState.read(self.client)
            if self.params["state"] == "present":
                change = plan_present(state, spec)
            else:
                change = plan_absent(state, spec, self.params["allow_self_removal"])
        except PeerInputError as exc:
            self.fail(str(exc))
        result = {"changed": change.action is not None, "node": change.after or change.before}
        if self.diff_mode:
            result["diff"] = {"before": change.before, "after": change.after}
        if change.unverified:
            self.module.warn(unverified_join_warning(change.name))
        if change.action is None or self.check_mode:
            return result
        message = apply_change(self.client, change)
        if message:
            result["message"] = message
        if self.params["wait"]:
            result["restarted"] = self._wait(change, state)
        if change.action != "remove":
            after = ClusterState.read(self.client)
            result["node"] = dict(public_record(after.peer_record(change.name)), name=change.name)
        return result

    def _wait(self, change, state):
        """Wait for the change to show in cluster_status; return whether the node's
        worker threads were restarted on the way."""
        timeout = self.params["wait_timeout"]
        if change.action != "remove":
            return wait_connected(self.client, [change.name], timeout, self.params["restart_stalled"])
        if change.name == state.node_name:
            # A node that left its cluster keeps its records of the others,
            # but none of its sockets stays connected.
            wait_disconnected(self.client, timeout)
        else:
            wait_gone(self.client, [change.name], timeout)
        return False
