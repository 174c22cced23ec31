# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harper_cluster module: a node's whole membership, planned once, applied peer by peer.

Internal to the harperdb.cluster collection: it may change in any release.

configure_cluster would send every join at once, and Harper's joins race
when sent back to back (a socket can stay stuck). So the plan is applied one
peer at a time with add_node, update_node and remove_node, waiting for each
peer's sockets before the next. A failure is recorded against its peer and
the others go on; as the plan is computed from the node's state, a rerun
picks up where the failure left off.
"""

from ansible_collections.harperdb.cluster.plugins.module_utils._base import HarperModule, unverified_join_warning
from ansible_collections.harperdb.cluster.plugins.module_utils._client import HarperError
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
    wait_gone,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._state import (
    FIELDS_SINCE_4_7,
    ClusterState,
    normalize_url,
    refuse_unstored_fields,
)


def _argument_spec():
    # connections is documented in plugins/doc_fragments/peer.py (CONNECTIONS), with the peer options.
    spec = dict(
        connections=dict(type="list", elements="dict", required=True, options=peer_argument_spec()),
        purge=dict(type="bool", default=False),
    )
    spec.update(wait_argument_spec())
    return spec


def parse_connections(entries):
    """PeerSpecs of the entries; two entries naming the same peer are refused."""
    specs = []
    seen = {}
    problems = []
    for index, entry in enumerate(entries or []):
        try:
            spec = PeerSpec(entry, label="connections[%d]" % index)
        except PeerInputError as exc:
            problems.append(str(exc).rstrip("."))
            continue
        for key in (("hostname", spec.hostname), ("url", normalize_url(spec.url) if spec.url else None)):
            if key[1] is None:
                continue
            if key in seen:
                problems.append("%s: names the same peer as %s (%s %s); list each peer once"
                                % (spec.label, seen[key], key[0], key[1]))
                break
            seen[key] = spec.label
        specs.append(spec)
    if problems:
        raise PeerInputError("%s." % "; ".join(problems))
    return specs


def plan_cluster(state, specs, purge):
    """The changes that make the node's peers match specs: entries first, in
    their order, then (with purge) the removal of every other peer."""
    changes = []
    listed = {}
    for spec in specs:
        change = plan_present(state, spec)
        if change.name in listed:
            raise PeerInputError("%s: names the same peer as %s (%s); list each peer once."
                                 % (spec.label, listed[change.name], change.name))
        listed[change.name] = spec.label
        changes.append(change)
    if purge:
        for name in state.peer_names():
            if name not in listed:
                changes.append(plan_absent(state, PeerSpec({"hostname": name}, label="purge")))
    return changes


class ClusterModule(HarperModule):
    def __init__(self):
        super().__init__(_argument_spec())

    def run(self):
        try:
            specs = parse_connections(self.params["connections"])
            given = [spec for spec in specs if any(getattr(spec, field) is not None for field in FIELDS_SINCE_4_7)]
            refuse_unstored_fields(self.client,
                                   sorted(field for field in FIELDS_SINCE_4_7
                                          if any(getattr(spec, field) is not None for spec in given)),
                                   "harper_cluster (%s)" % ", ".join(sorted(spec.label for spec in given)))
            state = ClusterState.read(self.client)
            changes = plan_cluster(state, specs, self.params["purge"])
        except PeerInputError as exc:
            self.fail(str(exc))
        pending = [c for c in changes if c.action is not None]
        for change in pending:
            if change.unverified:
                self.module.warn(unverified_join_warning(change.name))
        result = {"changed": bool(pending), "plan": [c.as_dict() for c in changes]}
        if self.diff_mode:
            result["diff"] = {
                "before": dict((c.name, c.before) for c in changes if c.before),
                "after": dict((c.name, c.after) for c in changes if c.after),
            }
        if self.check_mode or not pending:
            result["peers"] = state.peers()
            return result
        failures = self._apply(pending, result["plan"], changes)
        result["peers"] = ClusterState.read(self.client).peers()
        if failures:
            self.fail("%d of %d changes failed (a rerun retries them): %s"
                      % (len(failures), len(pending), "; ".join(failures)), **result)
        return result

    def _apply(self, pending, plan, changes):
        """Apply each change, waiting for its sockets; record the outcome in plan."""
        failures = []
        joined = []
        for change in pending:
            entry = plan[changes.index(change)]
            try:
                message = apply_change(self.client, change)
                entry["peer"] = change.name
                if self.params["wait"] and self._wait(change, joined):
                    entry["restarted"] = True
            except HarperError as exc:
                entry["status"] = "failed"
                entry["error"] = exc.message
                failures.append("%s (%s): %s" % (change.name, change.spec.label, exc.message))
                continue
            entry["status"] = "done"
            if message:
                entry["message"] = message
        return failures

    def _wait(self, change, joined):
        """Wait for this peer, and every peer joined before it in this run, to connect;
        return whether the node's worker threads were restarted on the way.

        Joins sent back to back race; waiting for the ones joined so far
        before the next keeps every socket converging.
        """
        timeout = self.params["wait_timeout"]
        if change.action == "remove":
            wait_gone(self.client, [change.name], timeout)
            return False
        restarted = wait_connected(self.client, joined + [change.name], timeout, self.params["restart_stalled"])
        # A peer that never connected is reported as failed and not waited for again.
        joined.append(change.name)
        return restarted
