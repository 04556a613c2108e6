//go:build linux

package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// requireIsolation skips only where isolation cannot exist at all (the
// tests are not root). As root, a missing controller fails the test: the
// agent would run containers without the limit being checked.
func requireIsolation(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("isolation needs root (running as uid %d): namespaces, uid switch and cgroups are unavailable", os.Geteuid())
	}
	for _, ctrl := range []string{"memory", "cpu", "pids"} {
		if _, err := os.Stat(filepath.Join(cgroupDirForTest(ctrl, ""), "cgroup.procs")); err != nil {
			t.Fatalf("running as root but the %s cgroup controller is not usable: %v", ctrl, err)
		}
	}
}

func cgroupV2ForTest() bool {
	_, err := os.Stat(filepath.Join(cgroupRootForTest, "cgroup.controllers"))
	return err == nil
}

// cgroupDirForTest is where the isolator puts a container's cgroup of a
// controller (the controller's root for an empty id).
func cgroupDirForTest(ctrl, containerID string) string {
	if cgroupV2ForTest() {
		if containerID == "" {
			return cgroupRootForTest
		}
		return filepath.Join(cgroupRootForTest, "fob", containerID)
	}
	if containerID == "" {
		return filepath.Join(cgroupRootForTest, ctrl)
	}
	return filepath.Join(cgroupRootForTest, ctrl, "fob", containerID)
}

func newIsolatedAgent(t *testing.T, mod func(*ProcessContainerizer)) (*Agent, *fakeMaster) {
	t.Helper()
	requireIsolation(t)
	pc := NewProcessContainerizer(true, nil)
	if mod != nil {
		mod(pc)
	}
	m := newFakeMaster(true)
	return newTestAgent(t, m, func(c *Config) { c.Containerizer = pc }), m
}

// runIsolated runs script as an isolated command task and returns its
// terminal status and its output as key=value pairs.
func runIsolated(t *testing.T, a *Agent, m *fakeMaster, id, script string, res mesos.Resources) (mesos.TaskStatus, map[string]string) {
	t.Helper()
	task := commandTask(id, &mesos.CommandInfo{Value: strp(script)})
	task.Resources = res
	a.LaunchTask(testFramework(), task)
	st := waitTerminal(t, m, id)
	vals := map[string]string{}
	for _, line := range strings.Split(readSandboxFile(t, a, id, "stdout"), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			vals[k] = v
		}
	}
	return st, vals
}

func waitTerminal(t *testing.T, m *fakeMaster, task string) mesos.TaskStatus {
	t.Helper()
	var got mesos.TaskStatus
	m.waitFor(t, task+" terminal", func() bool {
		for _, u := range m.updates {
			if u.TaskID.Value == task && isTerminal(u.GetState()) {
				got = u
				return true
			}
		}
		return false
	})
	return got
}

func sandboxOf(t *testing.T, a *Agent, exec string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(a.WorkDir(), "slaves", "*", "frameworks", "*", "executors", exec, "runs", "*"))
	if len(matches) != 1 {
		t.Fatalf("sandboxes of %s: %v", exec, matches)
	}
	return matches[0]
}

