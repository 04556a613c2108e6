//go:build linux

package agent

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Isolation for the process containerizer, in the spirit of the Mesos
// containerizer's filesystem/linux, namespaces/pid, cgroups/{mem,cpu,pids}
// and posix/rlimits isolators:
//
//   - new mount, pid, ipc and uts namespaces, set up by the container init
//     (containerinit_linux.go): read-only host tree, private tmpfs /tmp,
//     /var/tmp and /dev/shm, the sandbox as the one writable host
//     directory and the only part of the agent's work directory it sees,
//     a /proc showing only the container's processes. The container's
//     first process (the executor, or the shell that runs it) is pid 1 of
//     its namespace, so its exit takes every process of the container
//     with it;
//   - an unprivileged uid/gid of its own, distinct per container, owning
//     the sandbox, which becomes mode 0700 so other containers cannot read it;
//   - cgroup memory, cpu and pids limits from the resources
//     (cgroups_linux.go), with the memory and pids cgroup directories in
//     the executor's environment as FOB_CGROUP_MEMORY and FOB_CGROUP_PIDS;
//   - ContainerInfo.rlimit_info applied with prlimit.
//
// All of it needs root; without root nothing is enforced and the agent
// says so once.
//
// What an executor has to live with: as pid 1 it gets only the signals it
// has handlers for (SIGKILL aside) and inherits orphaned processes to reap;
// HOME is its sandbox; whatever it executes must be readable and
// searchable by others along the whole path and lie outside the private
// directories and the agent's work directory, or be fetched into the
// sandbox (a local executable the agent may share is linked, not copied:
// fetchlink_linux.go).

const (
	firstIsolated = 200000 // uids/gids handed to containers start here
	isolatedIDs   = 60000
	// initTimeout bounds the container init's set-up.
	initTimeout = 30 * time.Second
)

type isolator struct {
	log        *slog.Logger
	root       bool
	v2         bool
	pidsMax    int
	tmpfsBytes int64

	warning sync.Once
}

// isolation is the state of one isolated container.
type isolation struct {
	owner   *isolator
	id      int
	cgroups *containerCgroups
	limits  limits
	rlimits []rlimit
	init    initConfig
	// conn and initEnd are the agent's and the init's ends of the socket
	// between them.
	conn    net.Conn
	initEnd *os.File
}

type rlimit struct {
	resource int
	cur, max uint64
}

func newIsolator(log *slog.Logger, pidsMax int, tmpfsBytes int64) *isolator {
	i := &isolator{log: log, root: os.Geteuid() == 0, pidsMax: pidsMax, tmpfsBytes: tmpfsBytes}
	// The unified hierarchy alone at the root means cgroup v2; the hybrid
	// layout (v1 controllers plus /sys/fs/cgroup/unified) stays on v1.
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		i.v2 = true
	}
	if i.root {
		if err := uids.ready(); err != nil {
			log.Warn("container uids are unique within this process only: no lock file shared with other agents", "error", err)
		}
		if n := sweepStaleCgroups(i.v2, time.Now().Add(-staleCgroupAge)); n > 0 {
			log.Info("removed cgroups left by agents that died", "cgroups", n)
		}
	}
	return i
}

// prepare turns cmd into a start of the container init and creates the
// container's uid, sandbox ownership and cgroups.
func (i *isolator) prepare(spec LaunchSpec, cmd *exec.Cmd) (_ *isolation, err error) {
	if !i.root {
		i.warning.Do(func() {
			i.log.Warn("isolation requested but the agent is not root: namespaces, user switch, cgroup limits and rlimits are not enforced")
		})
		return nil, nil
	}
	if cmd.Err != nil {
		return nil, cmd.Err
	}
	id, err := uids.allocate()
	if err != nil {
		return nil, err
	}
	s := &isolation{owner: i, id: id}
	defer func() {
		if err != nil {
			s.release()
		}
	}()
	if err := chownTree(spec.Sandbox, s.id, s.id); err != nil {
		return nil, fmt.Errorf("give sandbox to uid %d: %w", s.id, err)
	}
	if err := os.Chmod(spec.Sandbox, 0o700); err != nil {
		return nil, fmt.Errorf("restrict sandbox: %w", err)
	}
	s.limits = limitsFor(spec.Resources, i.pidsMax)
	s.cgroups, err = createCgroups(i.v2, spec.ContainerID, s.limits, func(ctrl string) {
		i.log.Warn("cgroup controller not mounted; limit not enforced", "controller", ctrl)
	})
	if err != nil {
		return nil, err
	}
	s.rlimits = rlimitsFor(spec.Container)
	// The init starts in the sandbox: relative paths would not survive.
	sandbox, err := filepath.Abs(spec.Sandbox)
	if err != nil {
		return nil, fmt.Errorf("sandbox path: %w", err)
	}
	workDir := ""
	if spec.WorkDir != "" {
		if workDir, err = filepath.Abs(spec.WorkDir); err != nil {
			return nil, fmt.Errorf("work dir path: %w", err)
		}
	}
	s.init = initConfig{
		Path:         cmd.Path,
		Argv:         cmd.Args,
		Env:          containerEnv(cmd.Env, spec.Sandbox, s.cgroups.env()),
		Sandbox:      sandbox,
		WorkDir:      workDir,
		UID:          s.id,
		GID:          s.id,
		TmpfsBytes:   i.tmpfsBytes,
		ReadOnlyRoot: true,
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create init socket: %w", err)
	}
	agentEnd := os.NewFile(uintptr(fds[0]), "container-init")
	s.conn, err = net.FileConn(agentEnd)
	_ = agentEnd.Close()
	if err != nil {
		_ = syscall.Close(fds[1])
		return nil, fmt.Errorf("create init socket: %w", err)
	}
	cmd.Path = "/proc/self/exe"
	cmd.Args = []string{containerInitArg0}
	// The init is agent code: it gets none of the container's environment
	// (GODEBUG or GOMAXPROCS meant for the executor would change it).
	cmd.Env = []string{}
	s.initEnd = os.NewFile(uintptr(fds[1]), "container-init")
	cmd.ExtraFiles = []*os.File{s.initEnd}
	cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
	return s, nil
}

