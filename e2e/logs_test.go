package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFunctionLogs: what a function prints comes back from /api/logs, as
// JSON by instance or as text.
func TestFunctionLogs(t *testing.T) {
	f := startFob(t)
	code := "import sys\n" +
		"def callme(who):\n" +
		"    print('hello', who)\n" +
		"    print('warning about', who, file=sys.stderr)\n" +
		"    return who\n"
	id := f.register("?wait=true", code)
	for _, who := range []string{"ann", "bob"} {
		if r := f.get("/api/call/" + id + "?who=" + who); r.status != 200 {
			t.Fatalf("call: %d %s", r.status, r.body)
		}
	}
	r := f.waitLogs("/api/logs/"+id+"?tail=3", func(r response) bool {
		return r.status == 200 && strings.Contains(string(r.body), "warning about bob")
	})
	inst, _ := r.json(t)["instances"].([]any)
	if len(inst) != 1 {
		t.Fatalf("instances = %s", r.body)
	}
	got := inst[0].(map[string]any)
	if got["log"] != "warning about ann\nhello bob\nwarning about bob\n" || !strings.HasPrefix(got["task_id"].(string), "fob.") {
		t.Errorf("instance log = %q (task %v)", got["log"], got["task_id"])
	}
	text := f.get("/api/logs/" + id + "?tail=1&format=text")
	if text.status != 200 || string(text.body) != "warning about bob\n" || !strings.HasPrefix(text.header.Get("Content-Type"), "text/plain") {
		t.Errorf("text logs: %d %q %s", text.status, text.body, text.header.Get("Content-Type"))
	}
	if r := f.get("/api/logs/00000000-0000-4000-8000-000000000000"); r.status != 404 {
		t.Errorf("logs of an unknown function: %d %s", r.status, r.body)
	}
}

// TestLogFlood runs a function that prints without pause from a thread of
// its own: its log on disk stays within two files of --function-log-mb,
// and it keeps answering calls and serving its log.
func TestLogFlood(t *testing.T) {
	const limit = 1 << 20
	f := startFob(t, "--function-log-mb", "1")
	code := "import sys, threading\n" +
		"def _flood():\n" +
		"    line = 'flood ' + 'x' * 200 + '\\n'\n" +
		"    while True:\n" +
		"        sys.stdout.write(line)\n" +
		"threading.Thread(target=_flood, daemon=True).start()\n" +
		"def callme(n):\n" +
		"    print('marker', n)\n" +
		"    return n\n"
	id := f.register("?wait=true", code)
	t.Cleanup(func() { f.do("DELETE", "/api/functions/"+id, "", nil) })

	// Wait until the log has been rotated a few times over.
	var logs []string
	deadline := time.Now().Add(60 * time.Second)
	rotations := 0
	var lastRotation int64 = -1
	for rotations < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the log rotated %d times in 60s: %v", rotations, logs)
		}
		logs = functionLogs(t, f.dataDir)
		for _, p := range logs {
			if strings.HasSuffix(p, ".1") {
				if st, err := os.Stat(p); err == nil && st.ModTime().UnixNano() != lastRotation {
					lastRotation = st.ModTime().UnixNano()
					rotations++
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := range 5 {
		r := f.get(fmt.Sprintf("/api/call/%s?n=%d", id, i))
		if r.status != 200 {
			t.Fatalf("call %d during the flood: %d %s", i, r.status, r.body)
		}
	}
	// The markers may hold the last lines for a moment: with isolation
	// the flood runs at the function's CPU quota.
	f.waitLogs("/api/logs/"+id+"?tail=5", func(r response) bool {
		return r.status == 200 && strings.Contains(string(r.body), "flood xxx")
	})
	// A rotation renames function.log before it opens the next one: a
	// listing can fall in between.
	files := functionLogs(t, f.dataDir)
	for deadline := time.Now().Add(5 * time.Second); len(files) < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		files = functionLogs(t, f.dataDir)
	}
	if len(files) < 2 {
		t.Fatalf("found %v; want function.log and function.log.1", files)
	}
	for _, p := range files {
		st, err := os.Stat(p)
		if err != nil {
			continue // rotated away between listing and stat
		}
		if st.Size() > limit {
			t.Errorf("%s holds %d bytes, over the %d-byte bound", p, st.Size(), limit)
		}
	}
}

// functionLogs lists the function.log files of every sandbox under dir.
func functionLogs(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (d.Name() == "function.log" || d.Name() == "function.log.1") {
			out = append(out, p)
		}
		return nil
	})
	return out
}
