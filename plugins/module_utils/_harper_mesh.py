# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harper_mesh module: the membership of a whole cluster, in one run on the controller.

Internal to the harperdb.cluster collection: it may change in any release.

Read every member in parallel, plan (_mesh_plan), then apply at Harper's pace:
removals first, each confirmed on every member that listed the node and sent
again where Harper did not pass it on; then one join at a time on the seed,
each followed by a wait, with every member polled in parallel, until the
members joined so far all see each other connected (joins sent back to back
race inside Harper); then updates; then a check of the whole mesh. A socket
still down half way through a wait gets one restart of the worker threads of
the member that holds it (restart_stalled), whichever member that is.
"""

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.harperdb.cluster.plugins.module_utils._base import HarperModule, unverified_join_warning, unverified_warning
from ansible_collections.harperdb.cluster.plugins.module_utils._client import (
    WRITE_OPERATIONS,
    AuthorizationError,
    HarperClient,
    HarperError,
    WaitTimeout,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._mesh_plan import (
    MeshInputError,
    parse_members,
    peers_before_and_after,
    plan_mesh,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._peers import (
    PeerChange,
    PeerSpec,
    apply_change,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._restart import restart_and_wait
from ansible_collections.harperdb.cluster.plugins.module_utils._state import ClusterState, public_record, refuse_unstored_fields

# Harper connects a join in about a second: poll at a pace that does not add to it.
POLL_INTERVAL = 0.1
# How long Harper gets to pass a removal on before it is sent to the members that still list the node.
REMOVAL_GRACE = 5.0
MAX_PARALLEL_READS = 16
# A worker restart takes a few seconds; it gets at least this long, even late in a wait.
MIN_RESTART_SECONDS = 30.0


def _argument_spec():
    member = dict(
        name=dict(type="str", required=True),
        url=dict(type="str"),
        api_url=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        token=dict(type="str", no_log=True),
        validate_certs=dict(type="bool"),
        ca_path=dict(type="path"),
        authorization=dict(type="raw", no_log=True),
        shard=dict(type="int"),
        subscriptions=dict(type="list", elements="dict"),
    )
    return dict(
        members=dict(type="list", elements="dict", required=True, options=member),
        verify_tls=dict(type="bool", default=True),
        retain_authorization=dict(type="bool"),
        wait_timeout=dict(type="int", default=60),
        restart_stalled=dict(type="bool", default=False),
    )


class MeshModule(HarperModule):
    single_node = False

    def __init__(self):
        super().__init__(_argument_spec())
        self.journal = []
        self.clients = {}
        self.restarted = []

    @property
    def writes(self):
        return [op for op in self.journal if op.get("operation") in WRITE_OPERATIONS]

    @property
    def sessions(self):
        return [client.session for client in self.clients.values()]

    def scrub(self, text):
        for client in self.clients.values():
            text = client.scrub(text)
        return text

    def _client(self, member):
        connection = dict((key, self.params[key]) for key in (
            "username", "password", "token", "validate_certs", "ca_path"))
        connection.update((key, value) for key, value in member.connection.items() if value is not None)
        member.connection = connection
        warning = unverified_warning(member.name, member.api_url, connection["validate_certs"],
                                     connection["ca_path"])
        if warning:
            self.module.warn(warning)
        # An absent member is often stopped already: one refused read is enough to know it.
        retries = self.params["retries"] if member.present else 0
        return HarperClient(member.api_url, timeout=self.params["timeout"], retries=retries,
                            journal=self.journal, label=member.name, **connection)

    def run(self):
        try:
            members = parse_members(self.params["members"])
            for member in members:
                self.clients[member.name] = self._client(member)
            views = self.read([m.name for m in members], records=True)
            self.refuse_shards(members, views)
            join_options = dict((key, self.params[key]) for key in ("verify_tls", "retain_authorization")
                                if self.params[key] is not None)
            plan = plan_mesh(members, views, join_options)
            for change in plan.joins + plan.updates:
                if change.unverified:
                    self.module.warn(unverified_join_warning(change.name))
        except MeshInputError as exc:
            self.fail(str(exc))
        present = [m.name for m in members if m.present]
        result = {"changed": plan.write_count > 0, "plan": plan.as_dict(), "restarted": self.restarted}
        if self.diff_mode:
            before, after = peers_before_and_after(members, views, plan)
            result["diff"] = {"before": before, "after": after}
        if self.check_mode:
            result["members"] = describe(views, present)
            return result
        try:
            final = self.apply(plan, present, views)
        except HarperError as exc:
            result["changed"] = bool(self.writes or self.restarted)
            exc.result = result
            raise
        result["changed"] = bool(self.writes)
        result["members"] = describe(final, present)
        result["reads"] = len(self.journal) - len(self.writes)
        return result

    def refuse_shards(self, members, views):
        """With a shard given, refuse before any write when an answering present member runs a
        Harper that drops shards (4.4): every member decides from its own records what to send."""
        sharded = [m.name for m in members if m.present and m.shard is not None]
        if not sharded:
            return
        for member in members:
            if member.present and isinstance(views.get(member.name), ClusterState):
                refuse_unstored_fields(self.clients[member.name], ["shard"], "harper_mesh: shard of %s (member %s)"
                                       % (", ".join(sharded), member.name))

    def read(self, names, records=False):
        """Every named member's ClusterState, read in parallel; the error text of one that did not answer."""
        def read_one(name):
            try:
                return ClusterState.read(self.clients[name], records=records)
            except AuthorizationError as exc:
                return exc
            except HarperError as exc:
                # HTTP 401: the member answers, and refuses the credentials.
                return exc if exc.status == 401 else exc.message
        if len(names) == 1:
            views = {names[0]: read_one(names[0])}
        else:
            with ThreadPoolExecutor(max_workers=min(len(names), MAX_PARALLEL_READS)) as pool:
                futures = dict((name, pool.submit(read_one, name)) for name in names)
            views = dict((name, future.result()) for name, future in futures.items())
        # A member that answers but refuses the account or its credentials is no member that is
        # down: say so as such (and not "start them").
        for name in names:
            if isinstance(views[name], HarperError):
                raise views[name]
        return views

    def apply(self, plan, present, views):
        """Apply the plan; return the last reading of every present member."""
        timeout = self.params["wait_timeout"]
        for removal in plan.removals:
            self.remove_everywhere(removal["name"], removal["on"], timeout, views)
        mesh = list(plan.mesh)
        states = None
        for change in plan.joins:
            if not self.joined_by_harper(plan.seed, change.name):
                apply_change(self.clients[plan.seed], change)
            mesh.append(change.name)
            states = self.wait_mesh(mesh, timeout, "joining %s" % change.name)
        for change in plan.updates:
            apply_change(self.clients[plan.seed], change)
        for change in plan.own_shards:
            # update_node cannot name the node itself (it dials its own url to sign a
            # certificate); a plain update of the record keeps every other field.
            self.clients[change["name"]].call("update", database="system", table="hdb_nodes",
                                              records=[{"name": change["name"], "shard": change["after"]}])
        if states is not None and not plan.updates and not plan.own_shards and sorted(mesh) == sorted(present):
            # The wait after the last join checked the whole mesh already.
            return states
        # A rerun with nothing to do and nothing down has read all it needs already.
        if self.writes or mesh_problems(views, present)[0]:
            return self.wait_mesh(present, timeout, "the last change" if self.writes else "the check")
        return views

    def joined_by_harper(self, seed, name):
        """Whether an earlier join already brought name into the seed's mesh (Harper spreads membership)."""
        states = self.read([seed, name])
        seed_state, state = states[seed], states[name]
        if isinstance(seed_state, str) or isinstance(state, str):
            return False
        return name in seed_state.connections and seed in state.connections

    def remove_everywhere(self, name, holders, timeout, views=None):
        """Remove name on the first holder, give Harper a moment to pass it on, then remove it
        directly from each member that still lists it, and confirm it is gone from all of them."""
        first = holders[0]
        self._remove(first, name, self._record(views, first, name))
        lingering = self._wait_gone(name, holders, min(REMOVAL_GRACE, timeout), fail=False)
        for holder in lingering:
            self._remove(holder, name, self._record(views, holder, name))
        self._wait_gone(name, holders, timeout, fail=True)

    @staticmethod
    def _record(views, holder, name):
        """holder's record of name as first read (its subscriptions decide how it is removed)."""
        state = (views or {}).get(holder)
        return public_record(state.peer_record(name)) if isinstance(state, ClusterState) else {}

    def _remove(self, holder, name, record=None):
        spec = PeerSpec({"hostname": name}, label="removal of %s on %s" % (name, holder))
        change = PeerChange(spec, "remove", name, record or {}, {}, {"hostname": name})
        try:
            apply_change(self.clients[holder], change)
        except HarperError as exc:
            # Harper passed the removal on between the reading and this write.
            if "does not exist" not in exc.message:
                raise

    def _wait_gone(self, name, holders, timeout, fail):
        """Holders that still list name when it is gone from all of them or timeout runs out."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.read(holders, records=True)
            lingering = [h for h in holders if isinstance(states[h], str) or name in states[h].peer_names()]
            if not lingering:
                return []
            if time.monotonic() >= deadline:
                if not fail:
                    return lingering
                raise WaitTimeout(
                    "Timed out after %s s waiting for %s to be removed from every member: still listed by "
                    "(or not answering) %s." % (timeout, name, ", ".join(
                        h if not isinstance(states[h], str) else "%s (%s)" % (h, states[h]) for h in lingering)))
            time.sleep(POLL_INTERVAL)

    def wait_mesh(self, names, timeout, after):
        """Poll every member of names until each sees all the others with every database socket
        connected; return the last readings. With restart_stalled, a member still holding a socket
        down after half of timeout gets one restart of its worker threads."""
        started = time.monotonic()
        deadline = started + timeout
        healed = False
        while True:
            states = self.read(names)
            problems, stalled = mesh_problems(states, names)
            if not problems:
                return states
            now = time.monotonic()
            if self.params["restart_stalled"] and not healed and stalled and now - started >= timeout / 2.0:
                healed = True
                self.restart(stalled, max(deadline - now, MIN_RESTART_SECONDS))
                continue
            if now >= deadline:
                silent = [name for name in names if not _answered(states.get(name))]
                raise WaitTimeout("Harper mesh not connected %s s after %s: %s.%s" % (
                    timeout, after, "; ".join(problems), _wait_hint(self.params["restart_stalled"], healed, silent)))
            time.sleep(POLL_INTERVAL)

    def restart(self, names, timeout):
        """Restart the worker threads of every named member at once, and wait until each answers."""
        self.restarted.extend(names)
        with ThreadPoolExecutor(max_workers=min(len(names), MAX_PARALLEL_READS)) as pool:
            futures = [pool.submit(restart_and_wait, self.clients[name], timeout) for name in names]
        for future in futures:
            future.result()


def _answered(state):
    return state is not None and not isinstance(state, str)


def _wait_hint(restart_stalled, healed, silent=()):
    if silent:
        # Sockets to a member that is down stay down: no restart of the others mends them.
        return (" %s stopped answering during the run: start %s (the Harper log under its root path "
                "says why it stopped), then rerun: the rerun reads every member again and makes the joins still missing."
                % (", ".join(silent), "it" if len(silent) == 1 else "them"))
    if healed:
        return " The worker threads of the members holding those sockets were restarted once, to no avail."
    if not restart_stalled:
        return (" If the members are up and reach each other, a socket can be stuck by Harper's reconnect "
                "race after a join; restart_stalled: true restarts the worker threads of the member that "
                "holds it.")
    return ""


def mesh_problems(states, names):
    """(problems, stalled): one text per member of names that does not see all the others
    connected, and the members that hold a socket listed but not connected to a member that
    answers (the ones a restart of worker threads can mend; a peer not listed yet is still being
    spread by Harper, and a socket to a member that does not answer waits for that member)."""
    problems = []
    stalled = []
    for name in names:
        state = states.get(name)
        if not _answered(state):
            problems.append("%s: not answering (%s)" % (name, str(state).rstrip(".")))
            continue
        others = [peer for peer in names if peer != name]
        missing = [peer for peer in others if peer not in state.connections]
        down = []
        mendable = False
        for peer in others:
            if peer in missing:
                continue
            sockets = state.sockets(peer)
            down_before = len(down)
            if not sockets:
                down.append("%s/(no socket)" % peer)
            down.extend("%s/%s" % (peer, s["database"]) for s in sockets if not s["connected"])
            if len(down) > down_before and _answered(states.get(peer)):
                mendable = True
        if missing:
            problems.append("%s: peers missing: %s" % (name, ", ".join(missing)))
        if down:
            problems.append("%s: sockets not connected (peer/database): %s" % (name, ", ".join(down)))
            if mendable:
                stalled.append(name)
    return problems, stalled


def describe(states, names):
    """Each member's view, as the result shows it."""
    members = {}
    for name in names:
        state = states.get(name)
        if not _answered(state):
            members[name] = {"answering": False, "error": state}
            continue
        members[name] = {
            "answering": True,
            "peers": state.peer_names(),
            "all_connected": not state.disconnected(),
            "disconnected": state.disconnected(),
        }
    return members
