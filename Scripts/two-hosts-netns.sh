#!/bin/bash
# Data-parallel training across two "hosts" on one machine.
#
# Makes two Linux network namespaces, fovea-hostA (10.77.0.1/24) and fovea-hostB (10.77.0.2/24),
# joined by a veth pair (fvA0 <-> fvB0), and runs Open MPI jobs with ranks on both, so the ranks
# on different hosts talk TCP across the veth link (ranks on the same host use shared memory):
#   (a) DistributedDrill collectives                              (every rank: "collectives ok")
#   (b) DistributedDrill train model=bn batchnorm=sync            (every rank's fingerprint agrees at
#       every step, and the start fingerprint is the one-process reference's)
#   (c) fovea train --distributed --sync-batch-norm, a short Fashion-MNIST run (skip: --no-fovea)
# Each run must move bytes each way over the veth (its byte counters are printed before/after;
# at least 1 MiB for (a) and (c), 16 KiB for (b)'s tiny model, against ~2 KB for launching
# /bin/true on both hosts, the baseline printed first), and in (a) Open MPI's own log must show
# the tcp BTL between the hosts and shared memory (vader) only within a host.
#
# How: mpirun runs inside fovea-hostA; Open MPI's rsh launcher starts the remote daemon (orted)
# through this script in --agent mode, which does `ip netns exec fovea-hostB …` (no sshd). Each
# host also gets its own UTS namespace with hostname hostA/hostB: with the machine's one hostname
# on both, Open MPI's shared-memory BTL (vader) names its /dev/shm segments by hostname, jobid and
# local rank, so the two hosts' ranks collide on the same files (segfault in mca_btl_vader.so).
# hostA/hostB resolve through /etc/netns/<namespace>/hosts, which `ip netns exec` bind-mounts over
# /etc/hosts inside the namespace: the machine's /etc/hosts is not touched.
# Everything (namespaces, veth, /etc/netns/fovea-host*) is removed on exit, unless --keep.
#
# Needs: root, iproute2 (ip netns), util-linux (unshare), Open MPI's mpirun (openmpi-bin), and the
# built binaries. Usage:
#   Scripts/two-hosts-netns.sh [--drill PATH] [--fovea PATH] [--ranks-per-host N] [--no-fovea]
#                              [--timeout SECONDS] [--keep]
# Defaults: .build/debug/DistributedDrill, .build/release/fovea, 2 ranks per host for (a) and (b),
# 1 per host for (c), 600 s per mpirun. Exits non-zero on any failure.
set -euo pipefail

NS_A=fovea-hostA NS_B=fovea-hostB
HOST_A=hostA HOST_B=hostB
DEV_A=fvA0 DEV_B=fvB0
SUBNET=10.77.0.0/24 ADDR_A=10.77.0.1 ADDR_B=10.77.0.2

# --agent HOST COMMAND…: Open MPI's plm_rsh_agent. mpirun calls it like ssh (host, then the remote
# command line as words a shell joins and parses); run that line in HOST's namespaces.
if [[ "${1:-}" == "--agent" ]]; then
    host=$2; shift 2
    case "$host" in
        "$HOST_A") ns=$NS_A ;;
        "$HOST_B") ns=$NS_B ;;
        *) echo "two-hosts-netns.sh --agent: unknown host '$host'" >&2; exit 1 ;;
    esac
    exec ip netns exec "$ns" unshare --uts -- /bin/sh -c 'hostname "$0" && exec /bin/sh -c "$1"' "$host" "$*"
fi

SCRIPT=$(readlink -f "$0")
ROOT=$(cd "$(dirname "$SCRIPT")/.." && pwd)
DRILL=$ROOT/.build/debug/DistributedDrill
FOVEA=$ROOT/.build/release/fovea
RANKS_PER_HOST=2 RUN_FOVEA=1 TIMEOUT=600 KEEP=0
while (($#)); do
    case "$1" in
        --drill) DRILL=$2; shift 2 ;;
        --fovea) FOVEA=$2; shift 2 ;;
        --ranks-per-host) RANKS_PER_HOST=$2; shift 2 ;;
        --no-fovea) RUN_FOVEA=0; shift ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$SCRIPT" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

