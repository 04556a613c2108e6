//go:build linux

package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Isolation for the process containerizer, in the spirit of the Mesos
// containerizer's namespaces/pid, cgroups/{mem,cpu}, posix/rlimits
// isolators:
//
//   - new mount, pid, ipc and uts namespaces (the executor is pid 1 of its
//     namespace, so its exit takes every process it started with it);
//   - an unprivileged uid/gid of its own, owning the sandbox;
//   - cgroup v1 memory, cpu and pids limits from the resources (v2 when
//     the unified hierarchy is the only one mounted);
//   - ContainerInfo.rlimit_info applied with prlimit.
//
// All of it needs root; without root nothing is enforced and the agent
// says so once.

const (
	cgroupRoot     = "/sys/fs/cgroup"
	cgroupParent   = "fob"
	firstIsolated  = 200000 // uids/gids handed to containers start here
	defaultPidsMax = 4096
	minMemoryBytes = 32 << 20 // Mesos' MIN_MEMORY
	cpuPeriodUs    = 100000
)

type isolator struct {
	log  *slog.Logger
	root bool
	v2   bool

	mu      sync.Mutex
	nextID  int
	inUse   map[int]bool
	warning sync.Once
}

// isolation is the state of one isolated container.
type isolation struct {
	owner    *isolator
	id       int
	cgroups  []string
	cgroupFD int // v2: directory fd passed to clone, -1 when none
	rlimits  []rlimit
	// v1 has no way to start a process inside a cgroup, so the command is
	// wrapped in a shell that waits on this pipe until the agent has moved
	// it into its cgroups; nothing of the container runs unconfined.
	gateR, gateW *os.File
}

type rlimit struct {
	resource int
	cur, max uint64
}

func newIsolator(log *slog.Logger) *isolator {
	i := &isolator{log: log, root: os.Geteuid() == 0, inUse: map[int]bool{}}
	// The unified hierarchy alone at the root means cgroup v2; the hybrid
	// layout (v1 controllers plus /sys/fs/cgroup/unified) stays on v1.
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		i.v2 = true
	}
	return i
}

func (i *isolator) prepare(spec LaunchSpec, cmd *exec.Cmd) (*isolation, error) {
	if !i.root {
		i.warning.Do(func() {
			i.log.Warn("isolation requested but the agent is not root: namespaces, user switch, cgroup limits and rlimits are not enforced")
		})
		return nil, nil
	}
	s := &isolation{owner: i, id: i.allocate(), cgroupFD: -1}
	if err := chownTree(spec.Sandbox, s.id, s.id); err != nil {
		s.release()
		return nil, fmt.Errorf("give sandbox to uid %d: %w", s.id, err)
	}
	attr := cmd.SysProcAttr
	attr.Cloneflags |= syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
	attr.Credential = &syscall.Credential{Uid: uint32(s.id), Gid: uint32(s.id), NoSetGroups: true}

	limits := limitsFor(spec.Resources)
	var err error
	if i.v2 {
		err = s.cgroupV2(spec.ContainerID, limits, attr)
	} else {
		err = s.cgroupV1(spec.ContainerID, limits)
	}
	if err != nil {
		s.release()
		return nil, err
	}
	s.rlimits = rlimitsFor(spec.Container)
	if !i.v2 {
		if err := s.gate(cmd); err != nil {
			s.release()
			return nil, err
		}
	}
	return s, nil
}

// gate rewrites cmd to block on a pipe before it execs the real program.
func (s *isolation) gate(cmd *exec.Cmd) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create start gate: %w", err)
	}
	s.gateR, s.gateW = r, w
	cmd.ExtraFiles = append(cmd.ExtraFiles, r)
	fd := 2 + len(cmd.ExtraFiles)
	script := fmt.Sprintf(`read -r _ <&%d || exit 126; exec %d<&-; exec "$0" "$@"`, fd, fd)
	cmd.Args = append([]string{"sh", "-c", script, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = "/bin/sh"
	return nil
}

// started moves the new process into its cgroups (v1; v2 placed it at
// clone time) and applies rlimits.
func (s *isolation) started(pid int) error {
	if s == nil {
		return nil
	}
	s.closeCgroupFD()
	if !s.owner.v2 {
		for _, cg := range s.cgroups {
			if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
				return fmt.Errorf("join cgroup %s: %w", cg, err)
			}
		}
	}
	for _, rl := range s.rlimits {
		if err := prlimit(pid, rl); err != nil {
			return fmt.Errorf("set rlimit %d: %w", rl.resource, err)
		}
	}
	if s.gateW != nil {
		_ = s.gateR.Close()
		if _, err := s.gateW.Write([]byte("go\n")); err != nil {
			return fmt.Errorf("open start gate: %w", err)
		}
		_ = s.gateW.Close()
		s.gateR, s.gateW = nil, nil
	}
	return nil
}

// release removes the container's cgroups and returns its uid. It runs
// after the container's processes are gone.
func (s *isolation) release() {
	if s == nil {
		return
	}
	s.closeCgroupFD()
	for _, f := range []*os.File{s.gateR, s.gateW} {
		if f != nil {
			_ = f.Close()
		}
	}
	for _, cg := range s.cgroups {
		if err := os.Remove(cg); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.owner.log.Warn("remove cgroup", "cgroup", cg, "error", err)
		}
	}
	s.owner.mu.Lock()
	delete(s.owner.inUse, s.id)
	s.owner.mu.Unlock()
}

