# Ratios of each variant to its case's baseline, as horizontal bars on a log
# scale: the bar runs from 1 (the baseline) to the median, the whiskers span
# the min-max of the per-repetition ratios.
#   gnuplot -e "tput='T.dat'; lat='L.dat'; nt=N; nl=M; out='X.png'; when='...'" bench/plot.gp
# Data files: label <TAB> median <TAB> min <TAB> max, one line per bar.
# Heights in pixels: each panel gets room for its title and axis, plus 26
# pixels per bar.
ptop = nt > 0 ? 110 + 26 * nt : 0
pbot = nl > 0 ? 110 + 26 * nl : 0
H = 40 + ptop + pbot
set terminal pngcairo size 1100, H font "sans,10"
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
	set size 1, 1.0 * ptop / H
	set origin 0, 1.0 * pbot / H
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
	     tput using 4:0:($2 < 0.1 ? sprintf(" %.2g", $2) : sprintf(" %.2f", $2)) with labels left offset 0.5, 0
}
if (nl > 0) {
	set size 1, 1.0 * pbot / H
	set origin 0, 0
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
	     lat using 4:0:($2 < 0.1 ? sprintf(" %.2g", $2) : sprintf(" %.2f", $2)) with labels left offset 0.5, 0
}
unset multiplot
