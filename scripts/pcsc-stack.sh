#!/usr/bin/env bash
# pcsc-stack.sh — make the real PC/SC stack (pcscd + vsmartcard-vpcd) available
# for cardsmith's tests and CI. See docs/pcsc.md.
#
# Usage: scripts/pcsc-stack.sh install|start|stop|restart|status|check|env
#
#   install  apt-get installs what is missing (root only): pcscd libpcsclite-dev
#            vsmartcard-vpcd pcsc-tools opensc, and gcc + libc6-dev when there is
#            no working C compiler. Prints what it installed.
#   start    builds the TCP_NODELAY LD_PRELOAD shim, starts `pcscd --foreground`
#            in the background with it, writes a pid file and waits until vpcd
#            listens on TCP 35963 and 35964. As root it installs missing packages
#            first. Reuses a pcscd this script started if it is healthy and in
#            the wanted shim mode; stops any other pcscd first (by PID).
#   stop     stops the pcscd this script started (by PID) and waits for it.
#   restart  stop + start.
#   status   prints whether it runs, its PID, the shim and the ports.
#            Exit 0 when running with both ports up, 3 otherwise.
#   check    exit 0 if the stack can be started here, else prints why, exit 1.
#   env      prints the environment PC/SC clients need (PCSCLITE_CSOCK_NAME when
#            a non-root pcscd had to put its socket in the build folder).
#
# Non-root: pcscd 1.9.9 has /run/pcscd compiled in. A user who cannot write it
# gets a second shim (pcscd-rundir-shim.c) that moves it to $BUILD/run; clients
# then need `eval "$(scripts/pcsc-stack.sh env)"`. Only root installs packages.
#
# Environment:
#   CARDSMITH_PCSC_DIR      build/state folder (default:
#                           ${XDG_CACHE_HOME:-$HOME/.cache}/cardsmith/pcsc)
#   CARDSMITH_PCSC_NODELAY  1 (default) preload the shim; 0 start pcscd without it
#   CARDSMITH_PCSC_TIMEOUT  seconds to wait for the ports (default 15)
#   CARDSMITH_PCSC_DEBUG    1 runs pcscd with --debug --apdu (slow; log only)
#   CARDSMITH_PCSC_KEEP_FOREIGN  1: never stop a pcscd this script did not start
#                           (start then fails instead)
#   CC                      C compiler for the shim (default: cc, then gcc)

set -euo pipefail

readonly PROG="pcsc-stack"
SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly SHIM_SRC="$SCRIPT_DIR/tcp-nodelay-shim.c"
readonly RUNDIR_SHIM_SRC="$SCRIPT_DIR/pcscd-rundir-shim.c"
readonly VPCD_PORTS=(35963 35964)
readonly VPCD_CONF="/etc/reader.conf.d/vpcd"
readonly SYSTEM_SOCK_DIR="/run/pcscd"
readonly PACKAGES=(pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools opensc)

STATE_DIR="${CARDSMITH_PCSC_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/cardsmith/pcsc}"
PID_FILE="$STATE_DIR/pcscd.pid"
LOG_FILE="$STATE_DIR/pcscd.log"
ENV_FILE="$STATE_DIR/pcsc.env"
SHIM_SO="$STATE_DIR/libtcp-nodelay.so"
RUNDIR_SO="$STATE_DIR/libpcscd-rundir.so"
USER_RUN_DIR="$STATE_DIR/run"
WANT_SHIM="${CARDSMITH_PCSC_NODELAY:-1}"
TIMEOUT="${CARDSMITH_PCSC_TIMEOUT:-15}"

export PATH="$PATH:/usr/sbin:/sbin"

log() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

# join_list A B C -> " A; B; C"
join_list() {
	local IFS=';'
	printf '%s' "${*/#/ }"
}

is_root() { [[ $(id -u) -eq 0 ]]; }

ensure_state_dir() {
	mkdir -p -- "$STATE_DIR" 2>/dev/null ||
		die "cannot create build folder '$STATE_DIR'; set CARDSMITH_PCSC_DIR to a writable folder"
	[[ -w $STATE_DIR ]] ||
		die "build folder '$STATE_DIR' is not writable; set CARDSMITH_PCSC_DIR to a writable folder"
}

