"""Reading and waiting on real Harper nodes from tests, without the collection's code.

Tests check the modules against what the server says, read here with plain
operations through the test bed, so a bug in the collection's own reader
cannot hide a bug in a module.
"""

import time
import uuid

POLL_SECONDS = 0.25
# What a node logs when its worker threads restart (restart_service of http).
RESTART_LOG_LINE = "Restarting http_workers"


def connection_args(node):
    """The connection options of a module task that talks to node."""
    return {
        "api_url": node.api_url,
        "username": node.username,
        "password": node.password,
        "validate_certs": False,
    }


def peer_args(peer):
    """harper_node options that join peer (self-signed certificate, admin credentials)."""
    return {
        "hostname": peer.name,
        "url": peer.replication_url,
        "verify_tls": False,
        "authorization": {"username": peer.username, "password": peer.password},
    }


def read_records(node, timestamps=False):
    """system.hdb_nodes of node as {name: record}, without certificates (and timestamps)."""
    rows = node.call({"operation": "search_by_value", "database": "system", "table": "hdb_nodes",
                      "search_attribute": "name", "search_value": "*", "get_attributes": ["*"]})
    dropped = {"ca", "ca_info"} if timestamps else {"ca", "ca_info", "__updatedtime__", "__createdtime__"}
    return dict((row["name"], dict((k, v) for k, v in row.items() if k not in dropped)) for row in rows)


def peer_connected(node, peer_name):
    """Whether node lists peer_name with database sockets, all of them connected."""
    for connection in node.call({"operation": "cluster_status"})["connections"]:
        if connection["name"] == peer_name:
            sockets = connection.get("database_sockets") or []
            return bool(sockets) and all(s.get("connected") for s in sockets)
    return False


def restarts_reported(run):
    """How many worker restarts (restart_stalled) a harper_node or harper_cluster run reports."""
    return int(run.get("restarted") is True) + sum(
        1 for entry in run.get("plan") or [] if entry.get("restarted") is True)


def join_writes(run):
    """The names of the writes a join run sent, without the worker restarts that
    restart_stalled may add; those must match the restarts the run reports."""
    names = [op["operation"] for op in run.writes()]
    reported = restarts_reported(run)
    assert names.count("restart_service") == reported, (names, reported)
    return [name for name in names if name != "restart_service"]


def wait_until(condition, timeout, what):
    """Poll condition() until it is true; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception as exc:  # a node restarting answers errors for a while
            last_error = exc
        time.sleep(POLL_SECONDS)
    raise AssertionError("timed out after %ss waiting for %s (last error: %s)" % (timeout, what, last_error))


def ensure_table(node, table, database="data"):
    try:
        node.call({"operation": "create_table", "database": database, "table": table,
                   "primary_key": "id"})
    except Exception as exc:  # already there from an earlier test
        if "already exists" not in str(exc):
            raise


def replicate_and_read_back(writer, readers, table="dog", timeout=30):
    """Insert a fresh record on writer and wait until every reader returns it."""
    ensure_table(writer, table)
    record_id = uuid.uuid4().hex
    writer.call({"operation": "insert", "database": "data", "table": table,
                 "records": [{"id": record_id, "written_on": writer.name}]})

    def seen_on(reader):
        rows = reader.call({"operation": "search_by_id", "database": "data", "table": table,
                            "ids": [record_id], "get_attributes": ["*"]})
        return bool(rows) and rows[0].get("written_on") == writer.name

    for reader in readers:
        wait_until(lambda reader=reader: seen_on(reader), timeout,
                   "record %s written on %s to reach %s" % (record_id, writer.name, reader.name))
    return record_id


def logged(node, text):
    """Whether any of node's log files holds text."""
    for path in node.log_files():
        try:
            with open(path) as handle:
                if text in handle.read():
                    return True
        except OSError:
            pass
    return False


def check_writes_nothing(module, nodes, args):
    """Run module with args in check and diff mode; assert it plans a change, reports no write and
    leaves the stored records of every node in nodes as they were. Return the run."""
    from ansible_run import run_module  # pylint: disable=import-outside-toplevel
    before = dict((node.name, read_records(node)) for node in nodes)
    run = run_module(module, args, check=True, diff=True)
    assert not run.failed, run.get("msg")
    assert run.changed
    assert run.writes() == []
    assert dict((node.name, read_records(node)) for node in nodes) == before
    return run
