# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The check of the built docsite (tests/lib/check_docsite.py) finds what a page lacks."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'lib'))

import check_docsite  # noqa: E402  pylint: disable=wrong-import-position

DOCS = {
    'module': {'harperdb.cluster.harper_node': {'doc': {'options': {
        'api_url': {'type': 'str'},
        'subscriptions': {'type': 'list', 'suboptions': {'table': {'type': 'str'}}},
    }}}},
    'role': {'harperdb.cluster.harper_cluster': {'entry_points': {'main': {'options': {
        'harper_cluster_group': {'type': 'str'},
    }}}}},
}


def row(anchor, name):
    return ('<tr><td><div class="ansible-option-cell"><div class="ansibleOptionAnchor" id="%s"></div>'
            '<p class="ansible-option-title"><strong>%s</strong></p></div></td><td>...</td></tr>' % (anchor, name))


def table(*rows):
    return '<table class="longtable ansible-option-table docutils">%s</table>' % ''.join(rows)


NODE_ROWS = (row('parameter-api_url', 'api_url'), row('parameter-subscriptions', 'subscriptions'),
             row('parameter-subscriptions/table', 'table'))
GUIDE = ('<h1>Shards on Harper 4.7<a class="headerlink" href="#x">\uf0c1</a></h1>'
         '<p>Text with a <a href="architecture.html">link</a>.</p><img src="../_images/plot.png"/>')


def write(html_dir, page, text):
    path = os.path.join(html_dir, page)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write('<html><body>%s</body></html>' % text)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A built site as antsibull-docs and Sphinx lay it out, every page right."""
    monkeypatch.setattr(check_docsite, 'collection_docs', lambda collection: DOCS)
    monkeypatch.setattr(check_docsite, 'guides', lambda: {'guides/sharding.html': 'Shards on `Harper` 4.7'})
    html_dir = str(tmp_path / 'html')
    pages = 'collections/harperdb/cluster/'
    write(html_dir, 'index.html', '<a href="collections/index.html">c</a><a href="guides/sharding.html#top">s</a>')
    write(html_dir, pages + 'index.html',
          '<a href="harper_node_module.html">n</a><a href="harper_cluster_role.html">r</a>')
    write(html_dir, pages + 'harper_node_module.html', table(*NODE_ROWS))
    write(html_dir, pages + 'harper_cluster_role.html',
          table(row('parameter-main--harper_cluster_group', 'harper_cluster_group')))
    write(html_dir, 'guides/sharding.html', GUIDE)
    write(html_dir, '_images/plot.png', 'png')
    return html_dir


def test_a_complete_site_passes(site):
    assert check_docsite.check(site, 'harperdb.cluster') == []


def test_a_missing_option_row_is_named(site):
    write(site, 'collections/harperdb/cluster/harper_node_module.html', table(*NODE_ROWS[:2]))
    assert check_docsite.check(site, 'harperdb.cluster') == [
        'collections/harperdb/cluster/harper_node_module.html: options table has no row for '
        'table (parameter-subscriptions/table)']


def test_option_rows_outside_an_options_table_do_not_count(site):
    write(site, 'collections/harperdb/cluster/harper_node_module.html', '<table>%s</table>' % ''.join(NODE_ROWS))
    assert check_docsite.check(site, 'harperdb.cluster') == [
        'collections/harperdb/cluster/harper_node_module.html has no options table']


def test_an_unlinked_page_and_a_missing_page_are_named(site):
    write(site, 'collections/harperdb/cluster/index.html', '<a href="harper_node_module.html">n</a>')
    os.remove(os.path.join(site, 'collections/harperdb/cluster/harper_cluster_role.html'))
    assert check_docsite.check(site, 'harperdb.cluster') == [
        'collections/harperdb/cluster/index.html does not link harper_cluster_role.html',
        'collections/harperdb/cluster/harper_cluster_role.html was not built']


def test_a_guide_left_in_markdown_or_without_its_image_is_named(site):
    write(site, 'guides/sharding.html', '<p># Shards on Harper 4.7</p><img src="../_images/gone.png"/>')
    problems = check_docsite.check(site, 'harperdb.cluster')
    assert problems[0] == "guides/sharding.html: title is '', not the guide heading 'Shards on `Harper` 4.7'"
    assert problems[1].startswith('guides/sharding.html shows Markdown as text: ')
    assert problems[2] == 'guides/sharding.html shows an image that was not copied: ../_images/gone.png'


def test_option_rows_follow_suboptions_and_role_entry_points():
    assert check_docsite.expected_pages(DOCS, 'harperdb.cluster') == {
        'harper_node_module.html': [('parameter-api_url', 'api_url'),
                                    ('parameter-subscriptions', 'subscriptions'),
                                    ('parameter-subscriptions/table', 'table')],
        'harper_cluster_role.html': [('parameter-main--harper_cluster_group', 'harper_cluster_group')],
    }


def test_every_markdown_file_of_docs_is_a_guide():
    guides = check_docsite.guides()
    docs = os.path.join(check_docsite.CHECKOUT, 'docs')
    assert sorted(guides) == sorted('guides/%s.html' % name[:-3] for name in os.listdir(docs) if name.endswith('.md'))
    assert guides['guides/architecture.html'] == 'Architecture of harperdb.cluster'
