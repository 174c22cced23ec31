#!/usr/bin/env bash
# Run ansible-test sanity (every test, no ignore file) and ansible-test units (tests/unit)
# with the ansible-test of the given venv, on a copy of the tree laid out as
# ansible_collections/harperdb/cluster. Reports are copied back to tests/output/ansible-core-VERSION/.
#   bash tests/run-sanity.sh [--venv DIR] [--only sanity|units]
# --venv DIR  venv providing ansible-test (default: $HARPER_VENV or .venv)
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

venv="$MAIN_VENV"
only=""
while (($#)); do
    case "$1" in
        --venv) venv="$(cd "$2" && pwd)"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        *) die "usage: $0 [--venv DIR] [--only sanity|units]" ;;
    esac
done
enter_ansible_test_tree "$venv"
# ansible-test passes in silence on an empty tree: make sure the layout holds the collection.
for expected in galaxy.yml meta/runtime.yml plugins/modules tests/unit; do
    [[ -e "$expected" ]] || die "the collection tree at $PWD has no $expected"
done
log "ansible-test $(ansible --version | sed -n 1p) in $PWD"

status=0
if [[ "$only" != units ]]; then
    # --venv: each sanity test gets its own cached venv with its pinned tools,
    # which keeps them out of the venv that ansible-lint and molecule use.
    timed "ansible-test sanity" \
        ansible-test sanity --venv --python "$ANSIBLE_TEST_PYTHON" --color no || status=1
fi
if [[ "$only" != sanity ]]; then
    if [[ -n "$(find tests/unit -name 'test_*.py' -print -quit 2>/dev/null)" ]]; then
        # --local: this venv already holds pytest, pytest-xdist and the collection's requirements.
        timed "ansible-test units" \
            ansible-test units --local --python "$ANSIBLE_TEST_PYTHON" --color no || status=1
    else
        log "no unit tests under tests/unit: ansible-test units skipped"
    fi
fi

# Keep the reports (junit, coverage data) per ansible-core version; .tmp holds only scratch venvs.
results="$REPO_ROOT/tests/output/ansible-core-$(python -c 'import ansible; print(ansible.__version__)')"
rm -rf "$results"
if [[ -d tests/output ]]; then
    mkdir -p "$results"
    tar -C tests/output -cf - --exclude=./.tmp . | tar -C "$results" -xf -
    log "ansible-test reports: $results"
fi
exit "$status"
