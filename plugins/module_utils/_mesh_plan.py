# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The membership plan of a whole cluster, from every member's own view.

Internal to the harperdb.cluster collection: it may change in any release.

Pure planning, no request: harper_mesh reads every member, hands the
readings here, and applies what comes back. Two members are in one mesh only
when each lists the other: a member that lists a peer which does not list it
back holds a stale record (it was removed, or the peer was reinstalled), and
only a new handshake joins them again. The seed is a member of the largest
mesh, so an existing cluster is extended rather than a second one started;
every present member outside the seed's mesh is joined to the seed, one at
a time (Harper spreads membership, so N-1 joins make a mesh of N). A member
marked absent is removed from every present member that still lists it.
"""

from ansible_collections.harperdb.cluster.plugins.module_utils._peers import (
    PeerInputError,
    PeerSpec,
    authorization_problem,
    plan_join,
    plan_present,
)
from ansible_collections.harperdb.cluster.plugins.module_utils._state import normalize_url


class MeshInputError(ValueError):
    """Input or readings that no plan can be made from; nothing was written."""


class Member:
    """One member of the cluster as the inventory describes it."""

    def __init__(self, params, label):
        self.label = label
        self.name = params.get("name")
        self.url = params.get("url")
        self.api_url = params.get("api_url")
        self.state = params.get("state") or "present"
        self.shard = params.get("shard")
        self.subscriptions = params.get("subscriptions")
        self.authorization = params.get("authorization")
        self.connection = dict((key, params.get(key)) for key in (
            "username", "password", "token", "validate_certs", "ca_path"))
        problems = []
        if not self.name:
            problems.append("name is required (the node's replication.hostname)")
        if not self.api_url:
            problems.append("api_url is required")
        if self.present and not self.url:
            problems.append("url (the node's replication url, such as wss://node1.example.com:9933) is "
                            "required for a present member")
        if self.present and self.name:
            try:
                self.peer_spec()  # refuses a bad url, shard or subscription before anything is read
            except MeshInputError as exc:
                problems.append(getattr(exc, "detail", str(exc)).rstrip("."))
            # Used only by a join, which not every run makes: checked here, before anything is read.
            problem = authorization_problem(self.authorization)
            if problem:
                problems.append(problem)
        if problems:
            raise MeshInputError("%s%s: %s." % (label, " (%s)" % self.name if self.name else "",
                                                "; ".join(problems)))

    @property
    def present(self):
        return self.state == "present"

    def peer_spec(self, join_options=None):
        """This member as a peer of another member (see _peers.PeerSpec)."""
        params = {"hostname": self.name, "url": self.url, "shard": self.shard,
                  "subscriptions": self.subscriptions}
        if join_options is not None:
            params.update(join_options)
            params["authorization"] = self.authorization or _credentials(self.connection)
        try:
            return PeerSpec(params, label="%s (%s)" % (self.label, self.name))
        except PeerInputError as exc:
            error = MeshInputError(str(exc))
            error.detail = getattr(exc, "detail", str(exc))
            raise error


def _credentials(connection):
    """A member's own admin credentials: what a peer needs to handshake with it."""
    if connection.get("username") and connection.get("password"):
        return {"username": connection["username"], "password": connection["password"]}
    return None


def parse_members(entries):
    """Members in the order given; names, replication urls and api_urls must each be unique."""
    members = []
    seen = {}
    problems = []
    for index, entry in enumerate(entries or []):
        try:
            member = Member(entry, "members[%d]" % index)
        except MeshInputError as exc:
            problems.append(str(exc).rstrip("."))
            continue
        for field, value in (("name", member.name), ("url", normalize_url(member.url) if member.url else None),
                             ("api_url", (member.api_url or "").rstrip("/").lower())):
            if not value:
                continue
            if (field, value) in seen:
                problems.append("%s: the same %s as %s (%s); list each member once"
                                % (member.label, field, seen[(field, value)], value))
                break
            seen[(field, value)] = member.label
        members.append(member)
    if problems:
        raise MeshInputError("%s." % "; ".join(problems))
    if not members:
        raise MeshInputError("members is empty: list every node of the cluster.")
    return members


