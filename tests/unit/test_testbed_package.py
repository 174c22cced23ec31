# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test bed's saved state (tests/testbed/bed.py) and its command line, without starting Harper."""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

from ansible_collections.harperdb.cluster.tests.testbed import STATE_FILE, Testbed

# The settings that decide how a node was installed and how it is reached.
NODE_SETTINGS = ('index', 'name', 'ip', 'mode', 'ops_port', 'http_port', 'replication_port', 'home',
                 'rootpath', 'pid', 'pin_auth_port', 'replication', 'advertised_url', 'api_url',
                 'replication_url')


@pytest.fixture
def short_dir():
    """A folder with a short path: a node's ROOTPATH must leave room for Harper's domain socket,
    more than pytest's tmp_path leaves under ansible-test."""
    path = tempfile.mkdtemp(prefix='tb-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


def saved_and_loaded(bed):
    os.makedirs(bed.base_dir)
    bed.save()
    return Testbed.load(bed.base_dir)


def test_a_reloaded_bed_keeps_pin_auth_port_and_replication(short_dir):
    bed = Testbed(os.path.join(short_dir, 'bed'), count=2, first_ip='127.0.9.2', pin_auth_port=True,
                  replication=False, ops_port=19925, advertised_urls={2: 'wss://127.0.9.9:9933'})
    loaded = saved_and_loaded(bed)
    for node in loaded.nodes:
        assert node.pin_auth_port is True
        assert node.replication is False
    assert [node.describe() for node in loaded.nodes] == [node.describe() for node in bed.nodes]
    assert loaded.nodes[1].replication_url == 'wss://127.0.9.9:9933'


def test_a_reloaded_bed_keeps_the_defaults_too(short_dir):
    bed = Testbed(os.path.join(short_dir, 'bed'), count=1, first_ip='127.0.9.2', mode='prod')
    loaded = saved_and_loaded(bed)
    node = loaded.nodes[0]
    assert (node.pin_auth_port, node.replication, node.mode) == (False, True, 'prod')
    assert {key: node.describe()[key] for key in NODE_SETTINGS} == \
        {key: bed.nodes[0].describe()[key] for key in NODE_SETTINGS}
    assert (loaded.mode, loaded.username, loaded.password, loaded.version) == \
        (bed.mode, bed.username, bed.password, bed.version)


def test_the_state_file_is_readable_by_its_owner_only(short_dir):
    bed = Testbed(os.path.join(short_dir, 'bed'), count=1, first_ip='127.0.9.2', password='not-a-real-secret')
    saved_and_loaded(bed)
    path = os.path.join(bed.base_dir, STATE_FILE)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding='utf-8') as handle:
        assert json.load(handle)['password'] == 'not-a-real-secret'


def test_the_command_line_runs_as_a_module_from_the_repo_root():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run([sys.executable, '-m', 'tests.testbed', '--help'], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout
    for command in ('install', 'up', 'status', 'down'):
        assert command in result.stdout


def _testbed_command(*args, env=None):
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run([sys.executable, '-m', 'tests.testbed'] + list(args), cwd=repo, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=60, check=False)


def test_install_prints_the_cached_executable_without_calling_npm(short_dir):
    executable = os.path.join(short_dir, 'harperdb-9.9.9', 'node_modules', '.bin', 'harperdb')
    os.makedirs(os.path.dirname(executable))
    with open(executable, 'w') as handle:
        handle.write('#!/bin/sh\n')
    os.chmod(executable, 0o755)
    env = dict(os.environ, HARPER_TESTBED_CACHE=short_dir, PATH='/nonexistent')  # no npm to call
    result = _testbed_command('install', '--version', '9.9.9', env=env)
    assert (result.returncode, result.stdout.strip()) == (0, executable), result.stderr


def test_down_on_a_bed_that_never_came_up_stops_nothing(short_dir):
    # setup_harper stops its nodes in an `always:` also when `up` failed before saving the bed.
    result = _testbed_command('down', '--dir', os.path.join(short_dir, 'bed'))
    assert (result.returncode, json.loads(result.stdout)) == (0, {'stopped': []}), result.stderr
