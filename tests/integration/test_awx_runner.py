# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection playbook harperdb.cluster.site run as AWX and Automation Controller run a job:
through ansible-runner, from a private data directory laid out the way the controller lays it out.

Each job gets a fresh private data directory holding
- the collection installed from its built tarball (what the controller installs from a project's
  collections/requirements.yml), under requirements_collections, the only collections path;
- env/envvars: what a credential of the Harper type (extensions/awx/harper_credential_type.yml)
  injects, HARPER_USERNAME, HARPER_PASSWORD, HARPER_TOKEN, HARPER_VALIDATE_CERTS and
  HARPER_CA_PATH, the path of a CA file in env/ as the controller writes it; no credential
  anywhere else;
- env/extravars (the job template's extra variables), env/settings (the controller's, with
  suppress_env_files) and env/cmdline (--check for a check job, --diff for "show changes");
- inventory/hosts.json, and a JSON fact cache in the job's artifacts as with "use fact cache".

The hosts are role hosts of this machine (tests/integration/role_cluster.py: connection local, one
loopback address, HOME, ROOTPATH and npm prefix each, prod mode), whose npm prefix links to the
test bed's harperdb package. Their TLS certificates come from a CA made here (the role's
harper_cluster_tls_* variables), so the injected CA file verifies every operations API: the role's
wait and harper_mesh verify against it. After the jobs every artifact the controller keeps
(stdout, job_events/*.json, the fact cache if any, and every other file under artifacts/ but
ansible-runner's record of the environment, see RUNNER_COMMAND) is searched for the password, a
token made on a node and the CA's key material.
"""

import datetime
import glob
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_run import REPO
from harper_state import read_records
from role_cluster import ADMIN, Cluster, find_secrets, local_inventory, mesh_problems, secret_forms, terminate

from ansible_collections.harperdb.cluster.tests import testbed

# About 35 s on 2 cores: the collection built once, three jobs (run about 21 s, check and show
# changes about 5 s each), the npm install skipped (preinstall).
pytestmark = pytest.mark.integration

HOSTS = ("awx-1", "awx-2")
PLAYBOOK = "harperdb.cluster.site"
BIN = os.path.dirname(sys.executable)
JOB_TIMEOUT = 600
# ansible-runner writes the job's command line and whole environment, the injected credential
# included, to artifacts/IDENT/command (mode 0600) in the private data directory, as it writes
# env/envvars there: the controller deletes that directory after the job and records the job's
# environment from its own copy, with secret inputs hidden. So it is checked to hold the
# environment, and left out of the search.
RUNNER_COMMAND = "command"


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Authority(object):
    """A CA made for the test and a certificate it signs for each host: (certificate, key) files."""

    def __init__(self, folder):
        self.folder = folder
        os.makedirs(folder, mode=0o700)
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.valid = (now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2))
        self.certificate = (
            x509.CertificateBuilder().subject_name(_name("harperdb.cluster test CA")).issuer_name(_name("harperdb.cluster test CA"))
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(self.valid[0]).not_valid_after(self.valid[1])
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256()))
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM).decode()
        self.path = os.path.join(folder, "ca.pem")
        with open(self.path, "w") as handle:
            handle.write(self.pem)

    def issue(self, name, ip):
        key = ec.generate_private_key(ec.SECP256R1())
        names = [x509.DNSName(name), x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(ip)),
                 x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        certificate = (
            x509.CertificateBuilder().subject_name(_name(name)).issuer_name(self.certificate.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(self.valid[0]).not_valid_after(self.valid[1])
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                                  x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256()))
        paths = (os.path.join(self.folder, name + ".pem"), os.path.join(self.folder, name + ".key"))
        with open(paths[0], "wb") as handle:
            handle.write(certificate.public_bytes(serialization.Encoding.PEM) + self.certificate.public_bytes(
                serialization.Encoding.PEM))
        fd = os.open(paths[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_pem_key(key))
        return paths

    def key_material(self):
        """Lines of the CA's private key and of its certificate, as a PEM file has them (64
        characters each; the first line of a key is the same for every key of its kind)."""
        key_lines = _pem_key(self.key).decode().splitlines()[1:-1]
        cert_lines = self.pem.splitlines()[1:-1]
        return {"CA private key": key_lines[1], "CA certificate": cert_lines[1],
                "CA certificate, last full line": [line for line in cert_lines if len(line) == 64][-1]}


def build_collection(work):
    """The collection built from this checkout and installed into a collections path of its own."""
    dist = os.path.join(work, "dist")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", dist,
                    str(REPO)], check=True, capture_output=True, text=True)
    tarball = glob.glob(os.path.join(dist, "harperdb-cluster-*.tar.gz"))[0]
    installed = os.path.join(work, "requirements_collections")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force", "-p", installed, tarball],
                   check=True, capture_output=True, text=True)
    assert os.path.isfile(os.path.join(installed, "ansible_collections", "harperdb", "cluster", "playbooks", "site.yml"))
    return installed


class Job(object):
    """One finished ansible-runner job: its artifacts folder, events, stdout and PLAY RECAP."""

    def __init__(self, private_data_dir, ident, returncode, output, seconds):
        self.artifacts = os.path.join(private_data_dir, "artifacts", ident)
        self.returncode = returncode
        self.output = output
        self.seconds = seconds
        self.events = []
        for path in sorted(glob.glob(os.path.join(self.artifacts, "job_events", "*.json"))):
            with open(path) as handle:
                self.events.append(json.load(handle))
        with open(os.path.join(self.artifacts, "stdout")) as handle:
            self.stdout = handle.read()
        stats = [event for event in self.events if event.get("event") == "playbook_on_stats"]
        self.stats = stats[-1]["event_data"] if stats else {}

    def tail(self, chars=5000):
        return (self.stdout or self.output)[-chars:]

    def status(self):
        with open(os.path.join(self.artifacts, "status")) as handle:
            return handle.read().strip()

    def changed(self):
        return dict((host, self.stats.get("changed", {}).get(host, 0)) for host in HOSTS)

    def failures(self):
        return dict((host, self.stats.get(key, {}).get(host, 0)) for key in ("failures", "dark") for host in HOSTS
                    if self.stats.get(key, {}).get(host, 0))


class Controller(object):
    """Lays out a private data directory per job, as the controller does, and runs it."""

    def __init__(self, work, cluster, authority, token):
        self.work = work
        self.collections = build_collection(work)
        self.cluster = cluster
        self.authority = authority
        self.token = token
        self.jobs = []
        self.host_vars = {}
        for node in cluster.nodes:
            certificate, key = authority.issue(node.name, node.ip)
            self.host_vars[node.name] = {"harper_cluster_tls_certificate": certificate,
                                         "harper_cluster_tls_private_key": key,
                                         "harper_cluster_tls_certificate_authority": authority.path}

    def run(self, *cmdline):
        number = len(self.jobs) + 1
        private_data_dir = os.path.join(self.work, "job%d" % number)
        env_dir = os.path.join(private_data_dir, "env")
        os.makedirs(env_dir)
        os.makedirs(os.path.join(private_data_dir, "inventory"))
        os.makedirs(os.path.join(private_data_dir, "project"))
        shutil.copytree(self.collections, os.path.join(private_data_dir, "requirements_collections"), symlinks=True)
        # The credential's file injector: the CA, in env/, readable by its owner only.
        ca_file = os.path.join(env_dir, "tmpharperca")
        fd = os.open(ca_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.authority.pem)
        # The credential's env injectors (a username and password credential: the token input
        # left empty renders as ""), and what the controller sets for every job.
        injected = {"HARPER_API_URL": self.cluster.nodes[0].api_url, "HARPER_USERNAME": ADMIN,
                    "HARPER_PASSWORD": self.cluster.password, "HARPER_TOKEN": "",
                    "HARPER_VALIDATE_CERTS": "true", "HARPER_CA_PATH": ca_file}
        fact_cache = os.path.join(private_data_dir, "artifacts", "job%d" % number, "fact_cache")
        envvars = dict(injected, **{
            "ANSIBLE_COLLECTIONS_PATH": os.path.join(private_data_dir, "requirements_collections"),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_FORCE_COLOR": "false", "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": fact_cache,
            "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "0",
        })
        files = {
            "envvars": envvars,
            # The job template's extra variables: the role's settings, no credential.
            "extravars": {"harper_cluster_join_timeout": 90},
            "settings": {"suppress_env_files": True, "suppress_ansible_output": True, "job_timeout": JOB_TIMEOUT},
        }
        for name, content in files.items():
            with open(os.path.join(env_dir, name), "w") as handle:
                json.dump(content, handle)
        if cmdline:
            with open(os.path.join(env_dir, "cmdline"), "w") as handle:
                handle.write(" ".join(cmdline))
        inventory = local_inventory(self.cluster.nodes, self.host_vars, {"harper_cluster_join_report_dir": ""})
        with open(os.path.join(private_data_dir, "inventory", "hosts.json"), "w") as handle:
            json.dump(inventory, handle)
        # The controller's process: no credential of this session, only what the job is given.
        env = dict((key, value) for key, value in os.environ.items()
                   if not key.startswith(("HARPER_", "ANSIBLE_")) and key not in ("PYTHONPATH",))
        env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
        started = time.monotonic()
        done = subprocess.run([os.path.join(BIN, "ansible-runner"), "run", private_data_dir, "--ident",
                               "job%d" % number, "-p", PLAYBOOK],
                              env=env, capture_output=True, text=True, timeout=JOB_TIMEOUT + 60, check=False)
        job = Job(private_data_dir, "job%d" % number, done.returncode, done.stdout + done.stderr,
                  time.monotonic() - started)
        self.jobs.append(job)
        return job

    def secrets(self):
        forms = secret_forms(ADMIN, self.cluster.password)
        forms["token"] = self.token
        forms.update(self.authority.key_material())
        return forms

    def artifact_findings(self):
        """Every place in the jobs' artifacts where a secret appears: stdout, stderr, status, rc,
        job_events/*.json, fact_cache and any other file but ansible-runner's own `command`."""
        paths = []
        for job in self.jobs:
            paths.extend(os.path.join(job.artifacts, name) for name in os.listdir(job.artifacts)
                         if name != RUNNER_COMMAND)
        return find_secrets(self.secrets(), paths=paths)


def role_version():
    with open(os.path.join(str(REPO), "roles", "harper_cluster", "defaults", "main.yml")) as handle:
        return yaml.safe_load(handle)["harper_cluster_version"]


def preinstall(cluster):
    """Each host's npm prefix holds the pinned harperdb already: its node_modules is a link to the
    test bed's npm install, which the test bed's own nodes run from too. The role then skips its
    npm install, a minute per host on this machine (copies of the package cost half that, and
    as much again to delete): this test is about how the job runs, test_role_site.py about the
    install."""
    executable = testbed.ensure_package(role_version())
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(executable)))
    for node in cluster.nodes:
        os.makedirs(node.install_dir)
        os.symlink(os.path.join(package_root, "node_modules"), os.path.join(node.install_dir, "node_modules"))


@pytest.fixture(scope="module")
def controller(address_allocator, tmp_path_factory):
    # A short base path: Harper's domain socket lives under ROOTPATH.
    base_dir = tempfile.mkdtemp(prefix="hx", dir="/tmp")
    cluster = Cluster(base_dir, address_allocator.take(len(HOSTS)), HOSTS)
    started = time.monotonic()
    try:
        preinstall(cluster)
        authority = Authority(os.path.join(base_dir, "pki"))
        cluster.timings["npm prefixes linked, certificates made"] = round(time.monotonic() - started, 1)
        # A token is not what these jobs authenticate with; one made on the first node after the
        # run must appear nowhere either (it is searched for with the password).
        made = Controller(str(tmp_path_factory.mktemp("awx")), cluster, authority, token=None)
        cluster.timings["collection built and installed"] = round(time.monotonic() - started, 1)
        yield made
    finally:
        stopping = time.monotonic()
        try:
            terminate(cluster.all_nodes)
        finally:
            cluster.timings["nodes stopped"] = round(time.monotonic() - stopping, 1)
            shutil.rmtree(base_dir, ignore_errors=True)
            cluster.timings["module total"] = round(time.monotonic() - started, 1)
            print("\ntest_awx_runner timings (s): %s" % cluster.timings)


def test_the_run_forms_the_cluster_with_credentials_from_the_environment_only(controller):
    job = controller.run()
    controller.cluster.timings["awx run"] = round(job.seconds, 1)
    assert job.returncode == 0 and job.status() == "successful", job.tail()
    assert job.failures() == {}, job.tail()
    assert all(count > 0 for count in job.changed().values()), job.tail()
    assert mesh_problems(controller.cluster.nodes) == []
    # The nodes serve the CA's certificates, so the injected CA file verified every request.
    for node in controller.cluster.nodes:
        subject = _served_subject(node, controller.authority.path)
        assert subject == node.name, "%s serves a certificate for %s" % (node.name, subject)
    tokens = controller.cluster.nodes[0].call({"operation": "create_authentication_tokens", "username": ADMIN,
                                               "password": controller.cluster.password})
    controller.token = tokens["operation_token"]


def test_a_check_job_changes_nothing(controller):
    nodes = controller.cluster.nodes
    before = dict((node.name, read_records(node, timestamps=True)) for node in nodes)
    job = controller.run("--check")
    controller.cluster.timings["awx check"] = round(job.seconds, 1)
    assert job.returncode == 0 and job.status() == "successful", job.tail()
    assert job.changed() == dict.fromkeys(HOSTS, 0), job.tail()
    assert dict((node.name, read_records(node, timestamps=True)) for node in nodes) == before


def test_a_show_changes_job_on_the_formed_cluster_changes_nothing(controller):
    job = controller.run("--diff")
    controller.cluster.timings["awx diff"] = round(job.seconds, 1)
    assert job.returncode == 0 and job.status() == "successful", job.tail()
    assert job.changed() == dict.fromkeys(HOSTS, 0), job.tail()
    assert mesh_problems(controller.cluster.nodes) == []


def test_no_artifact_holds_the_password_the_token_or_the_ca_key_material(controller):
    assert [job.status() for job in controller.jobs] == ["successful"] * 3
    for job in controller.jobs:
        # What the controller keeps of a job: its stdout and events (and its fact cache, where
        # the play gathers facts: site.yml gathers none here, so the folder is searched if there).
        assert job.stdout and job.events, job.artifacts
        assert any(event.get("event") == "runner_on_ok" for event in job.events)
    assert controller.token
    assert controller.artifact_findings() == []
    # The search finds what it looks for: the job's env/ holds the password and the CA file, and
    # ansible-runner's command file the environment it ran the job with.
    job = controller.jobs[0]
    job_env = os.path.join(os.path.dirname(os.path.dirname(job.artifacts)), "env")
    assert sorted(find_secrets(controller.secrets(), paths=[os.path.join(job_env, "envvars")])) == [
        os.path.join(job_env, "envvars") + ": password"]
    assert any(found.endswith(": CA certificate") for found in find_secrets(controller.secrets(), paths=[job_env]))
    with open(os.path.join(job.artifacts, RUNNER_COMMAND)) as handle:
        assert json.load(handle)["env"]["HARPER_PASSWORD"] == controller.cluster.password


def _served_subject(node, ca_path):
    """The common name of the certificate node's operations API serves, verified against ca_path."""
    context = ssl.create_default_context(cafile=ca_path)
    with socket.create_connection((node.ip, 9925), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=node.ip) as tls:
            subject = dict(item[0] for item in tls.getpeercert()["subject"])
    return subject.get("commonName")
