package executor

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fobpb "github.com/fob-project/fob/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// stemSpec is the spec of a stem of lang: no function, no code.
func stemSpec(lang string, port uint32) *fobpb.FunctionSpec {
	return &fobpb.FunctionSpec{
		Language: lang, TaskId: "fn1.task-1", Secret: testSecret, Port: port,
		Limits: &fobpb.Limits{Concurrency: 1, TimeoutMs: 5000},
	}
}

func messageEvent(t testing.TB, spec *fobpb.FunctionSpec) *executor.Event {
	data, err := spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return &executor.Event{Type: executor.Event_MESSAGE, Message: &executor.Event_Message{Data: data}}
}

func labels(st mesos.TaskStatus) map[string]string {
	m := map[string]string{}
	for _, l := range st.GetLabels().GetLabels() {
		m[l.Key] = l.GetValue()
	}
	return m
}

// startStem launches a stem of lang on a fresh executor and waits for its
// labelled RUNNING.
func startStem(t *testing.T, lang string, port uint32) (*fakeAgent, *runningExecutor, string) {
	t.Helper()
	agent := newFakeAgent(t)
	var sandboxDir string
	ex := startExecutor(t, agent, func(cfg *Config) { sandboxDir = cfg.Sandbox })
	agent.nextSubscribe(5 * time.Second)
	agent.send(launchEvent(taskInfo(t, stemSpec(lang, port))))
	expectState(t, agent, mesos.TASK_STARTING, 10*time.Second)
	st := expectState(t, agent, mesos.TASK_RUNNING, 20*time.Second)
	if got := labels(st); got[fobpb.LabelStem] != lang || got[fobpb.LabelFunctionID] != "" {
		t.Fatalf("stem RUNNING labels = %v, want %s=%s", got, fobpb.LabelStem, lang)
	}
	return agent, ex, sandboxDir
}

func TestStemSpecialisedByMessage(t *testing.T) {
	cases := []struct {
		lang, code string
	}{
		{"python", "import os\n\ndef callme(a, b):\n    print('adding')\n    return [a + b, os.environ['FOB_FUNCTION_ID']]\n"},
		{"node", "exports.callme = ({a, b}) => { console.log('adding'); return [a + b, process.env.FOB_FUNCTION_ID]; };\n"},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			port := freePort(t)
			agent, ex, sandboxDir := startStem(t, c.lang, port)
			// Before it has a function the stem listens and refuses calls.
			if status, body := postCall(t, port, `{"a": 1, "b": 2}`); status != 503 {
				t.Errorf("call to a stem: %d %s, want 503", status, body)
			}
			code := codeServer(t, c.code)
			spec := testSpec(code.URL, c.lang, c.code, port)
			spec.Version = 7
			// A MESSAGE for another task is not this stem's.
			other := testSpec(code.URL, c.lang, c.code, port)
			other.TaskId = "someone-else"
			agent.send(messageEvent(t, other))
			agent.send(messageEvent(t, spec))
			agent.send(messageEvent(t, spec)) // Mesos may deliver it twice

			st := expectState(t, agent, mesos.TASK_RUNNING, 20*time.Second)
			if !fobpb.Loaded(&st, "fn1", 7) {
				t.Fatalf("RUNNING after the MESSAGE has labels %v, want fn1 v7", labels(st))
			}
			if status, body := postCall(t, port, `{"a": 1, "b": 2}`); status != 200 || body != `{"result":[3,"fn1"]}` {
				t.Errorf("call: %d %s", status, body)
			}
			var b []byte
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if b, _ = os.ReadFile(filepath.Join(sandboxDir, LogFileName)); strings.Contains(string(b), "adding") {
					break
				}
			}
			if !strings.Contains(string(b), "adding") {
				t.Errorf("function log %q lacks the function's output", b)
			}
			select {
			case st := <-agent.updates:
				t.Fatalf("unexpected update %s: the duplicate MESSAGE or the other task's was acted on", st.GetState())
			case <-time.After(200 * time.Millisecond):
			}

			agent.send(killEvent("fn1.task-1"))
			expectState(t, agent, mesos.TASK_KILLED, 10*time.Second)
			if err := ex.wait(t, 10*time.Second); err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		})
	}
}

func TestStemSpecialisationFailures(t *testing.T) {
	cases := []struct {
		name   string
		lang   string
		code   string
		mutate func(*fobpb.FunctionSpec)
		want   string
		load   bool
	}{
		{"python syntax error", "python", "def callme(a):\n    return a +\n", nil, "SyntaxError: invalid syntax (function.py, line 2)", true},
		{"python missing callme", "python", "x = 1\n", nil, "AttributeError: function.py does not define callme", true},
		{"node syntax error", "node", "exports.callme = ({a}) => {\n  return a +;\n};\n", nil, "SyntaxError: Unexpected token ';' (function.js, line 2)", true},
		{"python raises on import", "python", "raise ValueError('no')\n", nil, "ValueError: no", true},
		{"wrong secret", "python", "def callme():\n    return 1\n", func(s *fobpb.FunctionSpec) { s.Secret = "nope" }, "port and secret", false},
		{"other language", "python", "exports.callme = () => 1;\n", func(s *fobpb.FunctionSpec) { s.Language = "node" }, "a python stem cannot run a node function", false},
		{"digest mismatch", "python", "def callme():\n    return 1\n", func(s *fobpb.FunctionSpec) { s.CodeDigest = digest("other") }, "digest mismatch", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			port := freePort(t)
			stemLang := c.lang
			if c.mutate != nil {
				stemLang = "python" // a mutation may change the spec's language
			}
			agent, ex, _ := startStem(t, stemLang, port)
			code := codeServer(t, c.code)
			spec := testSpec(code.URL, c.lang, c.code, port)
			if c.mutate != nil {
				c.mutate(spec)
			}
			agent.send(messageEvent(t, spec))
			expectFailed(t, agent, ex, c.want, c.load)
		})
	}
}

// TestStemKilledWhileSpecialising kills a stem whose code fetch hangs: the
// specialisation gives up and the kill is reported.
func TestStemKilledWhileSpecialising(t *testing.T) {
	port := freePort(t)
	agent, ex, _ := startStem(t, "python", port)
	fetching := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetching <- struct{}{}
		<-r.Context().Done() // never answers; the executor gives up
	}))
	t.Cleanup(srv.Close)
	spec := testSpec(srv.URL, "python", "def callme():\n    return 1\n", port)
	agent.send(messageEvent(t, spec))
	select {
	case <-fetching:
	case <-time.After(10 * time.Second):
		t.Fatal("the stem did not fetch the code")
	}
	agent.send(killEvent("fn1.task-1"))
	expectState(t, agent, mesos.TASK_KILLED, 10*time.Second)
	if err := ex.wait(t, 10*time.Second); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}
