#!/usr/bin/env bash
# The whole test suite, in the order CI runs it:
#   bash tests/run-all.sh
# Stages: venvs, sanity + units (newest ansible-core), sanity + units (oldest supported
# ansible-core), lint, build + install check, the facts and harper_node integration tests on the
# oldest supported ansible-core, molecule (when scenarios exist), pytest.
# It stops at the first failing stage. Each stage prints a header and its wall time; the last
# stage is pytest, so pytest's summary is the closing line (it states its own time).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

MOLECULE_SCENARIOS='roles/*/molecule/*/molecule.yml'
timings=()

header() {
    printf '\n===== %s =====\n' "$1"
}

stage() {
    local name="$1" start status=0
    shift
    header "$name"
    start=$SECONDS
    "$@" || status=$?
    timings+=("$(printf '%-34s %5d s' "$name" $((SECONDS - start)))")
    printf '===== %s: %d s, exit %d =====\n' "$name" $((SECONDS - start)) "$status"
    if ((status != 0)); then
        print_timings
        die "stage failed: $name"
    fi
}

print_timings() {
    header "stage times"
    printf '%s\n' "${timings[@]}"
}

run_molecule() {
    if ! compgen -G "$MOLECULE_SCENARIOS" >/dev/null; then
        log "no molecule scenarios match $MOLECULE_SCENARIOS: skipped"
        return 0
    fi
    MOLECULE_GLOB="$MOLECULE_SCENARIOS" molecule test --all
}

stage "setup venvs" bash tests/setup-env.sh all
stage "sanity + units (main venv)" bash tests/run-sanity.sh --venv "$MAIN_VENV"
stage "sanity + units (floor venv)" bash tests/run-sanity.sh --venv "$FLOOR_VENV"
stage "lint" bash tests/run-lint.sh --venv "$MAIN_VENV"
stage "build + install" bash tests/run-build.sh --venv "$MAIN_VENV"

# The floor runs real modules too: the client and harper_node against real nodes.
stage "integration (floor venv)" "$FLOOR_VENV/bin/pytest" -q -p no:cacheprovider \
    tests/integration/test_harper_cluster_facts.py tests/integration/test_harper_node.py

# Tests below run playbooks and modules: take ansible and friends from the main venv.
export PATH="$MAIN_VENV/bin:$PATH"
stage "molecule" run_molecule
print_timings

pytest_paths=()
for dir in tests/unit tests/integration; do
    if [[ -d "$dir" ]]; then
        pytest_paths+=("$dir")
    fi
done
((${#pytest_paths[@]})) || die "neither tests/unit nor tests/integration exists"
header "pytest ${pytest_paths[*]}"
# exec: pytest's exit status (5 when it collected nothing) is the suite's, its summary the last line.
exec pytest "${pytest_paths[@]}"
