package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// The functions the warm calls and the cold start measure.
const (
	codeReturn42 = "def callme():\n    return 42\n"
	codeAdd      = "def callme(a, b):\n    return a + b\n"
)

// fobLocal is a running `fob local` with its own data directory, API port
// and agent port range, so it never meets a fob the user runs.
type fobLocal struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	logDir string
	client *http.Client
	done   chan struct{}
}

// startFobLocal starts bin/fob local with extra flags and waits until its
// API answers /healthz.
func startFobLocal(ctx context.Context, o options, dir string, portBase int, extra ...string) (*fobLocal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	// Plenty of cpus and memory: the cold start registers many functions
	// in a row and must never wait for resources of deleted ones.
	resources := fmt.Sprintf("cpus:64;mem:65536;disk:10240;ports:[%d-%d]", portBase, portBase+999)
	args := []string{"local", "--listen", listen, "--data-dir", filepath.Join(dir, "data"),
		"--agent-resources", resources, "--log-level", "warn"}
	args = append(append(args, strings.Fields(o.fobArgs)...), extra...)
	logf, err := os.Create(filepath.Join(dir, "fob.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(o.fobBin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", o.fobBin, err)
	}
	f := &fobLocal{
		cmd:    cmd,
		base:   "http://" + listen,
		logDir: dir,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 2 * time.Minute},
		done:   make(chan struct{}),
	}
	go func() { cmd.Wait(); logf.Close(); close(f.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := f.client.Get(f.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return f, nil
			}
		}
		select {
		case <-f.done:
			return nil, fmt.Errorf("fob local exited at start; see %s", logf.Name())
		case <-ctx.Done():
			f.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			f.stop()
			return nil, fmt.Errorf("fob local did not answer /healthz within 30s; see %s", logf.Name())
		}
	}
}

// stop ends fob local the way a user does (SIGTERM: it stops its
// executors) and kills it if it hangs.
func (f *fobLocal) stop() {
	f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(15 * time.Second):
		f.cmd.Process.Kill()
		<-f.done
	}
}

// register posts code and returns the function id. Query carries limits
// and wait=true.
func (f *fobLocal) register(ctx context.Context, code string, query url.Values) (string, error) {
	if query == nil {
		query = url.Values{}
	}
	query.Set("lang", "python")
	var out struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Error string `json:"error"`
	}
	status, err := doJSON(ctx, f.client, http.MethodPost, f.base+"/api/gen?"+query.Encode(), []byte(code), &out)
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated || out.ID == "" {
		return "", fmt.Errorf("register: status %d %s", status, out.Error)
	}
	if query.Get("wait") == "true" && out.State != "running" {
		return "", fmt.Errorf("register: function %s is %s, not running: %s", out.ID, out.State, out.Error)
	}
	return out.ID, nil
}

// executorURL asks the API where an instance of id runs (GET /api/meta)
// and returns the executor's call URL.
func (f *fobLocal) executorURL(ctx context.Context, id string) (string, error) {
	var meta struct {
		Host string `json:"host"`
		Port int    `json:"port"`
	}
	status, err := doJSON(ctx, f.client, http.MethodGet, f.base+"/api/meta/"+id, nil, &meta)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK || meta.Port == 0 {
		return "", fmt.Errorf("meta of %s: status %d", id, status)
	}
	return "http://" + net.JoinHostPort(meta.Host, fmt.Sprint(meta.Port)) + "/call", nil
}

func (f *fobLocal) remove(ctx context.Context, id string) error {
	status, err := doJSON(ctx, f.client, http.MethodDelete, f.base+"/api/functions/"+id, nil, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("delete %s: status %d", id, status)
	}
	return nil
}

// doJSON sends one request and decodes a JSON answer into out (if not nil).
func doJSON(ctx context.Context, c *http.Client, method, u string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	if body != nil && method != http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %d %q: %w", method, u, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode, nil
}

// flagKind tells whether `fob local -h` lists the flag, and how (see
// parseUsage).
func flagKind(fobBin, name string) (kind, def string, err error) {
	out, _ := exec.Command(fobBin, "local", "-h").CombinedOutput()
	if !bytes.Contains(out, []byte("Usage of local")) {
		return "", "", fmt.Errorf("%s local -h printed no usage: %q", fobBin, out)
	}
	kind, def = parseUsage(string(out), name)
	return kind, def, nil
}

// parseUsage finds a flag in the flag package's usage text and returns its
// kind, "bool" or the type name the usage shows ("int", "string", …), ""
// when the flag is absent, and its printed default. The flag package
// prints boolean flags without a type after the name.
func parseUsage(usage, name string) (kind, def string) {
	re := regexp.MustCompile(`(?m)^\s+--?` + regexp.QuoteMeta(name) + `(?:[ \t]+(\S+))?[ \t]*\n((?:[ \t]{4,}.*\n?)*)`)
	m := re.FindStringSubmatch(usage)
	if m == nil {
		return "", ""
	}
	kind = "bool"
	if m[1] != "" {
		kind = m[1]
	}
	if d := regexp.MustCompile(`\(default "?([^")]*)"?\)`).FindStringSubmatch(m[2]); d != nil {
		def = strings.TrimSpace(d[1])
	}
	return kind, def
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before fob binds it; fob's start then fails loudly.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
