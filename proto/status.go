package fobpb

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// LabelFailure is the TaskStatus label with which fob's executor tells fob's
// scheduler what kind of failure a TASK_FAILED reports. Mesos passes status
// labels through untouched.
const LabelFailure = "fob.failure"

// FailureLoad marks a function whose code does not load (a syntax error, no
// callme): launching the same version again would fail the same way.
const FailureLoad = "load"

// LoadFailureLabel is the label the executor attaches to a load failure.
func LoadFailureLabel() mesos.Label {
	v := FailureLoad
	return mesos.Label{Key: LabelFailure, Value: &v}
}

// IsLoadFailure reports whether a status carries the load-failure label.
func IsLoadFailure(st *mesos.TaskStatus) bool {
	for _, l := range st.GetLabels().GetLabels() {
		if l.Key == LabelFailure && l.GetValue() == FailureLoad {
			return true
		}
	}
	return false
}
