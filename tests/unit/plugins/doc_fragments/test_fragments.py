# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each shared option is documented once: the connection, peer and wait fragments match the
argument specs they are paired with, and harper_cluster's connections carry the same peer options."""

import yaml

from ansible_collections.harperdb.cluster.plugins.doc_fragments import connection, peer, wait
from ansible_collections.harperdb.cluster.plugins.module_utils._base import connection_argument_spec
from ansible_collections.harperdb.cluster.plugins.module_utils._peers import peer_argument_spec
from ansible_collections.harperdb.cluster.plugins.module_utils._sockets import wait_argument_spec


def _matches(documented, spec):
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default") == option.get("default"), name
        assert documented[name].get("elements") == option.get("elements"), name
        assert documented[name].get("aliases", []) == option.get("aliases", []), name


def test_the_peer_fragment_documents_peer_argument_spec_top_level_and_under_connections():
    top = yaml.safe_load(peer.ModuleDocFragment.DOCUMENTATION)["options"]
    _matches(top, peer_argument_spec())
    connections = yaml.safe_load(peer.ModuleDocFragment.CONNECTIONS)["options"]["connections"]
    _matches(connections["suboptions"], peer_argument_spec())
    for name, option in top.items():
        under = connections["suboptions"][name]["description"]
        assert under == [line.replace("O(", "O(connections[].").replace("O(connections[].api_url)", "O(api_url)")
                         for line in option["description"]], name


def test_the_wait_fragment_documents_wait_argument_spec():
    _matches(yaml.safe_load(wait.ModuleDocFragment.DOCUMENTATION)["options"], wait_argument_spec())


def test_the_connection_fragment_documents_connection_argument_spec_and_its_environment():
    fragment = connection.ModuleDocFragment
    documented = yaml.safe_load(fragment.DOCUMENTATION)["options"]
    documented.update(yaml.safe_load(fragment.API_URL)["options"])
    spec = connection_argument_spec()
    _matches(documented, spec)
    for name, option in spec.items():
        if "fallback" in option:
            variable = option["fallback"][1][0]
            assert any("E(%s)" % variable in line for line in documented[name]["description"]), name
    assert sorted(connection_argument_spec(api_url=False)) == sorted(set(spec) - {"api_url"})
