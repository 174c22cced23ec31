"""restart_stalled against real Harper nodes.

The peer is reached through a gate (tcp_gate.TcpGate) that lets the join's
handshake through and then refuses every connection, so the node's sockets
to the peer stall right after a successful add_node, as they do when Harper's
reconnect race strikes. The gate opens only once the node logs the restart of
its worker threads.
"""

import threading

import pytest

from ansible_run import run_module
from harper_state import RESTART_LOG_LINE, connection_args, logged, peer_connected, restarts_reported, wait_until
from tcp_gate import TcpGate, open_gate_on_restart

pytestmark = pytest.mark.integration

# Half of it (the stall) plus a restart and a reconnect must fit, with room for a loaded machine.
WAIT_TIMEOUT = 30


@pytest.fixture
def gated(testbed_factory, address_allocator):
    bed = testbed_factory(2)
    node, peer = bed.nodes
    gate_ip = address_allocator.take(1)
    gate = TcpGate((gate_ip, peer.replication_port), (peer.ip, peer.replication_port))
    yield node, peer, gate, "wss://%s:%d" % (gate_ip, peer.replication_port)
    gate.close()
    bed.stop()


def join_task(module, node, peer, url, **extra):
    """The task of module that joins peer at url, waiting WAIT_TIMEOUT seconds."""
    entry = dict(hostname=peer.name, url=url, verify_tls=False,
                 authorization={"username": peer.username, "password": peer.password})
    args = connection_args(node)
    if module == "harper_cluster":
        args["connections"] = [entry]
    else:
        args.update(entry)
    args.update(wait_timeout=WAIT_TIMEOUT, **extra)
    return args


@pytest.mark.parametrize("module", ["harper_node", "harper_cluster"])
def test_stalled_sockets_restart_the_workers_once_and_connect(gated, module):
    node, peer, gate, url = gated
    check = run_module(module, join_task(module, node, peer, url, restart_stalled=True), check=True)
    assert not check.failed, check.get("msg")
    assert check.changed and check.writes() == []
    assert gate.accepted == 0 and not logged(node, RESTART_LOG_LINE)
    stop = threading.Event()
    watcher = open_gate_on_restart(node, gate, stop)
    try:
        run = run_module(module, join_task(module, node, peer, url, restart_stalled=True))
    finally:
        stop.set()
        watcher.join(5)
    assert not run.failed, run.get("msg")
    assert gate.refused > 0, "the gate never refused a connection: nothing stalled"
    assert run.changed and restarts_reported(run) == 1
    assert [op["operation"] for op in run.writes()] == ["add_node", "restart_service"]
    assert peer_connected(node, peer.name)


def test_without_restart_stalled_a_stall_fails_with_a_hint(gated):
    node, peer, gate, url = gated
    run = run_module("harper_node", join_task("harper_node", node, peer, url))
    assert run.failed
    assert gate.refused > 0
    assert "Timed out after %d s waiting for every database socket to %s" % (WAIT_TIMEOUT, peer.name) in run["msg"]
    assert "restart_stalled: true" in run["msg"]
    assert not logged(node, RESTART_LOG_LINE)
    # The socket is only held back: once the gate opens it connects by itself.
    gate.open()
    wait_until(lambda: peer_connected(node, peer.name), 60, "%s to connect once the gate opens" % peer.name)
