# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.harperdb.cluster`` resolvable for every test, from this checkout only.

The collection's code imports itself by its full name
(``ansible_collections.harperdb.cluster.plugins.module_utils...``), and the integration tests run
``ansible-playbook`` with ``harperdb.cluster.*`` names. ``tests/lib/collection_tree.py`` lays the
checkout out for both (under ``ansible-test units`` it is laid out already) and points sys.path and
ANSIBLE_COLLECTIONS_PATH at it. It lives in tests/ rather than tests/unit/ so that
tests/integration gets it too.

Plugins other than modules (the inventory plugin) are found by Ansible's plugin loader, which needs
Ansible's collection finder in this process, as ansible-test units has it. It is put in place here,
before any test imports the collection, so that every import of it goes through the finder
(ansible-test has it in place already).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))

import collection_tree  # noqa: E402  pylint: disable=wrong-import-position

collection_tree.use_checkout()

try:
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig
except ImportError:  # ansible-test runs module_utils tests with module_utils alone importable
    pass
else:
    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader()


# What a plain ``pytest`` from the repo root leaves out: the tests that start Harper nodes.
FAST_ONLY = 'not integration and not reliability'


def pytest_configure(config):
    """A plain ``pytest`` (no paths, no ``-m``: pytest.ini's testpaths) runs only the fast tests.

    Integration tests run when asked for: by naming their files or folder, or by a marker
    expression (tests/run-all.sh passes ``-m "not reliability"``, tests/run-reliability.sh
    ``-m reliability``).
    """
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS and not config.option.markexpr:
        config.option.markexpr = FAST_ONLY
