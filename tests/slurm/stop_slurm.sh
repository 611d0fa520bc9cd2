#!/usr/bin/env bash
# Stop what tests/slurm/setup_slurm.sh started (by pid file), and remove its /etc/slurm links.
S=${DED_SLURM_DIR:-/tmp/ded-slurm}

pids=()
for f in "$S/run/slurmd.pid" "$S/run/slurmctld.pid" /run/munge/ded-munged.pid; do
  if [ -s "$f" ]; then
    p=$(cat "$f")
    if kill -TERM "$p" 2>/dev/null; then pids+=("$p"); fi
  fi
done
for _ in $(seq 40); do
  alive=0
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ "$alive" = 0 ] && break
  sleep 0.25
done
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
for f in slurm.conf gres.conf; do
  [ "$(readlink "/etc/slurm/$f" 2>/dev/null)" = "$S/etc/$f" ] && rm -f "/etc/slurm/$f"
done
rm -f "$S"/run/*.pid
true
