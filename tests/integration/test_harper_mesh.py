"""harper_mesh against real Harper nodes in prod mode: what YAML cannot express well.

The module's contract on two nodes (check mode, one join, rerun with diff, the seed's own shard, a
member marked absent and its rerun, bad input) lives in the ansible-test target
tests/integration/targets/harper_mesh. Here, in file order on one 4-node test bed: three fresh
nodes become one mesh with two joins and replicate records, a fourth node extends that mesh with
one join, no password reaches the -vvv output, and a member marked absent leaves every other
member. Two more beds stall a socket on a member other than the seed, and cut replication so that
a removal is not passed on, and see the module mend both.
"""
import ipaddress
import threading

import pytest

from ansible_collections.harperdb.cluster.tests import testbed
from ansible_run import run_module
from harper_state import check_writes_nothing, read_records, replicate_and_read_back
from tcp_gate import TcpGate, open_gate_on_restart

pytestmark = [pytest.mark.integration, pytest.mark.testbed(4, mode="prod")]


def member(node, state="present", **extra):
    entry = {"name": node.name, "api_url": node.api_url, "url": node.replication_url, "state": state}
    entry.update(extra)
    return entry


def mesh_task(nodes, absent=(), **extra):
    """harper_mesh over nodes, the ones in absent marked absent; credentials at the top level."""
    first = nodes[0]
    args = {"username": first.username, "password": first.password, "validate_certs": False,
            "verify_tls": False, "restart_stalled": True, "wait_timeout": 60,
            "members": [member(node, "absent" if node in absent else "present") for node in nodes]}
    args.update(extra)
    return args


def run_ok(args, **flags):
    run = run_module("harper_mesh", args, **flags)
    assert not run.failed, run.get("msg")
    return run


def mesh_of(nodes):
    """{name: (sorted peers, all sockets connected)} read over HTTP, not with the collection's code."""
    view = {}
    for node in nodes:
        connections = node.call({"operation": "cluster_status"}).get("connections", [])
        sockets = [s for c in connections for s in c.get("database_sockets") or []]
        view[node.name] = (sorted(c["name"] for c in connections),
                           all(c.get("database_sockets") for c in connections)
                           and all(s.get("connected") for s in sockets))
    return view


def full_mesh(nodes):
    return dict((node.name, (sorted(o.name for o in nodes if o is not node), True)) for node in nodes)


def writes_of(run):
    return [(op["node"], op["operation"], op.get("hostname")) for op in run.writes()]


def joins_of(run):
    """The writes of a run but the worker restarts it reports (restart_stalled), which it must report."""
    writes = writes_of(run)
    assert sorted(w[0] for w in writes if w[1] == "restart_service") == sorted(run["restarted"]), writes
    return [w for w in writes if w[1] != "restart_service"]


def test_three_fresh_nodes_become_one_mesh_with_two_writes(n):
    run = run_ok(mesh_task(n[:3]), diff=True)
    assert run.changed
    # A join can stall a socket in Harper; the run then restarts the member holding it and says so.
    assert joins_of(run) == [(n[0].name, "add_node", n[1].name), (n[0].name, "add_node", n[2].name)]
    assert mesh_of(n[:3]) == full_mesh(n[:3])
    assert all(view["all_connected"] for view in run["members"].values()), run["members"]
    replicate_and_read_back(n[2], [n[0], n[1]])


def test_a_fourth_node_joins_with_one_write(n):
    check = check_writes_nothing("harper_mesh", n, mesh_task(n))
    assert check["plan"]["join"] == [n[3].name]
    assert check["plan"]["mesh"] == [node.name for node in n[:3]]
    run = run_ok(mesh_task(n))
    assert joins_of(run) == [(n[0].name, "add_node", n[3].name)]
    assert mesh_of(n) == full_mesh(n)


def test_no_password_reaches_the_output_at_vvv_with_diff(n):
    run = run_ok(mesh_task(n), verbosity=3, diff=True)
    assert not run.changed
    assert n[0].password not in run.output
    assert n[0].password not in str(run.result)


def test_a_member_marked_absent_is_removed_from_every_member(n):
    leaving = n[2]
    staying = [node for node in n if node is not leaving]
    check = check_writes_nothing("harper_mesh", n, mesh_task(n, absent=[leaving]))
    assert check["plan"]["remove"] == [{"name": leaving.name, "on": [node.name for node in staying]}]
    assert check["diff"]["after"] == dict((node.name, sorted(o.name for o in staying if o is not node))
                                          for node in staying)
    run = run_ok(mesh_task(n, absent=[leaving]))
    removals = [w for w in writes_of(run) if w[1] == "remove_node"]
    assert removals and removals[0] == (n[0].name, "remove_node", leaving.name)
    assert all(w[2] == leaving.name for w in removals)
    for node in staying:
        assert leaving.name not in read_records(node), node.name


