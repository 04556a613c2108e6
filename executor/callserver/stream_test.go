package callserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fob-project/fob/callwire"
	"github.com/fob-project/fob/executor/worker"
)

// chanClient is the API's end of a call channel, by hand.
type chanClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialChannel(t *testing.T, addr string) *chanClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", callwire.Path, addr, callwire.Protocol)
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != callwire.Protocol {
		t.Fatalf("upgrade answered %s, Upgrade %q", resp.Status, resp.Header.Get("Upgrade"))
	}
	return &chanClient{conn: conn, r: r}
}

func (c *chanClient) send(t *testing.T, frame []byte) {
	t.Helper()
	if _, err := c.conn.Write(frame); err != nil {
		t.Fatal(err)
	}
}

// next reads one frame; an answer's status and body come back parsed.
func (c *chanClient) next(t *testing.T) (h callwire.Header, status int, body string) {
	t.Helper()
	h, err := callwire.ReadHeader(c.r)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	p := make([]byte, h.Len)
	if _, err := io.ReadFull(c.r, p); err != nil {
		t.Fatal(err)
	}
	if h.Kind == callwire.KindAnswer {
		st, b, err := callwire.ParseAnswer(p)
		if err != nil {
			t.Fatal(err)
		}
		return h, st, string(b)
	}
	return h, 0, string(p)
}

// channelCall makes one call over a fresh channel.
func channelCall(t *testing.T, addr, params string) (int, string) {
	t.Helper()
	c := dialChannel(t, addr)
	c.send(t, callwire.AppendCall(nil, 42, []byte(params)))
	h, status, body := c.next(t)
	if h.Kind != callwire.KindAnswer || h.ID != 42 {
		t.Fatalf("got frame %q for call %d, want the answer to 42", h.Kind, h.ID)
	}
	return status, body
}

// gatedCaller answers each call with its parameters once open is closed,
// and counts the calls it holds.
type gatedCaller struct {
	open chan struct{}
	held chan struct{}
}

func newGatedCaller() *gatedCaller {
	return &gatedCaller{open: make(chan struct{}), held: make(chan struct{}, 1024)}
}

