package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fob-project/fob/internal/fobtest"
	bolt "go.etcd.io/bbolt"
)

// registration is one function whose id fob returned.
type registration struct{ id, result string }

// TestSIGKILLDuringRegistrations kills the `fob local` process with
// SIGKILL while four clients register functions as fast as they can, then
// starts it again on the same data directory. Every id fob returned before
// it died must be there and callable: a function is on disk before its id
// is returned. The embedded Mesos died with the process, so this also
// covers a restart against a master that has never seen fob's framework
// id or tasks: reconciliation gives the old tasks up and fob launches
// every function again.
// Conformance: 18, 87, 90, 97.
func TestSIGKILLDuringRegistrations(t *testing.T) {
	f := startFob(t)
	client := &http.Client{Timeout: 10 * time.Second}
	var (
		mu   sync.Mutex
		regs []registration
		wg   sync.WaitGroup
		stop = make(chan struct{})
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				result := fmt.Sprintf("w%d-%d", w, i)
				code := fmt.Sprintf("def callme():\n    return %q\n", result)
				resp, err := client.Post(f.URL+"/api/gen?lang=python", "text/plain", strings.NewReader(code))
				if err != nil {
					return // fob is gone
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var out struct{ ID string }
				if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &out) != nil || out.ID == "" {
					continue // not acknowledged, so nothing is promised
				}
				mu.Lock()
				regs = append(regs, registration{out.ID, result})
				mu.Unlock()
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(regs)
		mu.Unlock()
		if n >= 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d registrations in 30s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Only the fob process, mid-stream: its executors die with it (the
	// kernel's parent-death signal), as they would if the machine
	// stopped.
	if err := syscall.Kill(f.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-f.exited
	close(stop)
	wg.Wait()
	mu.Lock()
	acked := append([]registration(nil), regs...)
	mu.Unlock()
	t.Logf("%d registrations acknowledged before SIGKILL", len(acked))

	f.start()
	for _, r := range acked {
		if got := f.get("/api/functions/" + r.id); got.status != 200 {
			t.Errorf("acknowledged function %s lost: %d %s", r.id, got.status, got.body)
		}
	}
	if t.Failed() {
		return
	}
	callDeadline := time.Now().Add(90 * time.Second)
	for _, r := range acked {
		for {
			got := f.get("/api/call/" + r.id)
			if got.status == 200 && bytes.Contains(got.body, []byte(`"`+r.result+`"`)) {
				break
			}
			if time.Now().After(callDeadline) {
				t.Fatalf("function %s not callable after the restart: %d %s", r.id, got.status, got.body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestCorruptStateFileRefusesToStart gives `fob local` a data file it
// cannot read. It must exit non-zero with a message naming the state
// file, never start empty and forget every function.
// Conformance: none (fob's own state file).
func TestCorruptStateFileRefusesToStart(t *testing.T) {
	// A real state file to damage, from a fob that registered a function.
	f := startFob(t)
	f.register("", "def callme():\n    return 1\n")
	f.stop()
	goodDB, err := os.ReadFile(filepath.Join(f.dataDir, "fob.db"))
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		damage func(path string) error
	}{
		{"not a bbolt file", func(p string) error {
			return os.WriteFile(p, bytes.Repeat([]byte("not a database "), 1000), 0o600)
		}},
		{"truncated", func(p string) error {
			return os.WriteFile(p, goodDB[:len(goodDB)/3], 0o600)
		}},
		{"meta pages overwritten", func(p string) error {
			bad := append([]byte(nil), goodDB...)
			for i := 0; i < 2*4096 && i < len(bad); i++ {
				bad[i] ^= 0x5a
			}
			return os.WriteFile(p, bad, 0o600)
		}},
		{"undecodable record", func(p string) error {
			if err := os.WriteFile(p, goodDB, 0o600); err != nil {
				return err
			}
			db, err := bolt.Open(p, 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				return err
			}
			defer db.Close()
			return db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("functions")).Put([]byte("broken"), []byte("{not json"))
			})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := c.damage(filepath.Join(dir, "fob.db")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, fobBinary, append([]string{"local", "--data-dir", dir, "--listen", fobtest.FreeAddr(t)}, agentPorts()...)...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("fob kept running on a damaged state file:\n%s", out.String())
			}
			var exit *exec.ExitError
			if err == nil || !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("fob exited with %v on a damaged state file:\n%s", err, out.String())
			}
			msg := out.String()
			t.Logf("fob said: %s", lastLine(msg))
			if !strings.Contains(msg, "state file") || strings.Contains(msg, "goroutine ") {
				t.Errorf("no clear message about the state file:\n%s", msg)
			}
		})
	}
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// proc is one fob process of a test, in its own process group.
type proc struct {
	cmd    *exec.Cmd
	log    *bytes.Buffer
	exited chan struct{}
}

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(fobBinary, args...), log: &bytes.Buffer{}, exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &lockedWriter{w: p.log}, &lockedWriter{w: p.log}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The executor command `fob serve` hands out is this test's build of
	// fob, in a directory only its owner may enter: an isolated executor,
	// running as a uid of its own, could not start it.
	p.cmd.Env = append(os.Environ(), "FOB_ISOLATION=off")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		if t.Failed() {
			logMu <- struct{}{}
			s := p.log.String()
			<-logMu
			if len(s) > 8000 {
				s = s[len(s)-8000:]
			}
			t.Logf("fob %s log:\n%s", args[0], s)
		}
	})
	return p
}

// logged reports whether the process has logged s.
func (p *proc) logged(s string) bool {
	logMu <- struct{}{}
	defer func() { <-logMu }()
	return strings.Contains(p.log.String(), s)
}

// waitHTTP polls url until it answers with want.
func waitHTTP(t *testing.T, p *proc, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited", p.cmd.Args[1])
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d in time (%v)", url, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeSIGKILLReadoptsTasks runs `fob serve` against a separate `fob
// mesoslocal` process and kills fob with SIGKILL. Its tasks run on (they
// belong to the agent) and Mesos keeps them within the failover timeout.
// Restarted on the same data directory fob answers calls at once, from
// what it persisted, re-subscribes with its framework id and re-adopts
// every task: none is relaunched.
// Conformance: 85, 90, 95, 97.
func TestServeSIGKILLReadoptsTasks(t *testing.T) {
	masterAddr, apiAddr, dataDir, workDir := fobtest.FreeAddr(t), fobtest.FreeAddr(t), t.TempDir(), t.TempDir()
	// Executors whose shell did not exec them outlive the stand-in killed
	// below (only the container's first process gets the parent-death
	// signal); they are this test's to clean up.
	t.Cleanup(func() { killProcsUnder(workDir) })
	mesos := startProc(t, append([]string{"mesoslocal", "--listen", masterAddr, "--work-dir", workDir}, agentPorts()...)...)
	waitHTTP(t, mesos, "http://"+masterAddr+"/api/v1/scheduler", http.StatusMethodNotAllowed)
	serve := func() *proc {
		p := startProc(t, "serve", "--master", "http://"+masterAddr, "--listen", apiAddr, "--data-dir", dataDir,
			"--executor-command", fobBinary+" executor", "--insecure-open", "--log-level", "debug")
		waitHTTP(t, p, "http://"+apiAddr+"/healthz", http.StatusOK)
		return p
	}
	client := &http.Client{Timeout: 40 * time.Second}
	call := func(id, want string) error {
		resp, err := client.Get("http://" + apiAddr + "/api/call/" + id)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"`+want+`"`)) {
			return fmt.Errorf("call %s: %d %s", id, resp.StatusCode, body)
		}
		return nil
	}
	running := func(id string) []string {
		resp, err := client.Get("http://" + apiAddr + "/api/functions/" + id)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			Instances []struct {
				TaskID string `json:"task_id"`
				State  string `json:"state"`
			} `json:"instances"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, in := range v.Instances {
			if in.State == "running" {
				ids = append(ids, in.TaskID)
			}
		}
		return ids
	}

	first := serve()
	want := map[string]string{}
	for i := 0; i < 3; i++ {
		result := fmt.Sprintf("serve-%d", i)
		resp, err := client.Post("http://"+apiAddr+"/api/gen?lang=python", "text/plain",
			strings.NewReader(fmt.Sprintf("def callme():\n    return %q\n", result)))
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		want[out.ID] = result
	}
	before := map[string][]string{}
	for id, r := range want {
		if err := call(id, r); err != nil {
			t.Fatal(err)
		}
		before[id] = running(id)
	}

	syscall.Kill(first.cmd.Process.Pid, syscall.SIGKILL)
	<-first.exited
	second := serve()
	for id, r := range want {
		if err := call(id, r); err != nil {
			t.Errorf("first call after the restart: %v", err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for !second.logged("reconciliation answered") {
		if time.Now().After(deadline) {
			t.Fatal("fob did not finish reconciling after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for id := range want {
		if got := running(id); strings.Join(got, ",") != strings.Join(before[id], ",") {
			t.Errorf("function %s: running %v after the restart, %v before", id, got, before[id])
		}
	}
	if second.logged("launching task") {
		t.Error("fob launched a task after the restart instead of re-adopting")
	}
}

// killProcsUnder SIGKILLs every process whose working directory is below
// dir: the executors of agents that worked there.
func killProcsUnder(dir string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && strings.HasPrefix(cwd, dir+"/") {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
