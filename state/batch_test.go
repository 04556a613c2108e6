package state

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestBatchIsDurableAndVisibleTogether(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fob.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutTask(&Task{ID: "old", FunctionID: "f", State: TaskFailed}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutStatus(&FunctionStatus{FunctionID: "gone", Phase: PhasePending}); err != nil {
		t.Fatal(err)
	}
	var b Batch
	for i := range 20 {
		b.PutTask(&Task{ID: fmt.Sprintf("t%02d", i), FunctionID: "f", State: TaskStaging, Port: uint32(31000 + i)})
	}
	b.PutStatus(&FunctionStatus{FunctionID: "f", Version: 1, Phase: PhaseRunning})
	b.DeleteTask("old")
	b.DeleteStatus("gone")
	b.DeleteTask("never-there") // deleting what is absent is no error
	if b.Len() != 24 {
		t.Fatalf("Len = %d", b.Len())
	}
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		ts, _ := s.TasksOf(nil, "f")
		if len(ts) != 20 {
			t.Fatalf("%d tasks, want 20", len(ts))
		}
		if st, err := s.Status(nil, "f"); err != nil || st.Phase != PhaseRunning {
			t.Fatalf("status = %+v, %v", st, err)
		}
		if _, err := s.Status(nil, "gone"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted status: %v", err)
		}
		if _, err := s.Task(nil, "old"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted task: %v", err)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	check(s2)
}

func TestBatchLaterWriteWins(t *testing.T) {
	s, _ := NewMemory()
	var b Batch
	b.PutTask(&Task{ID: "a", FunctionID: "f", State: TaskStaging})
	b.PutTask(&Task{ID: "a", FunctionID: "f", State: TaskRunning})
	b.PutTask(&Task{ID: "b", FunctionID: "f", State: TaskRunning})
	b.DeleteTask("b")
	b.DeleteTask("c")
	b.PutTask(&Task{ID: "c", FunctionID: "f", State: TaskStarting})
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	got := map[string]TaskState{}
	ts, _ := s.Tasks(nil)
	for _, tk := range ts {
		got[tk.ID] = tk.State
	}
	if len(got) != 2 || got["a"] != TaskRunning || got["c"] != TaskStarting {
		t.Fatalf("tasks = %v", got)
	}
}

// A batch that cannot be written leaves nothing behind, on disk or in
// memory: bbolt refuses the empty key, so the whole transaction fails.
func TestBatchFailureWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fob.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := s.Watch(WatchTasks)
	defer w.Close()
	var b Batch
	b.PutTask(&Task{ID: "ok", FunctionID: "f", State: TaskStaging})
	b.PutTask(&Task{ID: "", FunctionID: "f", State: TaskStaging})
	if err := s.Commit(&b); err == nil {
		t.Fatal("a batch with an empty key was committed")
	}
	if _, err := s.Task(nil, "ok"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("part of a failed batch is visible: %v", err)
	}
	if c := w.Take(); c.Len() != 0 {
		t.Fatalf("a failed batch was published: %+v", c)
	}
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Task(nil, "ok"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("part of a failed batch is on disk: %v", err)
	}
}

// BenchmarkCommitTasks is BenchmarkPutTask through batches of the given
// size, from one goroutine as the event loop writes: ns/op is per task.
func BenchmarkCommitTasks(b *testing.B) {
	for _, n := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "fob.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; {
				var batch Batch
				for j := 0; j < n && i < b.N; j, i = j+1, i+1 {
					batch.PutTask(&Task{ID: fmt.Sprintf("fob.f%d.v1.x", i), FunctionID: fmt.Sprintf("f%d", i), Version: 1,
						Host: "127.0.0.1", Port: 31000, State: TaskStaging, LaunchedAt: now, UpdatedAt: now})
				}
				if err := s.Commit(&batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