func (s *isolation) closeCgroupFD() {
	if s.cgroupFD >= 0 {
		_ = syscall.Close(s.cgroupFD)
		s.cgroupFD = -1
	}
}

func (i *isolator) allocate() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	for {
		id := firstIsolated + i.nextID
		i.nextID = (i.nextID + 1) % 60000
		if !i.inUse[id] {
			i.inUse[id] = true
			return id
		}
	}
}

type limits struct {
	memBytes int64
	cpus     float64
}

func limitsFor(res mesos.Resources) limits {
	var l limits
	for _, r := range res {
		if r.Scalar == nil {
			continue
		}
		switch r.Name {
		case "mem":
			l.memBytes += int64(r.Scalar.Value * (1 << 20))
		case "cpus":
			l.cpus += r.Scalar.Value
		}
	}
	if l.memBytes > 0 && l.memBytes < minMemoryBytes {
		l.memBytes = minMemoryBytes
	}
	return l
}

func (s *isolation) cgroupV1(containerID string, l limits) error {
	files := map[string]map[string]string{
		"memory": {},
		"cpu":    {},
		"pids":   {"pids.max": strconv.Itoa(defaultPidsMax)},
	}
	if l.memBytes > 0 {
		files["memory"]["memory.limit_in_bytes"] = strconv.FormatInt(l.memBytes, 10)
	}
	if l.cpus > 0 {
		files["cpu"]["cpu.shares"] = strconv.Itoa(max(2, int(l.cpus*1024)))
		files["cpu"]["cpu.cfs_period_us"] = strconv.Itoa(cpuPeriodUs)
		files["cpu"]["cpu.cfs_quota_us"] = strconv.Itoa(max(1000, int(l.cpus*cpuPeriodUs)))
	}
	for _, ctrl := range []string{"memory", "cpu", "pids"} {
		base := filepath.Join(cgroupRoot, ctrl)
		if _, err := os.Stat(filepath.Join(base, "cgroup.procs")); err != nil {
			s.owner.log.Warn("cgroup controller not mounted; limit not enforced", "controller", ctrl)
			continue
		}
		dir := filepath.Join(base, cgroupParent, containerID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		s.cgroups = append(s.cgroups, dir)
		for name, value := range files[ctrl] {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o644); err != nil {
				return fmt.Errorf("write %s/%s: %w", dir, name, err)
			}
		}
	}
	return nil
}

func (s *isolation) cgroupV2(containerID string, l limits, attr *syscall.SysProcAttr) error {
	parent := filepath.Join(cgroupRoot, cgroupParent)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create cgroup %s: %w", parent, err)
	}
	// Controllers must be enabled on the way down before a child can use them.
	for _, dir := range []string{cgroupRoot, parent} {
		_ = os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +cpu +pids"), 0o644)
	}
	dir := filepath.Join(parent, containerID)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	s.cgroups = append(s.cgroups, dir)
	files := map[string]string{"pids.max": strconv.Itoa(defaultPidsMax)}
	if l.memBytes > 0 {
		files["memory.max"] = strconv.FormatInt(l.memBytes, 10)
	}
	if l.cpus > 0 {
		files["cpu.max"] = strconv.Itoa(max(1000, int(l.cpus*cpuPeriodUs))) + " " + strconv.Itoa(cpuPeriodUs)
	}
	for name, value := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o644); err != nil {
			return fmt.Errorf("write %s/%s: %w", dir, name, err)
		}
	}
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	// clone3 puts the child into the cgroup itself, so no process of the
	// container ever runs outside it; the fd is closed once it started.
	attr.UseCgroupFD = true
	attr.CgroupFD = fd
	s.cgroupFD = fd
	return nil
}

var rlimitResources = map[mesos.RLimitInfo_RLimit_Type]int{
	mesos.RLimitInfo_RLimit_RLMT_AS:      syscall.RLIMIT_AS,
	mesos.RLimitInfo_RLimit_RLMT_CORE:    syscall.RLIMIT_CORE,
	mesos.RLimitInfo_RLimit_RLMT_CPU:     syscall.RLIMIT_CPU,
	mesos.RLimitInfo_RLimit_RLMT_DATA:    syscall.RLIMIT_DATA,
	mesos.RLimitInfo_RLimit_RLMT_FSIZE:   syscall.RLIMIT_FSIZE,
	mesos.RLimitInfo_RLimit_RLMT_NOFILE:  syscall.RLIMIT_NOFILE,
	mesos.RLimitInfo_RLimit_RLMT_STACK:   syscall.RLIMIT_STACK,
	mesos.RLimitInfo_RLimit_RLMT_NPROC:   6, // RLIMIT_NPROC
	mesos.RLimitInfo_RLimit_RLMT_MEMLOCK: 8, // RLIMIT_MEMLOCK
}

func rlimitsFor(c *mesos.ContainerInfo) []rlimit {
	var out []rlimit
	for _, rl := range c.GetRlimitInfo().GetRlimits() {
		res, ok := rlimitResources[rl.Type]
		if !ok {
			continue
		}
		cur, maxv := ^uint64(0), ^uint64(0) // unset means unlimited
		if rl.Soft != nil && rl.Hard != nil {
			cur, maxv = *rl.Soft, *rl.Hard
		}
		out = append(out, rlimit{resource: res, cur: cur, max: maxv})
	}
	return out
}

func prlimit(pid int, rl rlimit) error {
	lim := [2]uint64{rl.cur, rl.max}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(rl.resource),
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
