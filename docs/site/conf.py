# Copyright (c) Ansible Project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Created with antsibull-docs 2.28.0 (sphinx-init --use-current), then changed:
# the site builds offline (no intersphinx downloads), renders the Markdown guides of docs/, and
# links the few Ansible docsite labels that the generated pages use. docs/build-site.sh builds it.
"""Sphinx configuration of the harperdb.cluster docsite."""

# pylint: disable=invalid-name,redefined-builtin

from docutils import nodes

project = 'harperdb.cluster'
copyright = 'contributors to the harperdb.cluster collection'

title = 'harperdb.cluster'
html_short_title = 'harperdb.cluster'

# myst_parser: the guides are the Markdown files of docs/, which docs/build-site.sh puts in guides/.
extensions = ['sphinx.ext.autodoc', 'sphinx_antsibull_ext', 'myst_parser']

pygments_style = 'ansible'

highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False

display_version = False

html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

default_role = 'any'

nitpicky = True

# The generated plugin pages point to a few labels of the Ansible docsite. Its inventory is not
# downloaded (the build runs without network), so those labels resolve here, to the pages that
# define them. Any other unresolved reference stays a warning, and the build fails on it.
ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/devel/'
ANSIBLE_CONFIG_PAGE = 'reference_appendices/config.html'
ANSIBLE_LABELS = {
    ('ref', 'ansible_configuration_settings'): (ANSIBLE_CONFIG_PAGE, 'Ansible Configuration Settings'),
    ('ref', 'common_return_values'): ('reference_appendices/common_return_values.html', 'Return Values'),
}


def _ansible_target(reftype, target):
    if (reftype, target) in ANSIBLE_LABELS:
        return ANSIBLE_LABELS[(reftype, target)]
    if reftype == 'envvar' and target.startswith('ANSIBLE_'):
        return ('%s#envvar-%s' % (ANSIBLE_CONFIG_PAGE, target), target)
    return None


def _resolve_ansible_reference(app, env, node, contnode):  # pylint: disable=unused-argument
    """Link a reference to a label of the Ansible docsite; None leaves it unresolved."""
    found = _ansible_target(node.get('reftype'), node.get('reftarget', ''))
    if found is None:
        return None
    page, text = found
    reference = nodes.reference('', '', internal=False, refuri=ANSIBLE_DOCS + page)
    if node.get('refexplicit') and contnode is not None:
        reference += contnode
    else:
        reference += nodes.inline(text, text)
    return reference


def setup(app):
    app.connect('missing-reference', _resolve_ansible_reference)