func TestIsolationIdentityAndLimits(t *testing.T) {
	a, m := newIsolatedAgent(t, nil)
	memFile, quota := "memory.limit_in_bytes", `$(cat /sys/fs/cgroup/cpu/fob/$(basename "$FOB_CGROUP_MEMORY")/cpu.cfs_quota_us)`
	if cgroupV2ForTest() {
		memFile, quota = "memory.max", `$(cut -d' ' -f1 "$FOB_CGROUP_MEMORY/cpu.max")`
	}
	script := `echo "uid=$(id -u)"; echo "gid=$(id -g)"; echo "groups=$(id -G)"; echo "pid=$$"; ` +
		`echo "home=$HOME"; echo "sandbox=$MESOS_SANDBOX"; echo "pids_cgroup=$FOB_CGROUP_PIDS"; ` +
		`echo "mem=$(cat "$FOB_CGROUP_MEMORY/` + memFile + `")"; echo "quota=` + quota + `"; ` +
		`echo "pids_max=$(cat "$FOB_CGROUP_PIDS/pids.max")"`
	res := mesos.Resources{scalar("cpus", 0.5), scalar("mem", 64)}
	uids := map[string]bool{}
	for _, id := range []string{"t1", "t2"} {
		st, vals := runIsolated(t, a, m, id, script, res)
		if st.GetState() != mesos.TASK_FINISHED {
			t.Fatalf("%s: %s %s", id, st.GetState(), st.GetMessage())
		}
		uid, _ := strconv.Atoi(vals["uid"])
		if uid < firstIsolated || vals["gid"] != vals["uid"] || vals["groups"] != vals["gid"] {
			t.Errorf("%s ran as uid %q gid %q groups %q, want an unprivileged uid with its own group only",
				id, vals["uid"], vals["gid"], vals["groups"])
		}
		uids[vals["uid"]] = true
		want := map[string]string{
			"pid": "1", "mem": strconv.Itoa(64 << 20), "quota": "50000", "pids_max": strconv.Itoa(64 * pidsPerMB),
			"home": vals["sandbox"], "pids_cgroup": cgroupDirForTest("pids", filepath.Base(vals["sandbox"])),
		}
		for k, v := range want {
			if vals[k] != v {
				t.Errorf("%s: %s = %q, want %q", id, k, vals[k], v)
			}
		}
		// Owned by the container's uid and closed to everyone else.
		fi, err := os.Stat(sandboxOf(t, a, id))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); strconv.Itoa(int(st.Uid)) != vals["uid"] || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: sandbox owned by %d with mode %v, want uid %s and 0700", id, st.Uid, fi.Mode().Perm(), vals["uid"])
		}
	}
	if len(uids) != 2 {
		t.Errorf("two containers shared a uid: %v", uids)
	}
}

func TestIsolationFilesystem(t *testing.T) {
	a, m := newIsolatedAgent(t, func(pc *ProcessContainerizer) { pc.TmpfsBytes = 8 << 20 })
	// A directory anyone may write to on the host, outside the private
	// directories: only the read-only mount stands in the way.
	open, err := os.MkdirTemp("/", ".fob-isolation-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(open) })
	if err := os.Chmod(open, 0o1777); err != nil {
		t.Fatal(err)
	}
	// A file any uid could read in the host's /tmp.
	secret, err := os.CreateTemp("/tmp", "fob-isolation-secret-")
	if err != nil {
		t.Fatal(err)
	}
	secret.Close()
	t.Cleanup(func() { _ = os.Remove(secret.Name()) })
	if err := os.Chmod(secret.Name(), 0o644); err != nil {
		t.Fatal(err)
	}
	private := filepath.Base(secret.Name()) + "-private"

	script := fmt.Sprintf(`
if touch %[1]q/x 2>/dev/null; then echo outside=written; else echo outside=denied; fi
if cat %[2]q >/dev/null 2>&1; then echo host_tmp=visible; else echo host_tmp=hidden; fi
if echo p > /tmp/%[3]s && echo p > /var/tmp/%[3]s && echo p > /dev/shm/%[3]s; then echo private=writable; fi
echo fs=$(stat -f -c %%T /tmp)-$(stat -f -c %%T /var/tmp)-$(stat -f -c %%T /dev/shm)
echo tmp_bytes=$(( $(stat -f -c %%b /tmp) * $(stat -f -c %%S /tmp) ))
if echo x > "$MESOS_SANDBOX/written"; then echo sandbox=writable; fi
if echo x > /dev/null; then echo dev_null=writable; fi
`, open, secret.Name(), private)
	st, vals := runIsolated(t, a, m, "t1", script, mesos.Resources{scalar("cpus", 0.5), scalar("mem", 64)})
	if st.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("%s %s; stderr: %s", st.GetState(), st.GetMessage(), readSandboxFile(t, a, "t1", "stderr"))
	}
	want := map[string]string{
		"outside": "denied", "host_tmp": "hidden", "private": "writable", "fs": "tmpfs-tmpfs-tmpfs",
		"tmp_bytes": strconv.Itoa(8 << 20), "sandbox": "writable", "dev_null": "writable",
	}
	for k, v := range want {
		if vals[k] != v {
			t.Errorf("%s = %q, want %q", k, vals[k], v)
		}
	}
	for _, p := range []string{filepath.Join(open, "x"), "/tmp/" + private, "/var/tmp/" + private, "/dev/shm/" + private} {
		if _, err := os.Stat(p); err == nil {
			_ = os.Remove(p)
			t.Errorf("%s written on the host", p)
		}
	}
	readSandboxFile(t, a, "t1", "written")
}

