//go:build linux

package agent

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func TestProcessIsolation(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("isolation needs root")
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory/cgroup.procs"); err != nil {
		t.Skip("cgroup v1 memory controller not mounted")
	}
	// The container's uid must be able to reach its sandbox.
	work := filepath.Join(t.TempDir(), "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	for dir := work; dir != "/" && dir != os.TempDir(); dir = filepath.Dir(dir) {
		_ = os.Chmod(dir, 0o755)
	}
	m := newFakeMaster(true)
	a := newTestAgent(t, m, func(c *Config) {
		c.WorkDir = work
		c.Containerizer = NewProcessContainerizer(true, nil)
	})
	script := `echo "uid=$(id -u)"; echo "pid=$$"; ` +
		`cg=$(grep ':memory:' /proc/self/cgroup | cut -d: -f3); echo "mem=$(cat /sys/fs/cgroup/memory$cg/memory.limit_in_bytes)"; ` +
		`echo "quota=$(cat /sys/fs/cgroup/cpu$(grep ':cpu,\|:cpu:' /proc/self/cgroup | head -1 | cut -d: -f3)/cpu.cfs_quota_us)"; ` +
		`touch written-by-container`
	task := commandTask("t1", &mesos.CommandInfo{Value: strp(script)})
	task.Resources = mesos.Resources{scalar("cpus", 0.5), scalar("mem", 64)}
	a.LaunchTask(testFramework(), task)
	m.waitUpdate(t, "t1", mesos.TASK_FINISHED)

	out := readSandboxFile(t, a, "t1", "stdout")
	vals := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vals[k] = v
	}
	if uid, _ := strconv.Atoi(vals["uid"]); uid < firstIsolated {
		t.Errorf("ran as uid %q, want an unprivileged one", vals["uid"])
	}
	if vals["pid"] != "1" {
		t.Errorf("pid %q, want 1 in its own pid namespace", vals["pid"])
	}
	if vals["mem"] != strconv.Itoa(64<<20) {
		t.Errorf("memory limit %q", vals["mem"])
	}
	if _, err := os.Stat("/sys/fs/cgroup/cpu/" + cgroupParent); err == nil && vals["quota"] != "50000" {
		t.Errorf("cpu quota %q", vals["quota"])
	}
	readSandboxFile(t, a, "t1", "written-by-container")
}
