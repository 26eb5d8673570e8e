#!/usr/bin/env bash
# CPU training steps/s of two genlab builds side by side, alternating so a busy machine slows both
# alike: `genlab bench --backend cpu` for each workload, ROUNDS times per build.
# Usage: benches/compare-builds.sh OLD_GENLAB NEW_GENLAB [WORKLOAD...]   (default: mlp2d unet28)
set -euo pipefail
old="$1"; new="$2"; shift 2
workloads=("${@:-mlp2d}")
[ $# -eq 0 ] && workloads=(mlp2d unet28)
rounds="${ROUNDS:-3}"; budget="${BUDGET:-5}"
for workload in "${workloads[@]}"; do
  for round in $(seq "$rounds"); do
    for build in old new; do
      binary="$old"; [ "$build" = new ] && binary="$new"
      rate=$("$binary" bench --workload "$workload" --backend cpu --budget "$budget" |
        python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["steps_per_s"])')
      printf '{"workload":"%s","build":"%s","round":%d,"steps_per_s":%s}\n' "$workload" "$build" "$round" "$rate"
    done
  done
done
