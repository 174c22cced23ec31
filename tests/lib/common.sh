# shellcheck shell=bash
# The scripts that source this file use its variables.
# shellcheck disable=SC2034
# Shared helpers for the tests/*.sh scripts; source it, do not run it.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
COLLECTION_NAMESPACE=harperdb
COLLECTION_NAME=cluster
# ansible-test must use the interpreter our venvs are built on, not its default list.
ANSIBLE_TEST_PYTHON=3.11

MAIN_VENV="${HARPER_VENV:-$REPO_ROOT/.venv}"
FLOOR_VENV="${HARPER_FLOOR_VENV:-$REPO_ROOT/.venv-floor}"

log() {
    printf '%s\n' "$*" >&2
}

die() {
    log "ERROR: $*"
    exit 1
}

# Fail early with a hint when a venv was not created by tests/setup-env.sh.
require_venv() {
    local venv="$1"
    [[ -x "$venv/bin/python" ]] || die "no venv at $venv; run: bash tests/setup-env.sh"
}

# Lay out the checkout as ROOT/ansible_collections/NAMESPACE/NAME and print that folder; the one
# layout every tool resolves the collection from (tests/lib/collection_tree.py says why).
#   collection_tree link ROOT   a symlink to the checkout (ansible-playbook, ansible-lint, molecule)
#   collection_tree copy ROOT   a trimmed real copy (ansible-test resolves symlinks; antsibull-docs copies)
collection_tree() {
    python3 "$REPO_ROOT/tests/lib/collection_tree.py" "$@"
}

# ansible-test bootstraps pip in its venvs with a get-pip script that it downloads from a host
# that may be unreachable; it uses a cached copy first, so put our ensurepip-based one there
# under the names used by ansible-core 2.16/2.17 (pip 23.1.2) and 2.18/2.19 (pip 24.2).
install_ansible_test_pip_bootstrap() {
    local cache_dir="$HOME/.ansible/test/cache" name
    mkdir -p "$cache_dir"
    for name in get_pip_23_1_2.py get_pip_24_2.py; do
        cp "$REPO_ROOT/tests/lib/ansible_test_get_pip.py" "$cache_dir/$name"
    done
}

# For the scripts that run ansible-test: put VENV's tools first on PATH (ansible-test runs
# ansible-doc, pytest, ... by name), lay out a copy of the checkout in a temporary folder removed on
# exit (ansible-test resolves symlinks, so it needs a real tree) and cd into it.
enter_ansible_test_tree() {
    local venv="$1"
    require_venv "$venv"
    export PATH="$venv/bin:$PATH"
    ansible_test_work_dir="$(mktemp -d)"
    trap 'rm -rf "$ansible_test_work_dir"' EXIT
    local collection_dir
    collection_dir="$(collection_tree copy "$ansible_test_work_dir")" || die "could not lay out the collection"
    cd "$collection_dir" || die "cannot enter $collection_dir"
    install_ansible_test_pip_bootstrap
}

# Print "<label>: N s" for a command's wall time and return its exit status.
timed() {
    local label="$1" start status=0
    shift
    start=$SECONDS
    "$@" || status=$?
    log "--- $label: $((SECONDS - start)) s (exit $status)"
    return "$status"
}
