#!/usr/bin/env bash
# The reliability runs of docs/reliability.md, longer than the test command allows, so not in it:
#   bash tests/run-reliability.sh [--soak-runs N]
# 1. pytest's `reliability` tests: faults injected during role runs, the purge-after-subscriptions
#    loop, and the property-based inputs sent to a real node.
# 2. The soak: from-scratch runs of playbooks/site.yml at N=5 (tests/bench/soak.py).
# It needs the main venv (bash tests/setup-env.sh makes it) and stops every node it started.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

soak_runs=20
while (($#)); do
    case "$1" in
        --soak-runs) soak_runs="$2"; shift 2 ;;
        *) die "unknown argument: $1 (usage: $0 [--soak-runs N])" ;;
    esac
done

require_venv "$MAIN_VENV"
export PATH="$MAIN_VENV/bin:$PATH"
# Away from the addresses the test command uses, so both can run on one machine.
export HARPER_TESTBED_FIRST_IP="${HARPER_TESTBED_FIRST_IP:-127.0.70.2}"

timed "reliability tests" pytest -q -p no:cacheprovider -m reliability tests/integration
timed "soak" python tests/bench/soak.py --runs "$soak_runs"
