package fobpb

import (
	"strconv"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// LabelFailure is the TaskStatus label with which fob's executor tells fob's
// scheduler what kind of failure a TASK_FAILED reports. Mesos passes status
// labels through untouched.
const LabelFailure = "fob.failure"

// FailureLoad marks a function whose code does not load (a syntax error, no
// callme): launching the same version again would fail the same way.
const FailureLoad = "load"

// Labels fob puts on its TaskInfos and, for the warm pool, on status
// updates. The scheduler and the executor share them.
const (
	// LabelFunctionID and LabelVersion name the function a task runs. On a
	// TASK_RUNNING they say which function the executor has loaded: a stem
	// specialised by a MESSAGE reports RUNNING a second time, with them.
	LabelFunctionID = "fob.function_id"
	LabelVersion    = "fob.version"
	LabelLanguage   = "fob.language"
	LabelName       = "fob.name"
	// LabelStem marks a stem of the warm pool: a task whose executor runs
	// warm workers of a language (the label's value) without a function,
	// waiting for a MESSAGE that names one.
	LabelStem = "fob.stem"
)

// LoadFailureLabel is the label the executor attaches to a load failure.
func LoadFailureLabel() mesos.Label {
	return label(LabelFailure, FailureLoad)
}

// IsLoadFailure reports whether a status carries the load-failure label.
func IsLoadFailure(st *mesos.TaskStatus) bool {
	v, ok := statusLabel(st, LabelFailure)
	return ok && v == FailureLoad
}

// StemLabel marks the TASK_RUNNING of a stem of language.
func StemLabel(language string) mesos.Label {
	return label(LabelStem, language)
}

// LoadedLabels are the labels of the TASK_RUNNING a specialised stem sends
// once the function's code has loaded.
func LoadedLabels(functionID string, version uint64) []mesos.Label {
	return []mesos.Label{
		label(LabelFunctionID, functionID),
		label(LabelVersion, strconv.FormatUint(version, 10)),
	}
}

// Loaded reports whether a status says that exactly this function version
// has loaded (see LoadedLabels).
func Loaded(st *mesos.TaskStatus, functionID string, version uint64) bool {
	id, ok := statusLabel(st, LabelFunctionID)
	if !ok || id != functionID {
		return false
	}
	v, ok := statusLabel(st, LabelVersion)
	return ok && v == strconv.FormatUint(version, 10)
}

func label(k, v string) mesos.Label {
	return mesos.Label{Key: k, Value: &v}
}

func statusLabel(st *mesos.TaskStatus, key string) (string, bool) {
	for _, l := range st.GetLabels().GetLabels() {
		if l.Key == key {
			return l.GetValue(), true
		}
	}
	return "", false
}
