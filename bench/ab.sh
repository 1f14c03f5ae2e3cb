#!/usr/bin/env bash
# A/B CPU time of two statelint builds on a shared machine: interleaved runs, min and median
# of user+sys CPU seconds and peak RSS.   bench/ab.sh OLD_BIN NEW_BIN DIR [RUNS]
set -uo pipefail
a=$1 b=$2 dir=$3 runs=${4:-7}
declare -A t m
for ((i = 0; i < runs; i++)); do
  for bin in a b; do
    /usr/bin/time -o /tmp/ab-time.$$ -f "%U %S %M" "${!bin}" check --format json "$dir" >/dev/null 2>&1
    r=$(tail -1 /tmp/ab-time.$$)
    t[$bin]+="$(echo "$r" | awk '{print $1 + $2}') "
    m[$bin]+="$(echo "$r" | awk '{print $3}') "
  done
done
rm -f /tmp/ab-time.$$
for bin in a b; do
  echo "${!bin}: cpu $(echo ${t[$bin]} | tr ' ' '\n' | sort -n | awk '{v[NR]=$1} END {printf "min %.3f s  median %.3f s", v[1], v[int((NR+1)/2)]}')  peak RSS $(echo ${m[$bin]} | tr ' ' '\n' | sort -n | awk '{v[NR]=$1} END {printf "%.0f MB", v[int((NR+1)/2)]/1024}')"
done
