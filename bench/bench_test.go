package main

import (
	"testing"
	"time"
)

func TestParseUsage(t *testing.T) {
	usage := `Usage of local:
  -agents int
    	number of embedded Mesos agents (default 1)
  -call-wait duration
    	how long a call waits (default 30s)
  -warm-pool
    	keep pre-warmed executors
  -warm-pool-size int
    	executors per language (default 2)
`
	cases := []struct{ name, kind, def string }{
		{"agents", "int", "1"},
		{"call-wait", "duration", "30s"},
		{"warm-pool", "bool", ""},
		{"warm-pool-size", "int", "2"},
		{"missing", "", ""},
	}
	for _, c := range cases {
		kind, def := parseUsage(usage, c.name)
		if kind != c.kind || def != c.def {
			t.Errorf("%s: kind %q default %q, want %q %q", c.name, kind, def, c.kind, c.def)
		}
	}
}

func TestParseWrk(t *testing.T) {
	out := "Running 5s test @ http://127.0.0.1:1/\n  1 threads and 1 connections\nFOBBENCH 1000 2000000 10 2 150.0 300.0 1200.5\n"
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 1000 || r.Duration != 2*time.Second || r.NonOK != 10 || r.SockErrs != 2 {
		t.Errorf("counts: %+v", r)
	}
	if r.P50 != 150*time.Microsecond || r.P99 != 1200500*time.Nanosecond {
		t.Errorf("latencies: p50 %v p99 %v", r.P50, r.P99)
	}
	if r.RPS != 495 { // (1000-10) answers in 2 s
		t.Errorf("RPS = %v, want 495", r.RPS)
	}
	if _, err := parseWrk("no summary"); err == nil {
		t.Error("output without a summary line parsed")
	}
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := percentiles(ds)
	if p.p50 != 50*time.Millisecond || p.p90 != 90*time.Millisecond || p.p99 != 99*time.Millisecond {
		t.Errorf("got %+v", p)
	}
	if percentiles(nil) != (pct{}) {
		t.Error("empty input")
	}
}

func TestMedianRun(t *testing.T) {
	runs := func(rps ...float64) []wrkResult {
		var rs []wrkResult
		for _, r := range rps {
			rs = append(rs, wrkResult{RPS: r, P50: time.Duration(r)})
		}
		return rs
	}
	for _, tc := range []struct {
		in   []wrkResult
		want float64
	}{
		{runs(5), 5},
		{runs(9, 1, 5), 5},
		{runs(3, 1), 1}, // the lower middle of an even number
		{runs(4, 8, 2, 6), 4},
	} {
		got := medianRun(tc.in)
		if got.RPS != tc.want || got.P50 != time.Duration(tc.want) {
			t.Errorf("medianRun(%v) = %v, want the run with %v req/s", tc.in, got.RPS, tc.want)
		}
	}
	in := runs(9, 1, 5)
	medianRun(in)
	if in[0].RPS != 9 || in[1].RPS != 1 {
		t.Error("medianRun reordered its argument")
	}
}
