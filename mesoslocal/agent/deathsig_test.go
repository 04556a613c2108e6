package agent

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// testAgentHostEnv makes the test binary host an agent (runAgentHost)
// instead of running tests: "plain" or "isolated".
const testAgentHostEnv = "FOB_AGENT_TEST_HOST"

// runAgentHost starts an agent that launches one sleeping executor, prints
// "ready <container id>" and waits to be killed.
func runAgentHost() int {
	isolated := os.Getenv(testAgentHostEnv) == "isolated"
	nonce := os.Getenv("TEST_HOST_NONCE")
	a, err := New(Config{
		ID:            mesos.AgentID{Value: "agent-1"},
		WorkDir:       os.Getenv("TEST_HOST_WORKDIR"),
		Containerizer: NewProcessContainerizer(isolated, nil),
	}, newFakeMaster(false), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := a.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// Isolated, the executor is pid 1 of its namespace and may leave a
	// child behind; plain, only the executor is the agent's child.
	script := "exec sleep 300." + nonce
	if isolated {
		script = "sleep 301." + nonce + " & " + script
	}
	info := &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_CUSTOM,
		ExecutorID: mesos.ExecutorID{Value: "e1"},
		Command:    &mesos.CommandInfo{Value: strp(script)},
	}
	a.LaunchTask(testFramework(), testTask("t1", info))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		a.mu.Lock()
		var cid string
		if ex := a.frameworks["fw-1"].executors["e1"]; ex != nil && ex.container != nil {
			cid = ex.containerID
		}
		a.mu.Unlock()
		if cid != "" {
			fmt.Println("ready", cid)
			time.Sleep(time.Hour)
		}
	}
	fmt.Fprintln(os.Stderr, "executor did not start")
	return 2
}

// Conformance: executors and what they start die with the agent's process,
// even when it is killed with SIGKILL and cannot clean up.
func TestExecutorsDieWithAgentProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("parent-death signals exist only on Linux")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"plain", "isolated"} {
		t.Run(mode, func(t *testing.T) {
			want := 1
			if mode == "isolated" {
				if os.Geteuid() != 0 {
					t.Skip("isolation needs root")
				}
				want = 2
			}
			nonce := fmt.Sprintf("%09d", rand.IntN(1e9))
			host := exec.Command(bin)
			host.Env = append(os.Environ(), testAgentHostEnv+"="+mode,
				"TEST_HOST_WORKDIR="+t.TempDir(), "TEST_HOST_NONCE="+nonce)
			host.Stderr = os.Stderr
			out, err := host.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := host.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = host.Process.Kill(); _ = host.Wait() })
			ready := make(chan string, 1)
			go func() {
				line, _ := bufio.NewReader(out).ReadString('\n')
				ready <- strings.TrimSpace(line)
			}()
			var cid string
			select {
			case line := <-ready:
				var ok bool
				if cid, ok = strings.CutPrefix(line, "ready "); !ok {
					t.Fatalf("agent host said %q", line)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("agent host never became ready")
			}
			if mode == "isolated" {
				// Nobody is left to remove the container's cgroups. They
				// stay busy until the host's init reaps the killed
				// processes, which it may do lazily.
				t.Cleanup(func() {
					for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
						left := 0
						for _, ctrl := range []string{"memory", "cpu", "pids"} {
							if err := os.Remove(filepath.Join(cgroupRootForTest, ctrl, "fob", cid)); err != nil && !os.IsNotExist(err) {
								left++
							}
						}
						if left == 0 {
							return
						}
					}
					t.Errorf("cgroups of container %s still busy", cid)
				})
			}
			waitProcs(t, nonce, want)

			if err := host.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = host.Wait()
			waitProcs(t, nonce, 0)
		})
	}
}

const cgroupRootForTest = "/sys/fs/cgroup"

// waitProcs waits until exactly want live processes carry the nonce in
// their command line.
func waitProcs(t *testing.T, nonce string, want int) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = procsWith(nonce); len(got) == want {
			return
		}
	}
	t.Fatalf("%d processes with %s (%v), want %d", len(got), nonce, got, want)
}

// procsWith lists the pids of live (not zombie) processes whose command
// line contains s. A zombie's command line is empty.
func procsWith(s string) []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			out = append(out, filepath.Base(d))
		}
	}
	return out
}
