package state

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestWatchFoldsChangesPerObject(t *testing.T) {
	s, _ := NewMemory()
	if err := s.PutFunction(testFunction("kept", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFunction(testFunction("deleted", "")); err != nil {
		t.Fatal(err)
	}
	w, snap := s.Watch(WatchFunctions | WatchStatuses)
	defer w.Close()
	if fns, _ := snap.Functions(); len(fns) != 2 {
		t.Fatalf("snapshot holds %d functions, want 2", len(fns))
	}
	select {
	case <-w.Ready():
		t.Fatal("ready before any change")
	default:
	}

	orig, _ := s.Function(nil, "kept")
	v2 := orig.Copy()
	v2.Version = 2
	v3 := orig.Copy()
	v3.Version = 3
	s.PutFunction(v2)
	s.PutFunction(v3)
	s.DeleteFunction("deleted")
	s.PutFunction(testFunction("fleeting", ""))
	s.DeleteFunction("fleeting")
	s.PutStatus(&FunctionStatus{FunctionID: "kept", Phase: PhaseRunning})
	s.PutTask(&Task{ID: "t", FunctionID: "kept"}) // not watched

	select {
	case <-w.Ready():
	case <-time.After(time.Second):
		t.Fatal("not ready after changes")
	}
	c := w.Take()
	if len(c.Functions) != 2 || len(c.Statuses) != 1 || len(c.Tasks) != 0 {
		t.Fatalf("changes = %+v", c)
	}
	if k := c.Functions["kept"]; k.Before != orig || k.After != v3 {
		t.Errorf("kept: before v%d after v%d, want the original and v3", k.Before.Version, k.After.Version)
	}
	if d := c.Functions["deleted"]; d.Before == nil || d.After != nil {
		t.Errorf("deleted: %+v", d)
	}
	if st := c.Statuses["kept"]; st.Before != nil || st.After == nil || st.After.Phase != PhaseRunning {
		t.Errorf("status: %+v", st)
	}
	if c := w.Take(); c.Len() != 0 {
		t.Errorf("second Take = %+v, want nothing", c)
	}
	w.Close()
	s.PutFunction(testFunction("after-close", ""))
	if c := w.Take(); c.Len() != 0 {
		t.Errorf("closed watch collected %+v", c)
	}
}

// The snapshot a watch starts with plus every change it then delivers is
// the store, whatever concurrent writers do meanwhile: nothing is missed
// and nothing is applied out of order.
func TestWatchSnapshotPlusChangesIsTheStore(t *testing.T) {
	s, _ := NewMemory()
	const keys = 40
	write := func(r *rand.Rand) {
		id := fmt.Sprintf("t%02d", r.IntN(keys))
		switch r.IntN(4) {
		case 0:
			s.DeleteTask(id)
		case 1:
			var b Batch
			for range 1 + r.IntN(5) {
				b.PutTask(&Task{ID: fmt.Sprintf("t%02d", r.IntN(keys)), FunctionID: "f", Port: uint32(r.IntN(1000))})
			}
			b.DeleteTask(fmt.Sprintf("t%02d", r.IntN(keys)))
			if err := s.Commit(&b); err != nil {
				t.Error(err)
			}
		default:
			s.PutTask(&Task{ID: id, FunctionID: "f", Port: uint32(r.IntN(1000))})
		}
	}
	seed := rand.New(rand.NewPCG(1, 2))
	for range 30 {
		write(seed)
	}

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 500 {
				write(r)
			}
		}()
	}
	w, snap := s.Watch(WatchTasks)
	defer w.Close()
	mirror := map[string]*Task{}
	ts, _ := snap.Tasks()
	for _, tk := range ts {
		mirror[tk.ID] = tk
	}
	apply := func() {
		for id, c := range w.Take().Tasks {
			if have := mirror[id]; have != c.Before {
				t.Errorf("task %s: change starts from %p, mirror holds %p", id, c.Before, have)
			}
			if c.After == nil {
				delete(mirror, id)
			} else {
				mirror[id] = c.After
			}
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-w.Ready():
			apply()
		case <-done:
			running = false
		}
	}
	apply()
	ts, _ = s.Tasks(nil)
	if len(ts) != len(mirror) {
		t.Fatalf("store has %d tasks, mirror %d", len(ts), len(mirror))
	}
	for _, tk := range ts {
		if mirror[tk.ID] != tk {
			t.Errorf("task %s differs", tk.ID)
		}
	}
}
