package state

import "testing"

// Tasks of no function (the warm pool's stems) are found like any
// function's tasks.
func TestTasksOfNoFunction(t *testing.T) {
	s, _ := NewMemory()
	for _, tk := range []*Task{{ID: "stem1"}, {ID: "stem2"}, {ID: "t1", FunctionID: "f"}, {ID: "t2", FunctionID: "ff"}} {
		if err := s.PutTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	for fn, want := range map[string][]string{"": {"stem1", "stem2"}, "f": {"t1"}, "ff": {"t2"}, "x": nil} {
		got, err := s.TasksOf(nil, fn)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("tasks of %q = %d, want %v", fn, len(got), want)
		}
		for i := range want {
			if got[i].ID != want[i] {
				t.Errorf("tasks of %q: %s, want %s", fn, got[i].ID, want[i])
			}
		}
	}
}
