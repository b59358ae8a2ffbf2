#!/usr/bin/env bash
# Run retention with the action's inputs: the action's second step.
#
# Every input arrives as an environment variable (INPUT_*) set by action.yml and is passed to the
# binary as one argv element: no input is ever interpolated into shell code or word-split.
# The binary itself writes the outputs (GITHUB_OUTPUT), the job summary and the annotations,
# because it sees GITHUB_ACTIONS=true (see src/actions.rs).
set -euo pipefail

fail() {
    echo "::error title=retention action::$*"
    exit 1
}

bin="${RETENTION_BIN:?the install step did not produce a binary}"
mode="${INPUT_MODE:-plan}"
policy="${INPUT_POLICY:-}"
if [[ "$mode" != restore ]]; then
    [[ -n "$policy" ]] || fail "the input 'policy' is required (the path of the policy file)"
    [[ -f "$policy" ]] || fail "policy file '$policy' not found in $(pwd); check out the repository first (actions/checkout) or fix the path"
fi

args=()
case "$mode" in
    plan)
        # The text plan goes to a file, printed afterwards in a collapsed group of the log.
        text_plan="${RUNNER_TEMP:-/tmp}/retention-plan.txt"
        rm -f "$text_plan"
        args=(plan --policy "$policy" --format text --output "$text_plan")
        if [[ -n "${INPUT_INVENTORY:-}" ]]; then
            args+=(--inventory "$INPUT_INVENTORY")
        fi
        if [[ -n "${INPUT_BASE_POLICY:-}" ]]; then
            [[ -f "$INPUT_BASE_POLICY" ]] || fail "base-policy file '$INPUT_BASE_POLICY' not found in $(pwd)"
            args+=(--base "$INPUT_BASE_POLICY")
        fi
        ;;
    apply)
        [[ -z "${INPUT_INVENTORY:-}" ]] || fail "the input 'inventory' is for plan mode only: apply always lists the packages afresh"
        [[ -z "${INPUT_BASE_POLICY:-}" ]] || fail "the input 'base-policy' is for plan mode only (the policy diff of a pull request)"
        journal="${INPUT_JOURNAL:-${RUNNER_TEMP:-.}/retention-journal.jsonl}"
        args=(apply --policy "$policy" --journal "$journal")
        if [[ -n "${INPUT_MAX_DELETIONS:-}" ]]; then
            [[ "$INPUT_MAX_DELETIONS" =~ ^[0-9]+$ ]] \
                || fail "the input 'max-deletions' must be a whole number; got '$INPUT_MAX_DELETIONS'"
            args+=(--max-deletions "$INPUT_MAX_DELETIONS")
        fi
        if [[ -n "${INPUT_MAX_UNTAGS:-}" ]]; then
            [[ "$INPUT_MAX_UNTAGS" =~ ^[0-9]+$ ]] \
                || fail "the input 'max-untags' must be a whole number; got '$INPUT_MAX_UNTAGS'"
            args+=(--max-untags "$INPUT_MAX_UNTAGS")
        fi
        if [[ -n "${INPUT_DELETIONS_PER_MINUTE:-}" ]]; then
            [[ "$INPUT_DELETIONS_PER_MINUTE" =~ ^[0-9]+$ ]] \
                || fail "the input 'deletions-per-minute' must be a whole number (1 to 180); got '$INPUT_DELETIONS_PER_MINUTE'"
            args+=(--deletions-per-minute "$INPUT_DELETIONS_PER_MINUTE")
        fi
        if [[ -n "${INPUT_MAX_DURATION:-}" ]]; then
            args+=(--max-duration "$INPUT_MAX_DURATION")
        fi
        # The binary sets the `journal` output (every output goes through its one writer).
        ;;
    restore)
        # Undo a run: the journal an apply wrote (e.g. downloaded from its run's artifact).
        [[ -n "${INPUT_JOURNAL:-}" ]] || fail "the input 'journal' is required in restore mode (the journal file an apply wrote, e.g. downloaded from that run's artifact)"
        [[ -f "$INPUT_JOURNAL" ]] || fail "journal file '$INPUT_JOURNAL' not found in $(pwd); download the artifact of the run to undo first (examples/workflows/restore.yml)"
        [[ -z "${INPUT_INVENTORY:-}" ]] || fail "the input 'inventory' is for plan mode only"
        [[ -z "${INPUT_BASE_POLICY:-}" ]] || fail "the input 'base-policy' is for plan mode only (the policy diff of a pull request)"
        args=(restore --journal "$INPUT_JOURNAL")
        ;;
    *)
        fail "the input 'mode' must be 'plan', 'apply' or 'restore'; got '$mode'"
        ;;
esac

# restore takes its owners and packages from the journal: no owner, time or variables.
if [[ "$mode" != restore && -n "${INPUT_OWNER:-}" ]]; then
    args+=(--owner "$INPUT_OWNER")
fi
if [[ -n "${INPUT_CACHE_DIR:-}" ]]; then
    args+=(--cache-dir "$INPUT_CACHE_DIR")
fi
if [[ "$mode" != restore && -n "${INPUT_NOW:-}" ]]; then
    args+=(--now "$INPUT_NOW")
fi
if [[ -n "${INPUT_REGISTRY:-}" ]]; then
    args+=(--registry "$INPUT_REGISTRY")
fi
# One NAME=VALUE a line, each one argv element: the binary checks names and values.
if [[ "$mode" != restore && -n "${INPUT_VARS:-}" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
        line="${line#"${line%%[![:space:]]*}"}"
        line="${line%"${line##*[![:space:]]}"}"
        [[ -z "$line" || "$line" == \#* ]] && continue
        args+=(--var "$line")
    done <<<"$INPUT_VARS"
fi
# Lists of images in use: one path a line, each one argv element.
if [[ -n "${INPUT_IN_USE:-}" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
        line="${line#"${line%%[![:space:]]*}"}"
        line="${line%"${line##*[![:space:]]}"}"
        [[ -z "$line" || "$line" == \#* ]] && continue
        args+=(--in-use "$line")
    done <<<"$INPUT_IN_USE"
fi

status=0
if [[ "$mode" == restore ]]; then
    # restore prints what it did on stdout: into the log and the job summary as well.
    restore_out="${RUNNER_TEMP:-/tmp}/retention-restore.txt"
    "$bin" "${args[@]}" >"$restore_out" || status=$?
    cat "$restore_out"
    if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
        if [[ $status -eq 0 ]]; then heading="Restored"; else heading="Restore failed (exit $status): see the step's log"; fi
        {
            printf '\n### %s\n\n<pre>\n' "$heading"
            sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' "$restore_out"
            printf '</pre>\n'
        } >>"$GITHUB_STEP_SUMMARY"
    fi
    [[ $status -eq 0 ]] || echo "::error title=Restore failed::retention restore exited with $status; the step's log says what was not restored and why"
    exit "$status"
fi
"$bin" "${args[@]}" || status=$?

if [[ -n "${text_plan:-}" && -s "$text_plan" ]]; then
    # Rule names are the policy author's text: print them with workflow commands turned off.
    stop="retention-$RANDOM$RANDOM$RANDOM"
    echo "::group::Plan ($text_plan)"
    echo "::stop-commands::$stop"
    cat "$text_plan"
    echo "::$stop::"
    echo "::endgroup::"
fi
exit "$status"
