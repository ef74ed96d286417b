#!/bin/bash
# blksnap benchmarks, guest side. bench/run.sh boots the bench kernel with
#   vm/run.sh --kernel bench --name bench bench/guest-bench.sh [KEY=VALUE...]
# and turns what this writes into bench/results/ and docs/performance.md.
#
# Keys (all optional; the defaults are what `make bench` publishes):
#   reps=3          repetitions of every measurement (interleaved: each
#                   repetition runs the baseline and every variant once)
#   runtime=5       seconds of each time-based fio run (after ramp=0 s:
#                   brd needs no warm-up)
#   cases="P1 P2 P3 P4 P5 V B" subset of cases to run
#   size=256M       region of the 512 MiB brd origin that fio uses
#   blksnap=off     skip blksnap (to try the "unavailable" path)
#
# Output, in $OUT (the run folder):
#   bench.csv        one row per measurement:
#                    case,title,device,variant,base,metric,unit,rep,value,note
#                    (base=yes marks the baseline of the case; value is empty
#                    when nothing was measured, and note says why)
#   bench-meta.txt   KEY=VALUE facts about the run (sizes, versions, timing)
#
# blksnap cases degrade gracefully: when the module is missing, does not
# load or fails its first snapshot cycle, each blksnap row says "blksnap
# unavailable: ..." with an empty value, and every other case still runs.
set -u
export LC_ALL=C

reps=3 runtime=5 ramp=0 cases="P1 P2 P3 P4 P5 V B" size=256M blksnap=on
for kv in "$@"; do
	case "$kv" in
	reps=*|runtime=*|ramp=*|cases=*|size=*|blksnap=*) eval "${kv%%=*}=\${kv#*=}" ;;
	*) echo "guest-bench: unknown argument $kv" >&2; exit 2 ;;
	esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
FIO=$HERE/fio
BSTOOL=$BINDIR/blksnap
# Our bench kernel's module, or on Debian's own kernel ($BLKSNAP_KERNEL
# stock-*) the one built against its headers, with the ftrace filter hook.
KO=$BUILD/bench/modules/blksnap/blksnap.ko
STOCK=0
if [[ ${BLKSNAP_KERNEL:-} == stock-* ]]; then
	KO=$MODDIR/blksnap/blksnap.ko STOCK=1
