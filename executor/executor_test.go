package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	fobpb "github.com/fob-project/fob/proto"
	_ "github.com/fob-project/fob/sandbox/drivers"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
)

const testSecret = "s3cret"

// codeServer serves code at /api/cs/fn1 to requests bearing testSecret.
func codeServer(t testing.TB, code string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testSecret {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/api/cs/fn1" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, code)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func digest(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

func freePort(t testing.TB) uint32 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint32(ln.Addr().(*net.TCPAddr).Port)
}

func taskInfo(t testing.TB, spec *fobpb.FunctionSpec) mesos.TaskInfo {
	data, err := spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return mesos.TaskInfo{Name: "fn1", TaskID: mesos.TaskID{Value: spec.TaskId}, AgentID: mesos.AgentID{Value: "agent-1"}, Data: data}
}

func testSpec(codeURL, lang, code string, port uint32) *fobpb.FunctionSpec {
	return &fobpb.FunctionSpec{
		FunctionId: "fn1", Version: 1, Language: lang, Name: "adder", TaskId: "fn1.task-1",
		CodeUrl: codeURL + "/api/cs/fn1", Secret: testSecret, CodeDigest: digest(code),
		Limits: &fobpb.Limits{Concurrency: 2, TimeoutMs: 5000}, Port: port,
	}
}

type runningExecutor struct {
	done   chan error
	cancel context.CancelFunc
}

func startExecutor(t testing.TB, agent *fakeAgent, mutate func(*Config)) *runningExecutor {
	t.Helper()
	cfg := Config{
		Config: config.Config{
			FrameworkID: "fw", ExecutorID: "ex", AgentEndpoint: agent.endpoint(),
			Directory: t.TempDir(), ExecutorShutdownGracePeriod: 3 * time.Second,
		},
		Bind: "127.0.0.1", FetchAttempts: 2,
	}
	cfg.Sandbox = cfg.Directory
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningExecutor{done: make(chan error, 1), cancel: cancel}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { r.done <- Run(ctx, cfg, log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("executor did not stop")
		}
	})
	return r
}

func (r *runningExecutor) wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for Cleanup
		return err
	case <-time.After(timeout):
		t.Fatalf("executor still running after %s", timeout)
		return nil
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func expectState(t testing.TB, agent *fakeAgent, want mesos.TaskState, timeout time.Duration) mesos.TaskStatus {
	t.Helper()
	st := agent.nextUpdate(timeout)
	if st.GetState() != want {
		t.Fatalf("state = %s (%q), want %s", st.GetState(), st.GetMessage(), want)
	}
	if st.GetExecutorID().GetValue() != "ex" || len(st.UUID) != 16 {
		t.Errorf("update lacks executor id or uuid: %+v", st)
	}
	return st
}

