#!/usr/bin/env bash
# The supported versions beyond the ones tests/run-all.sh runs (the newest ansible-core on this
# Python, Harper 4.7.29):
#   bash tests/run-matrix.sh
# Cell "ansible-core floor" (the oldest ansible-core meta/runtime.yml accepts, in .venv-floor):
# sanity + units, the modules' ansible-test integration targets, and the inventory plugin's
# integration tests (it marks values unsafe differently before ansible-core 2.19).
# Every step runs even when one fails; a table of results and times closes the output, and the
# exit status is non-zero when any step failed.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

results=()
failed=0

step() {
    local name="$1" start status=0
    shift
    printf '\n===== %s =====\n' "$name"
    start=$SECONDS
    "$@" || status=$?
    results+=("$(printf '| %-44s | %-6s | %5d s |' "$name" "$([[ $status == 0 ]] && echo pass || echo FAIL)" $((SECONDS - start)))")
    ((status == 0)) || failed=1
}

bash tests/setup-env.sh floor
floor_version="$("$FLOOR_VENV/bin/python" -c 'import ansible; print(ansible.__version__)')"
step "ansible-core $floor_version: sanity + units" bash tests/run-sanity.sh --venv "$FLOOR_VENV"
step "ansible-core $floor_version: integration targets" bash tests/run-targets.sh --venv "$FLOOR_VENV"
step "ansible-core $floor_version: inventory plugin" \
    env PATH="$FLOOR_VENV/bin:$PATH" "$FLOOR_VENV/bin/pytest" -q -p no:cacheprovider \
    -m "not reliability" tests/integration/test_inventory_harper.py

printf '\n| %-44s | %-6s | %7s |\n|%s|%s|%s|\n' step result time "$(printf -- '-%.0s' {1..46})" \
    "$(printf -- '-%.0s' {1..8})" "$(printf -- '-%.0s' {1..9})"
printf '%s\n' "${results[@]}"
exit "$failed"
