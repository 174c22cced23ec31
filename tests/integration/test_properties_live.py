"""Every module on random arguments (tests/lib/bad_input.py) against one real dev-mode Harper node.

Each example runs the module as Ansible does, a Python process reading its arguments on stdin,
against the node: invalid arguments in normal mode, valid ones in check mode (harper_cluster_facts
only reads). Every run must print one result, never a traceback; invalid arguments must fail with
a message and report no write; no run may show the admin password; and after every run the node's
system.hdb_nodes and configuration are what they were. The peers that valid values name are an
address with nothing listening on it, so a join or a read of them fails at once.

HARPER_LIVE_PROPERTY_EXAMPLES sets the examples per module (60 by default).
"""

import json
import os
import subprocess
import sys

import bad_input  # tests/lib, put on sys.path by tests/conftest.py
import collection_tree
import pytest
from harper_state import read_records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

EXAMPLES = int(os.environ.get("HARPER_LIVE_PROPERTY_EXAMPLES", "60"))
MODULE_TIMEOUT = 300
COUNTS = dict((name, {}) for name in bad_input.CASES)


class Live:
    def __init__(self, node, ghost_ip):
        self.node = node
        ghost = ("ghost", "http://%s:9925" % ghost_ip)
        self.target = bad_input.Target([(node.name, node.api_url), ghost], node.username, node.password,
                                       urls={node.name: node.replication_url,
                                             "ghost": "wss://%s:9933" % ghost_ip},
                                       max_retries=1)
        self.env = dict(os.environ, PYTHONPATH=collection_tree.use_checkout(), ANSIBLE_NOCOLOR="1")

    def snapshot(self):
        configuration = self.node.call({"operation": "get_configuration"})
        return read_records(self.node, timestamps=True), configuration

    def run(self, module, args, check_mode):
        payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_module_name=module,
                                               _ansible_check_mode=check_mode)}
        process = subprocess.run(
            [sys.executable, "-m", "ansible_collections.harperdb.cluster.plugins.modules." + module],
            input=json.dumps(payload), capture_output=True, text=True, env=self.env, timeout=MODULE_TIMEOUT,
            check=False)
        return process


@pytest.fixture(scope="module")
def live(testbed_factory, address_allocator):
    bed = testbed_factory(1, mode="dev")
    # An address of this session's range with nothing on it: the peer every valid value names.
    ghost_ip = address_allocator.take(1)
    yield Live(bed.nodes[0], ghost_ip)
    bed.stop()
    for name, counts in sorted(COUNTS.items()):
        print("%s: %d inputs: %s" % (name, sum(counts.values()), ", ".join(
            "%s %d" % (kind, number) for kind, number in sorted(counts.items()))))


def check(live, module, case):
    check_mode = not case.invalid and module != "harper_cluster_facts"
    before = live.snapshot()
    process = live.run(module, case.args, check_mode)
    text = process.stdout + process.stderr
    assert "Traceback" not in text, text
    assert process.returncode in (0, 1), text
    result = json.loads(process.stdout.strip().splitlines()[-1])
    assert live.node.password not in text
    if result.get("failed"):
        assert isinstance(result.get("msg"), str) and result["msg"].strip(), result
    if case.invalid:
        assert result.get("failed"), "accepted invalid input (%s): %s" % ("; ".join(case.bad), result)
        assert not result.get("operations"), result
    if check_mode:
        assert not result.get("operations"), result
    assert live.snapshot() == before, "the node changed after %r" % (case,)
    kind = "%s %s" % ("invalid" if case.invalid else "valid", "failed" if result.get("failed") else "ok")
    COUNTS[module][kind] = COUNTS[module].get(kind, 0) + 1


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("module", sorted(bad_input.CASES))
def test_module_ends_cleanly_and_leaves_the_node_alone(live, module):
    # The strategy needs the node's address, known only once the fixture ran: drawn inside.
    @SETTINGS
    @given(data=st.data())
    def examples(data):
        check(live, module, data.draw(bad_input.CASES[module](live.target), label="case"))

    examples()
