package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/fob-project/fob/executor/callserver"
)

// logFetchTimeout bounds reading one instance's log tail.
const logFetchTimeout = 5 * time.Second

// instanceLog is one instance's part of GET /api/logs/{ref}.
type instanceLog struct {
	TaskID  string `json:"task_id"`
	Version uint64 `json:"version"`
	Log     string `json:"log"`
	Error   string `json:"error,omitempty"`
}

// handleLogs answers GET /api/logs/{ref}?tail=N: the last N lines (default
// 100) of what each running instance of the function printed, read from
// the instances' executors with their task secrets. JSON by default;
// ?format=text (or Accept: text/plain) gives the logs as text, each
// preceded by "==> <task id> <==" when more than one instance runs.
func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	ref := mux.Vars(r)["ref"]
	lines, err := callserver.ParseTail(r.URL.Query().Get("tail"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	text, err := wantsText(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rt, _ := s.routes.resolve(r.Context(), ref)
	if rt == nil {
		writeError(w, http.StatusNotFound, "unknown function "+ref)
		return
	}
	if len(rt.endpoints) == 0 {
		writeError(w, http.StatusServiceUnavailable, notRunningReason(rt)+"; logs are read from running instances")
		return
	}
	logs := s.fetchLogs(r.Context(), rt.endpoints, lines)
	var failures []string
	for _, l := range logs {
		if l.Error != "" {
			failures = append(failures, l.TaskID+": "+l.Error)
		}
	}
	if len(failures) == len(logs) {
		writeError(w, http.StatusBadGateway, "could not read the log of any instance: "+strings.Join(failures, "; "))
		return
	}
	if !text {
		writeJSON(w, http.StatusOK, map[string]any{"id": rt.fn.ID, "tail": lines, "instances": logs})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	for _, l := range logs {
		if len(logs) > 1 {
			fmt.Fprintf(w, "==> %s <==\n", l.TaskID)
		}
		if l.Error != "" {
			fmt.Fprintf(w, "(could not read this instance's log: %s)\n", l.Error)
			continue
		}
		io.WriteString(w, l.Log)
		if l.Log != "" && !strings.HasSuffix(l.Log, "\n") {
			io.WriteString(w, "\n")
		}
	}
}

// wantsText decides between the JSON and the text form of the logs.
func wantsText(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "json":
		return false, nil
	case "text":
		return true, nil
	case "":
	default:
		return false, fmt.Errorf("format must be json or text, got %q", f)
	}
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/plain":
			return true, nil
		case "application/json":
			return false, nil
		}
	}
	return false, nil
}

// fetchLogs reads every instance's tail in parallel.
func (s *Server) fetchLogs(ctx context.Context, eps []*endpoint, lines int) []instanceLog {
	out := make([]instanceLog, len(eps))
	var wg sync.WaitGroup
	for i, ep := range eps {
		out[i] = instanceLog{TaskID: ep.taskID, Version: ep.version}
		wg.Go(func() {
			log, err := s.proxy.tail(ctx, ep, lines)
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			out[i].Log = log
		})
	}
	wg.Wait()
	return out
}

// tail GETs an instance's /logs with its task secret.
func (p *proxy) tail(ctx context.Context, ep *endpoint, lines int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, logFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/logs?tail=%d", ep.base, lines), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+ep.secret)
	resp, err := p.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "", fmt.Errorf("no answer within %s", logFetchTimeout)
		}
		return "", fmt.Errorf("unreachable: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, callserver.MaxTailBytes+1))
	if err != nil {
		return "", fmt.Errorf("read: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, e.Error)
		}
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if len(b) > callserver.MaxTailBytes {
		b = b[len(b)-callserver.MaxTailBytes:]
	}
	return string(b), nil
}
