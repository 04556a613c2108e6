package funclog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Defaults of a zero Config.
const (
	DefaultFileName     = "function.log"
	DefaultMaxFileBytes = 5 << 20
	// minMaxFileBytes keeps a rotation from happening on every write.
	minMaxFileBytes = 4 << 10
	// drainTimeout bounds how long Close waits for the workers' last output
	// once they are gone. A process that escaped the workers' process group
	// may hold the pipe open forever; Close then stops reading anyway.
	drainTimeout = 2 * time.Second
	readBuffer   = 64 << 10
	// reopenEvery paces attempts to reopen the file after an I/O error.
	reopenEvery = time.Second
)

// Config places and bounds a Log.
type Config struct {
	// Dir is the task sandbox.
	Dir string
	// FileName is the current file's name; the previous one gets ".1".
	FileName string
	// MaxFileBytes bounds each of the two files.
	MaxFileBytes int64
}

func (c Config) withDefaults() Config {
	if c.FileName == "" {
		c.FileName = DefaultFileName
	}
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = DefaultMaxFileBytes
	}
	c.MaxFileBytes = max(c.MaxFileBytes, minMaxFileBytes)
	return c
}

// Log is one instance's function log.
type Log struct {
	path, prev string
	max        int64
	log        *slog.Logger

	r, w *os.File      // the workers' stdout/stderr pipe
	done chan struct{} // closed when the drain goroutine returns

	closeOnce sync.Once

	mu         sync.Mutex // guards the fields below and orders Tail against rotation
	f          *os.File   // nil after an I/O error until reopened
	size       int64
	dropped    int64
	lastReopen time.Time
	warned     bool
}

// Open opens (or continues) the log in cfg.Dir and starts draining the pipe
// whose write end Writer returns.
func Open(cfg Config, log *slog.Logger) (*Log, error) {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Log{
		path: filepath.Join(cfg.Dir, cfg.FileName),
		prev: filepath.Join(cfg.Dir, cfg.FileName+".1"),
		max:  cfg.MaxFileBytes,
		log:  log,
		done: make(chan struct{}),
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open function log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open function log: %w", err)
	}
	l.f, l.size = f, st.Size()
	if l.r, l.w, err = os.Pipe(); err != nil {
		f.Close()
		return nil, fmt.Errorf("open function log: pipe: %w", err)
	}
	go l.drain()
	return l, nil
}

// Writer is the file workers get as their stdout and stderr. It stays
// owned by the Log: callers must not close it.
func (l *Log) Writer() *os.File { return l.w }

// Path is the current file's path.
func (l *Log) Path() string { return l.path }

// Dropped is how many bytes of output were lost to disk errors.
func (l *Log) Dropped() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

func (l *Log) drain() {
	defer close(l.done)
	buf := make([]byte, readBuffer)
	for {
		n, err := l.r.Read(buf)
		if n > 0 {
			l.write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// write appends p, rotating whenever the current file is full. A line that
// fits in a file is never split across the two.
func (l *Log) write(p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(p) > 0 {
		if l.f == nil && !l.reopen() {
			l.dropped += int64(len(p))
			return
		}
		room := l.max - l.size
		if room <= 0 {
			l.rotate()
			continue
		}
		chunk := p
		if int64(len(chunk)) > room {
			chunk = p[:room]
			if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
				chunk = chunk[:i+1]
			} else if l.size > 0 {
				l.rotate() // start the line in a fresh file
				continue
			}
		}
		n, err := l.f.Write(chunk)
		l.size += int64(n)
		if err != nil {
			l.dropped += int64(len(chunk) - n)
			l.fail("write", err)
		}
		p = p[len(chunk):]
	}
}

// rotate turns the current file into the previous one and starts afresh.
func (l *Log) rotate() {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	if err := os.Rename(l.path, l.prev); err != nil && !errors.Is(err, os.ErrNotExist) {
		// Truncating below still keeps the log bounded.
		l.log.Warn("rotate function log", "error", err)
	}
	l.size = 0
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o640)
	if err != nil {
		l.fail("reopen", err)
		return
	}
	l.f = f
}

// reopen retries opening the current file after an error, at most once per
// reopenEvery so a broken disk costs no syscall per read.
func (l *Log) reopen() bool {
	if time.Since(l.lastReopen) < reopenEvery {
		return false
	}
	l.lastReopen = time.Now()
	l.rotate()
	return l.f != nil
}

func (l *Log) fail(op string, err error) {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	l.lastReopen = time.Now()
	if !l.warned {
		l.warned = true
		l.log.Warn("function log: output is being dropped", "op", op, "error", err)
	}
}

// Close stops the log once the workers are gone: it lets the drain read
// what they wrote last, for up to drainTimeout, then closes everything.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.w.Close()
		select {
		case <-l.done:
		case <-time.After(drainTimeout):
			l.log.Warn("function log still open after the workers stopped; closing it")
		}
		l.r.Close() // unblocks the drain if something still holds the pipe
		<-l.done
		l.mu.Lock()
		if l.f != nil {
			l.f.Close()
			l.f = nil
		}
		l.mu.Unlock()
	})
	return nil
}

// Tail returns the last lines lines of the log, at most maxBytes of them,
// reading the previous file too when the current one is short.
func (l *Log) Tail(lines, maxBytes int) ([]byte, error) {
	if lines <= 0 || maxBytes <= 0 {
		return nil, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, truncated, err := readLast(l.path, maxBytes)
	if err != nil {
		return nil, err
	}
	if !truncated && len(cur) < maxBytes {
		var prev []byte
		prev, truncated, err = readLast(l.prev, maxBytes-len(cur))
		if err != nil {
			return nil, err
		}
		cur = append(prev, cur...)
	}
	return LastLines(cur, lines, truncated), nil
}

// readLast reads up to n bytes from the end of path; truncated says the
// file holds more than that. A missing file is empty.
func readLast(path string, n int) ([]byte, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	size := st.Size()
	start := max(size-int64(n), 0)
	buf := make([]byte, size-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return nil, false, err
	}
	return buf, start > 0, nil
}

// LastLines returns the last n lines of b. A final line without a newline
// counts as a line. When b is the end of something longer (truncated) and
// holds fewer than n lines, its first line is partial and left out.
func LastLines(b []byte, n int, truncated bool) []byte {
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end-- // the last newline ends the last line; it does not start one
	}
	count := 0
	for i := end - 1; i >= 0; i-- {
		if b[i] == '\n' {
			if count++; count == n {
				return b[i+1:]
			}
		}
	}
	if truncated {
		if i := bytes.IndexByte(b[:end], '\n'); i >= 0 {
			return b[i+1:]
		}
	}
	return b
}
