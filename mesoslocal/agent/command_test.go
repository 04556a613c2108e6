package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func commandTask(id string, cmd *mesos.CommandInfo) mesos.TaskInfo {
	task := testTask(id, nil)
	task.Command = cmd
	return task
}

// Conformance: 66, 121, 122
func TestCommandTasks(t *testing.T) {
	tests := []struct {
		name    string
		cmd     *mesos.CommandInfo
		final   mesos.TaskState
		message string
		stdout  string
	}{
		{"shell success", &mesos.CommandInfo{Value: strp("echo hello from $MESOS_SANDBOX; test \"$(pwd)\" = \"$MESOS_SANDBOX\"")},
			mesos.TASK_FINISHED, "Command exited with status 0", "hello from /"},
		{"shell failure", &mesos.CommandInfo{Value: strp("exit 2")}, mesos.TASK_FAILED, "Command exited with status 2", ""},
		{"argv without shell", &mesos.CommandInfo{Shell: boolp(false), Value: strp("/bin/echo"), Arguments: []string{"echo", "a b", "c"}},
			mesos.TASK_FINISHED, "", "a b c"},
		{"task environment", &mesos.CommandInfo{Value: strp("echo $GREETING"),
			Environment: &mesos.Environment{Variables: []mesos.Environment_Variable{{Name: "GREETING", Value: strp("hi-env")}}}},
			mesos.TASK_FINISHED, "", "hi-env"},
		{"missing program", &mesos.CommandInfo{Shell: boolp(false), Value: strp("/nonexistent/prog")}, mesos.TASK_FAILED, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newFakeMaster(true)
			a := newTestAgent(t, m, nil)
			a.LaunchTask(testFramework(), commandTask("t1", tc.cmd))
			st := m.waitUpdate(t, "t1", tc.final)
			if tc.message != "" && st.GetMessage() != tc.message {
				t.Fatalf("message %q, want %q", st.GetMessage(), tc.message)
			}
			if st.GetExecutorID().GetValue() != "t1" || len(st.UUID) != 16 {
				t.Fatalf("update fields: %+v", st)
			}
			if tc.final == mesos.TASK_FINISHED {
				if m.count("t1", mesos.TASK_STARTING) != 1 || m.count("t1", mesos.TASK_RUNNING) != 1 {
					t.Fatalf("missing STARTING/RUNNING: %s", describe(m.updates))
				}
			}
			if tc.stdout != "" {
				out := readSandboxFile(t, a, "t1", "stdout")
				if !strings.Contains(out, tc.stdout) {
					t.Fatalf("stdout %q lacks %q", out, tc.stdout)
				}
			}
		})
	}
}

// Conformance: 77 (command task), 76 (command task before start)
func TestKillCommandTask(t *testing.T) {
	m := newFakeMaster(true)
	a := newTestAgent(t, m, nil)
	fw := testFramework(mesos.FrameworkInfo_Capability_TASK_KILLING_STATE)
	a.LaunchTask(fw, commandTask("t1", &mesos.CommandInfo{Value: strp("trap '' TERM; sleep 300")}))
	m.waitUpdate(t, "t1", mesos.TASK_RUNNING)
	start := time.Now()
	a.KillTask(mesos.FrameworkID{Value: "fw-1"}, mesos.TaskID{Value: "t1"},
		&mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(200 * time.Millisecond)}})
	m.waitUpdate(t, "t1", mesos.TASK_KILLING)
	st := m.waitUpdate(t, "t1", mesos.TASK_KILLED)
	if st.GetSource() != mesos.SOURCE_EXECUTOR || time.Since(start) > 5*time.Second {
		t.Fatalf("kill: %+v after %v", st, time.Since(start))
	}
}

// Conformance: 62
func TestDockerPortMappings(t *testing.T) {
	docker := func(network mesos.ContainerInfo_DockerInfo_Network, hostPort uint32) *mesos.ContainerInfo {
		return &mesos.ContainerInfo{
			Type: mesos.ContainerInfo_DOCKER.Enum(),
			Docker: &mesos.ContainerInfo_DockerInfo{
				Image:        "alpine:3.19",
				Network:      network.Enum(),
				PortMappings: []mesos.ContainerInfo_DockerInfo_PortMapping{{HostPort: hostPort, ContainerPort: 80}},
			},
		}
	}
	ports := mesos.Resource{Name: "ports", Type: mesos.RANGES.Enum(),
		Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: 31000, End: 31010}}}}
	tests := []struct {
		name      string
		container *mesos.ContainerInfo
		want      mesos.TaskState
	}{
		{"host network", docker(mesos.ContainerInfo_DockerInfo_HOST, 31000), mesos.TASK_FAILED},
		{"none network", docker(mesos.ContainerInfo_DockerInfo_NONE, 31000), mesos.TASK_FAILED},
		{"port outside resources", docker(mesos.ContainerInfo_DockerInfo_BRIDGE, 32000), mesos.TASK_FAILED},
		{"port inside resources", docker(mesos.ContainerInfo_DockerInfo_BRIDGE, 31005), mesos.TASK_FINISHED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newFakeMaster(true)
			a := newTestAgent(t, m, nil)
			task := commandTask("t1", &mesos.CommandInfo{Value: strp("true")})
			task.Container = tc.container
			task.Resources = append(task.Resources, ports)
			a.LaunchTask(testFramework(), task)
			st := m.waitUpdate(t, "t1", tc.want)
			if tc.want == mesos.TASK_FAILED && st.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED {
				t.Fatalf("reason %s", st.GetReason())
			}
		})
	}
}

func readSandboxFile(t *testing.T, a *Agent, exec, name string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(a.WorkDir(), "slaves", "*", "frameworks", "*", "executors", exec, "runs", "*", name))
	if len(matches) == 0 {
		t.Fatalf("no %s in %s's sandbox", name, exec)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
