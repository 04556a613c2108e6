//go:build linux

package agent

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// uids hands out container uids for the whole process, so that agents
// sharing a process (a test cluster) never give two containers one uid,
// and coordinates with the agents of other processes on the host through
// a lock file: a uid shared by two containers would open each one's
// sandbox to the other and pool their process limits.
var uids = newUIDAllocator("/run/fob/uids.lock")

// uidAllocator hands out uids from firstIsolated on. Across processes it
// holds a lock on byte id-firstIsolated of its lock file for every uid in
// use: open file description locks, which the kernel drops when the
// process ends however it ends, so a killed agent's uids come free.
type uidAllocator struct {
	path string

	mu    sync.Mutex
	next  int // offset of the next uid to try; starts at random
	inUse map[int]bool
	lock  *os.File // nil until opened; see open
	warn  error    // why the lock file cannot be used, once known
}

func newUIDAllocator(path string) *uidAllocator {
	return &uidAllocator{path: path, next: rand.IntN(isolatedIDs), inUse: map[int]bool{}}
}

// open opens the lock file on first use. Without it (no /run, say) uids
// are unique within the process only, as the random start keeps them
// likely so across processes.
func (u *uidAllocator) open() {
	if u.lock != nil || u.warn != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(u.path), 0o755); err != nil {
		u.warn = err
		return
	}
	f, err := os.OpenFile(u.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		u.warn = err
		return
	}
	u.lock = f
}

// ready opens the lock file and says why it cannot be used, if so.
func (u *uidAllocator) ready() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.open()
	return u.warn
}

// allocate returns a uid no container of this or another agent process
// on the host uses.
func (u *uidAllocator) allocate() (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.open()
	for range isolatedIDs {
		off := u.next
		u.next = (u.next + 1) % isolatedIDs
		id := firstIsolated + off
		if u.inUse[id] {
			continue
		}
		if u.lock != nil {
			err := u.setLock(off, unix.F_WRLCK)
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
				continue // another process's container has it
			}
			if err != nil {
				return 0, fmt.Errorf("lock uid %d in %s: %w", id, u.path, err)
			}
		}
		u.inUse[id] = true
		return id, nil
	}
	return 0, fmt.Errorf("all %d container uids from %d are in use", isolatedIDs, firstIsolated)
}

func (u *uidAllocator) free(id int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.inUse, id)
	if u.lock != nil {
		_ = u.setLock(id-firstIsolated, unix.F_UNLCK)
	}
}

func (u *uidAllocator) setLock(off int, typ int16) error {
	return unix.FcntlFlock(u.lock.Fd(), unix.F_OFD_SETLK, &unix.Flock_t{Type: typ, Whence: 0, Start: int64(off), Len: 1})
}