fail() { echo "FAIL: $*" >&2; exit 1; }
((EUID == 0)) || fail "needs root (ip netns, veth, unshare --uts)"
for tool in ip unshare mpirun timeout; do command -v "$tool" >/dev/null || fail "'$tool' is not installed"; done
[[ -x "$DRILL" ]] || fail "no DistributedDrill at $DRILL (swift build --product DistributedDrill)"
((RUN_FOVEA == 0)) || [[ -x "$FOVEA" ]] || fail "no fovea at $FOVEA (swift build -c release --product fovea), or pass --no-fovea"
[[ "$RANKS_PER_HOST" =~ ^[1-9][0-9]*$ ]] || fail "--ranks-per-host must be a positive integer"

WORK=$(mktemp -d /tmp/fovea-two-hosts.XXXXXX)
ETC_NETNS_EXISTED=0; [[ -d /etc/netns ]] && ETC_NETNS_EXISTED=1

teardown() {
    local status=$?
    if ((KEEP)); then
        echo "--keep: left $NS_A, $NS_B, /etc/netns/$NS_A, /etc/netns/$NS_B and $WORK in place"
        return
    fi
    local ns pid
    for ns in "$NS_A" "$NS_B"; do
        if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
            # Anything of ours still running in the namespace (a timed-out job's ranks or orted).
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
            ip netns del "$ns" || true            # takes the veth pair with it
        fi
        rm -rf "/etc/netns/$ns"
    done
    ((ETC_NETNS_EXISTED)) || rmdir /etc/netns 2>/dev/null || true
    ((status == 0)) && rm -rf "$WORK" || echo "logs kept in $WORK" >&2
}
trap teardown EXIT

# ---- namespaces, veth, names (idempotent: reuses what a --keep run left) ----
setup() {
    local ns
    for ns in "$NS_A" "$NS_B"; do
        ip netns list | awk '{print $1}' | grep -qx "$ns" || ip netns add "$ns"
    done
    if ! ip -n "$NS_A" link show "$DEV_A" >/dev/null 2>&1 || ! ip -n "$NS_B" link show "$DEV_B" >/dev/null 2>&1; then
        ip -n "$NS_A" link del "$DEV_A" 2>/dev/null || true
        ip -n "$NS_B" link del "$DEV_B" 2>/dev/null || true
        ip link add "$DEV_A" netns "$NS_A" type veth peer name "$DEV_B" netns "$NS_B"
    fi
    ip -n "$NS_A" addr replace "$ADDR_A/24" dev "$DEV_A"
    ip -n "$NS_B" addr replace "$ADDR_B/24" dev "$DEV_B"
    for ns in "$NS_A" "$NS_B"; do ip -n "$ns" link set lo up; done
    ip -n "$NS_A" link set "$DEV_A" up
    ip -n "$NS_B" link set "$DEV_B" up
    for ns in "$NS_A" "$NS_B"; do
        mkdir -p "/etc/netns/$ns"
        printf '127.0.0.1 localhost\n%s %s\n%s %s\n' "$ADDR_A" "$HOST_A" "$ADDR_B" "$HOST_B" >"/etc/netns/$ns/hosts"
    done
    ip netns exec "$NS_A" getent hosts "$HOST_B" | grep -q "^$ADDR_B" || fail "$HOST_B does not resolve to $ADDR_B in $NS_A"
    # Is the link up? A TCP connect from A to B's port 9 (bash's /dev/tcp; no ping here): nothing
    # listens there, so "connection refused" is the answer that proves B's stack replied.
    local probe
    probe=$(ip netns exec "$NS_A" timeout 5 bash -c "exec 3<>/dev/tcp/$ADDR_B/9" 2>&1) \
        || grep -qi refused <<<"$probe" || fail "no answer from $ADDR_B across $DEV_A <-> $DEV_B: $probe"
    echo "namespaces: $NS_A ($HOST_A $ADDR_A on $DEV_A) <-> $NS_B ($HOST_B $ADDR_B on $DEV_B)"
}

