package geoapifytest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
	"github.com/xlbatch/xlbatch/geoapify/offline"
)

// benchSubmit posts body and reads the answer whole.
func benchSubmit(b *testing.B, c *http.Client, url string, body []byte) {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || n == 0 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkFakeBatchJob measures the fake answering a 1000-address job at
// once (answers cached after the first round), over HTTP on loopback.
func BenchmarkFakeBatchJob(b *testing.B) {
	s := geoapifytest.NewServer(geoapifytest.Options{DoneAtOnce: true, Lookup: town})
	defer s.Close()
	c := s.Client()
	defer c.CloseIdleConnections()
	body := []byte(jsonTexts(1000))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		benchSubmit(b, c, s.URL+"/v1/batch/geocode/search", body)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/address")
}

// BenchmarkFakeOfflineAnswers measures first-time answers from the default
// offline gazetteer: every job holds 1000 addresses never seen before.
func BenchmarkFakeOfflineAnswers(b *testing.B) {
	offline.Default().Lookup("Paris", "") // load the gazetteer outside the timing
	s := geoapifytest.NewServer(geoapifytest.Options{DoneAtOnce: true})
	defer s.Close()
	c := s.Client()
	defer c.CloseIdleConnections()
	cities := []string{"London", "Paris", "Berlin", "Madrid", "Rome", "Tokyo", "Sydney", "Chicago", "Lagos", "Lima"}
	round := 0
	b.ReportAllocs()
	for b.Loop() {
		ts := make([]string, 1000)
		for i := range ts {
			ts[i] = fmt.Sprintf("%d High Street %d, %s", i, round, cities[i%len(cities)])
		}
		round++
		body, _ := json.Marshal(ts)
		benchSubmit(b, c, s.URL+"/v1/batch/geocode/search", body)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/address")
}

// BenchmarkFakeSearchParallel measures single-address requests from
// parallel clients.
func BenchmarkFakeSearchParallel(b *testing.B) {
	s := geoapifytest.NewServer(geoapifytest.Options{Lookup: town})
	defer s.Close()
	c := s.Client()
	defer c.CloseIdleConnections()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(s.URL + "/v1/geocode/search?text=somewhere&format=json")
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
