package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fob-project/fob/api"
	"github.com/fob-project/fob/mesoslocal"
	"github.com/fob-project/fob/mesoslocal/agent"
	"github.com/fob-project/fob/scheduler"
	"github.com/fob-project/fob/server"
	"github.com/fob-project/fob/state"
)

const (
	// scaleSmall is the size at which lookups are first measured, to
	// compare with the same lookups at full size.
	scaleSmall = 10
	// scaleSamples is how many sequential requests give a p50.
	scaleSamples = 300
)

type scaleResult struct {
	functions, agents int
	containerizer     string
	register          time.Duration // registering the N−scaleSmall functions over HTTP
	allRunning        time.Duration // from their first registration until all N run
	running           int           // functions running at the end of the wait
	launchRate        float64       // instances reaching RUNNING per second
	heapTotal         float64       // bytes per function, whole process
	heapBy            map[string]float64
	stats, lookup     [2]time.Duration // p50 at scaleSmall and at N
	busy              bool             // not all ran: the size-N figures were taken while launches went on
	profiles          []string
}

// runScale runs the stand-in with M agents and fob's framework in this
// process, registers N functions over HTTP and measures how fast they all
// run and what they cost.
func runScale(ctx context.Context, o options, dir string) (*scaleResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	raiseFileLimit()
	res := &scaleResult{functions: o.functions, agents: o.agents}
	logf, err := os.Create(filepath.Join(dir, "fob.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// Info, as `fob local` logs by default: logging is part of the cost.
	logger := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ccfg := mesoslocal.Config{
		Agents:  o.agents,
		WorkDir: filepath.Join(dir, "mesos"),
		Logger:  logger.With("component", "mesoslocal"),
		// No processes: what is measured is fob's scheduler, the master
		// and the agents, not how fast this machine forks. One simulated
		// containerizer serves every agent (the template is copied).
		Agent: agent.Config{Containerizer: agent.NewSimulatedContainerizer()},
		// Simulated executors bind no port, so each agent offers the
		// whole range, as agents on hosts of their own do; sharing one
		// range between 500 agents would leave two ports each.
		AgentResourcesFor: func(int) string { return mesoslocal.DefaultAgentResources },
	}
	res.containerizer = "the stand-in's simulated one (`agent.NewSimulatedContainerizer`: in-process executors that answer " +
		"LAUNCH with STARTING then RUNNING, no process, no sandbox, no executor HTTP API)"
	log.Printf("scale: starting the stand-in with %d agents", o.agents)
	cluster, err := mesoslocal.Start(ctx, ccfg)
	if err != nil {
		return nil, err
	}
	defer closeWithin(cluster.Close, 30*time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	srv, err := server.Start(ctx, server.Config{
		DataDir: filepath.Join(dir, "data"),
		API:     api.Config{},
		Scheduler: scheduler.Config{
			MasterURL:       cluster.URL(),
			Codec:           "protobuf",
			User:            u.Username,
			Checkpoint:      true,
			ExecutorCommand: "/bin/true", // never run: the containerizer is simulated
		},
	}, ln, logger)
	if err != nil {
		return nil, err
	}
	defer closeWithin(srv.Close, 30*time.Second)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.regWorkers + 4}, Timeout: time.Minute}

	// The heap the idle framework and stand-in hold, before any function.
	runtime.GC()
	runtime.GC()
	base := heapByComponent()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapAlloc

	small := min(scaleSmall, o.functions)
	ids, err := registerMany(ctx, client, srv.URL, small, o.regWorkers)
	if err != nil {
		return nil, err
	}
	if n := waitRunning(ctx, srv.Store, small, o.scaleTimeout); n < small {
		return nil, fmt.Errorf("only %d of the first %d functions ran within %s", n, small, o.scaleTimeout)
	}
	waitSettled(ctx, srv.Store, small, o.scaleTimeout)
	res.stats[0], res.lookup[0], err = measureLookups(ctx, client, srv.URL, ids)
	if err != nil {
		return nil, err
	}

	stopProfile := startCPUProfile(o, res)
	log.Printf("scale: registering %d functions (%d at a time)", o.functions-small, o.regWorkers)
	start := time.Now()
	more, err := registerMany(ctx, client, srv.URL, o.functions-small, o.regWorkers)
	res.register = time.Since(start)
	if err != nil {
		stopProfile()
		return nil, err
	}
	ids = append(ids, more...)
	log.Printf("scale: registered in %v; waiting for all to run", res.register.Round(time.Millisecond))
	res.running = waitRunning(ctx, srv.Store, o.functions, o.scaleTimeout)
	res.allRunning = time.Since(start)
	stopProfile()
	res.launchRate = float64(res.running-small) / res.allRunning.Seconds()
	log.Printf("scale: %d of %d running after %v", res.running, o.functions, res.allRunning.Round(time.Millisecond))

	if res.running == o.functions {
		waitSettled(ctx, srv.Store, res.running, time.Minute)
	} else {
		res.busy = true
	}
	res.stats[1], res.lookup[1], err = measureLookups(ctx, client, srv.URL, ids)
	if err != nil {
		return nil, err
	}
	runtime.GC()
	runtime.GC()
	after := heapByComponent()
	runtime.ReadMemStats(&ms)
	n := float64(o.functions)
	res.heapTotal = (float64(ms.HeapAlloc) - float64(baseHeap)) / n
	res.heapBy = map[string]float64{}
	for _, c := range heapComponents {
		res.heapBy[c] = (after[c] - base[c]) / n
	}
	if o.profileDir != "" {
		p := filepath.Join(o.profileDir, "scale.heap.pprof")
		if f, err := os.Create(p); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
			res.profiles = append(res.profiles, p)
		}
	}
	return res, nil
}