counter() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }
veth_bytes() { echo "$(counter "$NS_A" "$DEV_A" tx_bytes) $(counter "$NS_A" "$DEV_A" rx_bytes)"; }

# MCA settings: rsh launcher through --agent; ob1 with tcp between hosts, vader within a host, self;
# TCP (MPI's, IPv4 only, and Open MPI's own out-of-band channel) only on the veth's subnet; ranks
# yield when idle (more ranks than cores: the busy-polling ranks would otherwise starve each other).
MCA=(--mca plm_rsh_agent "$SCRIPT --agent"
     --mca pml ob1 --mca btl tcp,vader,self
     --mca btl_tcp_if_include "$SUBNET" --mca btl_tcp_disable_family 6
     --mca oob_tcp_if_include "$SUBNET"
     --mca mpi_yield_when_idle 1)

# run_job NAME RANKS_PER_HOST MIN_BYTES [extra mpirun options…] -- program arguments…
# Runs mpirun in hostA's namespaces with ranks on hostA and hostB; output in $WORK/NAME.log.
# Prints the time and the veth bytes moved, and fails if either direction moved under MIN_BYTES.
run_job() {
    local name=$1 per=$2 min=$3; shift 3
    local options=()
    while [[ "$1" != "--" ]]; do options+=("$1"); shift; done
    shift
    local log=$WORK/$name.log before after start status=0
    read -r -a before <<<"$(veth_bytes)"
    start=$(date +%s%N)
    ip netns exec "$NS_A" unshare --uts -- /bin/sh -c 'hostname "$0" && exec "$@"' "$HOST_A" \
        timeout -k 15 "$TIMEOUT" mpirun --allow-run-as-root --oversubscribe \
        -H "$HOST_A:$per,$HOST_B:$per" -np $((2 * per)) "${MCA[@]}" -x FOVEA_THREADS=1 "${options[@]}" "$@" \
        >"$log" 2>&1 || status=$?
    read -r -a after <<<"$(veth_bytes)"
    local tenths=$((($(date +%s%N) - start) / 100000000)) tx=$((after[0] - before[0])) rx=$((after[1] - before[1]))
    printf '%s: %s+%s ranks, %d.%d s, exit %d; %s bytes: tx %d -> %d (+%d), rx %d -> %d (+%d)\n' \
        "$name" "$per" "$per" $((tenths / 10)) $((tenths % 10)) "$status" "$DEV_A" "${before[0]}" "${after[0]}" "$tx" "${before[1]}" "${after[1]}" "$rx"
    if ((status != 0)); then
        tail -n 40 "$log" >&2
        ((status == 124)) && fail "$name: timed out after $TIMEOUT s"
        fail "$name: mpirun exited $status (log: $log)"
    fi
    ((tx >= min && rx >= min)) || fail "$name: only $tx bytes out / $rx in over $DEV_A (at least $min expected): the ranks did not talk across the veth"
}

setup

# ---- baseline: launching a non-MPI program on both hosts (only Open MPI's daemons talk) ----
run_job launch "$RANKS_PER_HOST" 0 -- /bin/true

