package fobpb

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func TestLoadedLabels(t *testing.T) {
	status := func(ls ...mesos.Label) *mesos.TaskStatus {
		return &mesos.TaskStatus{Labels: &mesos.Labels{Labels: ls}}
	}
	tests := []struct {
		name string
		st   *mesos.TaskStatus
		want bool
	}{
		{"loaded", status(LoadedLabels("f", 3)...), true},
		{"other version", status(LoadedLabels("f", 4)...), false},
		{"other function", status(LoadedLabels("g", 3)...), false},
		{"a stem's", status(StemLabel("python")), false},
		{"no labels", &mesos.TaskStatus{}, false},
		{"id only", status(LoadedLabels("f", 3)[0]), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Loaded(tt.st, "f", 3); got != tt.want {
				t.Errorf("Loaded = %v, want %v", got, tt.want)
			}
		})
	}
	if !IsLoadFailure(status(LoadFailureLabel())) || IsLoadFailure(status(StemLabel("node"))) {
		t.Error("IsLoadFailure misreads labels")
	}
}
