#!/usr/bin/env bash
# The tested version matrix: every supported version beyond the default cell that
# tests/run-all.sh runs (the newest ansible-core on this Python, Harper 4.7.29).
#   bash tests/run-matrix.sh [--parallel] [--only REGEX] [--no-readme]
# Cells, in two lanes:
#   ansible-core X.Y: sanity + units (tests/run-sanity.sh), for every release line from the floor
#     (meta/runtime.yml requires_ansible) to the newest that installs on this Python: the floor in
#     .venv-floor, the newest in .venv, the lines between in $HARPER_VENV_ROOT/.venv-core-X.Y
#     (tests/setup-env.sh core-X.Y); the next line is asked of pip, and what pip answers (no
#     release for this Python) is the cell's note.
#   Harper V: the modules' ansible-test integration targets (tests/run-targets.sh --harper V) on the
#     newest ansible-core, for each harperdb line with native replication.
#   targets on ansible-core <floor>: the same targets on the oldest ansible-core, Harper 4.7.29.
#   inventory plugin: its integration tests on the floor (it marks values unsafe differently before
#     ansible-core 2.19), in the Harper lane (lanes never start nodes on the same addresses).
# --parallel  run the ansible-core cells and the Harper cells as two lanes at once (2 cores: the
#             Harper cells then take longer; every wait in them has a deadline)
# --only RE   run only the cells whose name matches the extended regex RE; README.md is left alone
# --no-readme print the table only
# Each cell's output goes to tests/output/matrix/<cell>.log; a failing cell prints its last lines.
# Every cell runs even when one fails. The table of cells (result, time) closes the output and,
# after a full run, replaces the one in README.md between <!-- matrix:start --> and
# <!-- matrix:end -->, with the date, the commit and the machine. Exit status non-zero when a cell
# failed.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

HARPER_LINES=(4.7.29 4.7.19 4.4.18)
# The line after the newest installable one: asked of pip, never installed.
NEXT_CORE_LINE=2.20

parallel=0
only=""
rows=""  # the results file of the lane that runs: set for each lane
write_readme=1
while (($#)); do
    case "$1" in
        --parallel) parallel=1; shift ;;
        --only) only="$2"; write_readme=0; shift 2 ;;
        --no-readme) write_readme=0; shift ;;
        *) die "usage: $0 [--parallel] [--only REGEX] [--no-readme]" ;;
    esac
done

logs="$REPO_ROOT/tests/output/matrix"
rm -rf "$logs"
mkdir -p "$logs"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"

wanted() {
    [[ -z "$only" || "$1" =~ $only ]]
}

# cell NAME WHAT COMMAND...: run COMMAND with its output in NAME's log; append a row to the lane's
# results file ($rows).
cell() {
    local name="$1" what="$2" start status=0 log_file
    shift 2
    wanted "$name" || return 0
    log_file="$logs/$(tr -c 'A-Za-z0-9.\n' '-' <<< "$name").log"
    log "[$(date -u +%H:%M:%S)] $name: $what ..."
    start=$SECONDS
    "$@" > "$log_file" 2>&1 || status=$?
    local result=pass
    ((status == 0)) || result=FAIL
    printf '%s\t%s\t%s\t%d s\n' "$name" "$what" "$result" $((SECONDS - start)) >> "$rows"
    log "[$(date -u +%H:%M:%S)] $name: $result in $((SECONDS - start)) s (log: ${log_file#"$REPO_ROOT"/})"
    if ((status != 0)); then
        tail -n 40 "$log_file" | sed 's/^/    /' >&2
    fi
}

core_version() {
    "$1/bin/python" -c 'import ansible; print(ansible.__version__)'
}

# The venv of ansible-core line X.Y: .venv-floor, .venv, or one made for the cell.
core_venv() {
    local line="$1" floor_line main_line
    floor_line="$(core_version "$FLOOR_VENV" | cut -d. -f1,2)"
    main_line="$(core_version "$MAIN_VENV" | cut -d. -f1,2)"
    case "$line" in
        "$floor_line") printf '%s\n' "$FLOOR_VENV" ;;
        "$main_line") printf '%s\n' "$MAIN_VENV" ;;
        *) bash tests/setup-env.sh "core-$line" ;;
    esac
}

# What pip answers for the next line on this Python, in one line; status 0 when it would install.
next_core_line_answer() {
    local line="$1" major minor out
    major="${line%%.*}"
    minor="${line#*.}"
    if out="$("$MAIN_VENV/bin/python" -m pip install --dry-run --no-deps --ignore-installed --quiet \
        "ansible-core>=$line,<$major.$((minor + 1))" 2>&1)"; then
        printf 'installs on Python %s: add it to the matrix\n' "$(python_version)"
        return 0
    fi
    # "... 2.20.0 Requires-Python >=3.12; ..." -> "Requires-Python >=3.12"
    if grep -qo "$line\.[0-9]* Requires-Python [^;]*" <<< "$out"; then
        printf 'not installable on Python %s: pip says every %s release %s\n' "$(python_version)" "$line" \
            "$(grep -o "$line\.0 Requires-Python [^;]*" <<< "$out" | head -1 | sed 's/^[^ ]* //')"
    else
        printf 'not installable: %s\n' "$(grep -m1 ERROR <<< "$out" || tail -n1 <<< "$out")"
    fi
    return 1
}

