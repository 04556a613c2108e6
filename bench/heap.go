package main

import (
	"math"
	"runtime"
	"strings"
)

// heapSampleRate is the MemProfileRate of a run with the scale part: one
// sample per 32 KiB allocated instead of 512 KiB, so that the tens of
// megabytes 10,000 functions hold give thousands of samples to attribute,
// while sampling costs well under a percent of the CPU (4 KiB cost 4%).
const heapSampleRate = 32 << 10

// Components the in-use heap is attributed to.
const (
	compScheduler = "scheduler"
	compState     = "state (store)"
	compAPI       = "api (route index)"
	compServer    = "server"
	compStandIn   = "mesoslocal (stand-in)"
	compBench     = "bench (load generator)"
	compOther     = "other (net/http connection buffers, runtime)"
)

// heapComponents lists the components in report order; the first four are
// what a `fob serve` process holds.
var heapComponents = []string{compScheduler, compState, compAPI, compServer, compStandIn, compBench, compOther}

// frameworkComponents are fob's framework process without the stand-in.
var frameworkComponents = []string{compScheduler, compState, compAPI, compServer}

// heapByComponent returns the in-use heap as of the last GC by the fob
// package whose code allocated it: the first frame from the allocation
// site outwards that belongs to fob (so memdb nodes allocated under
// state.Store count as the store's, whoever called the store).
// Sampled sizes are scaled up as pprof scales them.
func heapByComponent() map[string]float64 {
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, false)
	for {
		recs = make([]runtime.MemProfileRecord, n+64)
		var ok bool
		if n, ok = runtime.MemProfile(recs, false); ok {
			recs = recs[:n]
			break
		}
	}
	rate := float64(runtime.MemProfileRate)
	out := map[string]float64{}
	for i := range recs {
		r := &recs[i]
		bytes, objs := r.InUseBytes(), r.InUseObjects()
		if bytes <= 0 || objs <= 0 {
			continue
		}
		scaled := float64(bytes)
		if rate > 1 {
			avg := float64(bytes) / float64(objs)
			scaled /= 1 - math.Exp(-avg/rate)
		}
		out[classify(r.Stack())] += scaled
	}
	return out
}

func classify(stack []uintptr) string {
	frames := runtime.CallersFrames(stack)
	for {
		f, more := frames.Next()
		if c := componentOf(f.Function); c != "" {
			return c
		}
		if !more {
			return compOther
		}
	}
}

func componentOf(fn string) string {
	const mod = "github.com/fob-project/fob/"
	if strings.HasPrefix(fn, "main.") {
		return compBench // the bench's own goroutines: registrations and lookups
	}
	rest, ok := strings.CutPrefix(fn, mod)
	if !ok {
		return ""
	}
	pkg, _, _ := strings.Cut(rest, ".")
	pkg, _, _ = strings.Cut(pkg, "/")
	switch pkg {
	case "scheduler":
		return compScheduler
	case "state":
		return compState
	case "api":
		return compAPI
	case "server":
		return compServer
	case "mesoslocal":
		return compStandIn
	}
	return ""
}