// registerMany registers n functions with at most workers in flight and
// returns their ids.
func registerMany(ctx context.Context, c *http.Client, base string, n, workers int) ([]string, error) {
	ids := make([]string, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				var out struct {
					ID string `json:"id"`
				}
				code := fmt.Sprintf("%s# %d\n", codeReturn42, i)
				status, err := doJSON(ctx, c, http.MethodPost, base+"/api/gen?lang=python", []byte(code), &out)
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("register: status %d", status)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				ids[i] = out.ID
			}
		}()
	}
	wg.Wait()
	return ids, firstErr
}

// waitSettled waits until the scheduler has also recorded every function
// as running (statuses follow task updates), so lookups are measured on an
// idle framework rather than during the last route index rebuilds.
func waitSettled(ctx context.Context, st *state.Store, n int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		sts, err := st.Statuses(nil)
		running := 0
		if err == nil {
			for _, s := range sts {
				if s.Phase == state.PhaseRunning {
					running++
				}
			}
		}
		if running >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitRunning polls the store (not the API, which is measured) until n
// tasks run or timeout passes, and returns how many run.
func waitRunning(ctx context.Context, st *state.Store, n int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		tasks, err := st.Tasks(nil)
		running := 0
		if err == nil {
			for _, t := range tasks {
				if t.State == state.TaskRunning {
					running++
				}
			}
		}
		if running >= n || time.Now().After(deadline) || ctx.Err() != nil {
			return running
		}
		// Reading every task costs the scheduler's process CPU; ten times
		// a second keeps that under a percent at 10,000 tasks.
		time.Sleep(100 * time.Millisecond)
	}
}

// measureLookups returns the p50 of GET /api/stats and of GET
// /api/meta/{id} (the route index a call resolves through) for random ids.
func measureLookups(ctx context.Context, c *http.Client, base string, ids []string) (stats, lookup time.Duration, err error) {
	timeOne := func(u string) (time.Duration, error) {
		start := time.Now()
		status, err := doJSON(ctx, c, http.MethodGet, u, nil, nil)
		// 503 is a lookup too: the function is known but not running yet.
		if err == nil && status != http.StatusOK && status != http.StatusServiceUnavailable {
			err = fmt.Errorf("GET %s: status %d", u, status)
		}
		return time.Since(start), err
	}
	// Lookups first, then stats: interleaved, the garbage of each large
	// stats answer would start GC cycles that the lookups pay for, and
	// the comparison across sizes would measure /api/stats twice.
	var s, l []time.Duration
	for i := 0; i < scaleSamples; i++ {
		d, err := timeOne(base + "/api/meta/" + ids[rand.IntN(len(ids))])
		if err != nil {
			return 0, 0, err
		}
		l = append(l, d)
	}
	for i := 0; i < scaleSamples; i++ {
		d, err := timeOne(base + "/api/stats")
		if err != nil {
			return 0, 0, err
		}
		s = append(s, d)
	}
	return percentiles(s).p50, percentiles(l).p50, nil
}

// startCPUProfile profiles the whole process (framework and stand-in)
// while the functions launch; it returns the function that stops it.
func startCPUProfile(o options, res *scaleResult) func() {
	if o.profileDir == "" {
		return func() {}
	}
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		log.Printf("no CPU profile: %v", err)
		return func() {}
	}
	p := filepath.Join(o.profileDir, "scale.cpu.pprof")
	f, err := os.Create(p)
	if err != nil {
		log.Printf("no CPU profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		log.Printf("no CPU profile: %v", err)
		return func() {}
	}
	res.profiles = append(res.profiles, p)
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// raiseFileLimit lifts the open-file limit: every simulated executor holds
// a stream to its agent, and both ends live in this process.
func raiseFileLimit() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return
	}
	want := syscall.Rlimit{Cur: 1 << 19, Max: max(l.Max, 1<<19)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// closeWithin calls stop but gives up waiting after d: a slow shutdown of
// hundreds of agents must not hold the report back.
func closeWithin(stop func() error, d time.Duration) {
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		log.Printf("shutdown still running after %v; not waiting", d)
	}
}
