# Wall time of each step of a script, printed together at its end. Source it
# after common.sh (for log); not part of any build's cache key.
timing_start=$SECONDS
timing=()

timed() { # timed NAME CMD...: runs CMD, records its wall time
    local name="$1" t=$SECONDS
    shift
    log "=== $name"
    "$@"
    timing+=("$(printf '%-28s %5ss' "$name" $((SECONDS - t)))")
}

print_timings() {
    log "=== wall times"
    local t
    for t in "${timing[@]}"; do log "  $t"; done
    log "$(printf '  %-28s %5ss' total $((SECONDS - timing_start)))"
}
