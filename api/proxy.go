package api

import (
	"bytes"
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

// proxy forwards calls to executors over one shared keep-alive pool.
type proxy struct {
	client *http.Client
}

func newProxy() *proxy {
	t := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &proxy{client: &http.Client{Transport: t}}
}

// forward sends body to an instance and passes its answer through as is:
// the executor already speaks fob's error model. When the instance refuses
// the call without running it (connection refused, or 503 while it shuts
// down) the call goes once to another instance, so a rollout or a lost
// instance fails no call that another instance can serve.
func (p *proxy) forward(w http.ResponseWriter, ctx context.Context, rt *route, ep *endpoint, body []byte) {
	ctx, cancel := context.WithTimeout(ctx, rt.fn.Limits.Timeout+callMargin)
	defer cancel()
	resp, err := p.send(ctx, ep, body)
	if refused(resp, err) {
		if next := rt.pick(ep); next != nil {
			if resp != nil {
				resp.Body.Close()
			}
			ep = next
			resp, err = p.send(ctx, ep, body)
		}
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("instance %s did not answer within %s", ep.taskID, rt.fn.Limits.Timeout+callMargin))
			return
		}
		writeError(w, http.StatusBadGateway, fmt.Sprintf("instance %s unreachable: %v", ep.taskID, err))
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (p *proxy) send(ctx context.Context, ep *endpoint, body []byte) (*http.Response, error) {
	ep.inFlight.Add(1)
	defer ep.inFlight.Add(-1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.base+"/call", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header["Content-Type"] = []string{"application/json"}
	return p.client.Do(req)
}

// refused reports whether the instance turned the call away before running
// it, so sending it elsewhere cannot run it twice.
func refused(resp *http.Response, err error) bool {
	if err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	return resp.StatusCode == http.StatusServiceUnavailable
}
