# ratios.awk summarises `go test -bench` output from run.sh: per benchmark
# the best (lowest) and the median of each metric over the runs, then how
# much faster xlbatch is. On a machine shared with other work, noise only
# ever adds time, so the best run is the steadier estimate; both are shown.

function stat(name, metric, which,    n, i, j, t, v) {
	n = count[name, metric]
	if (n == 0) return ""
	for (i = 1; i <= n; i++) v[i] = val[name, metric, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
	if (which == "best") return v[1]
	return (n % 2) ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
}

function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "n/a" : sprintf("%.1f×", a / b) }

function cell(name, metric) {
	if (stat(name, metric, "best") == "") return sprintf("%21s", "")
	return sprintf("%10.4g %10.4g", stat(name, metric, "best"), stat(name, metric, "median"))
}

/^Benchmark/ {
	name = $1
	sub(/-[0-9]+$/, "", name)
	if (!(name in seen)) { seen[name] = 1; order[++names] = name }
	for (i = 3; i < NF; i += 2) {
		metric = $(i+1)
		count[name, metric]++
		val[name, metric, count[name, metric]] = $i
	}
}

END {
	printf "%-36s %21s %21s %21s %21s\n", "best / median of the runs", "ns/op", "ns/key", "cpu-ns/key", "allocs/key"
	for (k = 1; k <= names; k++) {
		n = order[k]
		printf "%-36s %s %s %s %s\n", n, cell(n, "ns/op"), cell(n, "ns/key"), cell(n, "cpu-ns/key"), cell(n, "allocs/key")
	}
	print ""
	split("Bulk10k Concurrent10k", workloads, " ")
	for (w = 1; w <= 2; w++) {
		x = "Benchmark" workloads[w] "/xlbatch"
		for (o = 1; o <= 2; o++) {
			other = (o == 1) ? "dataloadgen" : "graph-gophers"
			y = "Benchmark" workloads[w] "/" other
			printf "%s vs %s: xlbatch is %s faster per key (median %s; CPU time: %s, median %s)\n", workloads[w], other,
				ratio(stat(y, "ns/key", "best"), stat(x, "ns/key", "best")),
				ratio(stat(y, "ns/key", "median"), stat(x, "ns/key", "median")),
				ratio(stat(y, "cpu-ns/key", "best"), stat(x, "cpu-ns/key", "best")),
				ratio(stat(y, "cpu-ns/key", "median"), stat(x, "cpu-ns/key", "median"))
		}
	}
	for (o = 1; o <= 2; o++) {
		other = (o == 1) ? "dataloadgen" : "graph-gophers"
		y = "BenchmarkLoneLoad/" other
		x = "BenchmarkLoneLoad/xlbatch"
		printf "Lone load vs %s: xlbatch adds %s less latency (median %s)\n", other,
			ratio(stat(y, "ns/op", "best"), stat(x, "ns/op", "best")), ratio(stat(y, "ns/op", "median"), stat(x, "ns/op", "median"))
	}
}
