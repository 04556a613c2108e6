//go:build linux

package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// An isolated container sees nothing of the agent's work directory but its
// own sandbox, and reaches its sandbox even when a directory on the way is
// closed to others (a data directory of mode 0700, as fob creates its own).
func TestIsolationWorkDir(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode os.FileMode // of the work directory's parent
	}{{"open parent", 0o755}, {"parent closed to others", 0o700}} {
		t.Run(tc.name, func(t *testing.T) {
			requireIsolation(t)
			// Outside /tmp, which containers see as an empty tmpfs anyway.
			parent, err := os.MkdirTemp("/", ".fob-isolation-workdir-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.RemoveAll(parent) })
			if err := os.Chmod(parent, tc.mode); err != nil {
				t.Fatal(err)
			}
			workDir := filepath.Join(parent, "work")
			if err := os.WriteFile(filepath.Join(parent, "beside"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			m := newFakeMaster(true)
			a := newTestAgent(t, m, func(c *Config) {
				c.WorkDir = workDir
				c.Containerizer = NewProcessContainerizer(true, nil)
			})
			res := mesos.Resources{scalar("cpus", 0.2), scalar("mem", 64)}
			task := commandTask("other", &mesos.CommandInfo{Value: strp("echo secret > code.py; sleep 30")})
			task.Resources = res
			a.LaunchTask(testFramework(), task)
			m.waitUpdate(t, "other", mesos.TASK_RUNNING)
			other := sandboxOf(t, a, "other")

			script := fmt.Sprintf(`
echo "work_dir=$(ls -A %[1]q | tr '\n' ' ')"
echo "slaves=$(ls -A %[1]q/slaves/*/frameworks/*/executors | tr '\n' ' ')"
if [ -e %[2]q ]; then echo other=visible; else echo other=hidden; fi
if cat %[2]q/code.py 2>/dev/null; then echo read=done; else echo read=denied; fi
if [ -e %[3]q/beside ]; then echo beside=visible; else echo beside=hidden; fi
if touch %[1]q/x 2>/dev/null; then echo work_dir_write=done; else echo work_dir_write=denied; fi
`, workDir, other, parent)
			st, vals := runIsolated(t, a, m, "probe", script, res)
			if st.GetState() != mesos.TASK_FINISHED {
				t.Fatalf("%s %s", st.GetState(), st.GetMessage())
			}
			want := map[string]string{
				"work_dir": "slaves ", "slaves": "probe ", "other": "hidden", "read": "denied",
				"work_dir_write": "denied", "beside": "visible",
			}
			if tc.mode&0o001 == 0 {
				want["beside"] = "hidden" // the parent itself is covered
			}
			for k, v := range want {
				if vals[k] != v {
					t.Errorf("%s = %q, want %q", k, vals[k], v)
				}
			}
		})
	}
}