func TestIsolationProcesses(t *testing.T) {
	a, m := newIsolatedAgent(t, nil)
	victim := exec.Command("sleep", "30")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = victim.Process.Kill(); _ = victim.Wait() })
	script := fmt.Sprintf(`
if [ -e /proc/%[1]d ]; then echo agent=visible; else echo agent=hidden; fi
if [ -e /proc/%[2]d ]; then echo victim=visible; else echo victim=hidden; fi
if kill -9 %[2]d 2>/dev/null; then echo kill=done; else echo kill=failed; fi
echo procs=$(ls -d /proc/[0-9]* | wc -l)
`, os.Getpid(), victim.Process.Pid)
	st, vals := runIsolated(t, a, m, "t1", script, mesos.Resources{scalar("cpus", 0.5), scalar("mem", 64)})
	if st.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("%s %s", st.GetState(), st.GetMessage())
	}
	for k, v := range map[string]string{"agent": "hidden", "victim": "hidden", "kill": "failed"} {
		if vals[k] != v {
			t.Errorf("%s = %q, want %q", k, vals[k], v)
		}
	}
	// The shell, its command substitution and ls: nothing of the host.
	if n, _ := strconv.Atoi(vals["procs"]); n < 1 || n > 4 {
		t.Errorf("container sees %q processes", vals["procs"])
	}
	if err := victim.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("victim outside the container is gone: %v", err)
	}
}

func TestIsolationForkBombHeldByPidsLimit(t *testing.T) {
	const pidsMax = 32
	a, m := newIsolatedAgent(t, func(pc *ProcessContainerizer) { pc.PidsMax = pidsMax })
	// The shell forks once, before the bomb exists (a failed fork ends a
	// non-interactive shell), and then spins without forking, so the
	// container lives on while the bomb presses against the limit.
	task := commandTask("t1", &mesos.CommandInfo{Value: strp(`bomb() { bomb | bomb & }; (bomb) & while :; do :; done`)})
	task.Resources = mesos.Resources{scalar("cpus", 0.2), scalar("mem", 128)}
	a.LaunchTask(testFramework(), task)
	m.waitUpdate(t, "t1", mesos.TASK_RUNNING)
	cid := containerIDOf(t, a, "t1")
	dir := cgroupDirForTest("pids", cid)

	refused := false
	for deadline := time.Now().Add(10 * time.Second); !refused && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		cur := readInt(t, filepath.Join(dir, "pids.current"))
		if cur > pidsMax {
			t.Fatalf("pids.current %d above the limit %d", cur, pidsMax)
		}
		refused = readKeyed(filepath.Join(dir, "pids.events"), "max") > 0
	}
	if !refused {
		t.Fatal("the bomb never hit the pids limit")
	}
	// The agent still controls it.
	grace := mesos.DurationInfo{Nanoseconds: 0}
	a.KillTask(mesos.FrameworkID{Value: "fw-1"}, mesos.TaskID{Value: "t1"}, &mesos.KillPolicy{GracePeriod: &grace})
	m.waitUpdate(t, "t1", mesos.TASK_KILLED)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left behind: %v", dir, err)
	}
}

func TestIsolationMemoryLimit(t *testing.T) {
	a, m := newIsolatedAgent(t, nil)
	// Doubling a shell variable until the kernel steps in.
	const bomb = `x=0123456789abcdef; while :; do x="$x$x"; done`
	res := mesos.Resources{scalar("cpus", 0.5), scalar("mem", 32)}
	tests := []struct {
		name, script string
		executor     bool
		oom          bool
	}{
		{"executor memory bomb", bomb, true, true},
		{"command memory bomb", bomb, false, true},
		{"command crash", "exit 3", false, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("t%d", i)
			task := commandTask(id, &mesos.CommandInfo{Value: strp(tc.script)})
			if tc.executor {
				task = testTask(id, &mesos.ExecutorInfo{
					Type:       mesos.ExecutorInfo_CUSTOM,
					ExecutorID: mesos.ExecutorID{Value: "e" + id},
					Command:    &mesos.CommandInfo{Value: strp(tc.script)},
				})
			}
			task.Resources = res
			a.LaunchTask(testFramework(), task)
			st := m.waitUpdate(t, id, mesos.TASK_FAILED)
			isOOM := st.GetReason() == mesos.REASON_CONTAINER_LIMITATION_MEMORY
			if isOOM != tc.oom {
				t.Fatalf("reason %s (%s), want memory limitation %v", st.GetReason(), st.GetMessage(), tc.oom)
			}
			if tc.oom && (st.GetSource() != mesos.SOURCE_AGENT || !strings.HasPrefix(st.GetMessage(), "Memory limit exceeded: Requested: 32MB")) {
				t.Errorf("source %s, message %q", st.GetSource(), st.GetMessage())
			}
		})
	}
}

