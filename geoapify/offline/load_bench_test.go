package offline

import "testing"

// BenchmarkLoad measures building the index from the embedded file, which
// the first lookup in a process pays once.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := newIndex(embedded); err != nil {
			b.Fatal(err)
		}
	}
}
