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
	calls  *callConns
	client *http.Client
}

func newProxy() *proxy {
	t := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     idleConnTimeout,
		DisableCompression:  true,
	}
	return &proxy{calls: newCallConns(), client: &http.Client{Transport: t}}
}

// forward sends body to an instance and passes its answer through as is:
// the executor already speaks fob's error model. When the instance refuses
// the call without running it (connection refused, or 503 while it shuts
// down) the call goes once to another instance, so a rollout or a lost
// instance fails no call that another instance can serve.
func (p *proxy) forward(w http.ResponseWriter, ctx context.Context, rt *route, ep *endpoint, body []byte) {
	ctx, cancel := context.WithTimeout(ctx, rt.fn.Limits.Timeout+callMargin)
	defer cancel()
	passed, err := p.send(ctx, w, ep, body)
	if !passed && refused(err) {
		if next := rt.pick(ep); next != nil {
			ep = next
			passed, err = p.send(ctx, w, ep, body)
		}
	}
	if passed || err == nil {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("instance %s did not answer within %s", ep.taskID, rt.fn.Limits.Timeout+callMargin))
		return
	}
	if errors.Is(err, errShuttingDown) {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("instance %s is shutting down and no other instance runs", ep.taskID))
		return
	}
	writeError(w, http.StatusBadGateway, fmt.Sprintf("instance %s unreachable: %v", ep.taskID, err))
}

// errShuttingDown stands for an instance's 503: it took no call.
var errShuttingDown = errors.New("instance is shutting down")

// send posts the call to ep. passed is true once the instance's answer
// has been written to w; otherwise err says why nothing was.
func (p *proxy) send(ctx context.Context, w http.ResponseWriter, ep *endpoint, body []byte) (passed bool, err error) {
	ep.inFlight.Add(1)
	defer ep.inFlight.Add(-1)
	err = p.calls.post(ctx, ep.addr, body, func(resp *http.Response) error {
		if resp.StatusCode == http.StatusServiceUnavailable {
			return errShuttingDown
		}
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		w.WriteHeader(resp.StatusCode)
		passed = true
		_, err := io.Copy(w, resp.Body)
		return err
	})
	if errors.Is(err, syscall.ECONNREFUSED) {
		p.calls.forget(ep.addr)
	}
	return passed, err
}

// refused reports whether the instance turned the call away before running
// it, so sending it elsewhere cannot run it twice.
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, errShuttingDown)
}
