package state

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPutTask is one durable task write, as the scheduler's event loop
// makes several per launch: alone (the loop waits for each write) and from
// many goroutines (group commit folds them into one fsync).
func BenchmarkPutTask(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "fob.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	var n atomic.Int64
	task := func() *Task {
		i := n.Add(1)
		return &Task{ID: fmt.Sprintf("fob.f%d.v1.x", i), FunctionID: fmt.Sprintf("f%d", i), Version: 1,
			Host: "127.0.0.1", Port: 31000, State: TaskStaging, LaunchedAt: now, UpdatedAt: now}
	}
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.PutTask(task()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(16)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.PutTask(task()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
