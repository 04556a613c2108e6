package state

import (
	"fmt"
	"runtime/debug"
)

// guardRead makes a damaged state file an error instead of a crash. bbolt
// reads the file through a memory map: a truncated file faults (SIGBUS)
// when a page beyond its end is touched, which the Go runtime treats as
// fatal, and corrupt pages can make bbolt panic. While the returned
// function is pending, in the calling goroutine, a fault panics instead,
// and both become an error in *err. Use it as
//
//	defer guardRead(path, &err)()
func guardRead(path string, err *error) func() {
	old := debug.SetPanicOnFault(true)
	return func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			*err = fmt.Errorf("state file %s is damaged and cannot be read (%v); "+
				"restore it from a backup, or move it away to start without any function", path, r)
		}
	}
}
