package state

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"
)

func testFunction(id, name string) *Function {
	return &Function{ID: id, Name: name, Language: "python", Code: []byte("def callme(): return 1"), Version: 1, Instances: 1}
}

func TestFunctionsRoundTrip(t *testing.T) {
	s, err := NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutFunction(testFunction("a", "alpha")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFunction(testFunction("b", "")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref     string
		wantID  string
		wantErr error
	}{
		{"a", "a", nil},
		{"alpha", "a", nil},
		{"b", "b", nil},
		{"missing", "", ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			f, err := s.FunctionByRef(nil, tc.ref)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && f.ID != tc.wantID {
				t.Fatalf("id = %s, want %s", f.ID, tc.wantID)
			}
		})
	}
	if err := s.PutFunction(testFunction("c", "alpha")); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("duplicate name: err = %v, want ErrNameTaken", err)
	}
	fns, _ := s.Functions(nil)
	if len(fns) != 2 {
		t.Fatalf("got %d functions, want 2", len(fns))
	}
}

func TestWatchFiresOnTaskChange(t *testing.T) {
	s, _ := NewMemory()
	ws := memdb.NewWatchSet()
	if _, err := s.RunningTasksOf(ws, "f"); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		s.PutTask(&Task{ID: "t1", FunctionID: "f", State: TaskRunning})
	}()
	if timedOut := ws.Watch(time.After(5 * time.Second)); timedOut {
		t.Fatal("watch did not fire when a task of the function was written")
	}
	run, _ := s.RunningTasksOf(nil, "f")
	if len(run) != 1 || run[0].ID != "t1" {
		t.Fatalf("running tasks = %+v", run)
	}
}

func TestDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fob.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent writers exercise bolt's group commit.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := string(rune('A'+i%26)) + string(rune('a'+i/26))
			if err := s.PutFunction(testFunction(id, "")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	s.PutTask(&Task{ID: "t1", FunctionID: "Aa", State: TaskRunning, Port: 31000})
	s.PutStatus(&FunctionStatus{FunctionID: "Aa", Phase: PhaseRunning})
	s.SetFrameworkID("fw-1")
	s.DeleteFunction("Ba")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	fns, _ := s2.Functions(nil)
	if len(fns) != 49 {
		t.Fatalf("reopened store has %d functions, want 49", len(fns))
	}
	if _, err := s2.Function(nil, "Ba"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted function came back: %v", err)
	}
	if task, err := s2.Task(nil, "t1"); err != nil || task.Port != 31000 {
		t.Fatalf("task = %+v, %v", task, err)
	}
	if id, _ := s2.FrameworkID(); id != "fw-1" {
		t.Fatalf("framework id = %q", id)
	}
	if st, err := s2.Status(nil, "Aa"); err != nil || st.Phase != PhaseRunning {
		t.Fatalf("status = %+v, %v", st, err)
	}
}

func TestCorruptFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fob.db")
	if err := os.WriteFile(path, []byte("this is not a bolt file, it is garbage of some length........"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil {
		t.Fatal("opening a corrupt state file succeeded; want an error")
	}
}

// A truncated file makes bbolt touch mapped pages beyond its end, a
// memory fault: it must still be an error, not a crash.
func TestTruncatedFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fob.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		f := testFunction(string(rune('a'+i%26))+string(rune('a'+i/26)), "")
		f.Code = make([]byte, 8192)
		if err := s.PutFunction(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b[:len(b)/3], 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("opening a truncated state file succeeded; want an error")
	}
}

func TestTerminalStates(t *testing.T) {
	cases := map[TaskState]bool{
		TaskStaging: false, TaskStarting: false, TaskRunning: false, TaskKilling: false,
		TaskFinished: true, TaskFailed: true, TaskKilled: true, TaskLost: true, TaskError: true,
		TaskDropped: true, TaskUnreachable: false, TaskGone: true, TaskUnknown: false,
	}
	for s, want := range cases {
		if got := s.Terminal(); got != want {
			t.Errorf("%s.Terminal() = %v, want %v", s, got, want)
		}
	}
}
