//go:build linux

package agent

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// SIGKILL to a container lifts its CPU quota: hundreds of processes that
// must each run to exit do not wait for a few milliseconds of quota per
// period. (A stand-in directory plays the cgroup.)
func TestKilledContainerIsUnthrottled(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		dir := t.TempDir()
		file, want := "cpu.cfs_quota_us", "-1"
		if v2 {
			file, want = "cpu.max", "max"
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte("5000"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sleep", "30")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		iso := &isolation{owner: &isolator{log: slog.New(slog.DiscardHandler)}, cgroups: &containerCgroups{v2: v2, cpu: dir}}
		c := &processContainer{pid: cmd.Process.Pid, iso: iso, done: make(chan struct{}), status: -1}
		if err := c.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, file)); string(b) != "5000" {
			t.Errorf("v2 %v: %s %q after SIGTERM, want the quota kept", v2, file, b)
		}
		_ = cmd.Wait()
		if err := c.Destroy(); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, file)); string(b) != want {
			t.Errorf("v2 %v: %s %q after the kill, want %s", v2, file, b, want)
		}
	}
}

// Empty container cgroups older than the cutoff go; young ones (another
// agent's container being set up) and those with processes stay.
func TestSweepStaleCgroups(t *testing.T) {
	requireIsolation(t)
	v2 := cgroupV2ForTest()
	ctrl := "pids"
	mk := func(name string, age time.Duration) string {
		dir := cgroupDirForTest(ctrl, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Remove(dir) })
		old := time.Now().Add(-age)
		if err := os.Chtimes(dir, old, old); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	suffix := filepath.Base(t.TempDir())
	stale := mk("sweep-stale-"+suffix, time.Hour)
	young := mk("sweep-young-"+suffix, time.Second)
	busy := mk("sweep-busy-"+suffix, time.Hour)
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if err := os.WriteFile(filepath.Join(busy, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(busy, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	sweepStaleCgroups(v2, time.Now().Add(-staleCgroupAge))
	for dir, want := range map[string]bool{stale: false, young: true, busy: true} {
		if _, err := os.Stat(dir); (err == nil) != want {
			t.Errorf("%s exists %v after the sweep, want %v", filepath.Base(dir), err == nil, want)
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}