// containerEnv is the executor's environment under isolation: HOME moves
// to the sandbox when it is the agent's own (unreachable for the
// container's uid), and the cgroup locations are added.
func containerEnv(env []string, sandbox string, cgroupEnv []string) []string {
	out := make([]string, 0, len(env)+len(cgroupEnv)+1)
	agentHome, home := os.Getenv("HOME"), false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = true
			if v == agentHome {
				kv = "HOME=" + sandbox
			}
		}
		out = append(out, kv)
	}
	if !home {
		out = append(out, "HOME="+sandbox)
	}
	return append(out, cgroupEnv...)
}

// started runs the hand-shake with the container init (pid): send its
// configuration, wait for it to be set up, put it into its cgroups, apply
// rlimits and let it exec the program.
func (s *isolation) started(pid int) error {
	if s == nil {
		return nil
	}
	_ = s.initEnd.Close() // the init has its copy
	_ = s.conn.SetDeadline(time.Now().Add(initTimeout))
	b, err := json.Marshal(s.init)
	if err != nil {
		return fmt.Errorf("encode init config: %w", err)
	}
	if _, err := s.conn.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("send init config: %w", err)
	}
	line, err := bufio.NewReader(s.conn).ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("container init: %w (see the sandbox's stderr)", err)
	}
	var reply initReply
	if err := json.Unmarshal(line, &reply); err != nil {
		return fmt.Errorf("container init reply: %w", err)
	}
	if reply.Error != "" {
		return errors.New(reply.Error)
	}
	if err := s.cgroups.join(pid); err != nil {
		return err
	}
	for _, rl := range s.rlimits {
		if err := prlimit(pid, rl); err != nil {
			return fmt.Errorf("set rlimit %d: %w", rl.resource, err)
		}
	}
	if _, err := s.conn.Write([]byte("go\n")); err != nil {
		return fmt.Errorf("start container: %w", err)
	}
	_ = s.conn.Close()
	return nil
}

// limitation reports a memory limitation when the kernel OOM-killed a
// process of the container and the container's main process did not end
// cleanly: the OOM killer took it, or it gave up after losing a child.
func (s *isolation) limitation(waitStatus int) *Limitation {
	if s == nil || s.cgroups == nil {
		return nil
	}
	ws := syscall.WaitStatus(waitStatus)
	if waitStatus == -1 || (ws.Exited() && ws.ExitStatus() == 0) {
		return nil
	}
	if s.cgroups.oomKills() == 0 {
		return nil
	}
	return &Limitation{
		Reason: mesos.REASON_CONTAINER_LIMITATION_MEMORY,
		Message: "Memory limit exceeded: Requested: " + formatMB(s.limits.memBytes) +
			" Maximum Used: " + formatMB(s.cgroups.peakMemory()),
	}
}

// killed is told that every process of the container has been sent
// SIGKILL: nothing but exiting runs any more, so the CPU quota only slows
// the container's end.
func (s *isolation) killed() {
	if s == nil || s.cgroups == nil {
		return
	}
	if err := s.cgroups.unthrottle(); err != nil && !os.IsNotExist(err) {
		s.owner.log.Debug("lift cpu quota of a killed container", "error", err)
	}
}

// release removes the container's cgroups and returns its uid. It runs
// after the container's processes are gone.
func (s *isolation) release() {
	if s == nil {
		return
	}
	for _, c := range []io.Closer{s.conn, s.initEnd} {
		if c != nil {
			_ = c.Close()
		}
	}
	if s.cgroups != nil {
		s.cgroups.remove(func(dir string, err error) {
			s.owner.log.Warn("remove cgroup", "cgroup", dir, "error", err)
		})
	}
	uids.free(s.id)
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

// chownTree gives dir and what it holds to uid and gid, except regular
// files with more than one link: such a file may be a host file the
// fetcher linked in (linkExecutable), and handing it to the container
// would hand over the host's copy too. Those stay as they are, readable
// and runnable, not writable.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
				return nil
			}
		}
		return os.Lchown(p, uid, gid)
	})
}

// dieWithAgent makes the kernel kill the container's first process when
// the agent's process ends (see forker.go for why the forking thread
// matters). The container init arms it again after its uid change.
func dieWithAgent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
