# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one layout of the checkout as ansible_collections/harperdb/cluster (tests/lib/collection_tree.py)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'lib'))

import collection_tree  # noqa: E402  pylint: disable=wrong-import-position


def fake_checkout(tmp_path):
    checkout = tmp_path / 'checkout'
    for folder in ('plugins/modules', '.git', '.venv', 'tests/output', 'tests/unit/__pycache__'):
        (checkout / folder).mkdir(parents=True)
    (checkout / 'galaxy.yml').write_text('namespace: harperdb\nname: cluster\nversion: 0.1.0\n')
    (checkout / 'plugins/modules/harper_node.py').write_text('# module\n')
    (checkout / 'tests/output/report.xml').write_text('<junit/>\n')
    (checkout / 'harperdb-cluster-0.1.0.tar.gz').write_text('artifact\n')
    return str(checkout)


def test_names_come_from_galaxy_yml(tmp_path):
    assert collection_tree.collection_name(fake_checkout(tmp_path)) == ('harperdb', 'cluster')


def test_galaxy_yml_without_a_name_is_refused(tmp_path):
    checkout = fake_checkout(tmp_path)
    with open(os.path.join(checkout, 'galaxy.yml'), 'w', encoding='utf-8') as galaxy:
        galaxy.write('namespace: harperdb\n')
    with pytest.raises(ValueError, match='no name'):
        collection_tree.collection_name(checkout)


def test_link_points_at_the_checkout_and_is_idempotent(tmp_path):
    checkout = fake_checkout(tmp_path)
    root = str(tmp_path / 'root')
    dest = collection_tree.link(root, checkout)
    assert dest == os.path.join(root, 'ansible_collections', 'harperdb', 'cluster')
    assert os.path.realpath(dest) == checkout
    assert collection_tree.link(root, checkout) == dest


def test_link_refuses_to_replace_something_else(tmp_path):
    checkout = fake_checkout(tmp_path)
    root = tmp_path / 'root'
    (root / 'ansible_collections' / 'harperdb' / 'cluster').mkdir(parents=True)
    with pytest.raises(FileExistsError):
        collection_tree.link(str(root), checkout)


def test_copy_leaves_out_vcs_venvs_reports_and_artifacts(tmp_path):
    checkout = fake_checkout(tmp_path)
    dest = collection_tree.copy(str(tmp_path / 'root'), checkout)
    copied = sorted(os.path.relpath(os.path.join(folder, name), dest)
                    for folder, dirs, files in os.walk(dest) for name in dirs + files)
    assert copied == ['galaxy.yml', 'plugins', 'plugins/modules', 'plugins/modules/harper_node.py',
                      'tests', 'tests/unit']


def test_a_checkout_laid_out_already_is_used_as_it_is(tmp_path):
    checkout = tmp_path / 'ansible_collections' / 'harperdb' / 'cluster'
    checkout.parent.mkdir(parents=True)
    os.rename(fake_checkout(tmp_path), str(checkout))
    assert collection_tree.laid_out_root(str(checkout)) == str(tmp_path)
    assert collection_tree.laid_out_root(fake_checkout(tmp_path / 'other')) is None