fi
CSV=$OUT/bench.csv
META=$OUT/bench-meta.txt
TMP=/tmp/bench
mkdir -p "$TMP/bin" "$TMP/lib"
# The tool and the job files run from tmpfs: no 9p traffic (slow, and it
# churns slab caches) in the middle of a measurement.
cp "$BINDIR/blksnap" "$TMP/bin/" 2>/dev/null && cp -a "$LIBDIR"/*.so* "$TMP/lib/" 2>/dev/null &&
	BSTOOL=$TMP/bin/blksnap
export LD_LIBRARY_PATH=$TMP/lib
cp -r "$FIO" "$TMP/fio" && FIO=$TMP/fio
echo "case,title,device,variant,base,metric,unit,rep,value,note" > "$CSV"
: > "$META"

RD_MIB=512                      # each brd device
RD_NR=6                         # ram0 origin, ram1 dm COW store, ram2 blksnap
                                # difference storage, ram3-5 more origins (P4);
                                # ram3 is B's backup repository (xfs)
VSIZE=768M                      # region of /dev/vda used by the virtio case
                                # (3072 chunks; the 1 GiB stores hold them)
STALL_SIZE=64M                  # region written by the stall probe
STALL_RUNTIME=6 STALL_AT=2      # probe length; the take starts at 2 s

# Case titles (no commas: they go to the CSV as they are).
declare -A TITLE=(
	[P1-rand4k]="tracking only: 4 KiB random writes QD32"
	[P1-seq1M]="tracking only: 1 MiB sequential writes QD4"
	[P2-first-rand4k]="first overwrite of every chunk: 4 KiB random writes QD32"
	[P2-first-seq1M]="first overwrite of every chunk: 1 MiB sequential writes QD4"
	[P2-second-rand4k]="second overwrite (chunks preserved): 4 KiB random writes QD32"
	[P2-second-seq1M]="second overwrite (chunks preserved): 1 MiB sequential writes QD4"
	[P3-seq-unchanged]="image read: 1 MiB sequential QD4 of an unchanged snapshot"
	[P3-rand-unchanged]="image read: 4 KiB random QD32 of an unchanged snapshot"
	[P3-seq-half]="image read: 1 MiB sequential QD4 after 50% of chunks overwritten"
	[P3-rand-half]="image read: 4 KiB random QD32 after 50% of chunks overwritten"
	[P4-stall]="take stall: longest 4 KiB write latency (QD1) while a snapshot is taken"
	[P4-take-time]="take stall: wall time of create + take"
	[P4-dm-stall]="take stall: longest 4 KiB write latency (QD1) while a dm-snapshot is created"
	[P5-cbt-1GiB]="CBT memory of a 1 GiB device"
	[P5-cbt-1TiB]="CBT memory of a 1 TiB device"
	[P5-cbt-16TiB]="CBT memory of a 16 TiB device"
	[P5-mem-chunk]="kernel memory per changed chunk (first 4 KiB random overwrite on virtio)"
	[V-P1-rand4k]="virtio-blk tracking only: 4 KiB random writes QD32"
	[V-P2-first-rand4k]="virtio-blk first overwrite of every chunk: 4 KiB random writes QD32"
	[B-full]="backup: full copy of a snapshot vs fio 1 MiB sequential QD4 read of its image"
	[B-incr-0pct]="backup: incremental with nothing changed: the fixed cost"
	[B-incr-1pct]="backup: incremental after 1% of the CBT blocks changed: one 4 KiB write each"
	[B-incr-10pct]="backup: incremental after 10% of the CBT blocks changed: one 4 KiB write each"
)

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*"; }
meta() { printf '%s=%s\n' "$1" "$2" >> "$META"; }
want() { [[ " $cases " == *" $1 "* ]]; }

# csv CASE DEVICE VARIANT BASE METRIC UNIT REP VALUE [NOTE]
csv() {
	local note=${9:-}
	note=${note//,/;}
	note=${note//$'\n'/ }
	printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$1" "${TITLE[$1]}" "$2" "$3" "$4" \
		"$5" "$6" "$7" "$8" "$note" >> "$CSV"
}

# --- fio ---------------------------------------------------------------
# fio_job JOB VAR=VALUE...: run bench/fio/JOB.fio with those variables (the
# job files read them from the environment); prints the terse v3 line.
fio_job() {
	local job=$1 line a vars=()
	shift
	for a in "$@"; do
		case "$a" in
		DEV=*)	# a block device, never a file fio would create; fio
			# splits file names at colons (blksnap-image_1:0)
			[ -b "${a#DEV=}" ] || { echo "fio $job: ${a#DEV=} is not a block device" >&2; return 1; }
			a=${a//:/\\:} ;;
		esac
		vars+=("$a")
	done
	line=$(env RAMP="$ramp" RUNTIME="$runtime" "${vars[@]}" \
		fio --output-format=terse --terse-version=3 "$FIO/$job.fio" 2>"$TMP/fio.err" |
		grep '^3;' | tail -n 1)
	if [ -z "$line" ] || [ "$(cut -d';' -f5 <<<"$line")" != 0 ]; then
		echo "fio $job failed: $(tr '\n' ' ' < "$TMP/fio.err" | cut -c1-200)" >&2
		return 1
	fi
	echo "$line"
}

# pick KIND TERSE_LINE: the figure of a run. Terse v3 fields: read
# bandwidth (KiB/s) 7, IOPS 8, total latency max (us) 39; write 48, 49, 80.
pick() {
	awk -F';' -v k="$1" '{
		if (k == "w_iops") printf "%.0f\n", $49
		else if (k == "r_iops") printf "%.0f\n", $8
		else if (k == "w_mibs") printf "%.1f\n", $48 / 1024
		else if (k == "r_mibs") printf "%.1f\n", $7 / 1024
		else if (k == "w_latmax_ms") printf "%.3f\n", $80 / 1000
	}' <<<"$2"
}

# Patterns: NAME -> steady-run variables and the figure kept.
pattern_vars() {	# PATTERN DEV [SIZE]
	local dev=$2 sz=${3:-$size}
	case "$1" in
	rand4k)   echo "DEV=$dev SIZE=$sz RW=randwrite BS=4k BA=4k QD=32" ;;
	rand4k-chunk) echo "DEV=$dev SIZE=$sz RW=randwrite BS=4k BA=$CHUNK QD=32" ;;
	seq1M)    echo "DEV=$dev SIZE=$sz RW=write BS=1M BA=1M QD=4" ;;
	rread4k)  echo "DEV=$dev SIZE=$sz RW=randread BS=4k BA=4k QD=32" ;;
	sread1M)  echo "DEV=$dev SIZE=$sz RW=read BS=1M BA=1M QD=4" ;;
	esac
}
pattern_kind() {
	case "$1" in
	rand4k|rand4k-chunk) echo w_iops ;;
	seq1M) echo w_mibs ;;
	rread4k) echo r_iops ;;
	sread1M) echo r_mibs ;;
	esac
}
unit_of() {
	case "$1" in
	*_iops) echo IOPS ;;
	*_mibs) echo MiB/s ;;
	*_ms) echo ms ;;
	esac
}

# steady PATTERN DEV [SIZE]: prints the figure of a time-based run
steady() {
	local line
	# shellcheck disable=SC2046
	line=$(fio_job steady $(pattern_vars "$@")) || return 1
	pick "$(pattern_kind "$1")" "$line"
}

# m CASE DEVICE VARIANT BASE REP NOTE PATTERN DEV [SIZE]: one steady run,
# recorded (an error row when fio fails)
m() {
	local k v
	k=$(pattern_kind "$7")
	if v=$(steady "${@:7}" 2>"$TMP/m.err"); then
		csv "$1" "$2" "$3" "$4" "$k" "$(unit_of "$k")" "$5" "$v" "$6"
	else
		csv "$1" "$2" "$3" "$4" "$k" "$(unit_of "$k")" "$5" "" "error: $(cat "$TMP/m.err")"
	fi
}

# first_rand DEV SIZE: one 4 KiB write into every chunk, random order (IOPS)
first_rand() {
	local dev=$1 bytes chunks line
	bytes=$(numfmt --from=iec "$2")
	chunks=$((bytes / CHUNK))
	{
		echo "fio version 2 iolog"
		echo "$dev add"
		echo "$dev open"
		seq 0 $((chunks - 1)) | shuf | awk -v d="$dev" -v c="$CHUNK" \
			'{ printf "%s write %d 4096\n", d, $1 * c }'
		echo "$dev close"
	} > "$TMP/first.iolog"
	line=$(fio_job first-rand IOLOG="$TMP/first.iolog" QD=32) || return 1
	pick w_iops "$line"
}

# first_seq DEV SIZE: one pass of 1 MiB writes (MiB/s)
first_seq() {
	local line
	line=$(fio_job pass DEV="$1" SIZE="$2" RW=write BS=1M QD=4) || return 1
	pick w_mibs "$line"
}

# --- memory ---------------------------------------------------------------
mi() { awk -v k="$1:" '$1 == k { print $2 * 1024 }' /proc/meminfo; }
# kmem: Slab + VmallocUsed (bytes)
kmem() { echo $(( $(mi Slab) + $(mi VmallocUsed) )); }
# brd_bytes: memory held by the brd devices (debugfs counts their pages)
brd_bytes() {
	local f n=0
	for f in /sys/kernel/debug/ramdisk_pages/ram*; do
		[ -r "$f" ] && n=$((n + $(cat "$f")))
	done
	echo $((n * 4096))
}
# used_nonbrd: MemTotal - MemFree - brd pages (bytes)
used_nonbrd() { echo $(( $(mi MemTotal) - $(mi MemFree) - $(brd_bytes) )); }
settle() { sync; sleep "${1:-1}"; }
# mem_settle: let workers finish and drop reclaimable caches before reading
# /proc/meminfo
mem_settle() { sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1; }
# mem_read: settle until Slab+VmallocUsed and the used memory hold still
# (two readings within 32 KiB and 256 KiB, at most 6 tries: freeing after
# fio, the tool or a take lags), then MK = Slab+VmallocUsed and
# MU = used_nonbrd, bytes
MK=0 MU=0
mem_read() {
	local pk=-1 pu=-1 dk du
	for _ in 1 2 3 4 5 6; do
		mem_settle
		MK=$(kmem) MU=$(used_nonbrd)
		dk=$((MK - pk)) du=$((MU - pu))
		[ $pk -ge 0 ] && [ ${dk#-} -le 32768 ] && [ ${du#-} -le 262144 ] && break
		pk=$MK pu=$MU
	done
}
discard() { local d; for d in "$@"; do blkdiscard -f "$d" 2>/dev/null; done; true; }

# --- blksnap ----------------------------------------------------------------
BS_OK=0 BS_WHY="not probed" BS_BACKEND=
bs() { timeout 120 "$BSTOOL" "$@"; }
json_str() { sed -n 's/.*"'"$1"'":"\([^"]*\)".*/\1/p' | head -n 1; }
json_num() { sed -n 's/.*"'"$1"'":\(-\{0,1\}[0-9][0-9]*\).*/\1/p' | head -n 1; }
image_of() { bs snapshot info "$1" --json | json_str image; }

