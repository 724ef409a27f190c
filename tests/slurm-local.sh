#!/bin/bash
# slurm-local.sh - a throw-away Slurm cluster on this host, for tests.
#
#   tests/slurm-local.sh start     start munged, slurmctld and slurmd(s)
#   tests/slurm-local.sh stop      cancel jobs, stop exactly those daemons
#   tests/slurm-local.sh env       print the export line for SLURM_CONF
#
# Runs as root (Debian 12 packages slurmctld slurmd slurm-client munge,
# installed with apt-get when missing).  Everything lives in one private
# directory, $SLURM_LOCAL_DIR (default /tmp/revpipe-slurm-local): config,
# munge key and socket, state, spool, logs, pid files.  start always
# begins from a fresh directory (a reused one would restore old jobs);
# stop signals only the processes this script started, by the pids it
# saved, and leaves the logs in the directory.
#
# Environment:
#   SLURM_LOCAL_DIR    state directory (see above)
#   SLURM_LOCAL_PORT   slurmctld port (default 6817); slurmd(s) use the next
#   SLURM_LOCAL_NODES  emulated nodes on this host (default 1)
#   SLURM_LOCAL_CPUS   CPUs of the single node (default: nproc)
#
# The recipe and its pitfalls: ../shared/notes/slurm.md (copied into
# docs/cluster.md): no systemd here, private munged, linuxproc process
# tracking (no cgroups), batch_sched_delay=0, kill_invalid_depend.
set -euo pipefail

D=${SLURM_LOCAL_DIR:-/tmp/revpipe-slurm-local}
PORT=${SLURM_LOCAL_PORT:-6817}
NODES=${SLURM_LOCAL_NODES:-1}
HOST=$(hostname -s)
CONF=$D/etc/slurm.conf
SOCK=$D/munge/run/munge.sock

say() { echo "slurm-local: $*" >&2; }
die() { say "$*"; exit 1; }

node_names() {
	if [ "$NODES" -eq 1 ]; then
		echo "$HOST"
	else
		seq -f 'n%g' 1 "$NODES"
	fi
}

need_packages() {
	local missing=() p
	for p in slurmctld slurmd slurm-client munge; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${missing[@]}" \
	    >/dev/null 2>&1 || {
		apt-get update -qq >/dev/null &&
		apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		    >/dev/null
	}
}

write_conf() {
	local i=0 n
	cat > "$CONF" <<EOF
# Written by tests/slurm-local.sh: a throw-away cluster, all state in $D.
ClusterName=local
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$D/ctld
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
DependencyParameters=kill_invalid_depend
MinJobAge=300
MaxArraySize=100001
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
EOF
	if [ "$NODES" -eq 1 ]; then
		echo "NodeName=$HOST NodeAddr=127.0.0.1 CPUs=${SLURM_LOCAL_CPUS:-$(nproc)} State=UNKNOWN" >> "$CONF"
	else
		for n in $(node_names); do
			i=$((i + 1))
			echo "NodeName=$n NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$((PORT + i)) CPUs=1 State=UNKNOWN" >> "$CONF"
		done
	fi
	echo "PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO" >> "$CONF"
}

port_busy() {
	ss -ltnH "sport = :$1" 2>/dev/null | grep -q .
}

