#!/usr/bin/env bash
# A real one-node Slurm 22.05 on this machine, for tests/test_slurm.py: munged + slurmctld + slurmd, run as root.
# The node "localhost" pretends to be an H800 node: 8 GPUs of type h800 (fake character devices: Slurm 22.05 drops
# GPUs without a device file), and far more CPUs and memory than the machine has (SlurmdParameters=config_overrides
# keeps such a node usable), so that `--profile slurm` runs with its real requests and the tiny world's CPU-sized
# jobs of GPU rules (which reserve a GPU job's cores and memory) still run side by side.
#
#   tests/slurm/setup_slurm.sh      install (apt-get) if needed, write the config, start; idempotent
#   tests/slurm/stop_slurm.sh       stop everything this script started
#
# All state and logs live under $DED_SLURM_DIR (default /tmp/ded-slurm). The partition is called "main".
# Exit status 0: Slurm is up and the node is idle. Non-zero: the message says why (the test then skips).
set -euo pipefail

S=${DED_SLURM_DIR:-/tmp/ded-slurm}
NODE_CPUS=${DED_SLURM_NODE_CPUS:-1024}
NODE_MEM_MB=${DED_SLURM_NODE_MEM_MB:-16000000}

die() { echo "setup_slurm: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (runs the Slurm daemons and writes /etc/slurm)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
    || ! command -v sbatch >/dev/null; then
  command -v apt-get >/dev/null || die "Slurm is not installed and there is no apt-get to install it"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends slurmctld slurmd munge slurm-client >/dev/null \
    || die "apt-get install slurmctld slurmd munge slurm-client failed"
fi

# sbatch, srun and the job steps read /etc/slurm/slurm.conf: snakemake's slurm-jobstep plugin drops SLURM_CONF
# (every SLURM_* variable) before its inner srun. Never replace a configuration this script did not write.
for f in slurm.conf gres.conf; do
  if [ -e "/etc/slurm/$f" ] && [ "$(readlink "/etc/slurm/$f" || true)" != "$S/etc/$f" ]; then
    die "/etc/slurm/$f exists and is not ours: refusing to replace a real Slurm configuration"
  fi
done

mkdir -p "$S"/{etc,log,run,spool/slurmd,spool/slurmctld,fakedev,munge} /etc/slurm
for i in $(seq 0 7); do
  [ -c "$S/fakedev/nvidia$i" ] || mknod "$S/fakedev/nvidia$i" c 195 "$i" || die "mknod failed (fake GPU devices)"
done

cat > "$S/etc/slurm.conf.new" <<CONF
# One-node Slurm for tests (written by tests/slurm/setup_slurm.sh)
ClusterName=dedtest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmdSpoolDir=$S/spool/slurmd
StateSaveLocation=$S/spool/slurmctld
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
DefMemPerCPU=1000
InactiveLimit=0
KillWait=10
# squeue is the job status source (no slurmdbd): finished jobs must stay visible long enough.
MinJobAge=600
Waittime=0
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$NODE_CPUS Boards=1 SocketsPerBoard=8 CoresPerSocket=$((NODE_CPUS / 8)) ThreadsPerCore=1 RealMemory=$NODE_MEM_MB Gres=gpu:h800:8 State=UNKNOWN
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

cat > "$S/etc/gres.conf.new" <<CONF
# 8 fake H800s: character devices made with mknod (Slurm 22.05 removes file-less GPUs)
AutoDetect=off
NodeName=localhost Name=gpu Type=h800 File=$S/fakedev/nvidia[0-7]
CONF

# Already up with this very configuration (an earlier run of this script)? Then there is nothing to do; with another
# one, restart.
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if cmp -s "$S/etc/slurm.conf.new" "$S/etc/slurm.conf" && cmp -s "$S/etc/gres.conf.new" "$S/etc/gres.conf" \
    && running "$S/run/slurmctld.pid" && running "$S/run/slurmd.pid" \
    && sinfo -h -N -o '%T' 2>/dev/null | grep -Eqx 'idle|mixed|allocated'; then
  rm -f "$S"/etc/*.new
  echo "setup_slurm: already running ($S)"
  exit 0
fi
if running "$S/run/slurmctld.pid" || running "$S/run/slurmd.pid"; then
  "$(dirname "$0")/stop_slurm.sh"
fi
mv "$S/etc/slurm.conf.new" "$S/etc/slurm.conf"
mv "$S/etc/gres.conf.new" "$S/etc/gres.conf"

ln -sfn "$S/etc/slurm.conf" /etc/slurm/slurm.conf
ln -sfn "$S/etc/gres.conf" /etc/slurm/gres.conf

# munge: runs as user munge with the key the Debian package created
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 755 /run/munge
chown munge:munge "$S/munge" && chmod 700 "$S/munge"
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged --force --log-file="$S/munge/munged.log" --pid-file=/run/munge/ded-munged.pid \
    || die "munged did not start (see $S/munge/munged.log)"
  for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
  munge -n | unmunge >/dev/null || die "munge does not work"
fi

# slurmctld -c: start from a clean job state; slurmd -N: the node name is not the machine's hostname
if ! running "$S/run/slurmctld.pid"; then
  slurmctld -c -f "$S/etc/slurm.conf" || die "slurmctld did not start (see $S/log/slurmctld.log)"
fi
for _ in $(seq 40); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.5; done
if ! running "$S/run/slurmd.pid"; then
  slurmd -N localhost -f "$S/etc/slurm.conf" || die "slurmd did not start (see $S/log/slurmd.log)"
fi

state=""
for _ in $(seq 60); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n1 || true)
  case "$state" in
    idle) break ;;
    drain*|down*|inval*) scontrol update nodename=localhost state=resume 2>/dev/null || true ;;
  esac
  sleep 0.5
done
[ "$state" = idle ] || die "node localhost is '$state', not idle (see $S/log/slurmd.log and slurmctld.log)"
sinfo -N -o '%N %P %T %c %m %G'