SNAP_ID=
# bs_take STORAGE LIMIT DEV...: create a snapshot and take it (SNAP_ID)
bs_take() {
	local storage=$1 limit=$2
	shift 2
	SNAP_ID=$(bs snapshot create --storage "$storage" --limit "$limit" "$@") || { SNAP_ID=; return 1; }
	bs snapshot take "$SNAP_ID" >/dev/null || { bs_destroy; return 1; }
}
bs_destroy() {
	[ -n "$SNAP_ID" ] && bs snapshot destroy "$SNAP_ID" >/dev/null
	SNAP_ID=
}
# bs_error DEV: error code of the device's snapshot (0 = healthy)
bs_error() { bs snapshot info "$1" --json | json_num error_code; }
bs_detach() { local d; for d in "$@"; do bs detach "$d" >/dev/null 2>&1; done; true; }

probe_blksnap() {
	local out img
	[ "$blksnap" != off ] || { BS_WHY="skipped (blksnap=off)"; return; }
	[ -x "$BSTOOL" ] || { BS_WHY="the blksnap tool is not built ($BSTOOL)"; return; }
	[ $STOCK = 1 ] || [ -e /sys/block/ram3/filter ] ||
		{ BS_WHY="the kernel has no blkfilter (/sys/block/*/filter)"; return; }
	[ -f "$KO" ] || { BS_WHY="the module is not built ($KO)"; return; }
	out=$(insmod "$KO" 2>&1) || { BS_WHY="insmod failed: $out"; return; }
	BS_BACKEND=$(cat /sys/module/blksnap/parameters/filter_backend)
	if [ "$BS_BACKEND" != "$( [ $STOCK = 1 ] && echo ftrace || echo blkfilter)" ]; then
		BS_WHY="unexpected filter backend '$BS_BACKEND' on $(uname -r)"; rmmod blksnap; return
	fi
	out=$(bs attach /dev/ram3 2>&1) || { BS_WHY="attach failed: $out"; return; }
	if ! out=$(bs_take /dev/ram4 64M /dev/ram3 2>&1); then
		BS_WHY="create/take failed: $out"; bs_detach /dev/ram3; return
	fi
	# bs_take ran in a subshell: find the snapshot again.
	SNAP_ID=$(bs snapshot collect | head -n 1)
	img=$(image_of /dev/ram3)
	if [ -z "$img" ] || [ ! -b "$img" ]; then
		BS_WHY="no snapshot image after take"; bs_destroy; bs_detach /dev/ram3; return
	fi
	dd if=/dev/urandom of=/dev/ram3 bs=1M count=2 oflag=direct status=none
	if ! dd if="$img" of=/dev/null bs=1M count=4 iflag=direct status=none; then
		BS_WHY="reading the image failed"; bs_destroy; bs_detach /dev/ram3; return
	fi
	bs_destroy || { BS_WHY="destroy failed"; return; }
	bs_detach /dev/ram3
	discard /dev/ram3 /dev/ram4 2>/dev/null
	BS_OK=1 BS_WHY=
}

# na CASE DEVICE VARIANT METRIC UNIT REP: a blksnap row that was not measured
na() { csv "$1" "$2" "$3" no "$4" "$5" "$6" "" "blksnap unavailable: $BS_WHY"; }

# --- dm-snapshot --------------------------------------------------------------
# dm devices are used through their devtmpfs nodes, /dev/dm-N (dm_dev
# NAME): the guest has no udev, and /dev/mapper nodes exist only when
# libdevmapper is told to make them itself.
DM_ORIGIN=bench-origin DM_SNAP=bench-snap
sectors() { blockdev --getsz "$1"; }
dm_dev() {
	local n
	n=$(dmsetup info -c --noheadings -o blkdevname "$1" 2>/dev/null) && [ -b "/dev/$n" ] && echo "/dev/$n"
}
# dm_origin DEV: snapshot-origin target over DEV; ORIGIN_DEV is its node
ORIGIN_DEV="" SNAPDM_DEV=""
dm_origin() {
	dmsetup create "$DM_ORIGIN" --table "0 $(sectors "$1") snapshot-origin $1" &&
		ORIGIN_DEV=$(dm_dev "$DM_ORIGIN")
}
# dm_snap DEV COW: a transient (N) snapshot of DEV, chunk = blksnap's chunk;
# the origin is suspended around the creation, as LVM does.
dm_snap() {
	dmsetup suspend "$DM_ORIGIN" &&
	dmsetup create "$DM_SNAP" --table "0 $(sectors "$1") snapshot $1 $2 N $((CHUNK / 512))"
	local rc=$?
	dmsetup resume "$DM_ORIGIN"
	[ $rc = 0 ] && SNAPDM_DEV=$(dm_dev "$DM_SNAP")
}
dm_snap_ok() { ! dmsetup status "$DM_SNAP" 2>/dev/null | grep -q -E 'Invalid|Overflow'; }
# dm_chunks: chunks copied to the dm-snapshot's COW store so far
dm_chunks() {
	dmsetup status "$DM_SNAP" | awk -v c=$((CHUNK / 512)) '{ split($4, a, "/"); print int(a[1] / c) }'
}
# ram_chunks RAMN: chunks' worth of data held by a brd device (the blksnap
# difference storage on ram2, discarded before each snapshot)
ram_chunks() {
	local f=/sys/kernel/debug/ramdisk_pages/$1
	[ -r "$f" ] && echo $(( $(cat "$f") * 4096 / CHUNK ))
}
dm_down() { dmsetup remove "$DM_SNAP" 2>/dev/null; dmsetup remove "$DM_ORIGIN" 2>/dev/null; true; }

# --- cases ----------------------------------------------------------------------
# P1: the filter attached, no snapshot, vs no filter (and dm snapshot-origin
# with no snapshot, the pass-through cost of the dm alternative). Also the
# origin without a filter while another device (ram3) has one: what every
# other device of the machine pays (on a stock kernel, the module's hook
# sees every bio of every device once one is attached).
# p1_one CASE REP PATTERN I: the I-th of P1's four measurements
p1_one() {
	case $4 in
	0) m "$1" brd raw yes "$2" "" "$3" /dev/ram0 ;;
	1) p1_filtered "$1" "$2" "$3" "blksnap filter" /dev/ram0 ;;
	2) p1_filtered "$1" "$2" "$3" "blksnap filter on another device" /dev/ram3 ;;
	3)
		if dm_origin /dev/ram0; then
			m "$1" brd "dm snapshot-origin" no "$2" "" "$3" "$ORIGIN_DEV"
		fi
		dm_down ;;
	esac
}

# The order of the four turns by one each repetition: the first run of a
# repetition tends to get more of the host than the ones after it, which
# would pass for a cost of the variants.
case_p1() {
	local r pat i
	for r in $(seq "$reps"); do
		for pat in rand4k seq1M; do
			for i in 0 1 2 3; do
				p1_one "P1-$pat" "$r" $pat $(( (i + r - 1) % 4 ))
			done
		done
	done
}

# p1_filtered CASE REP PATTERN VARIANT FILTERED: a steady run on ram0 while
# the blksnap filter is attached to FILTERED (ram0 itself, or another one)
p1_filtered() {
	local k
	k=$(pattern_kind "$3")
	if [ $BS_OK != 1 ]; then
		na "$1" brd "$4" "$k" "$(unit_of "$k")" "$2"
	elif bs attach "$5" >/dev/null; then
		m "$1" brd "$4" no "$2" "" "$3" /dev/ram0
		bs_detach "$5"
	else
		csv "$1" brd "$4" no "$k" "$(unit_of "$k")" "$2" "" "error: attach of $5 failed"
	fi
}

