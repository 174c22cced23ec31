#!/usr/bin/env bash
# The whole test suite, in the order CI runs it:
#   bash tests/run-all.sh
# Stages: venvs, sanity + units, lint (with the changelog), the docs site (fails on a warning),
# build + install check, the modules' ansible-test integration
# targets, molecule (when scenarios exist), pytest. All on the newest ansible-core; the oldest
# supported one is a command of its own, tests/run-matrix.sh.
# It stops at the first failing stage. Each stage prints a header and its wall time; the last
# stage is pytest, so pytest's summary is the closing line (it states its own time).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

# Nothing outside the checkout may stand in for a step of the suite: a copy of the collection in
# ~/.ansible/collections, ansible-compat's cache in ~/.cache, ansible-test's venvs and get-pip
# script in ~/.ansible/test. So the suite runs with a HOME and XDG folders of its own, empty at the
# start and removed at the end. Download caches only save time: npm's and pip's stay where they
# were, named explicitly.
export npm_config_cache="${npm_config_cache:-$HOME/.npm}"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pip}"
suite_home="$(mktemp -d -t harper-suite-home.XXXXXX)"
trap 'rm -rf "$suite_home"' EXIT
export HOME="$suite_home"
export XDG_CONFIG_HOME="$suite_home/.config" XDG_CACHE_HOME="$suite_home/.cache"
export XDG_DATA_HOME="$suite_home/.local/share" XDG_STATE_HOME="$suite_home/.local/state"
unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS ANSIBLE_CONFIG
log "suite HOME: $HOME (empty; npm cache $npm_config_cache, pip cache $PIP_CACHE_DIR)"

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

# One role at a time, with a glob that has a single `*`: molecule looks for a `default` scenario
# by putting "default" in place of every `*`, so roles/*/molecule/*/molecule.yml made it look for
# roles/default/molecule/default/molecule.yml and log a CRITICAL "glob failed" on every run.
run_molecule() {
    local role_dir ran=0
    for role_dir in roles/*/; do
        compgen -G "${role_dir}molecule/*/molecule.yml" >/dev/null || continue
        MOLECULE_GLOB="${role_dir}molecule/*/molecule.yml" molecule test --all || return
        ran=$((ran + 1))
    done
    ((ran > 0)) || log "no role has molecule scenarios: skipped"
}

stage "setup venvs" bash tests/setup-env.sh main
stage "sanity + units" bash tests/run-sanity.sh --venv "$MAIN_VENV"
stage "lint" bash tests/run-lint.sh --venv "$MAIN_VENV"
stage "docs site" bash docs/build-site.sh --venv "$MAIN_VENV"
stage "build + install" bash tests/run-build.sh --venv "$MAIN_VENV"
stage "ansible-test integration" bash tests/run-targets.sh --venv "$MAIN_VENV"

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
# pytest's exit status (5 when it collected nothing) is the suite's, its summary the last line
# (the EXIT trap prints nothing). The reliability runs are a command of their own:
# tests/run-reliability.sh. The marker expression is explicit: a plain `pytest` leaves the
# integration tests out (tests/conftest.py).
pytest -m "not reliability" "${pytest_paths[@]}"