python_version() {
    "$MAIN_VENV/bin/python" -c 'import platform; print(platform.python_version())'
}

install_harper() {
    "$MAIN_VENV/bin/python" -m tests.testbed install --version "$1"
}

core_lane() {
    local line floor_line main_line minor venv
    floor_line="$(core_version "$FLOOR_VENV" | cut -d. -f1,2)"
    main_line="$(core_version "$MAIN_VENV" | cut -d. -f1,2)"
    for ((minor = ${floor_line#*.}; minor <= ${main_line#*.}; minor++)); do
        line="${floor_line%%.*}.$minor"
        wanted "ansible-core $line" || continue
        # The venv's pip install is no part of the cell's time.
        venv="$(core_venv "$line" 2>> "$logs/venvs.log")" || {
            printf '%s\t%s\t%s\t-\n' "ansible-core $line" "venv: see tests/output/matrix/venvs.log" FAIL >> "$rows"
            continue
        }
        cell "ansible-core $line" "sanity + units, $(core_version "$venv")" \
            bash tests/run-sanity.sh --venv "$venv"
    done
    if wanted "ansible-core $NEXT_CORE_LINE"; then
        local answer status=0
        answer="$(next_core_line_answer "$NEXT_CORE_LINE")" || status=$?
        # Not installable here is the expected answer (no cell to run); installable means the
        # matrix is out of date, which fails.
        printf '%s\t%s\t%s\t-\n' "ansible-core $NEXT_CORE_LINE" "$answer" \
            "$([[ $status == 0 ]] && echo FAIL || echo n/a)" >> "$rows"
        log "ansible-core $NEXT_CORE_LINE: $answer"
    fi
}

harper_lane() {
    local version main_line
    main_line="$(core_version "$MAIN_VENV" | cut -d. -f1,2)"
    for version in "${HARPER_LINES[@]}"; do
        wanted "Harper $version" || continue
        # The npm install is no part of the cell's time.
        log "installing harperdb $version (once, into the test bed's cache)"
        install_harper "$version" >> "$logs/npm-install.log" 2>&1 \
            || log "npm install of harperdb $version failed: see tests/output/matrix/npm-install.log"
        cell "Harper $version" "integration targets, ansible-core $main_line" \
            bash tests/run-targets.sh --venv "$MAIN_VENV" --harper "$version"
    done
    # In this lane, as it starts Harper nodes too: lanes never share loopback addresses.
    local floor_line
    floor_line="$(core_version "$FLOOR_VENV" | cut -d. -f1,2)"
    # The modules' contracts on the oldest ansible-core too: the client and the module base run
    # there for real, not only under sanity and units.
    if wanted "targets on ansible-core $floor_line"; then
        cell "targets on ansible-core $floor_line" "integration targets, Harper ${HARPER_LINES[0]}" \
            bash tests/run-targets.sh --venv "$FLOOR_VENV"
    fi
    if wanted "inventory plugin"; then
        cell "inventory plugin" "tests/integration/test_inventory_harper.py, ansible-core $floor_line" \
            env PATH="$FLOOR_VENV/bin:$PATH" "$FLOOR_VENV/bin/pytest" -q -p no:cacheprovider \
            -m "not reliability" tests/integration/test_inventory_harper.py
    fi
}

bash tests/setup-env.sh main >&2
bash tests/setup-env.sh floor >&2
core_rows="$logs/rows-core.tsv"
harper_rows="$logs/rows-harper.tsv"
: > "$core_rows"
: > "$harper_rows"
start=$SECONDS
if ((parallel)); then
    rows="$core_rows" core_lane &
    core_pid=$!
    rows="$harper_rows" harper_lane
    wait "$core_pid" || true
else
    rows="$core_rows" core_lane
    rows="$harper_rows" harper_lane
fi
total=$((SECONDS - start))

commit="$(git rev-parse --short HEAD)"
[[ -z "$(git status --porcelain --untracked-files=no)" ]] || commit="$commit (with uncommitted changes)"
table="$logs/table.md"
{
    command="bash tests/run-matrix.sh"
    ((parallel == 0)) || command+=" --parallel"
    printf "Run of \`%s\` on %s, commit %s, Python %s, %s cores, %d min %02d s in all.\n\n" \
        "$command" "$started" "$commit" "$(python_version)" "$(nproc)" \
        $((total / 60)) $((total % 60))
    printf '| cell | what | result | time |\n|---|---|---|---|\n'
    cat "$core_rows" "$harper_rows" | awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }'
} > "$table"
printf '\n'
cat "$table"

if ((write_readme)); then
    "$MAIN_VENV/bin/python" - "$REPO_ROOT/README.md" "$table" <<'EOF'
import sys

readme_path, table_path = sys.argv[1:]
start, end = "<!-- matrix:start -->", "<!-- matrix:end -->"
with open(readme_path) as handle:
    readme = handle.read()
if readme.count(start) != 1 or readme.count(end) != 1:
    sys.exit("README.md needs one %s and one %s line" % (start, end))
with open(table_path) as handle:
    table = handle.read()
head, rest = readme.split(start)
dummy, tail = rest.split(end)
with open(readme_path, "w") as handle:
    handle.write(head + start + "\n" + table + end + tail)
EOF
    log "README.md: matrix table written"
fi
if cut -f3 "$core_rows" "$harper_rows" | grep -qx FAIL; then
    exit 1
fi
