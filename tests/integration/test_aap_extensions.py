# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files for Ansible Automation Platform and AWX, read by the tools that read them; no Harper
node is needed, only the tools of the test venv (tests/requirements.txt).

- extensions/awx/execution-environment.yml: `ansible-builder create` (no container engine) makes
  a build context that installs the collection from its tarball, and `ansible-builder introspect`
  on the collection installed from that tarball (what the build runs in its builder stage) lists
  the collection's Python requirements.
- extensions/audit/event_query.yml: each query run with jq on its module's RETURN samples yields
  the Harper nodes there, and nothing on a failed task's result.
"""

import glob
import os
import re
import shutil
import subprocess
import sys

import jq
import pytest
import yaml

from ansible_run import REPO

pytestmark = pytest.mark.integration

BIN = os.path.dirname(sys.executable)
SAMPLE_EE = REPO / "extensions" / "awx" / "execution-environment.yml"
EVENT_QUERY = REPO / "extensions" / "audit" / "event_query.yml"


def galaxy_version():
    with open(REPO / "galaxy.yml") as handle:
        return yaml.safe_load(handle)["version"]


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(REPO)],
                   check=True, capture_output=True, text=True)
    return glob.glob(str(dist / "harperdb-cluster-*.tar.gz"))[0]


def test_ansible_builder_creates_a_context_that_installs_the_collection_from_its_tarball(tarball, tmp_path):
    # The sample expects the tarball next to it, as its comment says to build it.
    shutil.copy(SAMPLE_EE, tmp_path / "execution-environment.yml")
    shutil.copy(tarball, tmp_path)
    with open(SAMPLE_EE) as handle:
        definition = yaml.safe_load(handle)
    assert definition["additional_build_files"][0]["src"] == os.path.basename(tarball), \
        "the sample names another tarball than galaxy.yml's version %s builds" % galaxy_version()
    context = tmp_path / "context"
    done = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml",
                           "-c", str(context), "--output-filename", "Containerfile"],
                          cwd=str(tmp_path), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.path.isfile(context / "_build" / "collections" / os.path.basename(tarball))
    with open(context / "_build" / "requirements.yml") as handle:
        requirements = yaml.safe_load(handle)
    assert requirements["collections"] == [
        {"name": "/build/collections/%s" % os.path.basename(tarball), "type": "file"}]
    with open(context / "Containerfile") as handle:
        containerfile = handle.read()
    assert "COPY _build /build" in containerfile and "ansible-galaxy collection install" in containerfile
    assert "introspect" in containerfile


def test_the_build_finds_the_collections_python_requirements(tarball, tmp_path):
    collections = tmp_path / "collections"
    # --force: the checkout on ANSIBLE_COLLECTIONS_PATH (tests/conftest.py) would count as installed.
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force", "-p", str(collections),
                    tarball], check=True, capture_output=True, text=True)
    assert os.path.isfile(collections / "ansible_collections" / "harperdb" / "cluster" / "requirements.txt")
    written = tmp_path / "requirements.txt"
    done = subprocess.run([os.path.join(BIN, "ansible-builder"), "introspect", str(collections),
                           "--write-pip", str(written)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and os.path.exists(written), done.stdout + done.stderr
    with open(written) as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    # jsonschema is the collection's one Python requirement (requirements.txt, through
    # meta/execution-environment.yml). requests is not one: the modules reach Harper with
    # Python's standard library.
    names = dict((re.split(r"[<>=!~ #]", line, 1)[0].lower(), line) for line in lines)
    assert "jsonschema" in names and "harperdb.cluster" in names["jsonschema"], lines
    assert "requests" not in names, lines


def _sample(spec):
    if "sample" in spec:
        return spec["sample"]
    return dict((key, _sample(value)) for key, value in spec.get("contains", {}).items())


def sample_result(module):
    """A result of module made of its RETURN samples."""
    with open(REPO / "plugins" / "modules" / ("%s.py" % module)) as handle:
        source = handle.read()
    returned = yaml.safe_load(re.search(r'RETURN = r?"""(.*?)"""', source, re.S).group(1))
    return dict((key, _sample(value)) for key, value in returned.items())


def test_the_node_counting_queries_yield_the_nodes_of_each_modules_result():
    with open(EVENT_QUERY) as handle:
        queries = yaml.safe_load(handle)
    expected = {
        "harper_mesh": ["node1.example.com"],
        "harper_cluster_facts": ["node1"],
        "harper_node": ["node2.example.com"],
        "harper_cluster": ["node2.example.com"],
        "harper_routes": ["node2.example.com", "node3.example.com"],
    }
    assert sorted(queries) == sorted("harperdb.cluster.%s" % name for name in expected)
    for module, names in expected.items():
        program = jq.compile(queries["harperdb.cluster.%s" % module]["query"])
        nodes = program.input_value(sample_result(module)).all()
        assert [node["name"] for node in nodes] == names, (module, nodes)
        for node in nodes:
            assert node["canonical_facts"] and all(value is not None for value in node["canonical_facts"].values())
            assert node["facts"] == {"infra_type": "PrivateCloud", "infra_bucket": "Database",
                                     "device_type": "Harper node"}
        # A failed task, or one in check mode that read nothing, counts no node.
        assert program.input_value({"failed": True, "msg": "connection refused", "operations": []}).all() == []
