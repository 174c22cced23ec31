#!/usr/bin/env bash
# Lint the collection from the repo root: ansible-lint (profile and exclusions from .ansible-lint)
# and antsibull-docs' check of the plugin documentation and its cross-references.
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
timed "antsibull-docs lint-collection-docs" \
    antsibull-docs lint-collection-docs --plugin-docs \
    --validate-collection-refs all --disallow-unknown-collection-refs \
    "$(collection_tree copy "$work_dir/copied")" || status=1
exit "$status"
