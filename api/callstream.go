package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fob-project/fob/callwire"
)

var (
	// errNoChannel: the executor does not offer call channels (an older
	// fob); the call goes over HTTP instead.
	errNoChannel = errors.New("the executor offers no call channel")
	// errNotRead: the executor closed the channel (GoAway) before it read
	// the call, so the call never ran and may go to another instance.
	errNotRead = errors.New("the instance closed its call channel before it read the call")
	// errChannelEnded: the channel had ended before the call was written;
	// a new one may take it.
	errChannelEnded = errors.New("the call channel had ended")
)

// callStreams keeps one call channel (package callwire) to each executor
// the API calls, so that many calls share a connection and, under load,
// its syscalls.
type callStreams struct {
	mu     sync.Mutex
	byAddr map[string]*streamSlot
	dialer net.Dialer
}

// streamSlot is the channel to one executor address.
type streamSlot struct {
	mu          sync.Mutex // serialises dialing
	cur         *callStream
	unsupported bool // the executor refused the upgrade: use HTTP
}

func newCallStreams() *callStreams {
	return &callStreams{
		byAddr: map[string]*streamSlot{},
		dialer: net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
	}
}

// call sends body to the executor at addr and returns its answer. It
// returns errNoChannel when the executor only speaks HTTP.
func (p *callStreams) call(ctx context.Context, addr string, body []byte) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		cs, err := p.get(ctx, addr)
		if err != nil {
			return 0, nil, err
		}
		status, answer, err := cs.call(ctx, body)
		if errors.Is(err, errChannelEnded) && attempt == 0 {
			continue // it ended between get and call: open another
		}
		return status, answer, err
	}
}

func (p *callStreams) slot(addr string) *streamSlot {
	p.mu.Lock()
	defer p.mu.Unlock()
	sl := p.byAddr[addr]
	if sl == nil {
		sl = &streamSlot{}
		p.byAddr[addr] = sl
	}
	return sl
}

// get returns a live channel to addr, opening one when there is none.
func (p *callStreams) get(ctx context.Context, addr string) (*callStream, error) {
	sl := p.slot(addr)
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.unsupported {
		return nil, errNoChannel
	}
	if sl.cur != nil && sl.cur.usable() {
		return sl.cur, nil
	}
	cs, err := p.open(ctx, addr)
	if errors.Is(err, errNoChannel) {
		sl.unsupported = true
	}
	if err != nil {
		return nil, err
	}
	sl.cur = cs
	return cs, nil
}

// open dials addr and upgrades the connection to a call channel.
func (p *callStreams) open(ctx context.Context, addr string) (*callStream, error) {
	nc, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	_, err = io.WriteString(nc, "GET "+callwire.Path+" HTTP/1.1\r\nHost: "+addr+
		"\r\nConnection: Upgrade\r\nUpgrade: "+callwire.Protocol+"\r\n\r\n")
	br := bufio.NewReaderSize(nc, 64<<10)
	var resp *http.Response
	if err == nil {
		resp, err = http.ReadResponse(br, nil)
	}
	if err != nil {
		nc.Close()
		return nil, ctxErr(ctx, err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusSwitchingProtocols:
	case http.StatusServiceUnavailable:
		nc.Close()
		return nil, errShuttingDown // draining or not loaded: takes no call
	default:
		// Anything else is an executor that does not know the channel.
		nc.Close()
		return nil, errNoChannel
	}
	nc.SetDeadline(time.Time{})
	cs := &callStream{conn: nc, pending: map[uint32]chan streamAnswer{}}
	cs.out = callwire.NewWriter(nc, cs.fail)
	go cs.read(br)
	return cs, nil
}

// forget closes the channel to addr, for an instance that is gone.
func (p *callStreams) forget(addr string) {
	p.mu.Lock()
	sl := p.byAddr[addr]
	delete(p.byAddr, addr)
	p.mu.Unlock()
	if sl == nil {
		return
	}
	sl.mu.Lock()
	cs := sl.cur
	sl.mu.Unlock()
	if cs != nil {
		cs.fail(errors.New("the instance is gone"))
	}
}

// callStream is one open call channel. Calls register an answer channel
// under a fresh id and wait; the reader goroutine delivers answers.
type callStream struct {
	conn net.Conn
	out  *callwire.Writer

	mu       sync.Mutex
	last     uint32 // the id of the last call written
	pending  map[uint32]chan streamAnswer
	goneAway bool  // the executor sent GoAway: no new calls
	err      error // why the channel ended; set once
}

type streamAnswer struct {
	status int
	body   []byte
	err    error
}

// usable reports whether new calls may go on the channel.
func (cs *callStream) usable() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.err == nil && !cs.goneAway
}

