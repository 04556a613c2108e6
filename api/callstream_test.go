package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fob-project/fob/callwire"
	"github.com/fob-project/fob/executor/callserver"
	"github.com/fob-project/fob/executor/worker"
	"github.com/fob-project/fob/state"
)

// echoCaller is the executor's worker pool reduced to its answer: the
// parameters as the result. While gate is set, calls wait for it.
type echoCaller struct {
	gate  chan struct{}
	calls atomic.Int64
	held  chan struct{}
}

func (e *echoCaller) Call(ctx context.Context, frame []byte) (byte, []byte, error) {
	e.calls.Add(1)
	if e.gate != nil {
		e.held <- struct{}{}
		select {
		case <-e.gate:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
	return worker.KindResult, bytes.Clone(frame[worker.HeaderSize:]), nil
}

func gatedEcho() *echoCaller {
	return &echoCaller{gate: make(chan struct{}), held: make(chan struct{}, 256)}
}

// executorServer runs the executor's real call server over loopback and
// counts the channels opened to it.
func executorServer(t testing.TB, c callserver.Caller) (*callserver.Server, string, *atomic.Int64) {
	t.Helper()
	s := callserver.New(callserver.Config{CallTimeout: 30 * time.Second}, c, nil)
	s.SetReady(true)
	var upgrades atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == callwire.Path {
			upgrades.Add(1)
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(s.Close)
	return s, strings.TrimPrefix(ts.URL, "http://"), &upgrades
}

// TestStreamsShareOneChannel: concurrent calls to one executor travel on
// one channel and each gets its own answer.
func TestStreamsShareOneChannel(t *testing.T) {
	echo := gatedEcho()
	_, addr, upgrades := executorServer(t, echo)
	p := newCallStreams()
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			params := fmt.Sprintf(`{"i":%d}`, i)
			status, body, err := p.call(context.Background(), addr, []byte(params))
			if err != nil || status != 200 || string(body) != `{"result":`+params+`}` {
				errs <- fmt.Errorf("call %d: %d %s %v", i, status, body, err)
			}
		}()
	}
	for i := 0; i < n; i++ {
		<-echo.held // all in flight together
	}
	close(echo.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := upgrades.Load(); got != 1 {
		t.Errorf("%d channels opened for %d concurrent calls, want 1", got, n)
	}
}

// TestStreamsCancelledCall: a caller that gives up gets its context's
// error, the executor hears of it, and the channel stays usable.
func TestStreamsCancelledCall(t *testing.T) {
	echo := gatedEcho()
	_, addr, upgrades := executorServer(t, echo)
	p := newCallStreams()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-echo.held; cancel() }()
	if _, _, err := p.call(ctx, addr, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v, want Canceled", err)
	}
	close(echo.gate)
	status, body, err := p.call(context.Background(), addr, []byte(`{"x":2}`))
	if err != nil || status != 200 || string(body) != `{"result":{"x":2}}` {
		t.Fatalf("next call: %d %s %v", status, body, err)
	}
	if upgrades.Load() != 1 {
		t.Errorf("%d channels, want the first one kept", upgrades.Load())
	}
}

// TestStreamsGoAway: calls the executor read before it went away are
// answered; a call it never read comes back as not read, which the proxy
// sends to another instance.
func TestStreamsGoAway(t *testing.T) {
	echo := gatedEcho()
	s, addr, _ := executorServer(t, echo)
	p := newCallStreams()
	first := make(chan error, 1)
	go func() {
		status, body, err := p.call(context.Background(), addr, []byte(`{"n":1}`))
		if err == nil && (status != 200 || string(body) != `{"result":{"n":1}}`) {
			err = fmt.Errorf("%d %s", status, body)
		}
		first <- err
	}()
	<-echo.held
	s.Close()
	_, _, err := p.call(context.Background(), addr, []byte(`{"n":2}`))
	if !refused(err) {
		t.Errorf("call after the GoAway: %v, want an error that lets it go elsewhere", err)
	}
	close(echo.gate)
	if err := <-first; err != nil {
		t.Errorf("call read before the GoAway: %v, want its answer", err)
	}
	if got := echo.calls.Load(); got != 1 {
		t.Errorf("%d calls ran, want only the one read before the GoAway", got)
	}
}

// TestProxyFailsOverOnGoAway: through the proxy, a call to an instance
// that is going away is answered by the other instance.
func TestProxyFailsOverOnGoAway(t *testing.T) {
	goingA, addrA, _ := executorServer(t, &echoCaller{})
	_, addrB, _ := executorServer(t, &echoCaller{})
	p := newProxy()
	rt := &route{fn: &state.Function{ID: "f", Version: 1, Limits: state.Limits{Timeout: time.Second}}}
	a := &endpoint{taskID: "a", addr: addrA, version: 1}
	b := &endpoint{taskID: "b", addr: addrB, version: 1}
	rt.endpoints = []*endpoint{a, b}
	w := httptest.NewRecorder()
	p.forward(w, context.Background(), rt, a, []byte(`{"v":1}`), otherIn(rt))
	if w.Code != 200 {
		t.Fatalf("first call: %d %s", w.Code, w.Body)
	}
	goingA.Close()
	for i := 0; i < 5; i++ {
		w := httptest.NewRecorder()
		p.forward(w, context.Background(), rt, a, []byte(`{"v":2}`), otherIn(rt))
		if w.Code != 200 || w.Body.String() != `{"result":{"v":2}}` {
			t.Fatalf("call %d after A went away: %d %s, want B's answer", i, w.Code, w.Body)
		}
	}
}

// TestStreamsFallBackToHTTP: an executor without call channels (an older
// fob) is called over HTTP, and the upgrade is not tried again.
func TestStreamsFallBackToHTTP(t *testing.T) {
	var upgrades, posts atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/call":
			posts.Add(1)
			w.Write([]byte(`{"result":7}`))
		default:
			upgrades.Add(1)
			http.NotFound(w, r)
		}
	}))
	defer ts.Close()
	p := newProxy()
	rt := &route{fn: &state.Function{ID: "f", Version: 1, Limits: state.Limits{Timeout: time.Second}}}
	ep := &endpoint{taskID: "t", addr: strings.TrimPrefix(ts.URL, "http://"), version: 1}
	rt.endpoints = []*endpoint{ep}
	for i := 0; i < 3; i++ {
		w := httptest.NewRecorder()
		p.forward(w, context.Background(), rt, ep, []byte(`{}`), otherIn(rt))
		if w.Code != 200 || w.Body.String() != `{"result":7}` {
			t.Fatalf("call %d: %d %s", i, w.Code, w.Body)
		}
	}
	if upgrades.Load() != 1 || posts.Load() != 3 {
		t.Errorf("%d upgrade attempts and %d POSTs, want 1 and 3", upgrades.Load(), posts.Load())
	}
}

// TestStreamsDropSilentChannel: a call that gets no answer within its
// deadline ends the channel (a silent executor or a dead path), so the
// next call opens a new one instead of waiting on the old.
func TestStreamsDropSilentChannel(t *testing.T) {
	echo := gatedEcho()
	_, addr, upgrades := executorServer(t, echo)
	p := newCallStreams()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := p.call(ctx, addr, []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("silent call: %v, want DeadlineExceeded", err)
	}
	close(echo.gate)
	status, body, err := p.call(context.Background(), addr, []byte(`{"y":1}`))
	if err != nil || status != 200 || string(body) != `{"result":{"y":1}}` {
		t.Fatalf("next call: %d %s %v", status, body, err)
	}
	if got := upgrades.Load(); got != 2 {
		t.Errorf("%d channels opened, want a new one after the silent one", got)
	}
}
