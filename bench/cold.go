package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const (
	// coldGap separates two registrations, as independent users would:
	// back to back, a warm pool would be measured while it refills.
	coldGap = 200 * time.Millisecond
	// coldLimit bounds one registration's wait for its first answer.
	coldLimit = 60 * time.Second
)

// coldVariant is the cold start with or without the warm pool.
type coldVariant struct {
	name      string
	available bool
	note      string // why it is not available, or how it was run
	samples   []time.Duration
	failures  []string
}

type coldResult struct {
	variants []*coldVariant
}

// runCold measures registration until the first successful call, n times
// per variant, each with a fob local of its own.
func runCold(ctx context.Context, o options, dir string) (*coldResult, error) {
	kind, def, err := flagKind(o.fobBin, "warm-pool")
	if err != nil {
		return nil, err
	}
	without := &coldVariant{name: "without warm pool", available: true}
	with := &coldVariant{name: "with warm pool"}
	var offArgs, onArgs []string
	switch {
	case kind == "":
		with.note = fmt.Sprintf("not available: `%s local -h` lists no --warm-pool flag", o.fobBin)
	default:
		on := o.warmPool
		if on == "" && kind == "bool" {
			on = "true"
		} else if on == "" {
			on = def
		}
		if on == "" {
			with.note = "not available: --warm-pool has no default; give the bench -warm-pool VALUE"
		} else {
			with.available = true
			onArgs = []string{"--warm-pool=" + on}
			with.note = "fob local " + onArgs[0]
		}
		switch {
		case kind == "bool":
			offArgs = []string{"--warm-pool=false"}
		case strings.HasPrefix(kind, "int") || strings.HasPrefix(kind, "uint"):
			offArgs = []string{"--warm-pool=0"}
		}
		if offArgs != nil {
			without.note = "fob local " + offArgs[0]
		} else {
			without.note = "fob local with its default --warm-pool"
		}
	}
	res := &coldResult{variants: []*coldVariant{without, with}}
	for i, v := range res.variants {
		if !v.available {
			continue
		}
		args := offArgs
		if v == with {
			args = onArgs
		}
		if err := measureCold(ctx, o, filepath.Join(dir, fmt.Sprint(i)), o.agentPorts+1000*(i+1), args, v); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func measureCold(ctx context.Context, o options, dir string, ports int, args []string, v *coldVariant) error {
	fob, err := startFobLocal(ctx, o, dir, ports, args...)
	if err != nil {
		return err
	}
	defer fob.stop()
	log.Printf("cold start %s: %d registrations", v.name, o.cold)
	for i := 0; i < o.cold; i++ {
		// Distinct code each time: a cache keyed by the code's digest
		// must not turn a registration into a lookup.
		code := fmt.Sprintf("%s# registration %d at %d\n", codeReturn42, i, time.Now().UnixNano())
		d, id, err := registerAndCall(ctx, fob, code)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			v.failures = append(v.failures, err.Error())
			log.Printf("  registration %d failed: %v", i, err)
		} else {
			v.samples = append(v.samples, d)
		}
		if id != "" {
			if err := retireFunction(ctx, fob, id); err != nil {
				return err
			}
		}
		time.Sleep(coldGap)
	}
	p := percentiles(v.samples)
	log.Printf("  p50 %v p90 %v (%d ok, %d failed)", p.p50, p.p90, len(v.samples), len(v.failures))
	return nil
}

// registerAndCall registers code without waiting and calls it at once; a
// call to a function still starting waits for it in fob, and answers 503
// if that takes longer than --call-wait, which is retried until
// coldLimit.
func registerAndCall(ctx context.Context, fob *fobLocal, code string) (time.Duration, string, error) {
	start := time.Now()
	id, err := fob.register(ctx, code, nil)
	if err != nil {
		return 0, "", err
	}
	for {
		var out struct {
			Result any    `json:"result"`
			Error  string `json:"error"`
		}
		status, err := doJSON(ctx, fob.client, http.MethodPost, fob.base+"/api/call/"+id, []byte(`{}`), &out)
		took := time.Since(start)
		switch {
		case err == nil && status == http.StatusOK:
			if fmt.Sprint(out.Result) != "42" {
				return 0, id, fmt.Errorf("first call answered %v", out.Result)
			}
			return took, id, nil
		case err == nil && status != http.StatusServiceUnavailable:
			return 0, id, fmt.Errorf("first call: status %d: %s", status, out.Error)
		case took > coldLimit:
			return 0, id, fmt.Errorf("no answer within %s (status %d, %v)", coldLimit, status, err)
		}
	}
}

// retireFunction deletes a function and waits until its executor no
// longer accepts connections, so the next registration does not share
// the machine with a dying instance.
func retireFunction(ctx context.Context, fob *fobLocal, id string) error {
	call, metaErr := fob.executorURL(ctx, id)
	if err := fob.remove(ctx, id); err != nil {
		return err
	}
	if metaErr != nil {
		return nil // it never ran
	}
	u, err := url.Parse(call)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			return nil
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("executor of deleted function " + id + " still listens after 10s")
}

type pct struct{ p50, p90, p99 time.Duration }

// percentiles by the nearest-rank method.
func percentiles(ds []time.Duration) pct {
	if len(ds) == 0 {
		return pct{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := func(p float64) time.Duration {
		i := int(float64(len(s))*p+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return pct{rank(0.50), rank(0.90), rank(0.99)}
}
