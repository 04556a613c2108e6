package main

import (
	"cmp"
	"context"
	"fmt"
	"log"
	"net/url"
	"os"
	"slices"
	"strconv"
)

// warmFunction is one function of the warm-call table.
type warmFunction struct {
	name string
	code string
	body string // the JSON call body
}

var warmFunctions = []warmFunction{
	{"return 42", codeReturn42, `{}`},
	{"add", codeAdd, `{"a":1,"b":2}`},
}

// warmConcurrencies are the issue's: one caller at a time, and 32.
var warmConcurrencies = []int{1, 32}

// warmPoint is one function at one concurrency, measured three ways.
type warmPoint struct {
	fn     string
	conc   int
	full   wrkResult  // through the fob API
	direct wrkResult  // straight to the executor's /call
	floor  wrkResult  // the minimal Go server
	chain  *wrkResult // the chain floor (chain.go), at one caller only
}

type warmResult struct {
	points        []warmPoint
	fnConcurrency int
	fnCPUs        float64
}

// runWarm measures warm calls. The three ways of one point run back to
// back so that the noise of a shared machine hits them alike.
func runWarm(ctx context.Context, o options, dir string) (*warmResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	floor, err := startHelper(ctx, "-serve-floor", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer floor.stop()
	chain, err := startHelper(ctx, "-serve-chain", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer chain.stop()
	fob, err := startFobLocal(ctx, o, dir, o.agentPorts)
	if err != nil {
		return nil, err
	}
	defer fob.stop()

	res := &warmResult{fnConcurrency: o.fnConcurrency, fnCPUs: o.fnCPUs}
	for _, wf := range warmFunctions {
		// Without a higher limit the default of one worker and a queue
		// of four would answer most of 32 concurrent calls with 429,
		// and the table would measure the refusal path. The default of
		// 0.1 cpus would, with isolation on, make the cgroup quota the
		// bottleneck instead of fob.
		q := url.Values{"wait": {"true"}, "concurrency": {strconv.Itoa(o.fnConcurrency)},
			"cpus": {strconv.FormatFloat(o.fnCPUs, 'f', -1, 64)}}
		id, err := fob.register(ctx, wf.code, q)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", wf.name, err)
		}
		direct, err := fob.executorURL(ctx, id)
		if err != nil {
			return nil, err
		}
		full := fob.base + "/api/call/" + id
		log.Printf("warm calls: %s (function %s, executor %s)", wf.name, id, direct)
		for _, u := range []string{full, direct, floor.url(), chain.url()} {
			conc := 32
			if u == chain.url() {
				conc = 1 // it serves one call at a time
			}
			// Fills connection pools and starts every worker.
			if _, err := runWrk(ctx, o, dir, u, wf.body, conc, o.warmup); err != nil {
				return nil, err
			}
		}
		for _, c := range warmConcurrencies {
			p := warmPoint{fn: wf.name, conc: c}
			type measure struct {
				url string
				out *wrkResult
			}
			measures := []measure{{floor.url(), &p.floor}}
			if c == 1 {
				p.chain = &wrkResult{}
				measures = append(measures, measure{chain.url(), p.chain})
			}
			measures = append(measures, measure{direct, &p.direct}, measure{full, &p.full})
			// Every path is measured o.rounds times, the paths taking
			// turns, and the run with the median req/s stands for the
			// path: a burst of noise on this shared machine then moves
			// one run, not a ratio.
			runs := make([][]wrkResult, len(measures))
			for range o.rounds {
				for i, m := range measures {
					r, err := runWrk(ctx, o, dir, m.url, wf.body, c, o.duration)
					if err != nil {
						return nil, err
					}
					runs[i] = append(runs[i], r)
				}
			}
			for i, m := range measures {
				*m.out = medianRun(runs[i])
			}
			log.Printf("  c=%d: full %.0f req/s p50 %v | direct %.0f req/s p50 %v | floor %.0f req/s p50 %v",
				c, p.full.RPS, p.full.P50, p.direct.RPS, p.direct.P50, p.floor.RPS, p.floor.P50)
			res.points = append(res.points, p)
		}
		if err := fob.remove(ctx, id); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// medianRun is the run with the median req/s (the lower middle one of an
// even number).
func medianRun(runs []wrkResult) wrkResult {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b wrkResult) int { return cmp.Compare(a.RPS, b.RPS) })
	return sorted[(len(sorted)-1)/2]
}
