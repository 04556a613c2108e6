package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHostileFunctions is the hostile-function battery: functions that
// attack their sandbox, run by one `fob local --isolation=on` with an API
// token. Each case asserts the end state through the API and the host,
// with a well-behaved neighbour function called before, after and (for
// the resource attacks) during it. It needs root and fails without it.
func TestHostileFunctions(t *testing.T) {
	requireSandboxes(t)
	// Where fob's data dir is by default as root: under /var/lib, mode
	// 0700, outside the /tmp that containers see as a private tmpfs.
	dataDir, err := os.MkdirTemp("/var/lib", "fob-e2e-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dataDir) })
	shims := unreachableShims(t)
	t.Setenv("PATH", shims+string(os.PathListSeparator)+os.Getenv("PATH"))
	f := startFobIn(t, dataDir, "--isolation=on", "--api-token", e2eToken, "--function-log-mb", "1")
	f.token = e2eToken
	nb := &neighbour{f: f, id: f.register("?wait=true&name=neighbour", neighbourCode)}

	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, f *fob, nb *neighbour)
	}{
		{"interpreters", interpreters(shims)},
		{"endless loop", endlessLoop},
		{"memory bomb", memoryBomb},
		{"fork bomb", forkBomb},
		{"writes outside the sandbox", writesOutside},
		{"reads another function", readsAnother},
		{"signals outside the sandbox", signalsOutside},
		{"stdout flood", stdoutFlood},
		{"exits", exits},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The cases run one after another: f reports to the case.
			parent := f.t
			f.t = t
			defer func() { f.t = parent }()
			nb.check(t)
			tc.attack(t, f, nb)
			nb.check(t)
		})
	}
}