# ---- (a) collectives, with Open MPI saying which BTL reaches which rank ----
np=$((2 * RANKS_PER_HOST))
run_job collectives "$RANKS_PER_HOST" $((1 << 20)) --mca btl_base_verbose 10 -- "$DRILL" collectives
log=$WORK/collectives.log
ok=$(grep -c '^rank [0-9]*: collectives ok' "$log" || true)
((ok == np)) || { grep '^rank' "$log" >&2 || true; fail "collectives: $ok of $np ranks ok"; }
grep -Eq "^\[$HOST_A:[0-9]+\] mca: bml: Using tcp btl for send to .* on node $HOST_B" "$log" || fail "collectives: no tcp BTL from $HOST_A to $HOST_B"
grep -Eq "^\[$HOST_B:[0-9]+\] mca: bml: Using tcp btl for send to .* on node $HOST_A" "$log" || fail "collectives: no tcp BTL from $HOST_B to $HOST_A"
# Shared memory only within a host: in "[host:pid] mca: bml: Using vader btl … on node host",
# the sender's host and the peer's node must be the same.
crossing=$(sed -nE 's/^\[([A-Za-z]+):[0-9]+\] mca: bml: Using vader btl .* on node ([A-Za-z]+)$/\1 \2/p' "$log" | awk '$1 != $2' | head -n1)
[[ -z "$crossing" ]] || fail "collectives: shared memory between the two hosts ($crossing)"
echo "  $ok/$np ranks: collectives ok; BTLs chosen:"
grep -E "mca: bml: Using" "$log" | sed -E 's/^\[([a-zA-Z]+):[0-9]+\]/\1/; s/\[\[[0-9]+,[0-9]+\],([0-9]+)\]/rank \1/' | sort | uniq -c | sed 's/^/   /'

# ---- (b) data-parallel training with synchronized batch norm: all ranks in step ----
run_job train "$RANKS_PER_HOST" $((16 << 10)) -- "$DRILL" train "out=$WORK/train" model=bn batchnorm=sync
log=$WORK/train.log
FOVEA_THREADS=1 timeout "$TIMEOUT" "$DRILL" train "out=$WORK/reference" model=bn batchnorm=sync reference=1 \
    >"$WORK/reference.log" 2>&1 || fail "train: the one-process reference failed ($WORK/reference.log)"
reference=$(awk '/^rank 0 start fingerprint/ {print $NF}' "$WORK/reference.log")
starts=$(awk '/^rank [0-9]+ start fingerprint/ {print $NF}' "$log" | sort -u)
[[ -n "$reference" && "$starts" == "$reference" ]] || fail "train: start fingerprints '$starts', one process's '$reference'"
steps=$(awk '/^rank [0-9]+ step [0-9]+ fingerprint/ {print $4}' "$log" | sort -nu)
[[ -n "$steps" ]] || fail "train: no step fingerprints in $log"
for step in $steps; do
    count=$(awk -v s="$step" '$1 == "rank" && $3 == "step" && $4 == s {n++} END {print n + 0}' "$log")
    prints=$(awk -v s="$step" '$1 == "rank" && $3 == "step" && $4 == s {print $NF}' "$log" | sort -u)
    ((count == np)) || fail "train: step $step printed by $count of $np ranks"
    [[ $(wc -l <<<"$prints") -eq 1 ]] || fail "train: step $step, the ranks disagree: $(echo $prints)"
    echo "  step $step: $np ranks agree, fingerprint $prints"
done
echo "  start fingerprint $reference = one process's"
[[ -f "$WORK/train/step-$(tail -n1 <<<"$steps").safetensors" ]] || fail "train: rank 0 wrote no checkpoint"

# ---- (c) a short fovea train --distributed on Fashion-MNIST, one rank per host ----
if ((RUN_FOVEA)); then
    run_job fovea 1 $((1 << 20)) -- "$FOVEA" train --distributed --sync-batch-norm --model cnn-bn --epochs 1 --limit 2000 \
        --test-limit 1000 --batch-size 32 --out "$WORK/fovea.safetensors"
    log=$WORK/fovea.log
    grep -q '^distributed: 2 processes' "$log" || fail "fovea: not 2 processes ($log)"
    grep -q 'test accuracy' "$log" && [[ -s "$WORK/fovea.safetensors" ]] || fail "fovea: no evaluation or checkpoint ($log)"
    grep -E '^(distributed:|epoch 1/1:)' "$log" | sed 's/^/  /'
fi

echo "PASS: collectives, train (fingerprints agree)$( ((RUN_FOVEA)) && echo ", fovea train --distributed") across $HOST_A and $HOST_B over $DEV_A <-> $DEV_B"
