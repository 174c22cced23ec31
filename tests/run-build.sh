#!/usr/bin/env bash
# Build the collection artifact, install it into an empty collections path, and check that
# ansible-doc reads every module and inventory plugin from that installed copy.
#   bash tests/run-build.sh [--venv DIR]    (default venv: $HARPER_VENV or .venv)
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

venv="$MAIN_VENV"
if [[ "${1:-}" == --venv ]]; then
    venv="$(cd "$2" && pwd)"
fi
require_venv "$venv"
export PATH="$venv/bin:$PATH"

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT
cd "$REPO_ROOT"

ansible-galaxy collection build --force --output-path "$work_dir/dist" .
artifact="$(find "$work_dir/dist" -name "$COLLECTION_NAMESPACE-$COLLECTION_NAME-*.tar.gz")"
[[ -n "$artifact" ]] || die "ansible-galaxy built no artifact"

# Developer and CI leftovers must not ship (galaxy.yml build_ignore).
unwanted="$(tar -tzf "$artifact" | grep -E '^(\.venv|\.ci/|\.ansible/|tests/output/|\.pytest_cache/)|/__pycache__/' || true)"
[[ -z "$unwanted" ]] || die "artifact contains files it should not: $unwanted"

# Only the installed copy may be seen: no other collections path, no copy on sys.path.
export ANSIBLE_COLLECTIONS_PATH="$work_dir/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
ansible-galaxy collection install --force -p "$ANSIBLE_COLLECTIONS_PATH" "$artifact"

installed="$work_dir/collections/ansible_collections/$COLLECTION_NAMESPACE/$COLLECTION_NAME"
checked=0
# Every module, and every inventory plugin (ansible-doc -t inventory).
for plugin_file in plugins/modules/*.py plugins/inventory/*.py; do
    plugin="$(basename "$plugin_file" .py)"
    [[ "$plugin" != __init__ ]] || continue
    plugin_type="$(basename "$(dirname "$plugin_file")")"
    [[ "$plugin_type" == modules ]] && plugin_type=module
    fqcn="$COLLECTION_NAMESPACE.$COLLECTION_NAME.$plugin"
    doc_json="$(ansible-doc -t "$plugin_type" --json "$fqcn")" \
        || die "ansible-doc cannot read the $plugin_type $fqcn from the installed collection"
    doc_file="$(python -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]]["doc"]["filename"])' \
        "$fqcn" <<<"$doc_json")"
    [[ "$doc_file" == "$installed"/* ]] || die "ansible-doc read $fqcn from $doc_file, not from $installed"
    log "ok: ansible-doc -t $plugin_type $fqcn"
    checked=$((checked + 1))
done
((checked > 0)) || die "no modules found in plugins/modules"
log "built $(basename "$artifact"), installed it, and read the docs of $checked plugin(s)"
