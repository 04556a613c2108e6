// Command bench measures fob on this machine and writes BENCHMARKS.md.
//
// It runs three parts in one process run, all on loopback:
//
//  1. warm calls: wrk against the fob API, straight against the executor
//     and against a minimal Go server (the floor of the machine);
//  2. cold start: registration until the first successful call, without
//     and (when bin/fob has --warm-pool) with the warm pool;
//  3. scale: N functions over M agents of the embedded stand-in with a
//     simulated containerizer, in this process, so heap and CPU can be
//     attributed to fob's packages.
//
// `make bench` runs it through scripts/bench.sh. Sizes and durations are
// flags so a quick run is possible; the defaults are the issue's.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	_ "github.com/fob-project/fob/sandbox/drivers"
)

// options are the command-line settings of one run.
type options struct {
	fobBin   string
	fobArgs  string
	out      string
	wrk      string
	duration time.Duration
	warmup   time.Duration
	rounds   int // measurements of each warm-call path, the paths taking turns
	// fnConcurrency is the concurrency limit the warm-call functions are
	// registered with (see registerWarm).
	fnConcurrency int
	fnCPUs        float64
	cold          int
	warmPool      string
	functions     int
	agents        int
	regWorkers    int
	scaleTimeout  time.Duration
	agentPorts    int
	parts         string
	profileDir    string
	keep          bool
}

func parseOptions(args []string) (options, helperMode, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.fobBin, "fob", "bin/fob", "the fob binary whose `fob local` is measured")
	fs.StringVar(&o.fobArgs, "fob-args", "", "extra flags for every measured `fob local`, space-separated (e.g. --isolation=off)")
	fs.StringVar(&o.out, "out", "BENCHMARKS.md", "where the report is written (empty: print only)")
	fs.StringVar(&o.wrk, "wrk", "wrk", "the wrk load generator")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each wrk measurement")
	fs.IntVar(&o.rounds, "rounds", 3, "how often each warm-call path is measured, the paths taking turns; the run with the median req/s is reported")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured wrk run before each function's measurements")
	fs.IntVar(&o.fnConcurrency, "fn-concurrency", 8, "concurrency limit of the warm-call functions: workers per instance (the queue holds 4× as many)")
	fs.Float64Var(&o.fnCPUs, "fn-cpus", float64(min(runtime.NumCPU(), 8)), "cpus the warm-call functions are registered with: the whole machine, so an isolated executor's cgroup quota does not bind")
	fs.IntVar(&o.cold, "cold", 50, "registrations measured for the cold start, per variant")
	fs.StringVar(&o.warmPool, "warm-pool", "", "value for `fob local --warm-pool` in the with-pool cold start (default: true for a boolean flag, else fob's own default)")
	fs.IntVar(&o.functions, "functions", 10000, "functions registered in the scale run")
	fs.IntVar(&o.agents, "agents", 500, "agents of the stand-in in the scale run")
	fs.IntVar(&o.regWorkers, "reg-workers", 32, "concurrent registrations in the scale run")
	fs.DurationVar(&o.scaleTimeout, "scale-timeout", 5*time.Minute, "how long the scale run waits for every function to run before it reports how many do")
	fs.IntVar(&o.agentPorts, "agent-ports", 41000, "first port of the range the measured `fob local` agents offer (1,000 ports per instance)")
	fs.StringVar(&o.parts, "parts", "warm,cold,scale", "which parts to run, comma-separated")
	fs.StringVar(&o.profileDir, "profile-dir", "bin/bench-profiles", "where the scale run's CPU and heap profiles go (empty: none)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary data directories and logs")
	h := helperMode{
		floor:      fs.String("serve-floor", "", "internal: serve the floor server on this address and print it"),
		chainFront: fs.String("serve-chain", "", "internal: serve the chain floor's first process on this address and print it"),
		chainRelay: fs.String("serve-chain-relay", "", "internal: serve the chain floor's relay on this address and print it"),
	}
	if err := fs.Parse(args); err != nil {
		return o, h, err
	}
	if fs.NArg() > 0 {
		return o, h, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.rounds < 1 {
		err := fmt.Errorf("-rounds must be at least 1, not %d", o.rounds)
		fmt.Fprintln(fs.Output(), err) // the flag package has printed its own errors
		return o, h, err
	}
	return o, h, nil
}

// helperMode holds the internal flags that make this binary one of the
// bench's own servers instead of the bench.
type helperMode struct{ floor, chainFront, chainRelay *string }

// serve runs the helper server asked for; it reports false when none was.
func (h helperMode) serve(ctx context.Context) (bool, error) {
	switch {
	case *h.floor != "":
		return true, serveFloor(ctx, *h.floor)
	case *h.chainFront != "":
		return true, serveChainFront(ctx, *h.chainFront)
	case *h.chainRelay != "":
		return true, serveChainRelay(ctx, *h.chainRelay)
	}
	return false, nil
}

func (o options) want(part string) bool {
	for _, p := range strings.Split(o.parts, ",") {
		if strings.TrimSpace(p) == part {
			return true
		}
	}
	return false
}

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	o, helper, err := parseOptions(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if served, err := helper.serve(ctx); served {
		if err != nil {
			log.Fatal(err)
		}
		return
	}
	if o.want("scale") {
		// As early as possible: the rate applies to allocations from now on.
		runtime.MemProfileRate = heapSampleRate
	}
	if err := run(ctx, o); err != nil {
		log.Printf("bench: %v", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "fob-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		log.Printf("keeping temporary files in %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	// The commit is read before anything is written so a report left by a
	// previous run does not count as a local change.
	r := &report{machine: readMachine(o.wrk), started: time.Now().UTC(), opts: o}
	if o.want("warm") {
		if r.warm, err = runWarm(ctx, o, filepath.Join(tmp, "warm")); err != nil {
			return fmt.Errorf("warm calls: %w", err)
		}
	}
	if o.want("cold") {
		if r.cold, err = runCold(ctx, o, filepath.Join(tmp, "cold")); err != nil {
			return fmt.Errorf("cold start: %w", err)
		}
	}
	if o.want("scale") {
		// Last, and after every fob local is gone: it needs the whole
		// machine and leaves a big heap behind.
		if r.scale, err = runScale(ctx, o, filepath.Join(tmp, "scale")); err != nil {
			return fmt.Errorf("scale: %w", err)
		}
	}
	text := r.markdown()
	fmt.Print(text)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
			return err
		}
		log.Printf("wrote %s", o.out)
	}
	return nil
}
