package executor

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func getLogs(t *testing.T, port uint32, query, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(int(port))+"/logs"+query, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestExecutorLogs runs a function that prints a lot on every call: its
// log stays within two files of LogMaxBytes, the call server serves the
// tail to the task's secret only, and the function keeps answering.
func TestExecutorLogs(t *testing.T) {
	const logMax = 64 << 10
	code := "import sys\n" +
		"def callme(n, tag):\n" +
		"    for i in range(n):\n" +
		"        print(tag, i, 'x' * 100)\n" +
		"    print('stderr', tag, file=sys.stderr)\n" +
		"    return n\n"
	agent := newFakeAgent(t)
	srv := codeServer(t, code)
	port := freePort(t)
	var sandboxDir string
	startExecutor(t, agent, func(c *Config) { c.LogMaxBytes = logMax; sandboxDir = c.Sandbox })
	agent.nextSubscribe(5 * time.Second)
	agent.send(launchEvent(taskInfo(t, testSpec(srv.URL, "python", code, port))))
	expectState(t, agent, mesos.TASK_STARTING, 10*time.Second)
	expectState(t, agent, mesos.TASK_RUNNING, 20*time.Second)

	for i := range 10 {
		if status, body := postCall(t, port, fmt.Sprintf(`{"n": 2000, "tag": "call%d"}`, i)); status != 200 {
			t.Fatalf("call %d: %d %s", i, status, body)
		}
	}
	// The drain is asynchronous: wait for the last call's last line.
	deadline := time.Now().Add(10 * time.Second)
	var tail string
	for {
		var status int
		status, tail = getLogs(t, port, "?tail=3", "Bearer "+testSecret)
		if status != 200 {
			t.Fatalf("logs: %d %s", status, tail)
		}
		if strings.HasSuffix(tail, "stderr call9\n") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSuffix(tail, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "call9 1998 ") || lines[2] != "stderr call9" {
		t.Errorf("tail=3 = %q", tail)
	}
	for _, name := range []string{LogFileName, LogFileName + ".1"} {
		st, err := os.Stat(filepath.Join(sandboxDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > logMax {
			t.Errorf("%s holds %d bytes, over the %d-byte bound", name, st.Size(), logMax)
		}
	}
	if status, _ := getLogs(t, port, "", ""); status != 401 {
		t.Errorf("logs without the secret: %d, want 401", status)
	}
	if status, _ := getLogs(t, port, "", "Bearer not-the-secret"); status != 401 {
		t.Errorf("logs with another secret: %d, want 401", status)
	}
	if status, body := postCall(t, port, `{"n": 1, "tag": "still"}`); status != 200 || body != `{"result":1}` {
		t.Errorf("call after the flood: %d %s", status, body)
	}
}
