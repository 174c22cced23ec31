# -*- coding: utf-8 -*-
# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waits on a node's replication sockets, as cluster_status shows them.

Internal to the harperdb.cluster collection: it may change in any release.

After a join, an update or a removal, harper_node and harper_cluster wait until
cluster_status shows the sockets to the peers connected, or the peer gone, and
fail after a deadline with the last reading of every peer's sockets. A socket
that retries while its node reloads its certificates can stop retrying for
good; with restart_stalled, sockets still down half way through a wait get one
restart of the node's worker threads (_restart.py).
"""

import time

from ansible_collections.harperdb.cluster.plugins.module_utils._client import WaitTimeout, poll_until
from ansible_collections.harperdb.cluster.plugins.module_utils._restart import restart_and_wait
from ansible_collections.harperdb.cluster.plugins.module_utils._state import ClusterState


def wait_argument_spec():
    """The options of the wait after each change (harper_node, harper_cluster).

    Documented once, in plugins/doc_fragments/wait.py: change both together.
    """
    return dict(
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=60),
        restart_stalled=dict(type="bool", default=False),
    )


def wait_for(client, condition, timeout, what, deadline=None):
    """Poll cluster_status until condition(state) holds; fail after timeout seconds
    with the last reading of every peer's sockets."""

    def check():
        state = ClusterState.read(client, records=False)
        return condition(state), "Last cluster_status of %s: %s" % (client.api_url, describe_sockets(state))

    poll_until(check, timeout, what, deadline=deadline)


_RACE_HINT = (" If the peer is up and reachable, a socket can be stuck by Harper's reconnect race "
              "after a join; restart_stalled: true restarts the node's worker threads once to open "
              "it anew.")


def wait_connected(client, names, timeout, restart_stalled=False):
    """Wait until every database socket to names connects; return whether the
    node's worker threads were restarted on the way.

    A socket that retries while its node reloads its certificates (which a
    join makes it do) can stop retrying for good; no update_node wakes it, new
    worker threads do. With restart_stalled, sockets still down after half of
    timeout get one such restart, and the rest of timeout to connect.
    """
    names = [n for n in names if n]
    what = "every database socket to %s to connect" % ", ".join(names)

    def connected(state):
        return all(state.peer_connected(n) for n in names)

    deadline = time.monotonic() + timeout
    try:
        wait_for(client, connected, timeout / 2.0 if restart_stalled else timeout, what)
        return False
    except WaitTimeout as exc:
        if not restart_stalled:
            exc.message += _RACE_HINT
            raise
    remaining = max(deadline - time.monotonic(), 1)
    restart_and_wait(client, remaining)
    try:
        wait_for(client, connected, timeout, what, deadline=max(deadline, time.monotonic() + 1))
    except WaitTimeout as exc:
        exc.message += (" The node's worker threads were restarted once after %s s, and the sockets "
                        "still did not connect." % (timeout / 2.0))
        raise
    return True


def wait_gone(client, names, timeout):
    names = [n for n in names if n]
    wait_for(client, lambda s: not any(n in s.connections for n in names), timeout,
             "%s to leave cluster_status" % ", ".join(names))


def wait_disconnected(client, timeout):
    def alone(state):
        return not any(socket["connected"] for name in state.peer_names() for socket in state.sockets(name))
    wait_for(client, alone, timeout, "every socket of %s to disconnect" % client.api_url)


def describe_sockets(state):
    peers = []
    for name in state.peer_names():
        sockets = state.sockets(name)
        if not sockets:
            peers.append("%s: no database socket" % name)
            continue
        peers.append("%s: %s" % (name, ", ".join(
            "%s %s (%s)" % (s["database"], "connected" if s["connected"] else "not connected",
                            s["last_received_status"] or "no status") for s in sockets)))
    return "; ".join(peers) or "no peers"
