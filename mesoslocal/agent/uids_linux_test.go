//go:build linux

package agent

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// Two allocators on one lock file, as two agent processes on one host,
// never hand out the same uid; a freed uid can be had again, by either.
func TestUIDsUniqueAcrossAgents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "uids.lock")
	a, b := newUIDAllocator(path), newUIDAllocator(path)
	b.next = a.next // the worst case: both start at the same uid
	seen := map[int]string{}
	for range 50 {
		for name, u := range map[string]*uidAllocator{"a": a, "b": b} {
			id, err := u.allocate()
			if err != nil {
				t.Fatal(err)
			}
			if other, ok := seen[id]; ok {
				t.Fatalf("uid %d handed out by %s and %s", id, other, name)
			}
			seen[id] = name
		}
	}
	var freed int
	for id, name := range seen {
		if name == "a" {
			freed = id
			a.free(id)
			break
		}
	}
	b.next = freed - firstIsolated
	if id, err := b.allocate(); err != nil || id != freed {
		t.Errorf("after a freed %d, b got %d (%v)", freed, id, err)
	}
}

// A uid held by a process that ended is free again: the kernel dropped
// its lock. (Closing the lock file's only description is how a process's
// end looks to the lock.)
func TestUIDLockDiesWithItsHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "uids.lock")
	a := newUIDAllocator(path)
	id, err := a.allocate()
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	probe := &unix.Flock_t{Type: unix.F_WRLCK, Start: int64(id - firstIsolated), Len: 1}
	if err := unix.FcntlFlock(other.Fd(), unix.F_OFD_SETLK, probe); err == nil {
		t.Fatalf("uid %d is locked by a, yet another description could lock it", id)
	}
	a.lock.Close()
	if err := unix.FcntlFlock(other.Fd(), unix.F_OFD_SETLK, probe); err != nil {
		t.Errorf("uid %d still locked after its holder closed the file: %v", id, err)
	}
}
