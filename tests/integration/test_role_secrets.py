# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the admin password is kept with harper_cluster_retain_authorization: true.

Two hosts laid out by the role (as in test_role_site.py, whose first run checks the default,
false: the password is kept nowhere). With retain on, the collection still shows it nowhere
(output at -vvv --diff, fact cache, log file, join reports), and Harper stores it in its system
database only, in the form docs/reliability.md ("Secrets") describes; its log does not hold it.
"""

import os

import pytest

from harper_state import read_records
from role_cluster import ADMIN, laid_out_cluster, mesh_problems, secret_forms

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

HOSTS = ("keep-1", "keep-2")


@pytest.fixture(scope="module")
def cluster(address_allocator):
    with laid_out_cluster(address_allocator, HOSTS, "test_role_secrets",
                          group_vars={"harper_cluster_retain_authorization": True}) as bed:
        yield bed


def test_retained_credentials_stay_inside_harpers_system_database(cluster):
    run = cluster.run("-vvv", "--diff")
    cluster.timings["first run, retain on"] = round(run.seconds, 1)
    run.assert_ok()
    assert run.count("add_node") == 1, run.report
    assert [op.get("retain_authorization") for op in run.report["operations"]] == [True], run.report
    assert mesh_problems(cluster.nodes) == []
    findings = cluster.secret_findings(run)
    # Only Harper's system database holds it (LMDB file ROOTPATH/database/system.mdb), on both nodes.
    outside = [f for f in findings if not f.split(": ")[0].endswith(os.path.join("database", "system.mdb"))]
    assert outside == [], findings
    assert sorted(set(f.split(": ")[0] for f in findings)) == sorted(
        os.path.join(node.root_path, "database", "system.mdb") for node in cluster.nodes), findings
    forms = secret_forms(ADMIN, cluster.password)
    stored = {}
    for node in cluster.nodes:
        for name, record in read_records(node).items():
            kept = record.get("authorization")
            if kept == {"username": ADMIN, "password": cluster.password}:
                stored[(node.name, name)] = "dict"
            elif kept == "Basic " + forms["base64 of user:password"]:
                stored[(node.name, name)] = "Basic header"
            else:
                assert kept is None, (node.name, name, "an unexpected form")
    print("\nretained authorization (node, record): form -> %s" % stored)
    # The seed joined keep-2 with a dict: each node's record of the other holds a credential.
    assert ("keep-1", "keep-2") in stored and ("keep-2", "keep-1") in stored, stored
    rerun = cluster.run()
    rerun.assert_ok()
    assert rerun.count("add_node") == 0, rerun.report
