package python

import (
	_ "embed"

	"github.com/fob-project/fob/sandbox"
)

//go:embed worker.py
var shim []byte

// Name is the language name that selects this driver (?lang=python).
const Name = "python"

func init() {
	sandbox.Register(Driver())
}

// Driver describes the Python runtime.
func Driver() sandbox.Driver {
	return sandbox.Driver{
		Name:      Name,
		Extension: ".py",
		Image:     "fob/runtime-python:3.11",
		ShimName:  "fob_worker.py",
		Shim:      shim,
		// -u: the function's prints reach its log at once, not when a
		// buffer fills, so `fob logs` shows them during the call.
		Command:     []string{"python3", "-u", "{shim}", "{code}"},
		WaitCommand: []string{"python3", "-u", "{shim}"},
	}
}
