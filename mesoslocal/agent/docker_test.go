package agent

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func dockerSpec(di *mesos.ContainerInfo_DockerInfo, cmd *mesos.CommandInfo, res mesos.Resources) LaunchSpec {
	return LaunchSpec{
		ContainerID: "c1",
		Sandbox:     "/work/sb",
		ImageEnv:    []string{"MESOS_SANDBOX=/work/sb", "MESOS_AGENT_ENDPOINT=10.0.0.1:5051", "A=1"},
		Resources:   res,
		Container:   &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum(), Docker: di},
		Command:     cmd,
	}
}

func TestDockerRunArgs(t *testing.T) {
	bridge := mesos.ContainerInfo_DockerInfo_BRIDGE.Enum()
	env := []string{"-e", "MESOS_SANDBOX=/mnt/mesos/sandbox", "-e", "MESOS_AGENT_ENDPOINT=10.0.0.1:5051", "-e", "A=1",
		"-e", "MESOS_CONTAINER_NAME=mesos-c1", "-v", "/work/sb:/mnt/mesos/sandbox"}
	head := []string{"run", "-d", "--name", "mesos-c1"}
	join := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name   string
		spec   LaunchSpec
		modify func(*LaunchSpec)
		want   []string
		err    string
	}{
		{
			name: "bridge, ports, limits, shell command",
			spec: dockerSpec(&mesos.ContainerInfo_DockerInfo{
				Image: "python:3.12-slim", Network: bridge,
				PortMappings: []mesos.ContainerInfo_DockerInfo_PortMapping{{HostPort: 31001, ContainerPort: 8080}, {HostPort: 31002, ContainerPort: 53, Protocol: strp("udp")}},
				Privileged:   boolp(true), ForcePullImage: boolp(true),
				Parameters: []mesos.Parameter{{Key: "ulimit", Value: "nofile=1024"}},
			}, &mesos.CommandInfo{Value: strp("exec ./fob executor")}, mesos.Resources{scalar("cpus", 0.5), scalar("mem", 128)}),
			modify: func(s *LaunchSpec) {
				s.Container.Hostname = strp("fn-1")
				s.Container.Volumes = []mesos.Volume{
					{ContainerPath: "/data", HostPath: strp("/srv/data"), Mode: mesos.RO.Enum()},
					{ContainerPath: "cache", HostPath: strp("cache"), Mode: mesos.RW.Enum()},
				}
			},
			want: join(head, []string{"--cpu-shares", "512", "--cpus", "0.5", "--memory", "134217728"}, env,
				[]string{"-v", "/srv/data:/data:ro", "-v", "/work/sb/cache:/mnt/mesos/sandbox/cache:rw",
					"--network", "bridge", "--hostname", "fn-1", "-p", "31001:8080/tcp", "-p", "31002:53/udp",
					"--privileged", "--ulimit=nofile=1024", "--pull", "always",
					"--entrypoint", "/bin/sh", "python:3.12-slim", "-c", "exec ./fob executor"}),
		},
		{
			name: "host network, image entrypoint with arguments, memory floor",
			spec: dockerSpec(&mesos.ContainerInfo_DockerInfo{Image: "fob/executor:1"},
				&mesos.CommandInfo{Shell: boolp(false), Value: strp("/fob"), Arguments: []string{"executor", "--codec=protobuf"}},
				mesos.Resources{scalar("mem", 8)}),
			want: join(head, []string{"--memory", "33554432"}, env,
				[]string{"--network", "host", "fob/executor:1", "/fob", "executor", "--codec=protobuf"}),
		},
		{
			name: "image's own command",
			spec: dockerSpec(&mesos.ContainerInfo_DockerInfo{Image: "nginx", Network: mesos.ContainerInfo_DockerInfo_NONE.Enum()},
				&mesos.CommandInfo{Shell: boolp(false)}, nil),
			want: join(head, env, []string{"--network", "none", "nginx"}),
		},
		{
			name: "user network",
			spec: dockerSpec(&mesos.ContainerInfo_DockerInfo{Image: "nginx", Network: mesos.ContainerInfo_DockerInfo_USER.Enum()},
				&mesos.CommandInfo{Value: strp("true")}, nil),
			modify: func(s *LaunchSpec) { s.Container.NetworkInfos = []mesos.NetworkInfo{{Name: strp("fob-net")}} },
			want:   join(head, env, []string{"--network", "fob-net", "--entrypoint", "/bin/sh", "nginx", "-c", "true"}),
		},
		{name: "no image", spec: dockerSpec(&mesos.ContainerInfo_DockerInfo{}, &mesos.CommandInfo{Value: strp("true")}, nil), err: "without an image"},
		{
			name: "user network without a name",
			spec: dockerSpec(&mesos.ContainerInfo_DockerInfo{Image: "nginx", Network: mesos.ContainerInfo_DockerInfo_USER.Enum()},
				&mesos.CommandInfo{Value: strp("true")}, nil),
			err: "exactly one network_infos",
		},
		{
			name:   "hostname on the host network",
			spec:   dockerSpec(&mesos.ContainerInfo_DockerInfo{Image: "nginx"}, &mesos.CommandInfo{Value: strp("true")}, nil),
			modify: func(s *LaunchSpec) { s.Container.Hostname = strp("h") },
			err:    "hostname is not allowed",
		},
		{name: "shell without value", spec: dockerSpec(&mesos.ContainerInfo_DockerInfo{Image: "nginx"}, &mesos.CommandInfo{}, nil), err: "without a value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.modify != nil {
				tc.modify(&tc.spec)
			}
			got, err := dockerRunArgs(tc.spec, "mesos-c1")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("argv\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// Without an engine (none runs here; a socket nobody listens on stands in
// for that on machines that have one) the launch fails with a clear reason,
// and the task with REASON_CONTAINER_LAUNCH_FAILED.
func TestDockerEngineUnreachable(t *testing.T) {
	d := &DockerContainerizer{Host: "unix://" + filepath.Join(t.TempDir(), "no-engine.sock")}
	m := newFakeMaster(true)
	a := newTestAgent(t, m, func(c *Config) { c.Containerizer = d })
	task := commandTask("t1", &mesos.CommandInfo{Value: strp("echo hi")})
	task.Container = &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum(), Docker: &mesos.ContainerInfo_DockerInfo{Image: "busybox"}}
	a.LaunchTask(testFramework(), task)
	st := m.waitUpdate(t, "t1", mesos.TASK_FAILED)
	if st.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED || !strings.Contains(st.GetMessage(), "docker engine not reachable: ") {
		t.Errorf("reason %s, message %q", st.GetReason(), st.GetMessage())

	}
}

// fakeDockerCLI is a stand-in for the docker CLI that records its calls
// and plays a container that runs until docker rm or kill, then exits with
// the code in the file exit and reports OOMKilled from the file oom.
const fakeDockerCLI = `#!/bin/sh
dir=$(dirname "$0")
[ "$1" = "-H" ] && shift 2
echo "$*" >> "$dir/calls"
case "$1" in
version) echo 28.2.2 ;;
run) echo 0123abcd ;;
logs) echo "out from the container"; echo "err from the container" >&2 ;;
wait) while [ ! -e "$dir/stopped" ]; do sleep 0.01; done; cat "$dir/exit" ;;
inspect) cat "$dir/oom" ;;
rm|kill) touch "$dir/stopped" ;;
esac
`

func TestDockerContainerLifecycle(t *testing.T) {
	for _, oom := range []bool{false, true} {
		name := map[bool]string{false: "destroyed", true: "oom killed"}[oom]
		t.Run(name, func(t *testing.T) {
			dir, sandbox := t.TempDir(), t.TempDir()
			bin := filepath.Join(dir, "docker")
			write := func(name, content string, mode os.FileMode) {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
					t.Fatal(err)
				}
			}
			write("docker", fakeDockerCLI, 0o755)
			write("exit", "137\n", 0o644)
			write("oom", map[bool]string{false: "false\n", true: "true\n"}[oom], 0o644)
			d := &DockerContainerizer{Binary: bin, Host: "unix:///fake.sock"}
			spec := dockerSpec(&mesos.ContainerInfo_DockerInfo{Image: "busybox"}, &mesos.CommandInfo{Value: strp("sleep 1000")}, nil)
			spec.Sandbox = sandbox
			c, err := d.Launch(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-c.Done():
				t.Fatal("container done before it was stopped")
			case <-time.After(100 * time.Millisecond):
			}
			if oom {
				write("stopped", "", 0o644) // it ends by itself
			} else if err := c.Destroy(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-c.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("container never done")
			}
			if ws := c.WaitStatus(); ws != 137<<8 {
				t.Errorf("wait status %d, want exit status 137", ws)
			}
			lim := c.(LimitationReporter).Limitation()
			if (lim != nil) != oom || (oom && lim.Reason != mesos.REASON_CONTAINER_LIMITATION_MEMORY) {
				t.Errorf("limitation %+v, want memory limitation %v", lim, oom)
			}
			calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
			for _, want := range []string{"version --format", "run -d --name mesos-c1", "wait mesos-c1", "logs --follow mesos-c1", "rm -f mesos-c1"} {
				if !strings.Contains(string(calls), want) {
					t.Errorf("no %q among the CLI calls:\n%s", want, calls)
				}
			}
			if out, _ := os.ReadFile(filepath.Join(sandbox, "stdout")); string(out) != "out from the container\n" {
				t.Errorf("sandbox stdout %q", out)
			}
		})
	}
}
