package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// register stores a Python function returning result and returns its id.
func (e *env) register(result string) string {
	e.t.Helper()
	return e.registerCode(code(result))
}

// registerCode stores a Python function and returns its id.
func (e *env) registerCode(src string) string {
	e.t.Helper()
	resp, err := e.client.Post(e.url("/api/gen?lang=python"), "text/plain", strings.NewReader(src))
	if err != nil {
		e.t.Fatalf("register: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct{ ID string }
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &out) != nil || out.ID == "" {
		e.t.Fatalf("register: %d %s", resp.StatusCode, body)
	}
	return out.ID
}

// code is a function whose result names its version.
func code(result string) string {
	return fmt.Sprintf("def callme():\n    return %q\n", result)
}

// call calls a function and returns an error unless it answered 200 with
// the expected result; want may list several acceptable results separated
// by "|" (during a rollout either version may answer).
func (e *env) call(id, want string) error {
	resp, err := e.client.Get(e.url("/api/call/" + id))
	if err != nil {
		return fmt.Errorf("call %s: %w", id, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Result any `json:"result"`
	}
	decodeErr := json.Unmarshal(body, &out)
	got, _ := out.Result.(string)
	if resp.StatusCode != http.StatusOK || decodeErr != nil || !slices.Contains(strings.Split(want, "|"), got) {
		return fmt.Errorf("call %s: %d %s (want result %q)", id, resp.StatusCode, bytes.TrimSpace(body), want)
	}
	return nil
}

// do sends a request to fob's API and returns the status and body.
func (e *env) do(method, path, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url(path), strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain")
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// callStream keeps calling functions from two goroutines and records every
// call that did not answer as expected.
type callStream struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	want     map[string]string
	total    int
	failures []string
}

func (e *env) streamCalls(want map[string]string) *callStream {
	cs := &callStream{stop: make(chan struct{}), want: map[string]string{}}
	ids := make([]string, 0, len(want))
	for id, r := range want {
		ids = append(ids, id)
		cs.want[id] = r
	}
	for w := 0; w < 2; w++ {
		cs.wg.Add(1)
		go func() {
			defer cs.wg.Done()
			for i := w; ; i++ {
				select {
				case <-cs.stop:
					return
				default:
				}
				id := ids[i%len(ids)]
				cs.mu.Lock()
				expect := cs.want[id]
				cs.mu.Unlock()
				err := e.call(id, expect)
				cs.mu.Lock()
				cs.total++
				if err != nil {
					cs.failures = append(cs.failures, time.Now().Format("15:04:05.000 ")+err.Error())
				}
				cs.mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	return cs
}

// expect changes the result calls to id must see from now on.
func (cs *callStream) expect(id, result string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.want[id] = result
}

// finish stops the stream and fails the test if any call failed or none
// was made.
func (cs *callStream) finish(t *testing.T) int {
	t.Helper()
	close(cs.stop)
	cs.wg.Wait()
	if len(cs.failures) > 0 {
		t.Errorf("%d of %d calls failed; first ones:\n%s", len(cs.failures), cs.total,
			strings.Join(cs.failures[:min(10, len(cs.failures))], "\n"))
	}
	if cs.total == 0 {
		t.Error("no call was made")
	}
	return cs.total
}