// unreachableShims makes what pyenv makes in root's home: a directory
// only root may enter, with python3 and node in it that would fail. It
// comes first in fob's PATH: an isolated worker's uid cannot search it,
// and the lookup must pass on to the system's interpreters.
func unreachableShims(t *testing.T) string {
	t.Helper()
	home, err := os.MkdirTemp("/var/lib", "fob-e2e-home-") // mode 0700
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(home) })
	shims := filepath.Join(home, "shims")
	if err := os.Mkdir(shims, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"python3", "node"} {
		if err := os.WriteFile(filepath.Join(shims, name), []byte("#!/bin/sh\nexit 99\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return shims
}

// interpreters: with an unreachable directory first in PATH, workers run
// the system's python3 and node.
func interpreters(shims string) func(*testing.T, *fob, *neighbour) {
	return func(t *testing.T, f *fob, _ *neighbour) {
		py := f.register("?wait=true", "import sys\ndef callme():\n    return sys.executable\n")
		js := f.register("?wait=true&lang=node", "exports.callme = () => process.execPath;\n")
		for _, id := range []string{py, js} {
			exe, _ := f.get("/api/call/" + id).result(t).(string)
			st, err := os.Stat(exe)
			if strings.HasPrefix(exe, shims) || err != nil || st.Mode().Perm()&0o005 != 0o005 {
				t.Errorf("worker runs %q (%v), want an interpreter anyone may run", exe, err)
			}
			t.Logf("interpreter %s", exe)
		}
	}
}

// pidCode answers its worker's pid unless told to attack.
const pidCode = "import os, sys, time\n" +
	"def callme(attack='no'):\n" +
	"    if attack == 'loop':\n" +
	"        while True:\n" +
	"            pass\n" +
	"    if attack == 'memory':\n" +
	"        hog = []\n" +
	"        while True:\n" +
	"            hog.append(bytearray(1 << 20))\n" +
	"    if attack == 'fork':\n" +
	"        while True:\n" +
	"            try:\n" +
	"                os.fork()\n" +
	"            except OSError:\n" +
	"                time.sleep(0.01)\n" +
	"    if attack == 'sys.exit':\n" +
	"        sys.exit(3)\n" +
	"    if attack == 'os._exit':\n" +
	"        os._exit(3)\n" +
	"    return os.getpid()\n"

// replaced calls id without an attack and fails t unless a worker other
// than before answers.
func replaced(t *testing.T, f *fob, id string, before any) {
	t.Helper()
	if after := f.get("/api/call/" + id).result(t); after == before {
		t.Errorf("worker %v still answers after the attack; want a new one", after)
	}
}

// An endless loop passes its 1 s deadline: 504, and a new worker answers
// the next call.
func endlessLoop(t *testing.T, f *fob, nb *neighbour) {
	id := f.register("?wait=true&timeout=1", pidCode)
	before := f.get("/api/call/" + id).result(t)
	stop := nb.during(t)
	start := time.Now()
	r := f.get("/api/call/" + id + "?attack=loop")
	stop()
	if r.status != http.StatusGatewayTimeout || time.Since(start) > 10*time.Second {
		t.Errorf("endless loop answered %d %s after %v, want 504 at its 1s deadline", r.status, r.body, time.Since(start))
	}
	replaced(t, f, id, before)
}

// A memory bomb meets the 64 MB limit: the kernel kills the worker, the
// call says so (500 MemoryLimitExceeded), the instance lives on.
func memoryBomb(t *testing.T, f *fob, nb *neighbour) {
	id := f.register("?wait=true&memory=64", pidCode)
	before := f.get("/api/call/" + id).result(t)
	stop := nb.during(t)
	r := f.get("/api/call/" + id + "?attack=memory")
	stop()
	if r.status != http.StatusInternalServerError {
		t.Fatalf("memory bomb answered %d %s, want 500", r.status, r.body)
	}
	m := r.json(t)
	exc, _ := m["exception"].(map[string]any)
	msg, _ := m["error"].(string)
	if exc["type"] != "MemoryLimitExceeded" || !strings.Contains(msg, "memory limit of 64 MB") {
		t.Errorf("memory bomb answer %s, want MemoryLimitExceeded naming the 64 MB limit", r.body)
	}
	replaced(t, f, id, before)
	f.waitState(id, "running")
}

// A fork bomb is held by the instance's pids limit, not by the memory
// limit and not by the host's: its workers meet their own process limit
// a little below the cgroup's, which so keeps room for the executor's
// threads; the call fails at its deadline, the host gains no more
// processes than the limit, a new worker answers, and deleting the
// function during another bomb ends every process.
func forkBomb(t *testing.T, f *fob, nb *neighbour) {
	id := f.register("?wait=true&timeout=3", pidCode)
	before := f.get("/api/call/" + id).result(t)
	pids := cgroupDir("pids", f.instanceOf(id).containerID)
	pidsMax := readCgroupInt(t, filepath.Join(pids, "pids.max"))
	baseline := hostProcesses(t)

	stop := nb.during(t)
	answered := make(chan response, 1)
	go func() { answered <- f.getAsync("/api/call/" + id + "?attack=fork") }()
	peakHost, peakPids := 0, 0
	var r response
	for waiting := true; waiting; {
		select {
		case r = <-answered:
			waiting = false
		case <-time.After(20 * time.Millisecond):
			peakHost = max(peakHost, hostProcesses(t))
			peakPids = max(peakPids, readCgroupInt(t, filepath.Join(pids, "pids.current")))
		}
	}
	stop()
	if r.status != http.StatusGatewayTimeout {
		t.Errorf("fork bomb answered %d %s, want 504 at its 3s deadline", r.status, r.body)
	}
	if peakPids < pidsMax/2 {
		t.Errorf("the bomb reached %d processes only (limit %d)", peakPids, pidsMax)
	}
	if n := readKeyedInt(t, filepath.Join(pids, "pids.events"), "max"); n > 0 {
		t.Errorf("the instance hit its pids limit of %d %d times: the executor had no room left for its threads", pidsMax, n)
	}
	// Other tests may start processes meanwhile: allow for some.
	const slack = 150
	if peakPids > pidsMax || peakHost > baseline+pidsMax+slack {
		t.Errorf("processes: instance peak %d (limit %d), host %d → %d", peakPids, pidsMax, baseline, peakHost)
	}
	t.Logf("fork bomb: instance peak %d of %d pids, host %d → %d processes", peakPids, pidsMax, baseline, peakHost)
	replaced(t, f, id, before)
	// The worker's whole process group was killed with it; its
	// processes need a moment of the instance's CPU quota to exit.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		n := readCgroupInt(t, filepath.Join(pids, "pids.current"))
		if n <= 32 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d processes left in the instance 10s after the bomb's worker was replaced", n)
		}
	}

	// Deleted in the middle of a bomb, the instance goes, processes and all.
	go func() { answered <- f.getAsync("/api/call/" + id + "?attack=fork") }()
	for deadline := time.Now().Add(10 * time.Second); readCgroupInt(t, filepath.Join(pids, "pids.current")) < pidsMax/2; {
		if time.Now().After(deadline) {
			t.Fatal("the second bomb did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := f.do("DELETE", "/api/functions/"+id, "", nil); r.status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, err := os.Stat(pids); err == nil; _, err = os.Stat(pids) {
		if time.Now().After(deadline) {
			t.Fatalf("the instance's cgroup still holds %s processes 20s after the delete", readFile(pids, "pids.current"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	<-answered
	if n := hostProcesses(t); n > baseline+slack {
		t.Errorf("host has %d processes after the delete, %d before the bombs", n, baseline)
	}
}

func readFile(dir, name string) string {
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return strings.TrimSpace(string(b))
}

// The function tries to append to files everywhere but its sandbox:
// read-only host, root's home, fob's data dir, its own cgroup limits, the
// fob binary linked into its sandbox. The private /tmp, /var/tmp and
// /dev/shm take writes that never reach the host.
func writesOutside(t *testing.T, f *fob, _ *neighbour) {
	const code = "def callme(paths):\n" +
		"    out = {}\n" +
		"    for p in paths:\n" +
		"        try:\n" +
		"            with open(p, 'a') as fh:\n" +
		"                fh.write('pwned\\n')\n" +
		"            out[p] = 'written'\n" +
		"        except OSError as e:\n" +
		"            out[p] = type(e).__name__ + ': ' + str(e.strerror)\n" +
		"    return out\n"
	id := f.register("?wait=true", code)
	inst := f.instanceOf(id)
	mark := fmt.Sprintf("fob-pwned-%d", rand.Uint64())
	denied := []string{
		"/etc/" + mark, "/root/" + mark, "/usr/bin/python3", "/proc/sysrq-trigger",
		filepath.Join(f.dataDir, mark), filepath.Join(f.dataDir, "fob.db"),
		filepath.Join(cgroupDir("memory", inst.containerID), "memory.limit_in_bytes"),
		filepath.Join(cgroupDir("pids", inst.containerID), "pids.max"),
		"fob", // the fob binary, hard-linked from the host into the sandbox
	}
	private := []string{"/tmp/" + mark, "/var/tmp/" + mark, "/dev/shm/" + mark}
	own := filepath.Join(inst.sandbox, mark)
	got, _ := f.callJSON(id, map[string]any{"paths": append(append(append([]string{}, denied...), private...), own)}).result(t).(map[string]any)
	t.Logf("writes: %v", got)
	for _, p := range denied {
		if v, _ := got[p].(string); v == "written" || !strings.Contains(v, "Error") {
			t.Errorf("write to %s: %v, want it denied", p, got[p])
		}
	}
	for _, p := range append(private, own) {
		if got[p] != "written" {
			t.Errorf("write to %s: %v, want it written", p, got[p])
		}
	}
	for _, p := range append([]string{"/etc/" + mark, "/root/" + mark, filepath.Join(f.dataDir, mark)}, private...) {
		if _, err := os.Stat(p); err == nil {
			_ = os.Remove(p)
			t.Errorf("%s exists on the host", p)
		}
	}
	if b, err := os.ReadFile(own); err != nil || string(b) != "pwned\n" {
		t.Errorf("the sandbox write did not reach the sandbox: %q %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(inst.sandbox, "fob")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("fob binary in the sandbox: %v %v, want mode 0755", st, err)
	}
}

// Another function's code and sandbox stay closed: by host path, through
// fob's state file, and through fob's API without the token.
func readsAnother(t *testing.T, f *fob, _ *neighbour) {
	secret := fmt.Sprintf("victim-secret-%d", rand.Uint64())
	victim := f.register("?wait=true", fmt.Sprintf("SECRET = %q\ndef callme():\n    return 'victim'\n", secret))
	vs := f.instanceOf(victim).sandbox
	const code = "import os, urllib.request, urllib.error\n" +
		"def callme(paths, url):\n" +
		"    out = {}\n" +
		"    for p in paths:\n" +
		"        try:\n" +
		"            if os.path.isdir(p):\n" +
		"                out[p] = 'listed: ' + ' '.join(os.listdir(p))\n" +
		"            else:\n" +
		"                with open(p, 'rb') as fh:\n" +
		"                    out[p] = 'read: ' + fh.read().decode('latin-1')\n" +
		"        except OSError as e:\n" +
		"            out[p] = type(e).__name__\n" +
		"    try:\n" +
		"        out[url] = 'read: ' + urllib.request.urlopen(url, timeout=5).read().decode()\n" +
		"    except urllib.error.HTTPError as e:\n" +
		"        out[url] = 'HTTP %d' % e.code\n" +
		"    return out\n"
	reader := f.register("?wait=true", code)
	paths := []string{
		filepath.Join(vs, "function.py"), vs, filepath.Dir(vs), filepath.Join(f.dataDir, "fob.db"), f.dataDir,
		fmt.Sprintf("/proc/%d/environ", f.cmd.Process.Pid), fmt.Sprintf("/proc/%d/cmdline", f.cmd.Process.Pid),
	}
	url := f.URL + "/api/cs/" + victim
	got, _ := f.callJSON(reader, map[string]any{"paths": paths, "url": url}).result(t).(map[string]any)
	victimTask := f.instanceOf(victim).taskID
	for _, p := range append(paths, url) {
		// fob's data dir, closed to others, is covered in the container
		// by an empty directory holding only the way to its own sandbox.
		v, _ := got[p].(string)
		if strings.HasPrefix(v, "read: ") || strings.Contains(v, secret) || strings.Contains(v, "fob.db") || strings.Contains(v, victimTask) {
			t.Errorf("%s: %.200s, want it denied", p, v)
		}
	}
	if got[url] != "HTTP 401" {
		t.Errorf("code through the API without the token: %v, want HTTP 401", got[url])
	}
	t.Logf("reads: %v", got)
}

// The function sees only its own container's processes: fob's process is
// not there to signal, and pid 1 (its own container's first process)
// ignores even SIGKILL from inside.
func signalsOutside(t *testing.T, f *fob, _ *neighbour) {
	const code = "import os\n" +
		"def callme(fob_pid):\n" +
		"    out = {}\n" +
		"    for name, pid, sig in (('fob', fob_pid, 0), ('fob_kill', fob_pid, 9), ('init', 1, 0), ('init_kill', 1, 9)):\n" +
		"        try:\n" +
		"            os.kill(pid, sig)\n" +
		"            out[name] = 'sent'\n" +
		"        except OSError as e:\n" +
		"            out[name] = type(e).__name__\n" +
		"    out['pids'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n" +
		"    return out\n"
	id := f.register("?wait=true", code)
	fobPid := f.cmd.Process.Pid
	got, _ := f.callJSON(id, map[string]any{"fob_pid": fobPid}).result(t).(map[string]any)
	for k, want := range map[string]string{"fob": "ProcessLookupError", "fob_kill": "ProcessLookupError", "init": "sent"} {
		if got[k] != want {
			t.Errorf("%s: %v, want %s", k, got[k], want)
		}
	}
	if pids, _ := got["pids"].([]any); len(pids) == 0 || len(pids) > 8 {
		t.Errorf("the function sees processes %v, want its container's few", got["pids"])
	}
	select {
	case <-f.exited:
		t.Fatal("fob exited")
	default:
	}
	if r := f.get("/healthz"); r.status != http.StatusOK {
		t.Errorf("fob after the signals: %d", r.status)
	}
	// SIGKILL to its own pid 1 did not end the instance.
	f.callJSON(id, map[string]any{"fob_pid": fobPid}).result(t)
}

// A function printing without pause from a thread of its own: its log
// stays within two files of --function-log-mb (1 MiB here), and it keeps
// answering calls and serving its log.
func stdoutFlood(t *testing.T, f *fob, nb *neighbour) {
	const limit = 1 << 20
	const code = "import sys, threading\n" +
		"def _flood():\n" +
		"    line = 'flood ' + 'x' * 200 + '\\n'\n" +
		"    while True:\n" +
		"        sys.stdout.write(line)\n" +
		"threading.Thread(target=_flood, daemon=True).start()\n" +
		"def callme(n):\n" +
		"    return n\n"
	id := f.register("?wait=true", code)
	defer f.do("DELETE", "/api/functions/"+id, "", nil)
	stop := nb.during(t)
	defer stop()
	rotated := filepath.Join(f.instanceOf(id).sandbox, "function.log.1")
	var first time.Time
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the log did not rotate twice in 60s")
		}
		st, err := os.Stat(rotated)
		if err != nil {
			continue
		}
		if first.IsZero() {
			first = st.ModTime()
		} else if st.ModTime() != first {
			break
		}
	}
	for i := range 3 {
		if got := f.get(fmt.Sprintf("/api/call/%s?n=%d", id, i)).result(t); got != fmt.Sprint(i) {
			t.Errorf("call %d during the flood: %v", i, got)
		}
	}
	if r := f.get("/api/logs/" + id + "?tail=5"); r.status != http.StatusOK || !strings.Contains(string(r.body), "flood xxx") {
		t.Errorf("logs during the flood: %d %.300s", r.status, r.body)
	}
	for _, name := range []string{"function.log", "function.log.1"} {
		if st, err := os.Stat(filepath.Join(filepath.Dir(rotated), name)); err == nil && st.Size() > limit {
			t.Errorf("%s holds %d bytes, over the %d-byte bound", name, st.Size(), limit)
		}
	}
}

// sys.exit is an exception the worker survives (500 SystemExit);
// os._exit and node's process.exit end the worker (502 naming the exit
// status), and a new one answers the next call.
func exits(t *testing.T, f *fob, _ *neighbour) {
	py := f.register("?wait=true", pidCode)
	before := f.get("/api/call/" + py).result(t)
	r := f.get("/api/call/" + py + "?attack=sys.exit")
	if exc, _ := r.json(t)["exception"].(map[string]any); r.status != http.StatusInternalServerError || exc["type"] != "SystemExit" {
		t.Errorf("sys.exit: %d %s, want 500 SystemExit", r.status, r.body)
	}
	if got := f.get("/api/call/" + py).result(t); got != before {
		t.Errorf("after sys.exit worker %v answered, want the same %v", got, before)
	}
	r = f.get("/api/call/" + py + "?attack=os._exit")
	if r.status != http.StatusBadGateway || !strings.Contains(string(r.body), "exited with status 3") {
		t.Errorf("os._exit: %d %s, want 502 naming exit status 3", r.status, r.body)
	}
	replaced(t, f, py, before)

	js := f.register("?wait=true&lang=node",
		"exports.callme = ({attack}) => { if (attack === 'exit') process.exit(3); return process.pid; };\n")
	before = f.get("/api/call/" + js).result(t)
	r = f.get("/api/call/" + js + "?attack=exit")
	if r.status != http.StatusBadGateway || !strings.Contains(string(r.body), "exited with status 3") {
		t.Errorf("process.exit: %d %s, want 502 naming exit status 3", r.status, r.body)
	}
	replaced(t, f, js, before)
}
