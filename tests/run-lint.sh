#!/usr/bin/env bash
# Lint the collection from the repo root: ansible-lint (profile and exclusions from .ansible-lint),
# antsibull-docs' check of the plugin documentation and its cross-references, and the changelog
# (antsibull-changelog: the fragments, changelogs/changelog.yaml, and CHANGELOG.md as generated).
#   bash tests/run-lint.sh [--venv DIR]    (default venv: $HARPER_VENV or .venv)
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

venv="$MAIN_VENV"
if [[ "${1:-}" == --venv ]]; then
    venv="$(cd "$2" && pwd)"
fi
require_venv "$venv"
export PATH="$venv/bin:$PATH"
cd "$REPO_ROOT"

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT
# ansible-lint's syntax check resolves harperdb.cluster.* names: from the checkout, and only there.
ANSIBLE_COLLECTIONS_PATH="$work_dir/linked"
collection_tree link "$ANSIBLE_COLLECTIONS_PATH" >/dev/null
export ANSIBLE_COLLECTIONS_PATH

status=0
# --offline: no schema refresh and no dependency installs over the network.
timed "ansible-lint" ansible-lint --offline --nocolor || status=1
# antsibull-docs copies the directory it is given (all of it, venvs included, when there is no
# git checkout), so hand it the same trimmed copy that ansible-test uses.
copied="$(collection_tree copy "$work_dir/copied")"
timed "antsibull-docs lint-collection-docs" \
    antsibull-docs lint-collection-docs --plugin-docs \
    --validate-collection-refs all --disallow-unknown-collection-refs "$copied" || status=1
# The changelog: fragments waiting for the next release, the release history, and CHANGELOG.md
# exactly as the history generates it (a hand edit, or a release whose CHANGELOG.md was not
# committed, fails here).
timed "antsibull-changelog lint" antsibull-changelog lint || status=1
timed "antsibull-changelog lint-changelog-yaml" \
    antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml || status=1
# generate runs in the copy: it leaves a plugin cache in changelogs/.
timed "antsibull-changelog generate" env -C "$copied" \
    antsibull-changelog generate --output "$work_dir/CHANGELOG.md" --output-format md || status=1
if ! diff -u CHANGELOG.md "$work_dir/CHANGELOG.md"; then
    log "CHANGELOG.md is not what changelogs/changelog.yaml generates: run antsibull-changelog generate"
    status=1
fi
exit "$status"
