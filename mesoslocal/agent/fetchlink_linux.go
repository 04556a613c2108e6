//go:build linux

package agent

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// linkExecutable hard-links the local file src into root as name and
// reports whether it did; false means copy it instead.
//
// A framework ships its executor as a URI (fob local ships its own
// binary), so every launch fetches it. Copying a 20 MB binary costs
// 10 ms while the page cache absorbs it and 60 ms once launches keep the
// disk busy (BenchmarkFetchExecutable), plus 20 MB of page cache per
// sandbox; a link costs 0.15 ms and shares the cached pages. Measured on
// fob local (ext4, 2 cores): LAUNCH to the executor's SUBSCRIBE went from
// 35 to 27 ms (p50), and a python function's cold start at 1 cpu from
// 145 to 90 ms. The link shares the host's inode with the sandbox, so it
// is made only when the container can do nothing to that inode:
//
//   - it is owned by the agent's own user and writable by no one else,
//     has no set-id bits, and anyone may read and run it: after the
//     container's uid switch it can run the file, not change it;
//   - the isolator's chown of the sandbox leaves files with more than one
//     link alone (chownTree), so the file never becomes the container's;
//   - a later fetch to the same name replaces the link (fetch removes it
//     first) instead of writing through it.
//
// The link is made from the open file (/proc/self/fd/N), so the inode
// checked is the inode linked, into the destination's directory opened
// through root, so no symlink in the sandbox can redirect it. Another
// filesystem (EXDEV), a deleted source or any other refusal means a copy.
func linkExecutable(root *os.Root, src *os.File, name string) bool {
	st, err := src.Stat()
	if err != nil || !shareable(st) {
		return false
	}
	dir, err := root.Open(filepath.Dir(name))
	if err != nil {
		return false
	}
	defer dir.Close()
	err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(src.Fd())),
		int(dir.Fd()), filepath.Base(name), unix.AT_SYMLINK_FOLLOW)
	return err == nil
}

// shareable says whether a container may run the file st describes in
// place, through a hard link, without being able to change it.
func shareable(st fs.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || !st.Mode().IsRegular() || int(sys.Uid) != os.Geteuid() {
		return false
	}
	perm := st.Mode()
	return perm&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) == 0 &&
		perm.Perm()&0o555 == 0o555 && perm.Perm()&0o022 == 0
}
