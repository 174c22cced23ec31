"""harper_mesh against real Harper nodes in prod mode.

The tests run in file order as one story on one 4-node test bed: three fresh
nodes become one mesh, a rerun writes nothing, a fourth node joins, a shard
given for the seed reaches its own record, one node leaves. Every step runs in
check mode first, which must leave every node as it was. Two more beds stall a socket on a member other than the seed, and cut
replication so that a removal is not passed on, and see the module mend both.
"""

import ipaddress
import threading

import pytest

from ansible_collections.harperdb.cluster.tests import testbed
from ansible_run import run_module
from harper_state import check_writes_nothing, read_records, replicate_and_read_back, wait_until
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


def records_of(nodes):
    return dict((node.name, read_records(node)) for node in nodes)


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


def test_check_mode_on_fresh_nodes_plans_n_minus_1_joins_and_writes_nothing(n):
    run = check_writes_nothing("harper_mesh", n[:3], mesh_task(n[:3]))
    plan = run["plan"]
    assert plan["seed"] == n[0].name
    assert plan["join"] == [n[1].name, n[2].name]
    assert run["diff"]["before"] == dict((node.name, []) for node in n[:3])
    assert run["diff"]["after"] == dict((node.name, sorted(o.name for o in n[:3] if o is not node))
                                        for node in n[:3])
    assert run["members"][n[0].name]["peers"] == []


def test_three_fresh_nodes_become_one_mesh_with_two_writes(n):
    run = run_ok(mesh_task(n[:3]), diff=True)
    assert run.changed
    # A join can stall a socket in Harper; the run then restarts the member holding it and says so.
    assert joins_of(run) == [(n[0].name, "add_node", n[1].name), (n[0].name, "add_node", n[2].name)]
    assert mesh_of(n[:3]) == full_mesh(n[:3])
    assert all(view["all_connected"] for view in run["members"].values()), run["members"]
    replicate_and_read_back(n[2], [n[0], n[1]])


def test_rerun_reads_each_member_once_and_writes_nothing(n):
    run = run_ok(mesh_task(n[:3]), diff=True)
    assert not run.changed
    assert run.writes() == []
    # cluster_status and system.hdb_nodes on each member, nothing else.
    assert run["reads"] == 2 * 3
    assert run["diff"]["before"] == run["diff"]["after"]


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


def test_a_shard_given_for_the_seed_is_written_to_its_own_record_and_reaches_every_node(n):
    # The seed's shard is on no other member's record that update_node could set: harper_mesh
    # updates the seed's record of itself, which replicates.
    task = mesh_task(n)
    task["members"][0]["shard"] = 3
    check = check_writes_nothing("harper_mesh", n, task)
    assert check["plan"]["own_shard"] == [{"name": n[0].name, "before": None, "after": 3}]
    assert check["plan"]["update"] == []
    run = run_ok(task)
    assert joins_of(run) == [(n[0].name, "update", None)]
    for node in n:
        wait_until(lambda node=node: read_records(node)[n[0].name].get("shard") == 3, 30,
                   "%s to hold shard 3 in its record of %s" % (node.name, n[0].name))
    rerun = run_ok(task)
    assert not rerun.changed and rerun.writes() == []


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
    rerun = run_ok(mesh_task(n, absent=[leaving]))
    assert not rerun.changed and rerun.writes() == []


@pytest.mark.parametrize("change, message", [
    (lambda m: m + [dict(m[0])], "members[4]: the same name as members[0]"),
    (lambda m: [dict(m[0], url="https://%s:9925" % m[0]["name"])] + m[1:], "is not a replication url"),
    (lambda m: m[:1] + [dict(m[1], subscriptions=[{"database": "data", "table": "dog", "subscribe": True,
                                                   "publsh": True}])] + m[2:],
     "subscriptions[0]: unknown field 'publsh'"),
    (lambda m: [dict(m[0], name="not-its-name")] + m[1:],
     "calls itself %r, not 'not-its-name'. Set name to its replication.hostname"),
    (lambda m: m + [{"name": "ghost", "api_url": "https://127.0.0.1:1", "url": "wss://127.0.0.1:1"}],
     "These present members do not answer"),
])
def test_bad_input_fails_clearly_and_writes_nothing(n, change, message):
    args = mesh_task(n)
    args["members"] = change(args["members"])
    before = records_of(n[:2])
    run = run_module("harper_mesh", args)
    assert run.failed
    assert message.replace("%r", repr(n[0].name)) in run["msg"], run["msg"]
    assert "Traceback" not in run.output
    assert run.writes() == []
    assert records_of(n[:2]) == before


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
