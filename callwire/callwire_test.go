package callwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
)

func TestFramesRoundTrip(t *testing.T) {
	var b []byte
	b = AppendCall(b, 7, []byte(`{"a":1}`))
	b = AppendCancel(b, 7)
	b = AppendAnswer(b, 8, 504, []byte(`{"error":"late"}`))
	b = AppendGoAway(b, 7)
	b = AppendCall(b, 1<<32-1, nil)

	r := bufio.NewReader(bytes.NewReader(b))
	want := []struct {
		kind    byte
		id      uint32
		payload string
	}{
		{KindCall, 7, `{"a":1}`},
		{KindCancel, 7, ``},
		{KindAnswer, 8, "\x01\xf8" + `{"error":"late"}`},
		{KindGoAway, 7, ``},
		{KindCall, 1<<32 - 1, ``},
	}
	for i, w := range want {
		h, err := ReadHeader(r)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		p := make([]byte, h.Len)
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatalf("frame %d payload: %v", i, err)
		}
		if h.Kind != w.kind || h.ID != w.id || string(p) != w.payload {
			t.Errorf("frame %d = %q %d %q, want %q %d %q", i, h.Kind, h.ID, p, w.kind, w.id, w.payload)
		}
		if h.Kind == KindAnswer {
			status, body, err := ParseAnswer(p)
			if err != nil || status != 504 || string(body) != `{"error":"late"}` {
				t.Errorf("ParseAnswer = %d %q %v", status, body, err)
			}
		}
	}
	if _, err := ReadHeader(r); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestReadHeaderRefuses(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"unknown kind", AppendHeader(nil, 'Z', 1, 0), ErrBadKind},
		{"too large", AppendHeader(nil, KindCall, 1, MaxPayload+1), ErrTooLarge},
		{"cut header", AppendHeader(nil, KindCall, 1, 3)[:5], io.ErrUnexpectedEOF},
		{"nothing", nil, io.EOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadHeader(bufio.NewReader(bytes.NewReader(c.in)))
			if !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestParseAnswerRefuses(t *testing.T) {
	for _, p := range [][]byte{nil, {1}, {0, 99}, {2, 88}} {
		if _, _, err := ParseAnswer(p); err == nil {
			t.Errorf("ParseAnswer(%v) succeeded", p)
		}
	}
}

// gatedSink blocks its first Write until open is closed and records every
// Write it gets.
type gatedSink struct {
	open   chan struct{}
	first  sync.Once
	mu     sync.Mutex
	writes [][]byte
}

func (g *gatedSink) Write(p []byte) (int, error) {
	g.first.Do(func() { <-g.open })
	g.mu.Lock()
	g.writes = append(g.writes, bytes.Clone(p))
	g.mu.Unlock()
	return len(p), nil
}

// TestWriterCoalesces: the first frame is written by its own appender at
// once; frames appended while that write is under way leave together in
// the next single write, each appender's in its order.
func TestWriterCoalesces(t *testing.T) {
	sink := &gatedSink{open: make(chan struct{})}
	w := NewWriter(sink, nil)
	firstDone := make(chan error, 1)
	go func() {
		// Its write blocks in the sink until the gate opens.
		firstDone <- w.Append(func(b []byte) []byte { return AppendCall(b, 0, []byte("{}")) })
	}()
	for {
		w.mu.Lock()
		taken := w.writing && len(w.buf) == 0
		w.mu.Unlock()
		if taken {
			break
		}
		runtime.Gosched()
	}
	const appenders, each = 8, 50
	var wg sync.WaitGroup
	for a := 0; a < appenders; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := uint32(1 + a*each + i)
				if err := w.Append(func(b []byte) []byte { return AppendCall(b, id, []byte(`{"x":1}`)) }); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait() // none of them waited for the blocked write
	close(sink.open)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	w.Finish()

	if len(sink.writes) != 2 {
		t.Errorf("%d writes, want 2: the first frame, then everything appended meanwhile", len(sink.writes))
	}
	r := bufio.NewReader(bytes.NewReader(bytes.Join(sink.writes, nil)))
	last := map[int]uint32{}
	n := 0
	for {
		h, err := ReadHeader(r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		r.Discard(h.Len)
		n++
		if h.ID == 0 {
			continue
		}
		a := int(h.ID-1) / each
		if h.ID <= last[a] {
			t.Errorf("appender %d: frame %d after %d", a, h.ID, last[a])
		}
		last[a] = h.ID
	}
	if n != 1+appenders*each {
		t.Errorf("%d frames written, want %d", n, 1+appenders*each)
	}
	if err := w.Append(func(b []byte) []byte { return AppendGoAway(b, 0) }); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Finish: %v, want ErrClosed", err)
	}
}

type failingSink struct{}

func (failingSink) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriterStopsOnWriteError(t *testing.T) {
	reported := make(chan error, 1)
	w := NewWriter(failingSink{}, func(err error) { reported <- err })
	w.Append(func(b []byte) []byte { return AppendGoAway(b, 0) })
	if err := <-reported; err == nil || err.Error() != "broken pipe" {
		t.Fatalf("onError got %v, want the write error", err)
	}
	if err := w.Append(func(b []byte) []byte { return AppendGoAway(b, 0) }); err == nil {
		t.Error("Append after a failed write succeeded")
	}
	w.Finish() // returns at once on a stopped writer
}

// TestWriterKeepsUpUnderLoad: frames keep arriving during every write,
// more rounds than one appender writes for others before it hands the
// rest to a goroutine; every frame still arrives, in order.
func TestWriterKeepsUpUnderLoad(t *testing.T) {
	var mu sync.Mutex
	var got bytes.Buffer
	var w *Writer
	rounds := 0
	all := make(chan struct{})
	sink := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		got.Write(p)
		rounds++
		r := rounds
		mu.Unlock()
		if r <= 2*maxRounds {
			// Keep more coming while this write is under way.
			w.Append(func(b []byte) []byte { return AppendCancel(b, uint32(r)) })
		} else {
			close(all)
		}
		return len(p), nil
	})
	w = NewWriter(sink, nil)
	w.Append(func(b []byte) []byte { return AppendCancel(b, 0) })
	<-all
	w.Finish()
	mu.Lock()
	defer mu.Unlock()
	r := bufio.NewReader(&got)
	for want := uint32(0); want <= 2*maxRounds; want++ {
		if h, err := ReadHeader(r); err != nil || h.ID != want {
			t.Fatalf("frame %d: %+v %v", want, h, err)
		}
	}
	if r.Buffered() != 0 {
		t.Errorf("%d bytes more than the frames appended", r.Buffered())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
