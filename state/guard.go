package state

import (
	"fmt"
	"os"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
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

// checkLength refuses a state file shorter than its meta page says the
// database is: a truncated copy. bbolt grows the file before it writes
// pages past its end, so a whole file is never shorter. Reading a
// truncated one may or may not fault, depending on where the pages in use
// happen to lie; the length tells every time.
func checkLength(db *bolt.DB, path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	return db.View(func(tx *bolt.Tx) error {
		if want := tx.Size(); info.Size() < want {
			return fmt.Errorf("state file %s is damaged: it is %d bytes long but holds a %d-byte database (truncated?); "+
				"restore it from a backup, or move it away to start without any function", path, info.Size(), want)
		}
		return nil
	})
}