func (g *gatedCaller) Call(ctx context.Context, frame []byte) (byte, []byte, error) {
	g.held <- struct{}{}
	select {
	case <-g.open:
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
	// A copy, as the pool's answers are: the frame is reused for the body.
	return worker.KindResult, bytes.Clone(frame[worker.HeaderSize:]), nil
}

func startServer(t *testing.T, caller Caller) (*Server, string) {
	t.Helper()
	s := New(Config{CallTimeout: 30 * time.Second}, caller, nil)
	s.SetReady(true)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	t.Cleanup(s.Close)
	return s, ts.Listener.Addr().String()
}

// TestChannelManyCallsAtOnce: calls in flight together on one channel
// each get their own answer, matched by id, whatever the order.
func TestChannelManyCallsAtOnce(t *testing.T) {
	g := newGatedCaller()
	_, addr := startServer(t, g)
	c := dialChannel(t, addr)
	const n = 50
	var frames []byte
	for i := 0; i < n; i++ {
		frames = callwire.AppendCall(frames, uint32(1000+i), []byte(fmt.Sprintf(`{"i":%d}`, i)))
	}
	c.send(t, frames) // all in one write
	for i := 0; i < n; i++ {
		<-g.held // every call is in progress at once
	}
	close(g.open)
	seen := map[uint32]bool{}
	for i := 0; i < n; i++ {
		h, status, body := c.next(t)
		want := fmt.Sprintf(`{"result":{"i":%d}}`, h.ID-1000)
		if h.Kind != callwire.KindAnswer || status != 200 || body != want || seen[h.ID] {
			t.Fatalf("frame %q id %d: %d %s, want one answer %s", h.Kind, h.ID, status, body, want)
		}
		seen[h.ID] = true
	}
}

// TestChannelCancel: a cancel frame ends a call still waiting for a
// worker; its answer says so.
func TestChannelCancel(t *testing.T) {
	g := newGatedCaller()
	_, addr := startServer(t, g)
	c := dialChannel(t, addr)
	c.send(t, callwire.AppendCall(nil, 5, []byte(`{}`)))
	<-g.held
	c.send(t, callwire.AppendCancel(nil, 5))
	h, status, body := c.next(t)
	if h.ID != 5 || status != http.StatusServiceUnavailable || !strings.Contains(body, "cancelled") {
		t.Fatalf("after cancel: id %d %d %s, want 503 cancelled", h.ID, status, body)
	}
}

// TestChannelGoAway: Close tells the API, stops reading, still answers
// the calls it read, and only then closes the connection.
func TestChannelGoAway(t *testing.T) {
	g := newGatedCaller()
	s, addr := startServer(t, g)
	c := dialChannel(t, addr)
	c.send(t, callwire.AppendCall(nil, 1, []byte(`{"a":1}`)))
	<-g.held
	s.Close()
	if h, _, _ := c.next(t); h.Kind != callwire.KindGoAway {
		t.Fatalf("first frame after Close is %q, want GoAway", h.Kind)
	}
	// Sent after the GoAway: never read, never run (the connection may
	// already refuse it).
	c.conn.Write(callwire.AppendCall(nil, 2, []byte(`{}`)))
	close(g.open)
	h, status, body := c.next(t)
	if h.Kind != callwire.KindAnswer || h.ID != 1 || status != 200 || body != `{"result":{"a":1}}` {
		t.Fatalf("answer after GoAway: %q %d %d %s, want call 1's result", h.Kind, h.ID, status, body)
	}
	if _, err := callwire.ReadHeader(c.r); err == nil {
		t.Fatal("the channel sent more than the answers to what it read")
	}
	if n := len(g.held); n != 0 {
		t.Errorf("%d calls ran after the GoAway", n)
	}
	// A closed server opens no new channel.
	conn, err := net.Dial("tcp", addr)
	if err == nil {
		defer conn.Close()
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", callwire.Path, callwire.Protocol)
		if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil && resp.StatusCode == http.StatusSwitchingProtocols {
			r := bufio.NewReader(conn)
			if _, err := callwire.ReadHeader(r); !errors.Is(err, io.EOF) {
				t.Errorf("a channel opened after Close: %v", err)
			}
		}
	}
}

// TestChannelDrain: Drain waits for calls in progress on channels.
func TestChannelDrain(t *testing.T) {
	g := newGatedCaller()
	s, addr := startServer(t, g)
	c := dialChannel(t, addr)
	c.send(t, callwire.AppendCall(nil, 1, []byte(`{}`)))
	<-g.held
	s.SetReady(false)
	drained := make(chan struct{})
	go func() {
		s.Drain(context.Background())
		close(drained)
	}()
	select {
	case <-drained:
		t.Fatal("Drain returned with a call in progress")
	case <-time.After(50 * time.Millisecond):
	}
	// A new call while draining is refused without running.
	c.send(t, callwire.AppendCall(nil, 2, []byte(`{}`)))
	if h, status, _ := c.next(t); h.ID != 2 || status != http.StatusServiceUnavailable {
		t.Fatalf("call while draining: id %d status %d, want 503 for 2", h.ID, status)
	}
	close(g.open)
	<-drained
	if h, status, _ := c.next(t); h.ID != 1 || status != 200 {
		t.Fatalf("call in progress: id %d status %d, want 200 for 1", h.ID, status)
	}
}

func TestUpgradeRefused(t *testing.T) {
	cases := []struct {
		name    string
		ready   bool
		method  string
		upgrade string
		status  int
	}{
		{"not ready", false, "GET", callwire.Protocol, http.StatusServiceUnavailable},
		{"no upgrade", true, "GET", "", http.StatusUpgradeRequired},
		{"other protocol", true, "GET", "websocket", http.StatusUpgradeRequired},
		{"post", true, "POST", callwire.Protocol, http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(Config{}, newGatedCaller(), nil)
			s.SetReady(c.ready)
			ts := httptest.NewServer(s)
			defer ts.Close()
			req, _ := http.NewRequest(c.method, ts.URL+callwire.Path, nil)
			if c.upgrade != "" {
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", c.upgrade)
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.Contains(string(body), `"error"`) {
				t.Errorf("%d %s, want %d with an error", resp.StatusCode, body, c.status)
			}
		})
	}
}

// TestChannelRefusesProtocolErrors: a frame the API never sends ends the
// channel instead of being guessed at.
func TestChannelRefusesProtocolErrors(t *testing.T) {
	_, addr := startServer(t, newGatedCaller())
	for _, frame := range [][]byte{
		callwire.AppendAnswer(nil, 1, 200, []byte(`{}`)),
		callwire.AppendHeader(nil, 'Q', 1, 0),
		callwire.AppendHeader(nil, callwire.KindCall, 1, callwire.MaxPayload+1),
	} {
		c := dialChannel(t, addr)
		c.send(t, frame)
		if _, err := callwire.ReadHeader(c.r); err == nil {
			t.Errorf("after %q the channel still talks", frame[0])
		}
	}
}
