package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// wrkScript makes every request a POST with a JSON body and, when the run
// ends, prints one machine-readable line: wrk's own summary is rounded
// for people, the Lua hook has the exact figures (latencies in µs).
const wrkScript = `wrk.method = "POST"
wrk.body = %q
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("FOBBENCH %%d %%d %%d %%d %%.1f %%.1f %%.1f\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
`

// wrkResult is one wrk measurement.
type wrkResult struct {
	Requests  int64         // completed requests, answered or not
	Duration  time.Duration // of the measurement
	NonOK     int64         // answers with a status other than 2xx/3xx
	SockErrs  int64         // connect, read, write errors and timeouts
	P50, P99  time.Duration
	RPS       float64 // successful answers per second
	ScriptErr string
}

// runWrk loads url with conc connections for d, POSTing body.
func runWrk(ctx context.Context, o options, dir, url, body string, conc int, d time.Duration) (wrkResult, error) {
	script := filepath.Join(dir, "post.lua")
	if err := os.WriteFile(script, []byte(fmt.Sprintf(wrkScript, body)), 0o644); err != nil {
		return wrkResult{}, err
	}
	// One wrk thread per core at most: more threads than cores only make
	// wrk fight the servers it measures.
	threads := min(conc, runtime.NumCPU())
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conc),
		"-d", fmt.Sprintf("%.0fs", max(d.Seconds(), 1)), "--timeout", "10s", "--latency", "-s", script, url}
	// wrk stops on its own after d; the context only guards a hang.
	cctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(cctx, o.wrk, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return parseWrk(stdout.String())
}

// parseWrk reads the FOBBENCH line of the Lua done hook.
func parseWrk(out string) (wrkResult, error) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 8 || f[0] != "FOBBENCH" {
			continue
		}
		var n [4]int64
		for i := range n {
			v, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				return wrkResult{}, fmt.Errorf("wrk summary %q: %w", line, err)
			}
			n[i] = v
		}
		var p [3]float64
		for i := range p {
			v, err := strconv.ParseFloat(f[i+5], 64)
			if err != nil {
				return wrkResult{}, fmt.Errorf("wrk summary %q: %w", line, err)
			}
			p[i] = v
		}
		r := wrkResult{
			Requests: n[0],
			Duration: time.Duration(n[1]) * time.Microsecond,
			NonOK:    n[2],
			SockErrs: n[3],
			P50:      time.Duration(p[0] * float64(time.Microsecond)),
			P99:      time.Duration(p[2] * float64(time.Microsecond)),
		}
		if r.Duration > 0 {
			r.RPS = float64(r.Requests-r.NonOK) / r.Duration.Seconds()
		}
		return r, nil
	}
	return wrkResult{}, fmt.Errorf("no summary line in wrk's output:\n%s", out)
}

// failedShare is the part of requests that did not get a successful answer.
func (r wrkResult) failedShare() float64 {
	if r.Requests == 0 {
		return 1
	}
	return float64(r.NonOK+r.SockErrs) / float64(r.Requests)
}