func containerIDOf(t *testing.T, a *Agent, exec string) string {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	ex := a.frameworks["fw-1"].executors[exec]
	if ex == nil {
		t.Fatalf("no executor %s", exec)
	}
	return ex.containerID
}

func readInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}

// A real mesos-go executor runs isolated: it reaches the agent over
// loopback, its program comes from the sandbox (the test binary's own
// directory is private to root and under the hidden /tmp), and it finds
// HOME and its cgroups in its environment.
func TestIsolatedRealExecutor(t *testing.T) {
	a, m := newIsolatedAgent(t, nil)
	info := testExecutorInfo(t, "e1", "finish", "protobuf")
	bin := info.Command.GetValue()
	info.Command.URIs = []mesos.CommandInfo_URI{{Value: bin, Executable: boolp(true)}}
	info.Command.Value = strp("./" + filepath.Base(bin))
	task := testTask("t1", info)
	task.Resources = mesos.Resources{scalar("cpus", 1), scalar("mem", 512)}
	a.LaunchTask(testFramework(), task)
	m.waitUpdate(t, "t1", mesos.TASK_RUNNING)
	m.waitUpdate(t, "t1", mesos.TASK_FINISHED)
	if ws := m.waitTerminated(t, "e1"); ws != 0 {
		t.Fatalf("executor wait status %d; stderr: %s", ws, readSandboxFile(t, a, "e1", "stderr"))
	}
	env := readSandboxFile(t, a, "e1", "env.json")
	sandbox := sandboxOf(t, a, "e1")
	for _, want := range []string{`"HOME=` + sandbox + `"`, `"` + EnvCgroupMemory + `=` + cgroupDirForTest("memory", filepath.Base(sandbox)) + `"`} {
		if !strings.Contains(env, want) {
			t.Errorf("executor environment lacks %s: %s", want, env)
		}
	}
}

// An executable the fetcher linked in from the host stays the host's: the
// container runs it but can neither write nor chmod it, and it stays
// root's, mode 0755, after the container has ended.
func TestIsolationLinkedExecutableStaysTheHosts(t *testing.T) {
	a, m := newIsolatedAgent(t, nil)
	tool := filepath.Join(t.TempDir(), "tool")
	const body = "#!/bin/sh\necho ran=yes\n"
	if err := os.WriteFile(tool, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tool, 0o755); err != nil {
		t.Fatal(err)
	}
	task := commandTask("t1", &mesos.CommandInfo{
		Value: strp(`./tool; if echo x >> ./tool 2>/dev/null; then echo write=done; else echo write=denied; fi; ` +
			`if chmod 777 ./tool 2>/dev/null; then echo chmod=done; else echo chmod=denied; fi`),
		URIs: []mesos.CommandInfo_URI{{Value: tool, Executable: boolp(true)}},
	})
	task.Resources = mesos.Resources{scalar("cpus", 0.5), scalar("mem", 64)}
	a.LaunchTask(testFramework(), task)
	if st := waitTerminal(t, m, "t1"); st.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("%s %s", st.GetState(), st.GetMessage())
	}
	out := readSandboxFile(t, a, "t1", "stdout")
	for _, want := range []string{"ran=yes", "write=denied", "chmod=denied"} {
		if !strings.Contains(out, want) {
			t.Errorf("container output %q lacks %s", out, want)
		}
	}
	host, err := os.Stat(tool)
	if err != nil {
		t.Fatal(err)
	}
	inSandbox, err := os.Stat(filepath.Join(sandboxOf(t, a, "t1"), "tool"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(host, inSandbox) {
		t.Error("the executable was copied, not linked")
	}
	if st := host.Sys().(*syscall.Stat_t); st.Uid != 0 || host.Mode().Perm() != 0o755 {
		t.Errorf("host file owned by %d with mode %v, want root and 0755", st.Uid, host.Mode().Perm())
	}
	if b, _ := os.ReadFile(tool); string(b) != body {
		t.Errorf("host file changed: %q", b)
	}
}
