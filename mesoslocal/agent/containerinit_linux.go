//go:build linux

package agent

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// An isolated container starts as a re-execution of the agent's own binary
// (/proc/self/exe) with argv[0] containerInitArg0: the container init. It
// is cloned into new mount, pid, ipc and uts namespaces, still as root, and
// does what Go's SysProcAttr cannot do between clone and exec:
//
//  1. make every mount private, so nothing it mounts reaches the host;
//  2. make the whole tree read-only, then mount size-limited tmpfs over
//     /tmp, /var/tmp and /dev/shm and bind the sandbox back read-write at
//     its host path: the sandbox is the only host directory it can write,
//     and its scratch space is its own. An empty read-only tmpfs covers
//     the agent's work directory, so no other sandbox is even visible,
//     or, higher up, the first directory on the way to the sandbox that
//     the container's uid could not pass (a data directory of mode 0700,
//     root's home): the way to the sandbox is open, what lay beside it
//     the uid could not reach anyway (passageFor);
//  3. mount a fresh /proc for its pid namespace, so it sees and can signal
//     only its own processes;
//  4. switch to the container's uid and gid, set no_new_privs, and arm the
//     parent-death signal (a uid change clears it, so it cannot come from
//     SysProcAttr alone);
//  5. report to the agent and wait for its go: in between the agent moves
//     the process into its cgroups and applies rlimits, so nothing of the
//     container's program runs unconfined. An agent that died before the
//     signal was armed closes the socket, and the init exits;
//  6. exec the real program, which thereby is pid 1 of its namespace.
//
// The two talk over a socket passed as fd 3, one JSON line each way and a
// final "go". The init does this work in a package init function, so any
// binary that embeds the agent can serve as the container init without
// help from its main.

const (
	containerInitArg0 = "fob-container-init"
	initSyncFD        = 3
)

// privateDirs get a fresh tmpfs in every isolated container.
var privateDirs = []string{"/tmp", "/var/tmp", "/dev/shm"}

type initConfig struct {
	Path         string   `json:"path"`
	Argv         []string `json:"argv"`
	Env          []string `json:"env"`
	Sandbox      string   `json:"sandbox"`
	WorkDir      string   `json:"work_dir"`
	UID          int      `json:"uid"`
	GID          int      `json:"gid"`
	TmpfsBytes   int64    `json:"tmpfs_bytes"`
	ReadOnlyRoot bool     `json:"read_only_root"`
}

type initReply struct {
	Error string `json:"error,omitempty"`
}

func init() {
	if len(os.Args) == 1 && os.Args[0] == containerInitArg0 {
		os.Exit(runContainerInit())
	}
}

// runContainerInit returns only when the container cannot start.
func runContainerInit() int {
	// The parent-death signal and no_new_privs belong to the thread that
	// sets them; they must be set on the thread that calls execve.
	runtime.LockOSThread()
	conn := os.NewFile(initSyncFD, "container-init")
	r := bufio.NewReader(conn)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return 125 // the agent is gone
	}
	var cfg initConfig
	if err := json.Unmarshal(line, &cfg); err != nil {
		return replyAndExit(conn, fmt.Errorf("decode init config: %w", err))
	}
	if err := setupContainer(cfg); err != nil {
		return replyAndExit(conn, err)
	}
	if code := replyAndExit(conn, nil); code != 0 {
		return code
	}
	if _, err := r.ReadBytes('\n'); err != nil {
		return 125
	}
	_ = conn.Close()
	err = syscall.Exec(cfg.Path, cfg.Argv, cfg.Env)
	fmt.Fprintf(os.Stderr, "fob container init: exec %s: %v\n", cfg.Path, err)
	return 127
}

// replyAndExit tells the agent how set-up went; non-zero means exit.
func replyAndExit(conn *os.File, setupErr error) int {
	var reply initReply
	if setupErr != nil {
		reply.Error = setupErr.Error()
	}
	b, _ := json.Marshal(reply)
	if _, err := conn.Write(append(b, '\n')); err != nil || setupErr != nil {
		return 125
	}
	return 0
}

