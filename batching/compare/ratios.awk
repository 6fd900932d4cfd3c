# ratios.awk summarises `go test -bench` output from run.sh: the median of
# each metric per benchmark, then how much faster xlbatch is.

function median(name, metric,    n, i, j, t, v) {
	n = count[name, metric]
	if (n == 0) return ""
	for (i = 1; i <= n; i++) v[i] = val[name, metric, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
	return (n % 2) ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
}

function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "n/a" : sprintf("%.1f×", a / b) }

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
	printf "%-40s %12s %12s %12s %12s\n", "benchmark (median)", "ns/op", "ns/key", "cpu-ns/key", "allocs/key"
	for (k = 1; k <= names; k++) {
		n = order[k]
		printf "%-40s %12s %12s %12s %12s\n", n, median(n, "ns/op"), median(n, "ns/key"), median(n, "cpu-ns/key"), median(n, "allocs/key")
	}
	print ""
	split("Bulk10k Concurrent10k", workloads, " ")
	for (w = 1; w <= 2; w++) {
		b = "Benchmark" workloads[w]
		x = b "/xlbatch"
		for (o = 1; o <= 2; o++) {
			other = (o == 1) ? "dataloadgen" : "graph-gophers"
			y = b "/" other
			printf "%s: xlbatch is %s faster per key than %s (CPU: %s)\n", workloads[w],
				ratio(median(y, "ns/key"), median(x, "ns/key")), other,
				ratio(median(y, "cpu-ns/key"), median(x, "cpu-ns/key"))
		}
	}
	for (o = 1; o <= 2; o++) {
		other = (o == 1) ? "dataloadgen" : "graph-gophers"
		printf "Lone load: xlbatch's latency is %s lower than %s's\n",
			ratio(median("BenchmarkLoneLoad/" other, "ns/op"), median("BenchmarkLoneLoad/xlbatch", "ns/op")), other
	}
}