# p2_variant REP PATTERN WHO: one first overwrite + second overwrite under a
# fresh snapshot made by WHO (blksnap | dm); records P2 (and P5 per chunk).
p2_variant() {
	local r=$1 pat=$2 who=$3 dev var v chunks k unit err copied
	local first=P2-first-$pat second=P2-second-$pat
	chunks=$(( $(numfmt --from=iec "$size") / CHUNK ))
	if [ $pat = rand4k ]; then k=w_iops; else k=w_mibs; fi
	unit=$(unit_of $k)
	if [ $who = blksnap ]; then
		var="blksnap" dev=/dev/ram0
		if [ $BS_OK = 0 ]; then
			na $first brd $var $k "$unit" "$r"; na $second brd $var $k "$unit" "$r"
			return
		fi
		if ! bs_take /dev/ram2 "${RD_MIB}M" /dev/ram0 >/dev/null 2>"$TMP/err"; then
			err="error: create/take failed: $(cat "$TMP/err")"
			csv $first brd $var no $k "$unit" "$r" "" "$err"; csv $second brd $var no $k "$unit" "$r" "" "$err"
			bs_detach /dev/ram0; return
		fi
	else
		var="dm-snapshot"
		if ! { dm_origin /dev/ram0 && dm_snap /dev/ram0 /dev/ram1; }; then
			csv $first brd $var no $k "$unit" "$r" "" "error: dmsetup failed"; dm_down; return
		fi
		dev=$ORIGIN_DEV
	fi
	settle
	log "P2 rep $r $pat $who: first overwrite"
	if [ $pat = rand4k ]; then v=$(first_rand $dev "$size"); else v=$(first_seq $dev "$size"); fi
	log "P2 rep $r $pat $who: second overwrite"
	settle
	err="" copied=""
	if [ $who = blksnap ]; then
		[ "$(bs_error /dev/ram0)" = 0 ] || err="snapshot corrupted (error $(bs_error /dev/ram0))"
		copied=$(ram_chunks ram2)
	else
		dm_snap_ok || err="dm-snapshot invalid: $(dmsetup status $DM_SNAP)"
		copied=$(dm_chunks)
	fi
	csv $first brd "$var" no $k "$unit" "$r" "${v:-}" "${err:-$copied of $chunks chunks copied}"
	m $second brd "$var" no "$r" "$err" "$([ $pat = rand4k ] && echo rand4k-chunk || echo seq1M)" $dev
	if [ $who = blksnap ]; then
		bs_destroy; bs_detach /dev/ram0; discard /dev/ram2
	else
		dm_down; discard /dev/ram1
	fi
	log "P2 rep $r $pat $who: done"
}

# p2_copy_limit REP PATTERN READ WRITE: the first overwrite's ceiling. Every
# write waits for its whole chunk to be read from the origin (READ: MiB/s of
# 1 MiB sequential reads of it) and, with the store overlapped, cannot
# outpace the store either (WRITE: MiB/s of one pass of 1 MiB writes into
# the emptied difference storage, which must allocate its pages as the
# copies do). The lower of the two, divided by the chunk, is the number of
# writes a second into distinct chunks; or itself, in MiB/s written
# sequentially.
p2_copy_limit() {
	local k=w_mibs v="" lim note
	note="raw 1 MiB sequential read ${3:-?} MiB/s; write into the empty store ${4:-?} MiB/s"
	if [ -n "$3" ] && [ -n "$4" ]; then
		lim=$(awk -v r="$3" -v w="$4" 'BEGIN { print (r < w ? r : w) }')
		v=$lim
		if [ $2 = rand4k ]; then
			v=$(awk -v m="$lim" -v c="$CHUNK" 'BEGIN { printf "%.0f", m * 1048576 / c }')
		fi
	else
		note="error: $note"
	fi
	[ $2 = rand4k ] && k=w_iops note="$note; the lower / chunk $((CHUNK / 1024)) KiB"
	csv P2-first-$2 brd "copy limit" yes $k "$(unit_of $k)" "$1" "$v" "$note"
}

case_p2() {
	local r pat p rd wr
	for r in $(seq "$reps"); do
		rd=$(steady sread1M /dev/ram0 2>/dev/null) || rd=
		discard /dev/ram2
		wr=$(first_seq /dev/ram2 "$size" 2>/dev/null) || wr=
		discard /dev/ram2
		for pat in rand4k seq1M; do
			# The first overwrite is judged against the copy limit; the
			# raw run is the second overwrite's baseline.
			if [ $pat = rand4k ]; then p=rand4k-chunk; else p=seq1M; fi
			p2_copy_limit "$r" $pat "$rd" "$wr"
			m P2-first-$pat brd raw no "$r" "" $p /dev/ram0
			printf '%s,%s,%s\n' "P2-second-$pat" "${TITLE[P2-second-$pat]}" \
				"$(tail -n 1 "$CSV" | cut -d, -f3- | awk -F, -v OFS=, '{ $3 = "yes"; print }')" >> "$CSV"
			p2_variant "$r" $pat blksnap
			p2_variant "$r" $pat dm
		done
	done
}

# P3: read the original, the blksnap image and the dm-snapshot of one
# instant, before and after half of the chunks change. Both snapshots of
# ram0 exist together, so each repetition reads all three in turn.
case_p3() {
	local img="" dm=0 state r pat k c bad="" t note_bs note_dm
	if [ $BS_OK = 1 ]; then
		if bs_take /dev/ram2 "${RD_MIB}M" /dev/ram0 >/dev/null 2>"$TMP/err"; then
			SNAP_ID=$(bs snapshot collect | head -n 1)
			img=$(image_of /dev/ram0)
			[ -b "$img" ] || { bad="error: no image"; img=; }
		else
			bad="error: create/take failed: $(cat "$TMP/err")"
		fi
	fi
	if dm_origin /dev/ram0 && dm_snap /dev/ram0 /dev/ram1; then dm=1; fi
	for state in unchanged half; do
		if [ $state = half ]; then
			# Every other chunk of the region, written through the dm origin
			# (the blksnap filter sees the same writes on ram0).
			if [ $dm = 1 ]; then t=$ORIGIN_DEV; else t=/dev/ram0; fi
			fio_job pass DEV=$t SIZE="$size" RW="write:$CHUNK" BS="$CHUNK" QD=4 >/dev/null
			settle 2
		fi
		note_bs="" note_dm=""
		if [ -n "$img" ] && [ "$(bs_error /dev/ram0)" != 0 ]; then note_bs="snapshot corrupted"; fi
		if [ $dm = 1 ] && ! dm_snap_ok; then note_dm="dm-snapshot invalid"; fi
		for r in $(seq "$reps"); do
			for pat in sread1M rread4k; do
				k=$(pattern_kind $pat)
				c=P3-$([ $pat = sread1M ] && echo seq || echo rand)-$state
				m $c brd "raw (original)" yes "$r" "" $pat /dev/ram0
				if [ -n "$img" ]; then
					m $c brd "blksnap image" no "$r" "$note_bs" $pat "$img"
				elif [ $BS_OK = 1 ]; then
					csv $c brd "blksnap image" no $k "$(unit_of $k)" "$r" "" "$bad"
				else
					na $c brd "blksnap image" $k "$(unit_of $k)" "$r"
				fi
				if [ $dm = 1 ]; then
					m $c brd "dm-snapshot" no "$r" "$note_dm" $pat "$SNAPDM_DEV"
				fi
			done
		done
	done
	dm_down
	if [ $BS_OK = 1 ]; then bs_destroy; bs_detach /dev/ram0; fi
	discard /dev/ram1; discard /dev/ram2
}

