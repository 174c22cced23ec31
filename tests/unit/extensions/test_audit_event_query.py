# Copyright: Contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""extensions/audit/event_query.yml, the indirect node counting queries of Ansible Automation
Platform: one query for every module of the collection, each making the objects the controller
counts. tests/integration/test_aap_extensions.py runs the queries with jq on the modules' RETURN
samples."""

import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EVENT_QUERY = os.path.join(ROOT, "extensions", "audit", "event_query.yml")
MODULES = os.path.join(ROOT, "plugins", "modules")
# Modules that talk to no Harper node (harper_pki works on a folder of the controller): nothing to count.
NODELESS = {"harperdb.cluster.harper_pki"}


def modules():
    return sorted(set("harperdb.cluster.%s" % name[:-3] for name in os.listdir(MODULES)
                      if name.endswith(".py") and not name.startswith("_")) - NODELESS)


def test_every_module_has_a_query_and_nothing_else_does():
    with open(EVENT_QUERY) as handle:
        queries = yaml.safe_load(handle)
    assert len(modules()) == 5
    assert sorted(queries) == modules()


def test_each_query_makes_named_nodes_with_canonical_facts_and_the_taxonomy():
    with open(EVENT_QUERY) as handle:
        queries = yaml.safe_load(handle)
    for module, entry in queries.items():
        assert list(entry) == ["query"], module
        query = entry["query"]
        assert isinstance(query, str) and query.strip(), module
        for part in ("name:", "canonical_facts:", "facts:", "infra_type:", "infra_bucket:", "device_type:"):
            assert part in query, (module, part)
