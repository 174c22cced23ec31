# Copyright: contributors to the harperdb.cluster collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the HTML docsite that docs/build-site.sh built.

    python tests/lib/check_docsite.py HTML_DIR

What ansible-doc says of the collection (ansible-doc --metadata-dump; ANSIBLE_COLLECTIONS_PATH must
lead to it, as docs/build-site.sh arranges) is what the pages must show:
- index.html links the collection's index, which links every module, inventory plugin and role
  page, and index.html links a guide page for every Markdown file of docs/;
- each of those plugin pages has an options table with a row for every option, suboptions and the
  role's entry point options included: the row's anchor (parameter-...) and its title;
- each guide page shows the first heading of its Markdown file as its title, with no Markdown
  left over, and every image it shows exists.
Prints one line per page checked and exits 1 with every problem found.
"""

import argparse
import html.parser
import json
import os
import re
import subprocess
import sys


CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
# ansible-doc's plugin types and the suffix antsibull-docs gives their pages.
PAGE_SUFFIX = {'module': 'module', 'inventory': 'inventory', 'role': 'role'}


class Page(html.parser.HTMLParser):
    """What a built page shows: its options tables, links, images, h1 text and visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.option_anchors = set()
        self.option_titles = set()
        self.option_tables = 0
        self.links = set()
        self.images = []
        self.h1 = []
        self.text = []
        self._tables = []
        self._in_title = False
        self._in_h1 = False
        self._in_script = False
        self._in_headerlink = False

    def _in_option_table(self):
        return any(self._tables)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get('class') or '').split()
        if tag == 'table':
            is_option_table = 'ansible-option-table' in classes
            self.option_tables += is_option_table
            self._tables.append(is_option_table)
        elif tag == 'div' and 'ansibleOptionAnchor' in classes and self._in_option_table():
            self.option_anchors.add(attrs.get('id'))
        elif tag == 'p' and 'ansible-option-title' in classes and self._in_option_table():
            self._in_title = True
            self.option_titles.add('')
        elif tag == 'a':
            if attrs.get('href'):
                self.links.add(attrs['href'].split('#')[0])
            # The permalink sign after a heading is not part of it.
            self._in_headerlink = 'headerlink' in classes
        elif tag == 'img':
            self.images.append(attrs.get('src', ''))
        elif tag == 'h1':
            self._in_h1 = True
        elif tag in ('script', 'style'):
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == 'table' and self._tables:
            self._tables.pop()
        elif tag == 'p':
            self._in_title = False
        elif tag == 'h1':
            self._in_h1 = False
        elif tag == 'a':
            self._in_headerlink = False
        elif tag in ('script', 'style'):
            self._in_script = False

    def handle_data(self, data):
        if self._in_title:
            self.option_titles.add(data.strip())
        if self._in_h1 and not self._in_headerlink:
            self.h1.append(data)
        if not self._in_script:
            self.text.append(data)


def read_page(path):
    page = Page()
    with open(path, encoding='utf-8') as handle:
        page.feed(handle.read())
    return page


def option_rows(options, prefix=''):
    """(anchor path, name) of every option and suboption, as antsibull-docs anchors them."""
    for name, spec in sorted((options or {}).items()):
        path = prefix + name
        yield path, name
        spec = spec or {}
        yield from option_rows(spec.get('suboptions') or spec.get('options'), path + '/')


def collection_docs(collection):
    """ansible-doc's documentation of every plugin and role of the collection."""
    dump = subprocess.run(
        ['ansible-doc', '--metadata-dump', '--no-fail-on-errors', collection],
        check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    return json.loads(dump)['all']


def expected_pages(docs, collection):
    """{page file: [(anchor id, option name), ...]} for every plugin and role of the collection."""
    pages = {}
    for plugin_type, suffix in PAGE_SUFFIX.items():
        for fqcn, doc in sorted(docs.get(plugin_type, {}).items()):
            if not fqcn.startswith(collection + '.'):
                continue
            name = fqcn[len(collection) + 1:]
            rows = []
            if plugin_type == 'role':
                for entry_point, spec in sorted((doc.get('entry_points') or {}).items()):
                    rows.extend(('parameter-%s--%s' % (entry_point, path), option)
                                for path, option in option_rows(spec.get('options')))
            else:
                rows.extend(('parameter-' + path, option)
                            for path, option in option_rows((doc.get('doc') or {}).get('options')))
            pages['%s_%s.html' % (name, suffix)] = rows
    return pages


def guides(checkout=CHECKOUT):
    """{page file: first heading} of every guide, the Markdown files of docs/."""
    docs = os.path.join(checkout, 'docs')
    found = {}
    for name in sorted(os.listdir(docs)):
        if name.endswith('.md'):
            with open(os.path.join(docs, name), encoding='utf-8') as handle:
                heading = re.search(r'^# (.+)$', handle.read(), re.MULTILINE)
            found['guides/%s.html' % name[:-3]] = heading.group(1) if heading else None
    return found


def check(html_dir, collection):
    problems = []
    collection_dir = 'collections/%s/' % collection.replace('.', '/')
    plugin_pages = {collection_dir + page_file: rows
                    for page_file, rows in expected_pages(collection_docs(collection), collection).items()}
    guide_pages = guides()
    if not plugin_pages:
        problems.append('ansible-doc found no plugin or role of %s' % collection)
    links = {'index.html': list(guide_pages) + ['collections/index.html'],
             collection_dir + 'index.html': [os.path.basename(page_file) for page_file in plugin_pages]}
    for page_file, targets in links.items():
        path = os.path.join(html_dir, page_file)
        page_links = read_page(path).links if os.path.isfile(path) else set()
        problems.extend('%s does not link %s' % (page_file, target)
                        for target in targets if target not in page_links)

    for page_file, rows in sorted(plugin_pages.items()):
        path = os.path.join(html_dir, page_file)
        if not os.path.isfile(path):
            problems.append('%s was not built' % page_file)
            continue
        page = read_page(path)
        missing = ['%s (%s)' % (name, anchor) for anchor, name in rows
                   if anchor not in page.option_anchors or name not in page.option_titles]
        if rows and not page.option_tables:
            problems.append('%s has no options table' % page_file)
        elif missing:
            problems.append('%s: options table has no row for %s' % (page_file, ', '.join(missing)))
        else:
            print('ok: %s, %d option rows' % (page_file, len(rows)))

    for page_file, heading in sorted(guide_pages.items()):
        path = os.path.join(html_dir, page_file)
        if not os.path.isfile(path):
            problems.append('%s was not built' % page_file)
            continue
        page = read_page(path)
        before = len(problems)
        title = ' '.join(''.join(page.h1).split())
        if heading is not None and title != heading.replace('`', ''):
            problems.append('%s: title is %r, not the guide heading %r' % (page_file, title, heading))
        text = ''.join(page.text)
        leftovers = re.findall(r'^#{1,6} .*$|\]\([^)\s]+\)', text, re.MULTILINE)
        if leftovers:
            problems.append('%s shows Markdown as text: %s' % (page_file, leftovers[:3]))
        for image in page.images:
            if not os.path.isfile(os.path.normpath(os.path.join(os.path.dirname(path), image))):
                problems.append('%s shows an image that was not copied: %s' % (page_file, image))
        if len(problems) == before:
            print('ok: %s, %r, %d image(s)' % (page_file, title, len(page.images)))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('html_dir')
    parser.add_argument('--collection', default='harperdb.cluster')
    args = parser.parse_args(argv)
    problems = check(args.html_dir, args.collection)
    for problem in problems:
        print('FAIL: ' + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
