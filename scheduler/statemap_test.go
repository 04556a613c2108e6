package scheduler

import (
	"testing"

	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func TestTaskStatesCoverEveryMesosState(t *testing.T) {
	for v, name := range mesos.TaskState_name {
		if _, ok := taskStates[mesos.TaskState(v)]; !ok {
			t.Errorf("Mesos state %s has no fob state", name)
		}
	}
	if len(taskStates) != len(mesos.TaskState_name) {
		t.Errorf("table has %d entries, Mesos has %d states", len(taskStates), len(mesos.TaskState_name))
	}
}

func TestFobState(t *testing.T) {
	tests := []struct {
		in       mesos.TaskState
		want     state.TaskState
		terminal bool
		live     bool
	}{
		{mesos.TASK_STAGING, state.TaskStaging, false, true},
		{mesos.TASK_STARTING, state.TaskStarting, false, true},
		{mesos.TASK_RUNNING, state.TaskRunning, false, true},
		{mesos.TASK_KILLING, state.TaskKilling, false, false},
		{mesos.TASK_FINISHED, state.TaskFinished, true, false},
		{mesos.TASK_FAILED, state.TaskFailed, true, false},
		{mesos.TASK_KILLED, state.TaskKilled, true, false},
		{mesos.TASK_ERROR, state.TaskError, true, false},
		{mesos.TASK_LOST, state.TaskLost, true, false},
		{mesos.TASK_DROPPED, state.TaskDropped, true, false},
		{mesos.TASK_UNREACHABLE, state.TaskUnreachable, false, false},
		{mesos.TASK_GONE, state.TaskGone, true, false},
		{mesos.TASK_GONE_BY_OPERATOR, state.TaskGone, true, false},
		{mesos.TASK_UNKNOWN, state.TaskLost, true, false},
		{mesos.TaskState(99), state.TaskLost, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			got := fobState(tt.in)
			if got != tt.want {
				t.Fatalf("fobState(%s) = %s, want %s", tt.in, got, tt.want)
			}
			if got.Terminal() != tt.terminal {
				t.Errorf("terminal = %v, want %v", got.Terminal(), tt.terminal)
			}
			if live(got) != tt.live {
				t.Errorf("live = %v, want %v", live(got), tt.live)
			}
		})
	}
}
