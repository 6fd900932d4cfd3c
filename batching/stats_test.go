package batching

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestOnBatchStatsAndDebugLog(t *testing.T) {
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	logger := zerolog.New(zerolog.SyncWriter(lockedWriter{&logMu, &logBuf})).Level(zerolog.DebugLevel)
	var infoMu sync.Mutex
	var infos []BatchInfo
	g := newGate()
	b := New(g.fn, Options[int, int]{
		MaxInFlight: 1, Logger: logger, Name: "test",
		OnBatch: func(i BatchInfo) { infoMu.Lock(); infos = append(infos, i); infoMu.Unlock() },
	})

	first := loads(t, b, 1)
	g.next(t)
	rest := loads(t, b, 2, 3, 3)
	waitFor(t, "2 queued keys", func() bool { return b.Stats().Queued == 2 })
	time.Sleep(20 * time.Millisecond) // the queued keys' wait, visible in the stats
	st := b.Stats()
	if st.InFlight != 1 || st.Queued != 2 || st.Merged != 1 || st.Loads != 4 {
		t.Errorf("mid-run stats %+v", st)
	}
	close(g.release)
	first()
	rest()
	closeNow(t, b)

	st = b.Stats()
	if st.Batches != 2 || st.BatchedKeys != 3 || st.KeysPerBatch() != 1.5 || st.InFlight != 0 || st.Queued != 0 {
		t.Errorf("final stats %+v", st)
	}
	if st.MaxQueueWait < 20*time.Millisecond || st.QueueWait < 2*20*time.Millisecond {
		t.Errorf("queue wait %v (max %v) does not show the 20ms back-pressure", st.QueueWait, st.MaxQueueWait)
	}
	if len(infos) != 2 || infos[0].Size != 1 || infos[1].Size != 2 || infos[1].OldestWait < 20*time.Millisecond || infos[1].Attempt != 1 {
		t.Errorf("OnBatch infos %+v", infos)
	}

	lines := bytes.Split(bytes.TrimSpace(logBuf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want one per batch:\n%s", len(lines), logBuf.String())
	}
	var line map[string]any
	if err := json.Unmarshal(lines[1], &line); err != nil {
		t.Fatal(err)
	}
	if line["level"] != "debug" || line["batcher"] != "test" || line["size"] != 2.0 ||
		line["oldest_wait"].(float64) < 20 || line["duration"] == nil {
		t.Errorf("log line %s", lines[1])
	}
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestQuietLoggerWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	b := New(times10, Options[int, int]{Logger: zerolog.New(&buf).Level(zerolog.InfoLevel)})
	b.Load(context.Background(), 1)
	closeNow(t, b)
	if buf.Len() != 0 {
		t.Errorf("info-level logger got %q", buf.String())
	}
}
