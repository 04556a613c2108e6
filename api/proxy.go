package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
		ForceAttemptHTTP2:   false,
	}
	return &proxy{client: &http.Client{Transport: t}}
}

// forward sends body to the instance and passes its answer through as is:
// the executor already speaks fob's error model.
func (p *proxy) forward(w http.ResponseWriter, ctx context.Context, rt *route, ep *endpoint, body []byte) {
	ep.inFlight.Add(1)
	defer ep.inFlight.Add(-1)
	ctx, cancel := context.WithTimeout(ctx, rt.fn.Limits.Timeout+callMargin)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.base+"/call", bytes.NewReader(body))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "build call: "+err.Error())
		return
	}
	req.Header["Content-Type"] = []string{"application/json"}
	resp, err := p.client.Do(req)
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