// expectFailed waits for TASK_FAILED with a message containing want and
// the load-failure label set as load says, then for the executor to end
// cleanly.
func expectFailed(t testing.TB, agent *fakeAgent, ex *runningExecutor, want string, load bool) {
	t.Helper()
	st := expectState(t, agent, mesos.TASK_FAILED, 20*time.Second)
	if !strings.Contains(st.GetMessage(), want) {
		t.Errorf("message = %q, want it to contain %q", st.GetMessage(), want)
	}
	if got := fobpb.IsLoadFailure(&st); got != load {
		t.Errorf("load-failure label = %v, want %v", got, load)
	}
	if err := ex.wait(t, 10*time.Second); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

func postCall(t testing.TB, port uint32, body string) (int, string) {
	t.Helper()
	resp, err := http.Post("http://127.0.0.1:"+strconv.Itoa(int(port))+"/call", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestExecutorLaunchCallKill(t *testing.T) {
	cases := []struct {
		lang, code, codec string
	}{
		{"python", "def callme(a, b):\n    print('adding')\n    return a + b\n", "json"},
		{"python", "def callme(a, b):\n    return a + b\n", "protobuf"},
		{"node", "exports.callme = ({a, b}) => a + b;\n", "json"},
	}
	for _, c := range cases {
		t.Run(c.lang+"/"+c.codec, func(t *testing.T) {
			agent := newFakeAgent(t)
			code := codeServer(t, c.code)
			port := freePort(t)
			var sandboxDir string
			ex := startExecutor(t, agent, func(cfg *Config) { cfg.Codec = c.codec; sandboxDir = cfg.Sandbox })
			agent.nextSubscribe(5 * time.Second)
			agent.send(launchEvent(taskInfo(t, testSpec(code.URL, c.lang, c.code, port))))

			expectState(t, agent, mesos.TASK_STARTING, 10*time.Second)
			expectState(t, agent, mesos.TASK_RUNNING, 20*time.Second)
			if status, body := postCall(t, port, `{"a": 1, "b": 2}`); status != 200 || body != `{"result":3}` {
				t.Errorf("call: %d %s", status, body)
			}
			if c.lang == "python" && c.codec == "json" {
				// The log is drained from the workers' pipe asynchronously.
				var b []byte
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					if b, _ = os.ReadFile(filepath.Join(sandboxDir, LogFileName)); strings.Contains(string(b), "adding") {
						break
					}
				}
				if !strings.Contains(string(b), "adding") {
					t.Errorf("function log %q lacks the function's output", b)
				}
			}

			agent.send(killEvent("fn1.task-1"))
			expectState(t, agent, mesos.TASK_KILLED, 10*time.Second)
			if err := ex.wait(t, 10*time.Second); err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
			if _, err := http.Get("http://127.0.0.1:" + strconv.Itoa(int(port)) + "/healthz"); err == nil {
				t.Errorf("call server still listening after the kill")
			}
		})
	}
}

func TestExecutorLaunchFailures(t *testing.T) {
	cases := []struct {
		name   string
		lang   string
		code   string
		mutate func(*fobpb.FunctionSpec)
		want   string
		// load says the failure is the code's own, labelled so the
		// scheduler does not relaunch the same version.
		load bool
	}{
		{"python syntax error", "python", "def callme(a):\n    return a +\n", nil, "SyntaxError: invalid syntax (function.py, line 2)", true},
		{"python missing callme", "python", "x = 1\n", nil, "AttributeError: function.py does not define callme", true},
		{"node syntax error", "node", "exports.callme = ({a}) => {\n  return a +;\n};\n", nil, "SyntaxError: Unexpected token ';' (function.js, line 2)", true},
		{"wrong secret", "python", "def callme():\n    return 1\n", func(s *fobpb.FunctionSpec) { s.Secret = "nope" }, "401", false},
		{"digest mismatch", "python", "def callme():\n    return 1\n", func(s *fobpb.FunctionSpec) { s.CodeDigest = digest("other") }, "digest mismatch", false},
		{"unknown language", "cobol", "x", nil, `unknown language "cobol"`, false},
		{"no port", "python", "def callme():\n    return 1\n", func(s *fobpb.FunctionSpec) { s.Port = 0 }, "no usable port", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			agent := newFakeAgent(t)
			code := codeServer(t, c.code)
			ex := startExecutor(t, agent, nil)
			agent.nextSubscribe(5 * time.Second)
			spec := testSpec(code.URL, c.lang, c.code, freePort(t))
			if c.mutate != nil {
				c.mutate(spec)
			}
			agent.send(launchEvent(taskInfo(t, spec)))
			expectState(t, agent, mesos.TASK_STARTING, 10*time.Second)
			expectFailed(t, agent, ex, c.want, c.load)
		})
	}
}

func TestExecutorShutdownEvent(t *testing.T) {
	agent := newFakeAgent(t)
	code := "def callme():\n    return 'hi'\n"
	srv := codeServer(t, code)
	ex := startExecutor(t, agent, nil)
	agent.nextSubscribe(5 * time.Second)
	agent.send(launchEvent(taskInfo(t, testSpec(srv.URL, "python", code, freePort(t)))))
	expectState(t, agent, mesos.TASK_STARTING, 10*time.Second)
	expectState(t, agent, mesos.TASK_RUNNING, 20*time.Second)
	agent.send(&executor.Event{Type: executor.Event_HEARTBEAT})
	agent.send(&executor.Event{Type: executor.Event_MESSAGE, Message: &executor.Event_Message{Data: []byte("hello")}})
	agent.send(&executor.Event{Type: executor.Event_SHUTDOWN})
	expectState(t, agent, mesos.TASK_KILLED, 10*time.Second)
	if err := ex.wait(t, 10*time.Second); err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestExecutorStopSignal(t *testing.T) {
	agent := newFakeAgent(t)
	code := "def callme():\n    return 'hi'\n"
	srv := codeServer(t, code)
	ex := startExecutor(t, agent, nil)
	agent.nextSubscribe(5 * time.Second)
	agent.send(launchEvent(taskInfo(t, testSpec(srv.URL, "python", code, freePort(t)))))
	expectState(t, agent, mesos.TASK_STARTING, 10*time.Second)
	expectState(t, agent, mesos.TASK_RUNNING, 20*time.Second)
	ex.cancel()
	expectState(t, agent, mesos.TASK_KILLED, 10*time.Second)
	if err := ex.wait(t, 10*time.Second); err != nil {
		t.Errorf("Run = %v", err)
	}
}

// TestExecutorResubscribes breaks the stream while an update is
// unacknowledged: with checkpointing on, the executor subscribes again and
// hands the agent the task and the update.
func TestExecutorResubscribes(t *testing.T) {
	agent := newFakeAgent(t)
	code := "def callme():\n    return 'hi'\n"
	srv := codeServer(t, code)
	ex := startExecutor(t, agent, func(c *Config) {
		c.Checkpoint, c.RecoveryTimeout, c.SubscriptionBackoffMax = true, 10*time.Second, 500*time.Millisecond
	})
	agent.nextSubscribe(5 * time.Second)
	agent.setNoAck(true)
	port := freePort(t)
	agent.send(launchEvent(taskInfo(t, testSpec(srv.URL, "python", code, port))))
	expectState(t, agent, mesos.TASK_STARTING, 10*time.Second)
	running := expectState(t, agent, mesos.TASK_RUNNING, 20*time.Second)

	agent.breakStream()
	sub := agent.nextSubscribe(10 * time.Second)
	if len(sub.UnacknowledgedTasks) != 1 || sub.UnacknowledgedTasks[0].TaskID.Value != "fn1.task-1" {
		t.Errorf("resubscribe carries tasks %+v, want fn1.task-1", sub.UnacknowledgedTasks)
	}
	if n := len(sub.UnacknowledgedUpdates); n != 2 {
		t.Fatalf("resubscribe carries %d updates, want STARTING and RUNNING", n)
	}
	if last := sub.UnacknowledgedUpdates[1].Status; last.GetState() != mesos.TASK_RUNNING || string(last.UUID) != string(running.UUID) {
		t.Errorf("last unacknowledged update = %s, want the RUNNING update", last.GetState())
	}
	// The instance kept serving while the agent was away.
	if status, body := postCall(t, port, `{}`); status != 200 || body != `{"result":"hi"}` {
		t.Errorf("call after resubscription: %d %s", status, body)
	}
	agent.setNoAck(false)
	agent.send(killEvent("fn1.task-1"))
	expectState(t, agent, mesos.TASK_KILLED, 10*time.Second)
	if err := ex.wait(t, 10*time.Second); err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestExecutorExitsWithoutCheckpoint(t *testing.T) {
	agent := newFakeAgent(t)
	ex := startExecutor(t, agent, nil)
	agent.nextSubscribe(5 * time.Second)
	agent.breakStream()
	if err := ex.wait(t, 10*time.Second); !errors.Is(err, ErrAgentLost) {
		t.Errorf("Run = %v, want ErrAgentLost", err)
	}
}