var answerChans = sync.Pool{New: func() any { return make(chan streamAnswer, 1) }}

func (cs *callStream) call(ctx context.Context, body []byte) (int, []byte, error) {
	ch := answerChans.Get().(chan streamAnswer)
	var id uint32
	var refused error
	// The id is taken under the writer's lock, so ids go out in order and
	// a GoAway's "last call read" says which calls were not.
	err := cs.out.Append(func(b []byte) []byte {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		switch {
		case cs.goneAway:
			refused = errNotRead
			return b
		case cs.err != nil:
			refused = errChannelEnded
			return b
		}
		cs.last = callwire.NextID(cs.last)
		for cs.pending[cs.last] != nil { // 2³² calls later and still waiting
			cs.last = callwire.NextID(cs.last)
		}
		id = cs.last
		cs.pending[id] = ch
		return callwire.AppendCall(b, id, body)
	})
	switch {
	case refused != nil:
		answerChans.Put(ch)
		return 0, nil, refused
	case err != nil:
		// The writer had stopped: nothing was appended, nothing sent.
		answerChans.Put(ch)
		return 0, nil, errChannelEnded
	}
	select {
	case a := <-ch:
		answerChans.Put(ch)
		return a.status, a.body, a.err
	case <-ctx.Done():
		if !cs.drop(id) {
			// The answer is being delivered right now: take it.
			a := <-ch
			answerChans.Put(ch)
			return a.status, a.body, a.err
		}
		// Nobody sends on ch any more; it may be reused.
		answerChans.Put(ch)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The executor enforces the function's deadline and answers
			// 504 itself well before this one; silence past it means the
			// executor or the path to it is gone, and a dead connection
			// can take TCP many minutes to notice. Start over.
			cs.fail(errors.New("no answer within the call's deadline"))
			return 0, nil, ctx.Err()
		}
		cs.out.Append(func(b []byte) []byte { return callwire.AppendCancel(b, id) })
		return 0, nil, ctx.Err()
	}
}

// drop removes call id from pending; false if it was not there (its answer
// was taken by the reader and is on its way).
func (cs *callStream) drop(id uint32) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.pending[id]; !ok {
		return false
	}
	delete(cs.pending, id)
	return true
}

// read delivers answers until the channel ends.
func (cs *callStream) read(r *bufio.Reader) {
	for {
		h, err := callwire.ReadHeader(r)
		if err != nil {
			cs.fail(err)
			return
		}
		switch h.Kind {
		case callwire.KindAnswer:
			payload := make([]byte, h.Len)
			if _, err := io.ReadFull(r, payload); err != nil {
				cs.fail(err)
				return
			}
			status, body, err := callwire.ParseAnswer(payload)
			cs.mu.Lock()
			ch := cs.pending[h.ID]
			delete(cs.pending, h.ID)
			cs.mu.Unlock()
			if ch != nil {
				ch <- streamAnswer{status: status, body: body, err: err}
			}
		case callwire.KindGoAway:
			if _, err := r.Discard(h.Len); err != nil {
				cs.fail(err)
				return
			}
			cs.goAway(h.ID)
		default:
			cs.fail(fmt.Errorf("call channel: unexpected frame kind %q from the executor", h.Kind))
			return
		}
	}
}

// goAway takes no more calls on the channel and hands the calls written
// after lastRead back at once: the executor never read them.
func (cs *callStream) goAway(lastRead uint32) {
	cs.mu.Lock()
	cs.goneAway = true
	var unread []chan streamAnswer
	for id, ch := range cs.pending {
		if lastRead == 0 || callwire.After(id, lastRead) {
			unread = append(unread, ch)
			delete(cs.pending, id)
		}
	}
	cs.mu.Unlock()
	for _, ch := range unread {
		ch <- streamAnswer{err: errNotRead}
	}
}

// fail ends the channel and every call waiting on it. After a GoAway the
// calls still waiting were never read, so they may run elsewhere;
// otherwise nobody knows whether they ran.
func (cs *callStream) fail(err error) {
	cs.mu.Lock()
	if cs.err != nil {
		cs.mu.Unlock()
		return
	}
	cs.err = err
	pending := cs.pending
	cs.pending = nil
	goneAway := cs.goneAway
	cs.mu.Unlock()
	cs.out.Close()
	cs.conn.Close()
	lost := fmt.Errorf("call channel lost: %w", err)
	if goneAway {
		lost = errNotRead
	}
	for _, ch := range pending {
		ch <- streamAnswer{err: lost}
	}
}
