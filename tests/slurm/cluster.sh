#!/usr/bin/env bash
# A real SLURM cluster on this machine, for the SLURM tests (tests/test_slurm.py) and by hand.
#
#   tests/slurm/cluster.sh start [NODES]   install slurm-wlm + munge (apt) if missing, start munged,
#                                          slurmctld and NODES slurmd (default 1; 2 puts the second
#                                          node in its own network namespace, its own address)
#   tests/slurm/cluster.sh stop            stop every daemon by its pid file, remove the namespace
#   tests/slurm/cluster.sh status          sinfo and squeue
#
# Needs root (apt, the config at /etc/slurm/slurm.conf, namespaces). Everything else lives under
# $ZSHARD_SLURM_PREFIX (default /tmp/zshard-slurm). Facts this follows: ../shared/notes/slurm-single-node.md.
# The config must be at the default path: the jobstep plugin strips SLURM_* (SLURM_CONF included)
# before it calls srun inside a job.
set -euo pipefail

PREFIX=${ZSHARD_SLURM_PREFIX:-/tmp/zshard-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# zshard test cluster (tests/slurm/cluster.sh)"
NETNS=zshard-n2
HOST_ADDR=10.251.0.1     # the head's end of the veth pair to the second node's namespace
NODE2_ADDR=10.251.0.2
CTLD_HOST=$(hostname -s)

die() { echo "cluster.sh: $*" >&2; exit 1; }

install_packages() {
    command -v slurmctld >/dev/null && command -v munged >/dev/null && command -v ip >/dev/null && return
    command -v apt-get >/dev/null || die "slurm-wlm/munge are missing and there is no apt-get"
    echo "installing slurm-wlm, munge (apt)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge iproute2 >/dev/null
}

start_munge() {
    mkdir -p "$PREFIX/munge-key" "$PREFIX/munge-run" "$PREFIX/log"
    chown munge: "$PREFIX/munge-key" "$PREFIX/munge-run"
    chmod 700 "$PREFIX/munge-key"
    chmod 755 "$PREFIX/munge-run"          # munged refuses a socket directory that is not 755
    [ -f "$PREFIX/munge-key/munge.key" ] ||
        runuser -u munge -- mungekey --create --keyfile="$PREFIX/munge-key/munge.key"
    runuser -u munge -- munged --socket="$PREFIX/munge-run/munge.socket" \
        --key-file="$PREFIX/munge-key/munge.key" --pid-file="$PREFIX/munge-run/munged.pid" \
        --log-file="$PREFIX/munge-run/munged.log" --seed-file="$PREFIX/munge-run/munged.seed"
}

start_netns() {  # the second node: its own network namespace and address; the file system is shared
    ip netns add "$NETNS"
    ip link add zs-head type veth peer name zs-n2
    ip link set zs-n2 netns "$NETNS"
    ip addr add "$HOST_ADDR/30" dev zs-head
    ip link set zs-head up
    ip netns exec "$NETNS" ip addr add "$NODE2_ADDR/30" dev zs-n2
    ip netns exec "$NETNS" ip link set zs-n2 up
    ip netns exec "$NETNS" ip link set lo up
}

write_conf() {  # $1: number of nodes
    local cpus mem nodes
    cpus=$(nproc)
    # slurmd drains a node that claims more memory than it has: ~90%, shared between the nodes
    mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 9 / 10 / $1 ))
    if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
        die "$CONF exists and is not ours: refusing to overwrite a real cluster's config"
    fi
    mkdir -p /etc/slurm "$PREFIX/state" "$PREFIX/spool"
    local ctld_addr=127.0.0.1
    [ "$1" -ge 2 ] && ctld_addr=$HOST_ADDR
    nodes="NodeName=n1 NodeHostname=$CTLD_HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN"
    [ "$1" -ge 2 ] && nodes="$nodes
NodeName=n2 NodeHostname=$CTLD_HOST NodeAddr=$NODE2_ADDR CPUs=$cpus RealMemory=$mem State=UNKNOWN"
    cat > "$CONF.tmp" <<CONF
$MARK
ClusterName=zshard
SlurmctldHost=$CTLD_HOST($ctld_addr)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$PREFIX/munge-run/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# each node declares the machine's cores (two nodes share them): take the config as given
SlurmdParameters=config_overrides
# jobs stay visible to squeue (the status check) and scontrol (the tests) this long after they end
MinJobAge=3600
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
StateSaveLocation=$PREFIX/state
SlurmdSpoolDir=$PREFIX/spool/%n
SlurmctldPidFile=$PREFIX/slurmctld.pid
SlurmdPidFile=$PREFIX/slurmd-%n.pid
SlurmctldLogFile=$PREFIX/log/slurmctld.log
SlurmdLogFile=$PREFIX/log/slurmd-%n.log
$nodes
# LLN: a job goes to the least loaded node, so a run spreads over both
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP LLN=YES
CONF
    mv "$CONF.tmp" "$CONF"
}

wait_idle() {  # $1: number of nodes
    for _ in $(seq 60); do
        idle=$(sinfo -h -N -o "%N %T" 2>/dev/null | awk '$2 == "idle"' | wc -l)
        [ "$idle" -ge "$1" ] && { sinfo -N; return 0; }
        sleep 0.5
    done
    sinfo -N -l || true
    tail -n 20 "$PREFIX"/log/*.log >&2 || true
    die "the nodes did not become idle within 30 s (logs above)"
}

start() {
    local n=${1:-1}
    [ "$(id -u)" = 0 ] || die "needs root (apt, /etc/slurm, network namespaces)"
    case "$n" in 1|2) ;; *) die "NODES is 1 or 2" ;; esac
    install_packages
    stop quiet
    start_munge
    write_conf "$n"
    mkdir -p "$PREFIX/spool/n1" "$PREFIX/spool/n2"
    [ "$n" -ge 2 ] && start_netns
    slurmctld -f "$CONF"
    slurmd -f "$CONF" -N n1
    # nsenter, not `ip netns exec`: that one remounts /sys, and slurmd then finds no cgroup file system
    [ "$n" -ge 2 ] && nsenter --net="/run/netns/$NETNS" slurmd -f "$CONF" -N n2
    wait_idle "$n"
}

kill_pidfile() {  # $1: pid file, $2: the daemon's name (a stale file may name another process now)
    local file=$1 pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

stop() {
    for f in "$PREFIX"/slurmd-*.pid; do if [ -e "$f" ]; then kill_pidfile "$f" slurmd; fi; done
    kill_pidfile "$PREFIX/slurmctld.pid" slurmctld
    kill_pidfile "$PREFIX/munge-run/munged.pid" munged
    ip netns del "$NETNS" 2>/dev/null || true
    ip link del zs-head 2>/dev/null || true
    rm -rf "$PREFIX/state" "$PREFIX/spool"
    [ "${1:-}" = quiet ] || echo "stopped"
}

status() {
    sinfo -N
    squeue
}

case "${1:-}" in
    start) start "${2:-1}" ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: cluster.sh start [NODES]|stop|status" ;;
esac
