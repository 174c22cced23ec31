#!/usr/bin/env bash
# Create or update the test venvs. Idempotent: pip runs only when a venv's requirements changed.
#   bash tests/setup-env.sh [main|floor|all|core-X.Y]    (default: all)
# main:  $HARPER_VENV or .venv        <- tests/requirements.txt (newest ansible-core for Python 3.11)
# floor: $HARPER_FLOOR_VENV or .venv-floor <- tests/requirements-floor.txt (oldest supported ansible-core)
# core-X.Y: $HARPER_VENV_ROOT/.venv-core-X.Y (HARPER_VENV_ROOT defaults to the checkout) <- the
#        requirements of floor with ansible-core pinned to the X.Y line: one cell of the version
#        matrix (tests/run-matrix.sh); prints the venv's path on stdout.
# PYTHON selects the interpreter (default python3.11).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

PYTHON="${PYTHON:-python3.11}"
STAMP_NAME=.harper-requirements.sha256

# Hash of everything that decides a venv's content: the requirement files and the interpreter.
requirements_hash() {
    local requirements="$1"
    {
        cat "$requirements" "$REPO_ROOT/requirements.txt"
        "$PYTHON" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

ensure_venv() {
    local venv="$1" requirements="$2" wanted
    wanted="$(requirements_hash "$requirements")"
    if [[ -x "$venv/bin/python" && -f "$venv/$STAMP_NAME" && "$(cat "$venv/$STAMP_NAME")" == "$wanted" ]]; then
        log "$venv is up to date"
        return
    fi
    log "installing $requirements into $venv"
    [[ -x "$venv/bin/python" ]] || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r "$requirements"
    printf '%s\n' "$wanted" > "$venv/$STAMP_NAME"
}

# The requirements of floor with ansible-core pinned to the line X.Y, written to FILE.
core_line_requirements() {
    local line="$1" file="$2" major minor
    major="${line%%.*}"
    minor="${line#*.}"
    {
        printf '# tests/requirements-floor.txt with ansible-core pinned to the %s line.\n' "$line"
        printf 'ansible-core>=%s,<%s.%s\n' "$line" "$major" "$((minor + 1))"
        grep -v '^ansible-core' "$REPO_ROOT/tests/requirements-floor.txt" \
            | sed "s|^-r \.\./requirements.txt|-r $REPO_ROOT/requirements.txt|"
    } > "$file"
}

which_venvs="${1:-all}"
case "$which_venvs" in
    main | floor | all) ;;
    core-[0-9]*.[0-9]*)
        line="${which_venvs#core-}"
        [[ "$line" =~ ^[0-9]+\.[0-9]+$ ]] || die "usage: $0 [main|floor|all|core-X.Y]"
        venv="${HARPER_VENV_ROOT:-$REPO_ROOT}/.venv-core-$line"
        mkdir -p "$venv"
        core_line_requirements "$line" "$venv/requirements-core.txt"
        ensure_venv "$venv" "$venv/requirements-core.txt" >&2
        printf '%s\n' "$venv"
        exit 0
        ;;
    *) die "usage: $0 [main|floor|all|core-X.Y]" ;;
esac
if [[ "$which_venvs" != floor ]]; then
    ensure_venv "$MAIN_VENV" "$REPO_ROOT/tests/requirements.txt"
fi
if [[ "$which_venvs" != main ]]; then
    ensure_venv "$FLOOR_VENV" "$REPO_ROOT/tests/requirements-floor.txt"
fi