class MeshPlan:
    """What harper_mesh will do, in the order it does it."""

    def __init__(self, seed, mesh, joins, removals, updates, unmanaged, absent_unreachable, own_shards=()):
        self.seed = seed
        self.mesh = mesh
        self.joins = joins
        self.removals = removals
        self.updates = updates
        # [{"name", "before", "after"}]: members whose own record has another shard than given.
        self.own_shards = list(own_shards)
        self.unmanaged = unmanaged
        self.absent_unreachable = absent_unreachable

    @property
    def write_count(self):
        """Writes the plan needs at least: one per join, removal, update and own record."""
        return len(self.joins) + len(self.removals) + len(self.updates) + len(self.own_shards)

    def as_dict(self):
        return {
            "seed": self.seed,
            "mesh": list(self.mesh),
            "join": [change.name for change in self.joins],
            "remove": [dict(removal) for removal in self.removals],
            "update": [change.as_dict() for change in self.updates],
            "own_shard": [dict(change) for change in self.own_shards],
            "unmanaged_peers": dict(self.unmanaged),
            "absent_not_answering": list(self.absent_unreachable),
        }


def _meshes(names, views):
    """The meshes among names: groups linked by members that each list the other."""
    def mutual(a, b):
        return b in views[a].peer_names() and a in views[b].peer_names()

    left = list(names)
    meshes = []
    while left:
        mesh = [left.pop(0)]
        grew = True
        while grew:
            grew = False
            for name in list(left):
                if any(mutual(name, inside) for inside in mesh):
                    mesh.append(name)
                    left.remove(name)
                    grew = True
        meshes.append(sorted(mesh, key=names.index))
    return meshes


def plan_mesh(members, views, join_options=None):
    """The plan that makes the present members one mesh and drops the absent ones.

    views maps a member's name to its ClusterState, or to the error text of a
    member that did not answer. A present member that did not answer, or that
    answers under another name, is refused before any write: it can be neither
    joined nor verified. An absent one that does not answer is expected (it is
    often stopped already); its records on the others are removed all the same.
    """
    present = [m for m in members if m.present]
    absent = [m for m in members if not m.present]
    silent = ["%s (%s): %s" % (m.name, m.api_url, str(views.get(m.name)).rstrip(".")) for m in present
              if not _answered(views.get(m.name))]
    if silent:
        raise MeshInputError("These present members do not answer, so they can be neither joined nor "
                             "verified: %s. Start them, or mark them absent." % "; ".join(silent))
    for member in present:
        reported = views[member.name].node_name
        if reported != member.name:
            raise MeshInputError(
                "%s: the node at %s calls itself %r, not %r. Set name to its replication.hostname."
                % (member.label, member.api_url, reported, member.name))
    names = [m.name for m in present]
    meshes = _meshes(names, views)
    largest = max(meshes, key=len) if meshes else []
    seed = largest[0] if largest else None
    seed_view = views.get(seed)

    joins = [plan_join(seed_view, m.peer_spec(join_options or {})) for m in present if m.name not in largest]
    updates = []
    for member in present:
        if member.name in largest and member.name != seed:
            change = plan_present(seed_view, member.peer_spec())
            if change.action is not None:
                updates.append(change)

    # Measured on 4.7.29: a node restarted with a new replication.shard writes the new shard to
    # the other nodes' copy of its record, but its own copy keeps the old one (until it restarts
    # again). A member that has no record of itself yet is not joined: Harper writes the record,
    # from its config, when it joins.
    own_shards = []
    for member in present:
        own = views[member.name].own_record
        if member.shard is not None and own and own.get("shard") != member.shard:
            own_shards.append({"name": member.name, "before": own.get("shard"), "after": member.shard})

    removals = []
    for member in absent:
        holders = [name for name in names if member.name in views[name].peer_names()]
        if holders:
            removals.append({"name": member.name, "on": holders})

    known = set(m.name for m in members)
    unmanaged = {}
    for name in names:
        strangers = [peer for peer in views[name].peer_names() if peer not in known]
        if strangers:
            unmanaged[name] = strangers
    absent_unreachable = [m.name for m in absent if not _answered(views.get(m.name))]
    return MeshPlan(seed, largest, joins, removals, updates, unmanaged, absent_unreachable, own_shards)


def _answered(view):
    return view is not None and not isinstance(view, str)


def peers_before_and_after(members, views, plan):
    """Each present member's peer names now and as the plan leaves them, for diff mode."""
    present = [m.name for m in members if m.present]
    gone = set(r["name"] for r in plan.removals)
    before = {}
    after = {}
    for name in present:
        current = views[name].peer_names()
        before[name] = current
        after[name] = sorted((set(current) - gone) | (set(present) - set([name])))
    return before, after
