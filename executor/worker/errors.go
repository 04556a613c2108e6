package worker

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Sentinel errors of Pool.Call. The call server maps each to one HTTP status.
var (
	// ErrBusy: every worker is busy and the queue of waiting calls is full.
	ErrBusy = errors.New("all workers are busy")
	// ErrClosed: the pool is shutting down.
	ErrClosed = errors.New("worker pool is closed")
	// ErrDeadline: the call did not finish within the call timeout. If it
	// had reached a worker, that worker was killed and is being replaced.
	ErrDeadline = errors.New("call deadline exceeded")
	// ErrWorkerLost: the worker died or broke the protocol during the call.
	// It is being replaced; the call was not answered.
	ErrWorkerLost = errors.New("worker lost")
)

// MemoryLimitError: the kernel's OOM killer killed the worker during the
// call because the instance went over its memory limit. The worker is
// being replaced. It wraps ErrWorkerLost: the call was lost with the worker.
type MemoryLimitError struct {
	// LimitMB is the function's memory limit, 0 when unknown.
	LimitMB int
}

func (e *MemoryLimitError) Error() string {
	if e.LimitMB > 0 {
		return fmt.Sprintf("the function exceeded its memory limit of %d MB and was killed", e.LimitMB)
	}
	return "the function exceeded its memory limit and was killed"
}

func (e *MemoryLimitError) Unwrap() error { return ErrWorkerLost }

// Exception is how a worker describes an exception: the function's, or one
// raised while loading the code or binding the parameters.
type Exception struct {
	Type      string `json:"type"`
	Message   string `json:"message"`
	Traceback string `json:"traceback"`
}

// String renders the exception the way Python prints its last line,
// "ZeroDivisionError: division by zero".
func (e Exception) String() string {
	switch {
	case e.Type == "":
		return e.Message
	case e.Message == "":
		return e.Type
	default:
		return e.Type + ": " + e.Message
	}
}

// ParseException decodes an Exception frame payload. A payload that is not
// a valid Exception still yields one, so a broken worker cannot hide the
// failure.
func ParseException(payload []byte) Exception {
	var e Exception
	if err := json.Unmarshal(payload, &e); err != nil || (e.Type == "" && e.Message == "") {
		return Exception{Type: "Error", Message: fmt.Sprintf("unreadable exception from worker: %q", truncate(payload, 200))}
	}
	return e
}

// LoadError reports that the function's code failed to load: a syntax
// error, a failing import, a missing callme. It is the user's error, not
// fob's, and it is deterministic, so retrying does not help.
type LoadError struct {
	Exception Exception
}

func (e *LoadError) Error() string { return e.Exception.String() }

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