@pytest.fixture
def gated_bed(testbed_factory, address_allocator):
    """Three nodes; the last is reached through a gate that lets one connection through (the seed's
    handshake when it joins the node) and refuses the others until it is opened."""
    bed = testbed_factory(3, mode="prod")
    joining = bed.nodes[2]
    gate_ip = address_allocator.take(1)
    gate = TcpGate((gate_ip, joining.replication_port), (joining.ip, joining.replication_port))
    yield bed, gate, "wss://%s:%d" % (gate_ip, joining.replication_port)
    gate.close()
    bed.stop()


def test_a_socket_stalled_on_a_member_other_than_the_seed_is_healed(gated_bed):
    bed, gate, gated_url = gated_bed
    seed, other, joining = bed.nodes
    run_ok(mesh_task([seed, other], wait_timeout=30))
    # The seed joins the new node through the gate; then every socket to it stalls, the other
    # member's included, until the other member's worker threads restart.
    args = mesh_task(bed.nodes, wait_timeout=30)
    args["members"][2]["url"] = gated_url
    stop = threading.Event()
    watcher = open_gate_on_restart(other, gate, stop)
    try:
        run = run_ok(args)
    finally:
        stop.set()
        watcher.join(5)
    assert gate.refused > 0, "the gate refused nothing: no socket stalled"
    assert other.name in run["restarted"], "the member other than the seed was not healed: %s" % run["restarted"]
    restarts = [w for w in writes_of(run) if w[1] == "restart_service"]
    assert sorted(w[0] for w in restarts) == sorted(run["restarted"])
    assert [w for w in writes_of(run) if w[1] != "restart_service"] == [(seed.name, "add_node", joining.name)]
    assert mesh_of(bed.nodes) == full_mesh(bed.nodes)


@pytest.fixture
def cut_off_bed(testbed_factory, address_allocator):
    """Three nodes that each advertise a gate in front of their replication port as their url, so
    that all replication between them passes through gates and can be cut."""
    node_ip = address_allocator.take(3)
    gate_ip = address_allocator.take(3)
    gates = []
    urls = {}
    for index in range(1, 4):
        target = (str(ipaddress.ip_address(node_ip) + index - 1), testbed.DEFAULT_REPLICATION_PORT)
        listen = (str(ipaddress.ip_address(gate_ip) + index - 1), testbed.DEFAULT_REPLICATION_PORT)
        gate = TcpGate(listen, target)
        gate.open()
        gates.append(gate)
        urls[index] = "wss://%s:%d" % listen
    bed = testbed_factory(3, mode="prod", first_ip=node_ip, advertised_urls=urls)
    yield bed, gates
    for gate in gates:
        gate.close()
    bed.stop()


def test_a_removal_harper_does_not_pass_on_is_sent_to_every_member_that_still_lists_the_node(cut_off_bed):
    bed, gates = cut_off_bed
    first, second, leaving = bed.nodes

    def task(absent=()):
        return mesh_task(bed.nodes, absent=absent, wait_timeout=40)
    run_ok(task())
    assert mesh_of(bed.nodes) == full_mesh(bed.nodes)
    # All replication is cut. Harper passes a removal on twice: the remover's record deletion
    # replicates to its peers, and the removed node is told to delete its own record, which
    # replicates to its peers. Neither can reach the other member now.
    for gate in gates:
        gate.cut()
    stop = threading.Event()

    def open_gates_once_removed_on_both():
        while not stop.is_set():
            try:
                if all(leaving.name not in read_records(node) for node in (first, second)):
                    for gate in gates:
                        gate.open()
                    return
            except Exception:  # pylint: disable=broad-except  # a restarting node answers errors
                pass
            stop.wait(0.2)
    watcher = threading.Thread(target=open_gates_once_removed_on_both, daemon=True)
    watcher.start()
    try:
        run = run_ok(task(absent=[leaving]))
    finally:
        stop.set()
        watcher.join(5)
    removals = [w for w in writes_of(run) if w[1] == "remove_node"]
    assert removals == [(first.name, "remove_node", leaving.name), (second.name, "remove_node", leaving.name)], \
        writes_of(run)
    for node in (first, second):
        assert leaving.name not in read_records(node), node.name
    assert mesh_of([first, second]) == full_mesh([first, second])
    rerun = run_ok(task(absent=[leaving]))
    assert rerun.writes() == []
