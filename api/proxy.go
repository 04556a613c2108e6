package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// callMargin is added to a function's own deadline: the executor enforces
// the deadline and answers 504 itself, so the proxy waits a little longer.
const callMargin = 5 * time.Second

// proxy forwards calls to executors over pooled keep-alive connections,
// and reads instances' logs with an ordinary client.
type proxy struct {
	streams *callStreams
	calls   *callConns // for executors without call channels
	client  *http.Client
}

func newProxy() *proxy {
	t := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     idleConnTimeout,
		DisableCompression:  true,
	}
	return &proxy{streams: newCallStreams(), calls: newCallConns(), client: &http.Client{Transport: t}}
}

// forward sends body to an instance and passes its answer through as is:
// the executor already speaks fob's error model. When the instance refuses
// the call without running it (connection refused, or 503 while it shuts
// down) the call goes once to another instance, which next finds: a
// rollout or a lost instance fails no call that another instance can serve,
// even one the route index does not show yet.
func (p *proxy) forward(w http.ResponseWriter, ctx context.Context, rt *route, ep *endpoint, body []byte, next func(ctx context.Context, skip *endpoint) *endpoint) {
	within := rt.fn.Limits.Timeout + callMargin
	passed, err := p.sendWithin(ctx, within, w, ep, body)
	if !passed && refused(err) {
		if other := next(ctx, ep); other != nil {
			ep = other
			passed, err = p.sendWithin(ctx, within, w, ep, body)
		}
	}
	if passed || err == nil {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("instance %s did not answer within %s", ep.taskID, within))
		return
	}
	if errors.Is(err, errShuttingDown) {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("instance %s is shutting down and no other instance runs", ep.taskID))
		return
	}
	writeError(w, http.StatusBadGateway, fmt.Sprintf("instance %s unreachable: %v", ep.taskID, err))
}

// otherIn finds another instance in rt as it stands, without waiting.
func otherIn(rt *route) func(context.Context, *endpoint) *endpoint {
	return func(_ context.Context, skip *endpoint) *endpoint { return rt.pick(skip) }
}

// sendWithin is send with the call's deadline: the function's own timeout
// and the margin, counted from when this instance is asked.
func (p *proxy) sendWithin(ctx context.Context, d time.Duration, w http.ResponseWriter, ep *endpoint, body []byte) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return p.send(ctx, w, ep, body)
}

// errShuttingDown stands for an instance's 503: it took no call.
var errShuttingDown = errors.New("instance is shutting down")

// send makes the call on ep: over its call channel, or over HTTP when the
// executor offers none. passed is true once the instance's answer has
// been written to w; otherwise err says why nothing was.
func (p *proxy) send(ctx context.Context, w http.ResponseWriter, ep *endpoint, body []byte) (passed bool, err error) {
	ep.inFlight.Add(1)
	defer ep.inFlight.Add(-1)
	status, answer, err := p.streams.call(ctx, ep.addr, body)
	switch {
	case errors.Is(err, errNoChannel):
		return p.post(ctx, w, ep, body)
	case err != nil:
		if errors.Is(err, syscall.ECONNREFUSED) {
			p.forget(ep.addr)
		}
		return false, err
	case status == http.StatusServiceUnavailable:
		return false, errShuttingDown
	}
	writeAnswer(w, status)
	w.Write(answer)
	return true, nil
}

// post makes the call as an HTTP request, for executors without call
// channels.
func (p *proxy) post(ctx context.Context, w http.ResponseWriter, ep *endpoint, body []byte) (passed bool, err error) {
	err = p.calls.post(ctx, ep.addr, body, func(resp *http.Response) error {
		if resp.StatusCode == http.StatusServiceUnavailable {
			return errShuttingDown
		}
		writeAnswer(w, resp.StatusCode)
		passed = true
		_, err := io.Copy(w, resp.Body)
		return err
	})
	if errors.Is(err, syscall.ECONNREFUSED) {
		p.forget(ep.addr)
	}
	return passed, err
}

// writeAnswer writes the head of an instance's answer.
func writeAnswer(w http.ResponseWriter, status int) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	if status == http.StatusTooManyRequests {
		h["Retry-After"] = []string{"1"}
	}
	w.WriteHeader(status)
}

// forget drops every connection to addr, for an instance that is gone.
func (p *proxy) forget(addr string) {
	p.streams.forget(addr)
	p.calls.forget(addr)
}

// refused reports whether the instance turned the call away before running
// it, so sending it elsewhere cannot run it twice.
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, errShuttingDown) || errors.Is(err, errNotRead)
}