# stall_run DEV [CMD...]: the latency probe on DEV; CMD runs STALL_AT
# seconds in (its wall time in ms goes to $TMP/took). Prints the max latency.
stall_run() {
	local dev=$1 pid t0 t1 line
	shift
	[ -b "$dev" ] || { echo "stall probe: $dev is not a block device" >&2; return 1; }
	env RAMP=0 RUNTIME=$STALL_RUNTIME DEV="$dev" SIZE=$STALL_SIZE \
		fio --output-format=terse --terse-version=3 "$FIO/stall.fio" > "$TMP/stall.out" 2>"$TMP/fio.err" &
	pid=$!
	rm -f "$TMP/took"
	if [ $# -gt 0 ]; then
		sleep $STALL_AT
		t0=$(date +%s%N)
		if "$@" > "$TMP/cmd.out" 2>&1; then
			t1=$(date +%s%N)
			echo $(( (t1 - t0) / 1000000 )) > "$TMP/took"
		fi
	fi
	wait $pid
	line=$(grep '^3;' "$TMP/stall.out" | tail -n 1)
	[ -n "$line" ] || { echo "stall probe failed: $(cat "$TMP/fio.err")" >&2; return 1; }
	pick w_latmax_ms "$line"
}

# take_n N: create + take a snapshot of ram0 and N-1 more devices (SNAP_ID
# is read back later: this runs in the probe's foreground)
take_n() {
	local devs=(/dev/ram0 /dev/ram3 /dev/ram4 /dev/ram5) id
	id=$(bs snapshot create --storage /dev/ram2 --limit "${RD_MIB}M" "${devs[@]:0:$1}") &&
		bs snapshot take "$id"
}

case_p4() {
	local r n v base_note=
	if [ $BS_OK = 1 ]; then
		bs_detach /dev/ram0 /dev/ram3 /dev/ram4 /dev/ram5
		for d in /dev/ram0 /dev/ram3 /dev/ram4 /dev/ram5; do bs attach $d >/dev/null; done
		base_note="filters attached"
	else
		base_note="no filter (blksnap unavailable)"
	fi
	for r in $(seq "$reps"); do
		v=$(stall_run /dev/ram0) && csv P4-stall brd "no snapshot taken" yes w_latmax_ms ms "$r" "$v" "$base_note"
		for n in 1 2 4; do
			if [ $BS_OK = 0 ]; then
				na P4-stall brd "take $n dev" w_latmax_ms ms "$r"; na P4-take-time brd "take $n dev" take_ms ms "$r"
				continue
			fi
			if [ $n = 1 ]; then
				# The same probe on a snapshot taken just before: what the
				# first copies of chunks cost without a take in the run.
				if bs_take /dev/ram2 "${RD_MIB}M" /dev/ram0 >/dev/null 2>"$TMP/err"; then
					v=$(stall_run /dev/ram0)
					csv P4-stall brd "taken before the run" no w_latmax_ms ms "$r" "${v:-}" "copies only: no take during the run"
					bs_destroy
				else
					csv P4-stall brd "taken before the run" no w_latmax_ms ms "$r" "" "error: $(cat "$TMP/err")"
				fi
				discard /dev/ram2
			fi
			v=$(stall_run /dev/ram0 take_n $n)
			if [ -s "$TMP/took" ]; then
				csv P4-stall brd "take $n dev" no w_latmax_ms ms "$r" "${v:-}"
				csv P4-take-time brd "take $n dev" no take_ms ms "$r" "$(cat "$TMP/took")"
			else
				csv P4-stall brd "take $n dev" no w_latmax_ms ms "$r" "" "error: $(tr '\n' ' ' < "$TMP/cmd.out")"
			fi
			SNAP_ID=$(bs snapshot collect | head -n 1)
			bs_destroy
			discard /dev/ram2
		done
	done
	[ $BS_OK = 1 ] && bs_detach /dev/ram0 /dev/ram3 /dev/ram4 /dev/ram5
	# dm-snapshot: the same probe on the dm origin.
	for r in $(seq "$reps"); do
		dm_origin /dev/ram0 || break
		v=$(stall_run "$ORIGIN_DEV") && csv P4-dm-stall brd "dm origin: no snapshot" yes w_latmax_ms ms "$r" "$v"
		if dm_snap /dev/ram0 /dev/ram1; then
			v=$(stall_run "$ORIGIN_DEV")
			csv P4-dm-stall brd "dm: snapshot made before the run" no w_latmax_ms ms "$r" "${v:-}" "copies only: no creation during the run"
		fi
		dmsetup remove "$DM_SNAP"
		discard /dev/ram1
		v=$(stall_run "$ORIGIN_DEV" dm_snap /dev/ram0 /dev/ram1)
		if [ -s "$TMP/took" ]; then
			csv P4-dm-stall brd "dm: snapshot 1 dev" no w_latmax_ms ms "$r" "${v:-}"
			csv P4-take-time brd "dm: snapshot 1 dev" no take_ms ms "$r" "$(cat "$TMP/took")"
		else
			csv P4-dm-stall brd "dm: snapshot 1 dev" no w_latmax_ms ms "$r" "" "error: $(tr '\n' ' ' < "$TMP/cmd.out")"
		fi
		dm_down
		discard /dev/ram1
	done
}

# P5: CBT tables of sparse devices of 1 GiB, 1 TiB and 16 TiB: dm "zero"
# targets, or dm "error" targets when the kernel has no dm-zero (the
# filter never does I/O of its own on attach or cbtinfo).
case_p5() {
	local name sect c bc bsz m0 m1 out z tgt
	for name in 1GiB:2097152 1TiB:2147483648 16TiB:34359738368; do
		sect=${name#*:} name=${name%%:*} c=P5-cbt-$name
		if [ $BS_OK = 0 ]; then
			na $c dm blksnap cbt_table_bytes bytes 1; continue
		fi
		z=""
		for tgt in zero error; do
			if dmsetup create bench-big --table "0 $sect $tgt" 2>/dev/null; then
				z=$(dm_dev bench-big) && break
				dmsetup remove bench-big
			fi
		done
		if [ -z "$z" ]; then
			csv $c dm-zero blksnap no cbt_table_bytes bytes 1 "" "error: cannot create a $name dm device"; continue
		fi
		settle
		m0=$(kmem)
		if out=$(bs attach "$z" 2>&1) && out=$(bs cbtinfo "$z" --json 2>&1); then
			m1=$(kmem)
			bc=$(json_num block_count <<<"$out") bsz=$(json_num block_size <<<"$out")
			csv $c "dm-$tgt" blksnap no cbt_table_bytes bytes 1 $((2 * bc)) "2 tables x $bc blocks of $bsz bytes"
			csv $c "dm-$tgt" blksnap no slab_vmalloc_on_attach bytes 1 $((m1 - m0)) "Slab+VmallocUsed growth at attach"
		else
			csv $c "dm-$tgt" blksnap no cbt_table_bytes bytes 1 "" "error: $out"
		fi
		bs_detach "$z"
		dmsetup remove bench-big
	done
}

# V: the virtio-blk disks (sparse files on the host, cache=unsafe): tracking
# overhead and first overwrite on vda; blksnap stores on vdb, dm on vdc.
# The stores keep their data on the host, so the guest's memory grows only
# by what the snapshot itself holds: P5's kernel memory per changed chunk is
# measured here, between just before and just after the first overwrite.
# v_first REP WHO: one first overwrite under a fresh snapshot (blksnap|dm)
v_first() {
	local r=$1 who=$2 var dev v m0 u0 m1 u1 err="" copied chunks
	chunks=$(( $(numfmt --from=iec "$VSIZE") / CHUNK ))
	if [ $who = blksnap ]; then
		var=blksnap dev=/dev/vda
		if [ $BS_OK = 0 ]; then
			na V-P2-first-rand4k virtio $var w_iops IOPS "$r"
			na P5-mem-chunk virtio $var slab_vmalloc_per_chunk bytes "$r"
			return
		fi
		if ! bs_take /dev/vdb 1G /dev/vda >/dev/null 2>"$TMP/err"; then
			csv V-P2-first-rand4k virtio $var no w_iops IOPS "$r" "" "error: $(cat "$TMP/err")"
			bs_detach /dev/vda; return
		fi
	else
		var="dm-snapshot"
		if ! { dm_origin /dev/vda && dm_snap /dev/vda /dev/vdc; }; then
			csv V-P2-first-rand4k virtio $var no w_iops IOPS "$r" "" "error: dmsetup failed"; dm_down; return
		fi
		dev=$ORIGIN_DEV
	fi
	mem_read
	m0=$MK u0=$MU
	v=$(first_rand "$dev" "$VSIZE")
	mem_read
	m1=$MK u1=$MU
	if [ $who = blksnap ]; then
		[ "$(bs_error /dev/vda)" = 0 ] || err="snapshot corrupted"
		copied=$chunks	# (no page count for a virtio store)
		bs_destroy; bs_detach /dev/vda; discard /dev/vdb
	else
		dm_snap_ok || err="dm-snapshot invalid"
		copied=$(dm_chunks)
		dm_down; discard /dev/vdc
	fi
	csv V-P2-first-rand4k virtio $var no w_iops IOPS "$r" "${v:-}" "$err"
	if [ -n "${v:-}" ] && [ -z "$err" ]; then
		csv P5-mem-chunk virtio "$var" no slab_vmalloc_per_chunk bytes "$r" $(( (m1 - m0) / copied )) \
			"growth during the first overwrite of $copied chunks"
		csv P5-mem-chunk virtio "$var" no kernel_mem_per_chunk bytes "$r" $(( (u1 - u0) / copied )) \
			"MemTotal-MemFree growth; includes pooled chunk buffers"
	fi
}

case_v() {
	local r
	fio_job pass DEV=/dev/vda SIZE=$VSIZE RW=write BS=1M QD=4 >/dev/null
	for r in $(seq "$reps"); do
		m V-P1-rand4k virtio raw yes "$r" "" rand4k /dev/vda "$VSIZE"
		if [ $BS_OK = 1 ]; then
			if bs attach /dev/vda >/dev/null; then
				m V-P1-rand4k virtio "blksnap filter" no "$r" "" rand4k /dev/vda "$VSIZE"
				bs_detach /dev/vda
			fi
		else
			na V-P1-rand4k virtio "blksnap filter" w_iops IOPS "$r"
		fi
		m V-P2-first-rand4k virtio raw yes "$r" "" rand4k-chunk /dev/vda "$VSIZE"
		v_first "$r" blksnap
		v_first "$r" dm
	done
}

# B: the backup command. Source: a dm-linear device over the first $size of
# the filled ram0 (one image must fit the repository); repository: a fresh
# xfs (reflinks on) on ram3, made anew every repetition; difference storage:
# ram2, discarded before every snapshot. Each repetition: fio reads a
# snapshot image of the source once (1 MiB sequential QD4, as the backup
# reads it), then a full backup, then incremental ones after 0 %, 1 % and
# 10 % of the source's CBT blocks got one 4 KiB write each (through the
# source device, which the filter tracks).
B_SRC=bench-bsrc B_REPO_DEV=/dev/ram3 B_MNT=$TMP/repo
B_REPO=$B_MNT/repo
B_DEV="" B_BYTES=0 B_BLOCK=65536 B_MS="" B_HWM=""

# hwm_poll PID: VmHWM of PID (bytes) as last read, polled every 0.2 s
# without a fork (read -t on a FIFO nobody writes); kills PID after 600 s.
hwm_poll() {
	local pid=$1 k v hwm="" tick end=$((SECONDS + 600))
	exec {tick}<> "$TMP/tick"
	while [ -e "/proc/$pid/status" ]; do
		while read -r k v _; do
			[ "$k" = VmHWM: ] && hwm=$((v * 1024))
		done 2>/dev/null < "/proc/$pid/status"
		[ $SECONDS -lt $end ] || { kill "$pid"; break; }
		read -r -t 0.2 -u "$tick" _
	done
	echo "$hwm"
}

# b_run OUT ERR ARGS...: the tool with ARGS (not through bs: its own pid is
# polled), stdout to OUT, stderr to ERR. B_MS: wall time (ms, from before
# the fork to its exit), B_HWM: its peak RSS (bytes; empty if never read).
b_run() {
	local out=$1 err=$2 pid poller t0 t1 rc
	shift 2
	t0=$EPOCHREALTIME
	"$BSTOOL" "$@" > "$out" 2> "$err" &
	pid=$!
	hwm_poll "$pid" > "$TMP/hwm" &
	poller=$!
	wait "$pid"
	rc=$?
	t1=$EPOCHREALTIME
	wait "$poller"
	B_MS=$(( (${t1/./} - ${t0/./}) / 1000 ))
	B_HWM=$(cat "$TMP/hwm")
	return $rc
}

# b_backup OUT ERR [OPTION...]: one backup of the source into the repository
b_backup() {
	local out=$1 err=$2
	shift 2
	discard /dev/ram2
	b_run "$out" "$err" --json backup "$B_DEV" --to "$B_REPO" --storage /dev/ram2 \
		--limit "${RD_MIB}M" "$@"
}

# b_fresh_repo: a new xfs on the repository device, mounted (errors in $TMP/err)
b_fresh_repo() {
	umount "$B_MNT" 2>/dev/null
	mkdir -p "$B_MNT"
	mkfs.xfs -f -q "$B_REPO_DEV" > "$TMP/err" 2>&1 && mount -t xfs "$B_REPO_DEV" "$B_MNT" 2>> "$TMP/err"
}

# b_points: the repository's points, oldest first, one JSON object a line
b_points() { bs --json list "$B_REPO" | sed 's/{"id":/\n&/g' | grep '^{"id":'; }

# b_change PCT: one 4 KiB write (at a random 4 KiB of the block) into PCT %
# of the source's CBT blocks, chosen at random, in random order; B_WRITTEN
# is the number of blocks written
B_WRITTEN=0
b_change() {
	local nb=$((B_BYTES / B_BLOCK)) k
	k=$(( (nb * $1 + 50) / 100 ))
	B_WRITTEN=0
	{
		echo "fio version 2 iolog"
		echo "$B_DEV add"
		echo "$B_DEV open"
		seq 0 $((nb - 1)) | shuf -n "$k" | awk -v d="$B_DEV" -v b="$B_BLOCK" -v s="$RANDOM" \
			'BEGIN { srand(s) } { printf "%s write %d 4096\n", d, $1 * b + int(rand() * b / 4096) * 4096 }'
		echo "$B_DEV close"
	} > "$TMP/change.iolog"
	fio_job first-rand IOLOG="$TMP/change.iolog" QD=32 > /dev/null && B_WRITTEN=$k
}

# b_err CASE VARIANT BASE METRIC UNIT REP MESSAGE: an error row
b_err() { csv "$1" brd "$2" "$3" "$4" "$5" "$6" "" "error: $7"; }

# b_incr REP CASE PCT: change PCT % of the blocks, back up incrementally,
# record the time, the bytes read and the reference (blksnap changes)
b_incr() {
	local r=$1 c=$2 pct=$3 v="blksnap backup (incremental)" note pts nline pline
	local copied n g out sect ranges changed bjs
	B_WRITTEN=0
	if [ "$pct" != 0 ] && ! b_change "$pct" 2> "$TMP/err"; then
		b_err "$c" "$v" no backup_ms ms "$r" "writing the changes: $(cat "$TMP/err")"; return
	fi
	if ! b_backup "$TMP/b.out" "$TMP/b.err" --quiet; then
		b_err "$c" "$v" no backup_ms ms "$r" "backup failed: $(cat "$TMP/b.err")"; return
	fi
	note=""
	grep -q '"copy":"incremental"' "$TMP/b.out" ||
		note="error: a full copy was made: $(json_str reason < "$TMP/b.out")"
	csv "$c" brd "$v" no backup_ms ms "$r" "$B_MS" "$note"
	pts=$(b_points)
	nline=$(tail -n 1 <<<"$pts") pline=$(tail -n 2 <<<"$pts" | head -n 1)
	copied=$(json_num copied_bytes <<<"$nline")
	n=$(json_num cbt_number <<<"$pline") g=$(json_str cbt_generation <<<"$pline")
	bjs=$(json_num changed_bytes < "$TMP/b.out")
	# The reference: what change tracking lists since the parent point,
	# as of the backup's snapshot (the last one taken).
	if out=$(bs --json changes "$B_DEV" --since "$n" --generation "$g" 2> "$TMP/err") &&
		sect=$(json_num sectors <<<"$out") && [ -n "$sect" ]; then
		changed=$((sect * 512))
		ranges=$(grep -o '"offset"' <<<"$out" | wc -l)
		csv "$c" brd "blksnap changes" yes read_bytes bytes "$r" "$changed" \
			"$B_WRITTEN blocks of $B_BLOCK bytes written"
		csv "$c" brd "$v" no read_bytes bytes "$r" "$copied" \
			"$([ "$bjs" = "$changed" ] || echo "the backup's changed_bytes differ: $bjs")"
		csv "$c" brd "blksnap changes" no changed_ranges ranges "$r" "$ranges"
		if [ "$ranges" -gt 0 ] && [ -n "$copied" ]; then
			csv "$c" brd "$v" no excess_blocks_per_range blocks "$r" \
				"$(awk -v a="$copied" -v b="$changed" -v n="$ranges" -v k="$B_BLOCK" \
					'BEGIN { printf "%.3g", (a - b) / n / k }')" \
				"(read - changed) / ranges / CBT block; the target: at most 1"
		fi
	else
		b_err "$c" "blksnap changes" yes read_bytes bytes "$r" \
			"changes --since $n: $(cat "$TMP/err") $out"
		csv "$c" brd "$v" no read_bytes bytes "$r" "$copied"
	fi
}

# b_mibs MS: the source's size / MS milliseconds, in MiB/s
b_mibs() { awk -v b="$B_BYTES" -v t="$1" 'BEGIN { printf "%.1f", b / 1048576 / (t / 1000) }'; }

# b_rep REP: one repetition of every B measurement, in turn
b_rep() {
	local r=$1 img line full_ms="" pct c rate copied t0 t1 cp="dd copy of the image into the repository"
	# The baseline: one pass of fio over a snapshot image of the source;
	# then what a plain copy of that image into the (fresh) repository
	# costs: 1 MiB direct reads, buffered writes into an xfs file, fsync.
	b_fresh_repo || b_err B-full "$cp" no r_mibs MiB/s "$r" "repository: $(cat "$TMP/err")"
	discard /dev/ram2
	if bs_take /dev/ram2 "${RD_MIB}M" "$B_DEV" > /dev/null 2> "$TMP/err"; then
		img=$(image_of "$B_DEV")
		if [ -b "$img" ] && line=$(fio_job pass DEV="$img" SIZE="$B_BYTES" RW=read BS=1M QD=4 2> "$TMP/err"); then
			csv B-full brd "fio read of the image" yes r_mibs MiB/s "$r" "$(pick r_mibs "$line")" \
				"one pass of 1 MiB reads at QD4"
		else
			b_err B-full "fio read of the image" yes r_mibs MiB/s "$r" "image $img: $(cat "$TMP/err")"
		fi
		if mountpoint -q "$B_MNT"; then
			t0=$EPOCHREALTIME
			if dd if="$img" of="$B_MNT/dd.img" bs=1M iflag=direct conv=fsync status=none 2> "$TMP/err"; then
				t1=$EPOCHREALTIME
				csv B-full brd "$cp" no r_mibs MiB/s "$r" "$(b_mibs $(( (${t1/./} - ${t0/./}) / 1000 )))" \
					"dd: 1 MiB direct reads (QD1); buffered writes to an xfs file; fsync"
			else
				b_err B-full "$cp" no r_mibs MiB/s "$r" "$(cat "$TMP/err")"
			fi
		fi
		bs_destroy
	else
		b_err B-full "fio read of the image" yes r_mibs MiB/s "$r" "create/take failed: $(cat "$TMP/err")"
	fi
	# The full backup into an empty repository: progress on (JSON lines
	# on stderr, 4 a second), for the rate of its copy phase.
	if ! b_fresh_repo; then
		b_err B-full "blksnap backup --full" no r_mibs MiB/s "$r" "repository: $(cat "$TMP/err")"
	elif b_backup "$TMP/b.out" "$TMP/b.err" --full; then
		full_ms=$B_MS
		csv B-full brd "blksnap backup --full" no r_mibs MiB/s "$r" "$(b_mibs "$B_MS")" \
			"source size / wall time (tool start; take; copy; fsync; commit; destroy)"
		rate=$(grep '"bytes_per_second"' "$TMP/b.err" | tail -n 1 | json_num bytes_per_second)
		csv B-full brd "blksnap backup --full: copy phase" no r_mibs MiB/s "$r" \
			"$([ -n "$rate" ] && awk -v b="$rate" 'BEGIN { printf "%.1f", b / 1048576 }')" \
			"the tool's last progress rate: bytes stored / time since the copy began (no fsync)"
		csv B-full brd "blksnap backup --full" no backup_ms ms "$r" "$B_MS"
		csv B-full brd "blksnap backup --full" no rss_peak_bytes bytes "$r" "$B_HWM" \
			"VmHWM of the tool (polled every 0.2 s)"
		copied=$(b_points | tail -n 1 | json_num copied_bytes)
		csv B-full brd "blksnap backup --full" no read_bytes bytes "$r" "$copied" \
			"copied_bytes of the point; the source has $B_BYTES bytes"
	else
		b_err B-full "blksnap backup --full" no r_mibs MiB/s "$r" "backup failed: $(cat "$TMP/b.err")"
	fi
	for pct in 0 1 10; do
		c=B-incr-${pct}pct
		if [ -z "$full_ms" ]; then
			b_err "$c" "blksnap backup --full" yes backup_ms ms "$r" "no full backup in this repetition"
			continue
		fi
		csv "$c" brd "blksnap backup --full" yes backup_ms ms "$r" "$full_ms" "this repetition's full backup"
		b_incr "$r" "$c" "$pct"
	done
}

case_b() {
	local r pct id
	if [ $BS_OK != 1 ]; then
		for r in $(seq "$reps"); do
			csv B-full brd "fio read of the image" yes r_mibs MiB/s "$r" "" "blksnap unavailable: $BS_WHY"
			na B-full brd "blksnap backup --full" r_mibs MiB/s "$r"
			for pct in 0 1 10; do
				csv B-incr-${pct}pct brd "blksnap backup --full" yes backup_ms ms "$r" "" \
					"blksnap unavailable: $BS_WHY"
				na B-incr-${pct}pct brd "blksnap backup (incremental)" backup_ms ms "$r"
			done
		done
		return
	fi
	B_BYTES=$(numfmt --from=iec "$size")
	rm -f "$TMP/tick"
	mkfifo "$TMP/tick"
	if ! dmsetup create "$B_SRC" --table "0 $((B_BYTES / 512)) linear /dev/ram0 0" ||
		! B_DEV=$(dm_dev "$B_SRC") || ! bs attach "$B_DEV" > /dev/null; then
		b_err B-full "blksnap backup --full" no r_mibs MiB/s 1 "cannot set up the source (dm-linear over ram0, filter)"
		dmsetup remove "$B_SRC" 2>/dev/null
		return
	fi
	B_BLOCK=$(bs cbtinfo "$B_DEV" --json | json_num block_size)
	meta b_source "$B_DEV: dm-linear over the first $size of ram0; CBT block $B_BLOCK bytes"
	meta b_repository "xfs on $B_REPO_DEV (made anew every repetition); difference storage /dev/ram2"
	for r in $(seq "$reps"); do
		log "B rep $r"
		b_rep "$r"
	done
	# A backup that failed hard could leave its snapshot behind.
	for id in $(bs snapshot collect); do bs snapshot destroy "$id" > /dev/null; done
	umount "$B_MNT"
	discard "$B_REPO_DEV" /dev/ram2
	bs_detach "$B_DEV"
	dmsetup remove "$B_SRC"
}

# --- main ---------------------------------------------------------------------
start=$(date +%s)
log "kernel $(uname -r), $(nproc) CPUs, $(( $(mi MemTotal) >> 20 )) MiB; cases: $cases; reps=$reps runtime=${runtime}s"
modprobe brd rd_nr=$RD_NR rd_size=$((RD_MIB * 1024)) || { echo "cannot load brd" >&2; exit 1; }
probe_blksnap
if [ $BS_OK = 1 ]; then
	shift_=$(cat /sys/module/blksnap/parameters/chunk_minimum_shift)
	[ "$shift_" -ge 12 ] || shift_=12
	CHUNK=$((1 << shift_))
	log "blksnap loaded: $(bs version 2>/dev/null | tr '\n' ' ')"
else
	CHUNK=$((256 << 10))
	log "blksnap unavailable: $BS_WHY"
fi
meta kernel "$(uname -r)"
meta cpus "$(nproc)"
meta mem_mib $(( $(mi MemTotal) >> 20 ))
meta reps "$reps"
meta runtime "$runtime"
meta ramp "$ramp"
meta size "$size"
meta brd "rd_nr=$RD_NR rd_size=${RD_MIB}MiB"
meta chunk "$CHUNK"
meta vsize "$VSIZE"
meta stall "size=$STALL_SIZE runtime=${STALL_RUNTIME}s take_at=${STALL_AT}s"
meta blksnap_ok "$BS_OK"
meta filter_backend "$BS_BACKEND"
meta blksnap_why "$BS_WHY"
meta blksnap_version "$( [ $BS_OK = 1 ] && bs version 2>/dev/null | tr '\n' ' ')"
meta fio "$(fio --version)"

# Fill the origin once so that every read and copy touches real pages.
log "filling /dev/ram0"
fio_job pass DEV=/dev/ram0 SIZE=${RD_MIB}M RW=write BS=1M QD=4 >/dev/null

for c in P1 P2 P3 P4 P5 V B; do
	want $c || continue
	log "case $c"
	t=$(date +%s)
	case_${c,,}
	meta "secs_$c" $(( $(date +%s) - t ))
	log "case $c done in $(( $(date +%s) - t ))s"
done
meta secs_total $(( $(date +%s) - start ))
bs_detach /dev/ram0 /dev/vda
[ $BS_OK = 1 ] && rmmod blksnap
log "done in $(( $(date +%s) - start ))s: $(( $(wc -l < "$CSV") - 1 )) rows"
exit 0