# Wait up to $1 tenths of a second for "$2" (a command) to succeed.
wait_for() {
	local n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

ctld_up() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
nodes_idle() {
	local s
	s=$(sinfo -h -o %T 2>/dev/null | sort -u | tr '\n' ' ')
	[ "$s" = "idle " ]
}

start() {
	local p n i
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	if [ -f "$D/pids" ]; then
		while read -r p n; do
			alive "$p" && die "a cluster from $D is running ($n $p): stop it first"
		done < "$D/pids"
	fi
	need_packages
	for p in $(seq "$PORT" $((PORT + NODES))); do
		port_busy "$p" && die "port $p is in use (set SLURM_LOCAL_PORT)"
	done
	rm -rf "$D"
	mkdir -p "$D"/{etc,munge/etc,munge/run,munge/lib,munge/log,ctld,log,run}
	for n in $(node_names); do mkdir -p "$D/spool/$n"; done
	chmod 755 "$D" "$D/munge" "$D/munge/run"
	chmod 700 "$D/munge/etc" "$D/munge/lib" "$D/munge/log"
	: > "$D/pids"

	mungekey --create --keyfile="$D/munge/etc/munge.key"
	chmod 400 "$D/munge/etc/munge.key"
	munged --key-file="$D/munge/etc/munge.key" --socket="$SOCK" \
	    --pid-file="$D/munge/run/munged.pid" \
	    --log-file="$D/munge/log/munged.log" \
	    --seed-file="$D/munge/lib/munged.seed"
	wait_for 50 test -s "$D/munge/run/munged.pid" || die "munged did not start"
	echo "$(cat "$D/munge/run/munged.pid") munged" >> "$D/pids"
	munge -n -S "$SOCK" | unmunge -S "$SOCK" >/dev/null ||
	    die "munge self-test failed (see $D/munge/log/munged.log)"

	write_conf
	export SLURM_CONF=$CONF
	slurmctld -i -f "$CONF"
	if ! wait_for 150 test -s "$D/run/slurmctld.pid"; then
		tail -20 "$D/log/slurmctld.log" >&2 || true
		die "slurmctld did not start"
	fi
	echo "$(cat "$D/run/slurmctld.pid") slurmctld" >> "$D/pids"
	if ! wait_for 150 ctld_up; then
		tail -20 "$D/log/slurmctld.log" >&2 || true
		die "slurmctld is not answering"
	fi
	for n in $(node_names); do
		slurmd -f "$CONF" -N "$n"
		if ! wait_for 100 test -s "$D/run/slurmd-$n.pid"; then
			tail -20 "$D/log/slurmd-$n.log" >&2 || true
			die "slurmd $n did not start"
		fi
		echo "$(cat "$D/run/slurmd-$n.pid") slurmd" >> "$D/pids"
	done
	if ! wait_for 200 nodes_idle; then
		sinfo >&2 || true
		tail -20 "$D/log/slurmctld.log" >&2 || true
		die "the node(s) did not become idle"
	fi
	say "up: $NODES node(s); export SLURM_CONF=$CONF"
}

# Wait up to 20 s for pid $1 to end, then TERM, then KILL.
reap() {
	local p=$1 i
	for i in $(seq 200); do alive "$p" || return 0; sleep 0.1; done
	kill -TERM "$p" 2>/dev/null || true
	for i in $(seq 50); do alive "$p" || return 0; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
}

stop() {
	local p n i pids=()
	[ -f "$D/pids" ] || { say "nothing started in $D"; return 0; }
	export SLURM_CONF=$CONF
	# The pids first: slurmd removes its pid file as it starts to stop.
	while read -r p n; do
		# Only our own process, not another that reused the pid.
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$n" ] && pids+=("$p:$n")
	done < "$D/pids"
	if ctld_up; then
		scancel --full --partition=local 2>/dev/null || true
		for i in $(seq 200); do
			[ -z "$(squeue -h 2>/dev/null)" ] && break
			sleep 0.1
		done
		scontrol shutdown 2>/dev/null || true
	fi
	for p in "${pids[@]}"; do
		[ "${p#*:}" = munged ] && continue
		reap "${p%%:*}"
	done
	munged --stop --socket="$SOCK" >/dev/null 2>&1 || true
	for p in "${pids[@]}"; do
		[ "${p#*:}" = munged ] && reap "${p%%:*}"
	done
	rm -f "$D/pids"
	say "stopped (logs in $D/log)"
}

case ${1:-} in
start) start ;;
stop) stop ;;
env) echo "export SLURM_CONF=$CONF" ;;
*) echo "usage: tests/slurm-local.sh start|stop|env" >&2; exit 2 ;;
esac
