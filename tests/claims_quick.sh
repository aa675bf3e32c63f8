# Sourced by the tests that read lecture-claims --quick: quick_claims BUILD prints the folder that
# holds a run of the current binary, running it first if needed. The two tests may start together;
# the lock lets the first run it and the second wait for its files instead of running it again.
quick_claims() {
  local build=$1 dir="$1/claims-quick"
  (
    flock 9
    if [ ! -s "$dir/claims.json" ] || [ "$build/experiments/lecture-claims" -nt "$dir/claims.json" ]; then
      rm -rf "$dir"
      "$build/experiments/lecture-claims" --quick --threads 1 --out "$dir" >"$build/claims-quick.log" 2>&1 ||
        { echo "lecture-claims --quick failed:" >&2; tail -n 5 "$build/claims-quick.log" >&2; exit 1; }
    fi
  ) 9>"$build/claims-quick.lock" || return 1
  echo "$dir"
}