func setupContainer(c initConfig) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	// Held open so the sandbox can be bound back after a tmpfs hid it
	// (sandboxes usually live under /tmp).
	sandboxFD, err := unix.Open(c.Sandbox, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open sandbox: %w", err)
	}
	defer unix.Close(sandboxFD)
	if c.ReadOnlyRoot {
		if err := readOnlyMounts(); err != nil {
			return err
		}
	}
	opts := "mode=1777,size=" + strconv.FormatInt(c.TmpfsBytes, 10)
	for _, dir := range privateDirs {
		if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
			continue // absent, or a symlink to one of the others
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
			return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
		}
	}
	passage, err := passageFor(c.Sandbox, c.WorkDir)
	if err != nil {
		return err
	}
	if passage != "" {
		if err := unix.Mount("tmpfs", passage, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=1m"); err != nil {
			return fmt.Errorf("cover %s: %w", passage, err)
		}
	}
	if err := os.MkdirAll(c.Sandbox, 0o755); err != nil {
		return fmt.Errorf("recreate sandbox mount point: %w", err)
	}
	src := "/proc/self/fd/" + strconv.Itoa(sandboxFD)
	if err := unix.Mount(src, c.Sandbox, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind sandbox: %w", err)
	}
	// A bind keeps the read-only flag of its source; clear it here only.
	if err := unix.Mount("", c.Sandbox, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("make sandbox writable: %w", err)
	}
	if passage != "" {
		// Now that the way to the sandbox exists, nothing more is written
		// there; the sandbox's bind mount keeps its own flags.
		if err := unix.Mount("", passage, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("make %s read-only: %w", passage, err)
		}
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	if err := os.Chdir(c.Sandbox); err != nil {
		return fmt.Errorf("enter sandbox: %w", err)
	}
	return dropPrivileges(c)
}

// passageFor returns the directory to cover with an empty tmpfs, "" for
// none: the highest directory on the way down to the sandbox that is the
// agent's work directory or that others may not search. A directory that
// no longer exists lay under a private tmpfs, which hides everything
// below it already; MkdirAll then makes the way.
func passageFor(sandbox, workDir string) (string, error) {
	var way []string
	for d := filepath.Dir(sandbox); d != "/" && d != "."; d = filepath.Dir(d) {
		way = append(way, d)
	}
	for i := len(way) - 1; i >= 0; i-- {
		d := way[i]
		fi, err := os.Stat(d)
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("walk to sandbox: %w", err)
		}
		if d == workDir || fi.Mode().Perm()&0o001 == 0 {
			return d, nil
		}
	}
	return "", nil
}

// readOnlyMounts makes every mount read-only: at once where the kernel has
// mount_setattr (5.12), else mount by mount.
func readOnlyMounts() error {
	err := unix.MountSetattr(unix.AT_FDCWD, "/", unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("make root read-only: %w", err)
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("make root read-only: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountPath(fields[4])
		var st unix.Statfs_t
		if err := unix.Statfs(mp, &st); err != nil {
			continue // hidden under another mount
		}
		// A bind remount replaces the per-mount flags: keep the others.
		keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
			unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
		if err := unix.Mount("", mp, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|keep, ""); err != nil {
			return fmt.Errorf("make %s read-only: %w", mp, err)
		}
	}
	return nil
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func dropPrivileges(c initConfig) error {
	// syscall's (unlike x/sys/unix's) set ids change every thread of
	// the process.
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("drop supplementary groups: %w", err)
	}
	if err := syscall.Setresgid(c.GID, c.GID, c.GID); err != nil {
		return fmt.Errorf("set gid %d: %w", c.GID, err)
	}
	if err := syscall.Setresuid(c.UID, c.UID, c.UID); err != nil {
		return fmt.Errorf("set uid %d: %w", c.UID, err)
	}
	// No set-uid binary may give the privileges back (that would also
	// clear the death signal).
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("set parent death signal: %w", err)
	}
	// Fail the launch with a clear reason, not the container with 127.
	if err := unix.Access(c.Path, unix.X_OK); err != nil {
		return fmt.Errorf("uid %d cannot execute %s: %w (it and its directories must be readable and searchable by others, and outside %s and the agent's work directory; or fetch it as a URI)",
			c.UID, c.Path, err, strings.Join(privateDirs, ", "))
	}
	if filepath.IsAbs(c.Sandbox) {
		if err := unix.Access(c.Sandbox, unix.W_OK|unix.X_OK); err != nil {
			return fmt.Errorf("uid %d cannot use sandbox %s: %w", c.UID, c.Sandbox, err)
		}
	}
	return nil
}
