# Ratios of each variant to its case's baseline, as horizontal bars on a log
# scale: the bar runs from 1 (the baseline) to the median, the whiskers span
# the min-max of the per-repetition ratios.
#   gnuplot -e "tput='T.dat'; lat='L.dat'; nt=N; nl=M; out='X.png'; when='...'" bench/plot.gp
# Data files: label <TAB> median <TAB> min <TAB> max, one line per bar.
set terminal pngcairo size 1100, (260 + 24 * (nt + nl)) font "sans,10"
set output out
set datafile separator "\t"
set logscale x 10
set xtics (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
set grid xtics
set style fill solid 0.5 border -1
unset key
set yrange [*:*] reverse
set offsets 0, 0, 0.6, 0.6
set lmargin 60
set multiplot title "blksnap benchmarks: variant / baseline (".when.")"
if (nt > 0) {
	if (nl > 0) { set size 1, 0.15 + 0.8 * nt / (nt + nl); set origin 0, 0.8 * nl / (nt + nl) } else { set size 1, 0.95; set origin 0, 0 }
	stats tput using 3 nooutput
	lo = STATS_min < 1 ? STATS_min : 1
	stats tput using 4 nooutput
	hi = STATS_max > 1 ? STATS_max : 1
	set xrange [lo / 1.6 : hi * 1.6]
	set title "throughput (IOPS or MiB/s): below 1 = slower than the baseline"
	set arrow 1 from 1, graph 0 to 1, graph 1 nohead lw 2 lc rgb "black"
	plot tput using ($2):0:($2 < 1 ? $2 : 1):($2 < 1 ? 1 : $2):($0 - 0.35):($0 + 0.35):ytic(1) \
		with boxxyerror lc rgb "#4c78a8", \
	     tput using 2:0:3:4 with xerrorbars lc rgb "black" pt 7 ps 0.4, \
	     tput using 4:0:(sprintf(" %.2f", $2)) with labels left offset 0.5, 0
}
if (nl > 0) {
	if (nt > 0) { set size 1, 0.8 * nl / (nt + nl); set origin 0, 0 } else { set size 1, 0.95; set origin 0, 0 }
	stats lat using 3 nooutput
	lo = STATS_min < 1 ? STATS_min : 1
	stats lat using 4 nooutput
	hi = STATS_max > 1 ? STATS_max : 1
	set xrange [lo / 1.6 : hi * 1.6]
	set title "longest write latency while a snapshot is taken: above 1 = longer than the baseline"
	set arrow 1 from 1, graph 0 to 1, graph 1 nohead lw 2 lc rgb "black"
	plot lat using ($2):0:($2 < 1 ? $2 : 1):($2 < 1 ? 1 : $2):($0 - 0.35):($0 + 0.35):ytic(1) \
		with boxxyerror lc rgb "#e45756", \
	     lat using 2:0:3:4 with xerrorbars lc rgb "black" pt 7 ps 0.4, \
	     lat using 4:0:(sprintf(" %.2f", $2)) with labels left offset 0.5, 0
}
unset multiplot
