#!/bin/bash
# A/B of two sluice binaries serving HTTP echo on the veth lab, alternating, one server
# alive at a time (server on core 0, wrk -t1 on core 1), so a change's effect on
# requests/s is read as a ratio within one run. As root, from the repository root:
#
#   bench/ab_http.sh OLD_SLUICE NEW_SLUICE [ROUNDS] [CONNECTIONS] [SECONDS]
#
# Build the binaries with `cargo build --release --bin sluice` at each commit (a git
# worktree for the old one). Prints one line per run and the medians.
set -euo pipefail
old=$1 new=$2 rounds=${3:-3} conns=${4:-64} secs=${5:-5}
lab=abhttp
cargo xtask veth up --name $lab > /dev/null
trap 'cargo xtask veth down --name $lab > /dev/null' EXIT
declare -A results
for round in $(seq 1 "$rounds"); do
  for which in old new; do
    bin=$old; [ $which = new ] && bin=$new
    out=$(mktemp)
    ip netns exec $lab-a "$bin" serve --iface sl0 --addr 10.0.0.1/24 --cores 0 --poll busy \
      --control /tmp/$lab.sock http-echo --port 8080 > "$out" 2> /dev/null &
    pid=$!
    for _ in $(seq 1 100); do grep -q ready "$out" && break; sleep 0.1; done
    rps=$(ip netns exec $lab-b taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" http://10.0.0.1:8080/ |
      awk '/Requests\/sec/ {print $2} /Socket errors/ {print "errors: " $0 > "/dev/stderr"}')
    echo "round $round $which $rps requests/s"
    results[$which]+="$rps "
    kill -TERM $pid
    wait $pid || true
    rm -f "$out"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m_old=$(echo "${results[old]}" | median)
m_new=$(echo "${results[new]}" | median)
echo "median old $m_old, new $m_new, new/old $(awk -v a="$m_new" -v b="$m_old" 'BEGIN {printf "%.3f", a/b}')"
