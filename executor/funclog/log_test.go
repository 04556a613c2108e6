package funclog

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLastLines(t *testing.T) {
	cases := []struct {
		name      string
		in        string
		n         int
		truncated bool
		want      string
	}{
		{"empty", "", 3, false, ""},
		{"fewer lines", "a\nb\n", 3, false, "a\nb\n"},
		{"exact", "a\nb\nc\n", 3, false, "a\nb\nc\n"},
		{"more lines", "a\nb\nc\nd\n", 2, false, "c\nd\n"},
		{"no final newline", "a\nb\nc", 2, false, "b\nc"},
		{"one", "a\nb\n", 1, false, "b\n"},
		{"blank lines", "a\n\n\n", 2, false, "\n\n"},
		{"truncated drops partial first line", "tial\nb\nc\n", 5, true, "b\nc\n"},
		{"truncated enough lines", "tial\nb\nc\n", 2, true, "b\nc\n"},
		{"truncated single partial line", "xxxxxx\n", 3, true, "xxxxxx\n"},
		{"truncated no newline", "xxxxxx", 3, true, "xxxxxx"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(LastLines([]byte(c.in), c.n, c.truncated)); got != c.want {
				t.Errorf("LastLines(%q, %d, %v) = %q, want %q", c.in, c.n, c.truncated, got, c.want)
			}
		})
	}
}

func openLog(t *testing.T, maxBytes int64) (*Log, string) {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(Config{Dir: dir, MaxFileBytes: maxBytes}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, dir
}

// waitFor polls cond for up to 5 s: the drain goroutine writes
// asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func TestWriteAndTail(t *testing.T) {
	l, dir := openLog(t, 0)
	fmt.Fprint(l.Writer(), "one\ntwo\nthree\n")
	waitFor(t, "the log to fill", func() bool { return fileSize(filepath.Join(dir, DefaultFileName)) == 14 })
	got, err := l.Tail(2, 1<<20)
	if err != nil || string(got) != "two\nthree\n" {
		t.Fatalf("Tail = %q, %v", got, err)
	}
	if got, _ := l.Tail(2, 8); string(got) != "three\n" {
		t.Errorf("Tail within 8 bytes = %q, want the whole lines that fit", got)
	}
}

// TestRotationBoundsTheLog writes far more than two files' worth: the disk
// holds at most two files of max bytes, lines stay whole, and the tail is
// the most recent output.
func TestRotationBoundsTheLog(t *testing.T) {
	const limit = 4096
	l, dir := openLog(t, limit)
	var last string
	for i := range 2000 {
		last = fmt.Sprintf("line %05d %s\n", i, strings.Repeat("x", 40))
		if _, err := l.Writer().WriteString(last); err != nil {
			t.Fatal(err)
		}
	}
	cur, prev := filepath.Join(dir, DefaultFileName), filepath.Join(dir, DefaultFileName+".1")
	waitFor(t, "the last line", func() bool {
		b, _ := os.ReadFile(cur)
		return bytes.HasSuffix(b, []byte(last))
	})
	for _, p := range []string{cur, prev} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > limit {
			t.Errorf("%s holds %d bytes, over the %d-byte bound", p, len(b), limit)
		}
		if len(b) > 0 && (!bytes.HasPrefix(b, []byte("line ")) || b[len(b)-1] != '\n') {
			t.Errorf("%s does not hold whole lines: %q…", p, b[:min(len(b), 30)])
		}
	}
	got, err := l.Tail(100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(got, []byte("\n")); lines != 100 || !bytes.HasSuffix(got, []byte(last)) {
		t.Errorf("Tail(100) has %d lines ending %q", lines, got[max(0, len(got)-60):])
	}
}

// TestLongLineIsCut: a line longer than a file is split rather than
// growing a file past the bound.
func TestLongLineIsCut(t *testing.T) {
	const limit = 4096
	l, dir := openLog(t, limit)
	l.Writer().WriteString(strings.Repeat("y", 3*limit) + "\n")
	waitFor(t, "the long line", func() bool {
		return fileSize(filepath.Join(dir, DefaultFileName)) == 1 // the final newline
	})
	if n := fileSize(filepath.Join(dir, DefaultFileName+".1")); n != limit {
		t.Errorf("previous file holds %d bytes, want %d", n, limit)
	}
}

// TestContinuesExistingLog: a restarted executor appends to the log it
// finds and counts its size toward the bound.
func TestContinuesExistingLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultFileName)
	os.WriteFile(path, []byte(strings.Repeat("z", 4090)+"\n"), 0o640)
	l, err := Open(Config{Dir: dir, MaxFileBytes: 4096}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Writer().WriteString("after restart\n")
	waitFor(t, "rotation", func() bool { return fileSize(path) == 14 })
	if n := fileSize(path + ".1"); n != 4091 {
		t.Errorf("previous file holds %d bytes, want the old 4091", n)
	}
}

// TestFloodingChildIsNeverBlocked runs a process that writes as fast as it
// can through the pipe: it finishes, and the disk holds at most two files.
func TestFloodingChildIsNeverBlocked(t *testing.T) {
	if _, err := exec.LookPath("head"); err != nil {
		t.Skip("no head(1)")
	}
	const limit = 64 << 10
	l, dir := openLog(t, limit)
	cmd := exec.Command("head", "-c", "50000000", "/dev/zero")
	cmd.Stdout, cmd.Stderr = l.Writer(), l.Writer()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the flooding process was blocked")
	}
	l.Close()
	total := fileSize(filepath.Join(dir, DefaultFileName)) + fileSize(filepath.Join(dir, DefaultFileName+".1"))
	if total > 2*limit {
		t.Errorf("the log holds %d bytes, over the %d-byte bound", total, 2*limit)
	}
	if d := l.Dropped(); d != 0 {
		t.Errorf("%d bytes dropped on a healthy disk", d)
	}
}

// TestCloseWithLingeringWriter: a process that keeps the pipe open after
// the workers are gone does not hold Close up for ever.
func TestCloseWithLingeringWriter(t *testing.T) {
	l, _ := openLog(t, 0)
	cmd := exec.Command("sleep", "30")
	cmd.Stdout = l.Writer()
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	start := time.Now()
	l.Close()
	if d := time.Since(start); d > drainTimeout+2*time.Second {
		t.Errorf("Close took %s", d)
	}
}