# Makes STATE_DIR (and the paths in it) absolute: LD_PRELOAD and the socket need it.
absolutize_state_dir() {
	[[ $STATE_DIR == /* ]] && return 0
	mkdir -p -- "$STATE_DIR" 2>/dev/null || return 0
	STATE_DIR=$(cd -- "$STATE_DIR" && pwd)
	PID_FILE="$STATE_DIR/pcscd.pid"
	LOG_FILE="$STATE_DIR/pcscd.log"
	ENV_FILE="$STATE_DIR/pcsc.env"
	SHIM_SO="$STATE_DIR/libtcp-nodelay.so"
	RUNDIR_SO="$STATE_DIR/libpcscd-rundir.so"
	USER_RUN_DIR="$STATE_DIR/run"
}

# Serialises start/stop/install between concurrent callers (bounded wait).
take_lock() {
	ensure_state_dir
	exec 9>"$STATE_DIR/lock"
	flock -w 60 9 || die "another $PROG command holds $STATE_DIR/lock for over 60 s"
}

# ---------------------------------------------------------------- packages --

pkg_installed() {
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

find_cc() {
	local c
	for c in "${CC:-}" cc gcc clang; do
		[[ -n $c ]] && command -v "$c" >/dev/null 2>&1 && { printf '%s\n' "$c"; return 0; }
	done
	return 1
}

# A compiler is usable when it exists and the libc headers the shim needs exist.
have_cc() { find_cc >/dev/null && [[ -e /usr/include/dlfcn.h ]]; }

# Prints the packages that are missing, one a line.
missing_packages() {
	local p
	if command -v dpkg-query >/dev/null 2>&1; then
		for p in "${PACKAGES[@]}"; do pkg_installed "$p" || printf '%s\n' "$p"; done
		if ! have_cc && [[ ! -s $SHIM_SO ]]; then
			pkg_installed gcc || printf 'gcc\n'
			pkg_installed libc6-dev || printf 'libc6-dev\n'
		fi
	fi
	return 0
}

# True when apt knows an installable version of the package. (No `| grep -q`:
# with pipefail, grep closing the pipe early can fail the pipeline.)
has_candidate() {
	local out
	out=$(apt-cache policy "$1" 2>/dev/null) || return 1
	[[ $out =~ Candidate:\ [^\(] ]]
}

can_apt() { is_root && command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; }

cmd_install() {
	can_apt || die "install needs root and apt-get (run: sudo $0 install)"
	take_lock
	local missing
	mapfile -t missing < <(missing_packages)
	if [[ ${#missing[@]} -eq 0 ]]; then
		log "all packages present: ${PACKAGES[*]} (and a C compiler)"
		return 0
	fi
	local aptlog="$STATE_DIR/apt.log" p need_update=0
	: >"$aptlog"
	for p in "${missing[@]}"; do
		has_candidate "$p" || need_update=1
	done
	if [[ $need_update -eq 1 ]]; then
		log "package lists lack some of: ${missing[*]}; running apt-get update"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$aptlog" 2>&1 || {
			tail -n 20 "$aptlog" >&2
			die "apt-get update failed (log: $aptlog)"
		}
	fi
	log "installing: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${missing[@]}" >>"$aptlog" 2>&1 || {
		tail -n 20 "$aptlog" >&2
		die "apt-get install ${missing[*]} failed (log: $aptlog)"
	}
	local still
	mapfile -t still < <(missing_packages)
	[[ ${#still[@]} -eq 0 ]] || die "still missing after install: ${still[*]} (log: $aptlog)"
	log "installed: ${missing[*]}"
}

# ---------------------------------------------------------------- processes --

# Start time of a process (field 22 of /proc/PID/stat), to guard against PID reuse.
proc_start_time() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	printf '%s\n' "${20}"
}

# State letter of a process (R, S, D, Z, ...); fails when it does not exist.
proc_state() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	printf '%s\n' "${stat%% *}"
}

# True while the process exists and is not a zombie (an exited child not yet
# reaped still has /proc/PID and its comm).
proc_running() {
	local st
	st=$(proc_state "$1") || return 1
	[[ $st != Z && $st != X ]]
}

proc_is_pcscd() { [[ $(cat "/proc/$1/comm" 2>/dev/null || true) == pcscd ]] && proc_running "$1"; }

# Prints the PID of the pcscd this script started, if it still runs.
our_pid() {
	[[ -r $PID_FILE ]] || return 1
	local pid start now
	read -r pid start <"$PID_FILE" || true
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	proc_is_pcscd "$pid" || return 1
	now=$(proc_start_time "$pid") || return 1
	[[ -z ${start:-} || $start == "$now" ]] || return 1
	printf '%s\n' "$pid"
}

# Prints the PIDs of every running pcscd, one a line.
all_pcscd_pids() {
	local d pid
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		proc_is_pcscd "$pid" && printf '%s\n' "$pid"
	done
	return 0
}

foreign_pcscd_pids() {
	local ours p
	ours=$(our_pid || true)
	while read -r p; do
		[[ -n $p && $p != "$ours" ]] && printf '%s\n' "$p"
	done < <(all_pcscd_pids)
	return 0
}

# Sends SIGTERM, waits up to 10 s, then SIGKILL and waits up to 3 s more.
terminate_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || { proc_running "$pid" && return 1; return 0; }
	for ((i = 0; i < 100; i++)); do
		proc_running "$pid" || return 0
		sleep 0.1
	done
	warn "pcscd $pid did not exit within 10 s after SIGTERM; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		proc_running "$pid" || return 0
		sleep 0.1
	done
	return 1
}

shim_loaded_in() { grep -q 'libtcp-nodelay' "/proc/$1/maps" 2>/dev/null; }

# ------------------------------------------------------------------- ports --

port_listening() {
	local hex f
	hex=$(printf ':%04X' "$1")
	for f in /proc/net/tcp /proc/net/tcp6; do
		[[ -r $f ]] || continue
		# local_address is field 2, state field 4 (0A = LISTEN)
		awk -v h="$hex" 'NR > 1 && substr($2, length($2) - 4) == h && $4 == "0A" { found = 1 }
			END { exit !found }' "$f" && return 0
	done
	return 1
}

all_ports_listening() {
	local p
	for p in "${VPCD_PORTS[@]}"; do port_listening "$p" || return 1; done
}

any_port_listening() {
	local p
	for p in "${VPCD_PORTS[@]}"; do port_listening "$p" && return 0; done
	return 1
}

# -------------------------------------------------------------------- socket --

# True when pcscd must run with its run folder moved (non-root user who cannot
# write /run/pcscd): pcscd 1.9.9 has /run/pcscd compiled in, so the
# pcscd-rundir shim moves it to $STATE_DIR/run.
need_rundir_shim() {
	is_root && return 1
	if [[ -d $SYSTEM_SOCK_DIR ]]; then
		[[ ! -w $SYSTEM_SOCK_DIR ]]
	else
		[[ ! -w $(dirname -- "$SYSTEM_SOCK_DIR") ]]
	fi
}

# pcscd's client socket: /run/pcscd/pcscd.comm, or $STATE_DIR/run/pcscd.comm
# for a non-root pcscd (clients then need PCSCLITE_CSOCK_NAME, see `env`).
socket_path() {
	if need_rundir_shim; then
		printf '%s\n' "$USER_RUN_DIR/pcscd.comm"
	else
		printf '%s\n' "$SYSTEM_SOCK_DIR/pcscd.comm"
	fi
}

write_env_file() {
	local sock=$1
	if [[ $sock == "$SYSTEM_SOCK_DIR/pcscd.comm" ]]; then
		: >"$ENV_FILE"
	else
		printf 'export PCSCLITE_CSOCK_NAME=%q\n' "$sock" >"$ENV_FILE"
	fi
}

# --------------------------------------------------------------------- shim --

# build_so SOURCE OUTPUT: compiles an LD_PRELOAD shim unless OUTPUT is newer.
build_so() {
	local src=$1 out=$2 cc
	[[ -r $src ]] || die "shim source missing: $src"
	if [[ -s $out && ! $src -nt $out ]]; then return 0; fi
	if ! cc=$(find_cc) || [[ ! -e /usr/include/dlfcn.h ]]; then
		[[ -s $out ]] && { warn "no C compiler; using the existing $out"; return 0; }
		die "no working C compiler (cc/gcc and libc6-dev) to build $(basename -- "$src"); as root run: $0 install"
	fi
	local tmp="$out.tmp.$$" blog
	blog="$STATE_DIR/$(basename -- "$src" .c)-build.log"
	"$cc" -shared -fPIC -O2 -Wall -o "$tmp" "$src" -ldl >"$blog" 2>&1 || {
		rm -f -- "$tmp"
		cat "$blog" >&2
		die "building $src with $cc failed (log: $blog)"
	}
	mv -f -- "$tmp" "$out"
	log "built shim $out"
}

# -------------------------------------------------------------- requirements --

pcscd_bin() { command -v pcscd 2>/dev/null; }

vpcd_driver() {
	[[ -r $VPCD_CONF ]] || return 1
	local lib
	lib=$(awk '$1 == "LIBPATH" { print $2; exit }' "$VPCD_CONF")
	[[ -n $lib && -r $lib ]] || return 1
	printf '%s\n' "$lib"
}

# Prints reasons why pcscd + vpcd cannot run from what is installed now.
runtime_problems() {
	pcscd_bin >/dev/null || printf 'pcscd is not installed (Debian package pcscd)\n'
	vpcd_driver >/dev/null || printf 'the vpcd driver is not installed (%s missing or its LIBPATH unreadable; Debian package vsmartcard-vpcd)\n' "$VPCD_CONF"
	if ! have_cc; then
		if [[ $WANT_SHIM != 0 && ! -s $SHIM_SO ]]; then
			printf 'no C compiler to build the TCP_NODELAY shim (Debian packages gcc, libc6-dev)\n'
		fi
		if need_rundir_shim && [[ ! -s $RUNDIR_SO ]]; then
			printf 'no C compiler to build the run-folder shim a non-root pcscd needs (Debian packages gcc, libc6-dev)\n'
		fi
	fi
	if need_rundir_shim; then
		local sock="$USER_RUN_DIR/pcscd.comm"
		((${#sock} < 108)) ||
			printf 'socket path %s is too long for a Unix socket (max 107 bytes); set CARDSMITH_PCSC_DIR to a shorter folder\n' "$sock"
	fi
	return 0
}

ensure_runtime() {
	local problems
	mapfile -t problems < <(runtime_problems)
	[[ ${#problems[@]} -eq 0 ]] && return 0
	if can_apt; then
		log "missing pieces, installing:$(join_list "${problems[@]}")"
		# release our lock around install (it takes the lock itself)
		flock -u 9
		cmd_install
		take_lock
		mapfile -t problems < <(runtime_problems)
		[[ ${#problems[@]} -eq 0 ]] && return 0
	fi
	local p
	for p in "${problems[@]}"; do warn "$p"; done
	die "cannot start the PC/SC stack; as root run: $0 install"
}

# ------------------------------------------------------------------ commands --

stop_ours() {
	local pid
	pid=$(our_pid) || { rm -f -- "$PID_FILE"; return 1; }
	log "stopping pcscd (pid $pid)"
	terminate_pid "$pid" || die "pcscd $pid did not exit"
	rm -f -- "$PID_FILE"
	return 0
}

# Closes every file descriptor above 2 of the current (sub)shell.
close_inherited_fds() {
	local f n fds=()
	for f in /proc/"$BASHPID"/fd/*; do
		n=${f##*/}
		[[ $n =~ ^[0-9]+$ ]] && ((n > 2)) && fds+=("$n")
	done
	for n in "${fds[@]}"; do
		eval "exec $n>&-" 2>/dev/null || true
	done
}

cmd_start() {
	take_lock
	ensure_runtime
	[[ $WANT_SHIM != 0 ]] && build_so "$SHIM_SRC" "$SHIM_SO"
	local rundir=""
	if need_rundir_shim; then
		build_so "$RUNDIR_SHIM_SRC" "$RUNDIR_SO"
		rundir=$USER_RUN_DIR
		mkdir -p -- "$rundir"
	fi

	local pid
	if pid=$(our_pid); then
		local has_shim=0
		shim_loaded_in "$pid" && has_shim=1
		if all_ports_listening && [[ $has_shim == "$([[ $WANT_SHIM != 0 ]] && echo 1 || echo 0)" ]]; then
			log "pcscd already running (pid $pid, started by this script), reusing it"
			print_status
			return 0
		fi
		log "restarting pcscd $pid (ports down or shim mode differs)"
		stop_ours || true
	fi

	local foreign
	mapfile -t foreign < <(foreign_pcscd_pids)
	if [[ ${#foreign[@]} -gt 0 ]]; then
		[[ ${CARDSMITH_PCSC_KEEP_FOREIGN:-0} != 0 ]] &&
			die "a pcscd not started by this script runs (pid ${foreign[*]}) and CARDSMITH_PCSC_KEEP_FOREIGN is set; stop it first"
		local f
		for f in "${foreign[@]}"; do
			kill -0 "$f" 2>/dev/null ||
				die "pcscd $f (not started by this script, another user) holds the vpcd ports and cannot be stopped by $(id -un); stop it as its owner or root"
			log "stopping pcscd $f that this script did not start (it holds the vpcd ports and socket)"
			terminate_pid "$f" || die "cannot stop pcscd $f (owned by another user? run as root or stop it yourself)"
		done
	fi

	if any_port_listening; then
		die "TCP port ${VPCD_PORTS[0]} or ${VPCD_PORTS[1]} is already taken by another process (not pcscd); free it and retry"
	fi

	local sock pcscd
	sock=$(socket_path)
	pcscd=$(pcscd_bin)
	# A socket left by a pcscd that died is cleaned by pcscd itself (it checks
	# the pid file); remove it only when we can and no pcscd runs at all.
	if [[ -e $sock ]] && [[ -z $(all_pcscd_pids) ]]; then
		rm -f -- "$sock" 2>/dev/null || true
	fi
	write_env_file "$sock"

	[[ -f $LOG_FILE ]] && mv -f -- "$LOG_FILE" "$LOG_FILE.1"
	local args=(--foreground)
	[[ ${CARDSMITH_PCSC_DEBUG:-0} != 0 ]] && args+=(--debug --apdu)
	local preload=() shim=off
	if [[ $WANT_SHIM != 0 ]]; then preload+=("$SHIM_SO"); shim=on; fi
	[[ -n $rundir ]] && preload+=("$RUNDIR_SO")
	[[ -n ${LD_PRELOAD:-} ]] && preload+=("$LD_PRELOAD")
	log "starting $pcscd ${args[*]} (TCP_NODELAY shim: $shim, socket: $sock, log: $LOG_FILE)"
	(
		# The daemon keeps no inherited descriptor but stdin/out/err (an inherited
		# pipe would keep a caller such as a test runner waiting for EOF), and
		# runs in its own session (setsid).
		close_inherited_fds
		if [[ -n $rundir ]]; then export CARDSMITH_PCSCD_RUNDIR="$rundir"; fi
		if [[ ${#preload[@]} -gt 0 ]]; then
			LD_PRELOAD=$(IFS=:; printf '%s' "${preload[*]}")
			export LD_PRELOAD
		fi
		exec setsid "$pcscd" "${args[@]}"
	) </dev/null >>"$LOG_FILE" 2>&1 &
	pid=$!

	local deadline=$((SECONDS + TIMEOUT)) started=""
	while ((SECONDS < deadline)); do
		if ! proc_running "$pid"; then
			wait "$pid" 2>/dev/null || true
			warn "pcscd exited during start-up; last lines of $LOG_FILE:"
			tail -n 20 "$LOG_FILE" >&2 || true
			rm -f -- "$PID_FILE"
			die "pcscd did not come up"
		fi
		if [[ -z $started ]] && proc_is_pcscd "$pid"; then
			started=$(proc_start_time "$pid")
			printf '%s %s\n' "$pid" "$started" >"$PID_FILE"
		fi
		if [[ -n $started ]] && all_ports_listening; then
			log "pcscd is up (pid $pid); vpcd listens on ${VPCD_PORTS[*]}"
			print_status
			return 0
		fi
		sleep 0.1
	done
	warn "vpcd did not listen on ${VPCD_PORTS[*]} within ${TIMEOUT}s; last lines of $LOG_FILE:"
	tail -n 20 "$LOG_FILE" >&2 || true
	terminate_pid "$pid" || warn "pcscd $pid did not exit"
	rm -f -- "$PID_FILE"
	die "pcscd did not come up (timeout ${TIMEOUT}s)"
}

cmd_stop() {
	take_lock
	if ! stop_ours; then
		log "pcscd started by this script is not running"
	else
		log "pcscd stopped"
	fi
	local foreign
	mapfile -t foreign < <(foreign_pcscd_pids)
	[[ ${#foreign[@]} -gt 0 ]] && log "note: a pcscd not started by this script still runs (pid ${foreign[*]}); left alone"
	return 0
}

print_status() {
	local pid p shim
	if pid=$(our_pid); then
		shim=off
		shim_loaded_in "$pid" && shim=on
		echo "pcscd: running (pid $pid, started by $PROG), TCP_NODELAY shim: $shim"
	else
		local foreign
		mapfile -t foreign < <(foreign_pcscd_pids)
		if [[ ${#foreign[@]} -gt 0 ]]; then
			echo "pcscd: not started by $PROG; another pcscd runs (pid ${foreign[*]})"
		else
			echo "pcscd: not running"
		fi
	fi
	for p in "${VPCD_PORTS[@]}"; do
		if port_listening "$p"; then echo "port $p: listening (reader \"Virtual PCD 00 0$((p - VPCD_PORTS[0]))\")"; else echo "port $p: not listening"; fi
	done
	echo "socket: $(socket_path)"
	echo "build folder: $STATE_DIR (log: $LOG_FILE)"
}

cmd_status() {
	print_status
	our_pid >/dev/null && all_ports_listening && return 0
	return 3
}

cmd_check() {
	local reasons=() p
	[[ $(uname -s) == Linux ]] || reasons+=("not Linux ($(uname -s)); the script needs /proc and Debian packages")
	if our_pid >/dev/null && all_ports_listening; then
		echo "ok: the PC/SC stack is running (pid $(our_pid))"
		return 0
	fi
	local problems
	mapfile -t problems < <(runtime_problems)
	if [[ ${#problems[@]} -gt 0 ]]; then
		if can_apt; then
			local missing
			mapfile -t missing < <(missing_packages)
			for p in "${missing[@]}"; do
				has_candidate "$p" ||
					reasons+=("package $p is missing and apt does not know it (run apt-get update? needs the Debian main archive)")
			done
		else
			reasons+=("${problems[@]}")
			reasons+=("cannot install them: not root or no apt-get (as root run: $0 install)")
		fi
	fi
	local foreign
	mapfile -t foreign < <(foreign_pcscd_pids)
	if [[ ${#foreign[@]} -gt 0 ]] && ! is_root; then
		for p in "${foreign[@]}"; do
			kill -0 "$p" 2>/dev/null || reasons+=("pcscd $p (not started by this script, another user) holds the vpcd ports and cannot be stopped by $(id -un)")
		done
	fi
	if [[ ${#foreign[@]} -eq 0 ]] && any_port_listening && ! our_pid >/dev/null; then
		reasons+=("TCP port ${VPCD_PORTS[0]} or ${VPCD_PORTS[1]} is taken by a process that is not pcscd")
	fi
	mkdir -p -- "$STATE_DIR" 2>/dev/null && [[ -w $STATE_DIR ]] ||
		reasons+=("build folder $STATE_DIR is not writable (set CARDSMITH_PCSC_DIR)")
	if [[ ${#reasons[@]} -gt 0 ]]; then
		for p in "${reasons[@]}"; do echo "cannot start the PC/SC stack: $p"; done
		return 1
	fi
	if [[ ${#problems[@]} -gt 0 ]]; then
		echo "ok: missing pieces will be installed by start (root + apt):$(join_list "${problems[@]}")"
	else
		echo "ok: pcscd $(pcscd_bin), vpcd driver $(vpcd_driver), socket $(socket_path)"
	fi
	return 0
}

cmd_env() {
	local sock
	sock=$(socket_path)
	if [[ $sock != "$SYSTEM_SOCK_DIR/pcscd.comm" ]]; then
		printf 'export PCSCLITE_CSOCK_NAME=%q\n' "$sock"
	fi
	return 0
}

usage() {
	sed -n '2,/^set -euo/{/^#/{s/^# \{0,1\}//;p}}' "$0"
}

main() {
	local cmd=${1:-}
	[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "CARDSMITH_PCSC_TIMEOUT must be a whole number of seconds > 0 (got '$TIMEOUT')"
	absolutize_state_dir
	case $cmd in
	install) cmd_install ;;
	start) cmd_start ;;
	stop) cmd_stop ;;
	restart) cmd_stop && cmd_start ;;
	status) cmd_status ;;
	check) cmd_check ;;
	env) cmd_env ;;
	-h | --help | help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
