package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/fob-project/fob/executor"
	"github.com/fob-project/fob/mesoslocal"
)

// defaultDataDir is where fob keeps state unless told otherwise. As root
// it is under /var/lib: sandboxes live below it and isolated executors run
// as unprivileged users who cannot enter root's home.
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/fob/local"
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".fob", "local")
	}
	return ".fob"
}

// localProcs is how many Ps fob local runs on given the machine's CPUs:
// half of them. fob local shares its machine with every function's executor
// and workers, and its own work per call is short and serial: a P left
// idle between calls only adds the runtime's thread hand-offs (a spinning
// M woken for each goroutine made ready), which cost more than the work on
// a small machine. Measured in bench/levers.md; GOMAXPROCS overrides it.
func localProcs(cpus int) int {
	return max(1, cpus/2)
}

// runLocal starts fob with an embedded Mesos master and agent: everything a
// fresh machine needs, in one process.
func runLocal(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9999", "address of the fob API")
	dataDir := fs.String("data-dir", defaultDataDir(), "where fob keeps its state and the agents their sandboxes")
	masterListen := fs.String("master-listen", "127.0.0.1:0", "address of the embedded Mesos master")
	agents := fs.Int("agents", 1, "number of embedded Mesos agents")
	resources := fs.String("agent-resources", "cpus:4;mem:8192;disk:10240;ports:[31000-32000]", "resources each embedded agent offers")
	callWait := fs.Duration("call-wait", 30*time.Second, "how long a call to a starting function waits for an instance")
	warmPool := addWarmPoolFlag(fs)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	tokens := addTokenFlags(fs)
	creds := fs.String("mesos-credentials", "", "principal:secret the embedded master requires of frameworks and fob's scheduler presents")
	logMB := fs.Int("function-log-mb", 5, "size in MiB of each of a function instance's two log files (function.log, function.log.1)")
	isolationMode := addIsolationFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(localProcs(runtime.NumCPU()))
	}
	isolated, err := isolationFor(*isolationMode, log)
	if err != nil {
		return err
	}
	execCommand, execURIs, err := ownBinary(isolated)
	if err != nil {
		return err
	}
	token, err := tokens.resolve()
	if err != nil {
		return err
	}
	if token == "" && !isLoopback(*listen) {
		log.Warn("the API is open and listens beyond loopback: anyone who reaches it can register, call and read functions; pass --api-token-file", "listen", *listen)
	}
	var principal, secret string
	var credentials map[string]string
	if *creds != "" {
		if principal, secret, err = parseCredentials(*creds); err != nil {
			return err
		}
		credentials = map[string]string{principal: secret}
	}
	// Executors of the embedded agent run on this host: keep their call
	// servers on loopback.
	execEnv, err := logSizeEnv(map[string]string{executor.EnvBind: "127.0.0.1"}, *logMB)
	if err != nil {
		return err
	}
	if isolated {
		// An isolated executor shares its cgroups with its workers: behind
		// it in the CPU queue, a function forking hundreds of processes
		// cannot take the quota the executor needs to kill them.
		execEnv[executor.EnvWorkerNice] = "19"
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	cluster, err := mesoslocal.Start(ctx, mesoslocal.Config{
		Listen:         *masterListen,
		Agents:         *agents,
		AgentResources: *resources,
		WorkDir:        filepath.Join(*dataDir, "mesos"),
		Credentials:    credentials,
		Isolation:      isolated,
		Logger:         log.With("component", "mesoslocal"),
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("start embedded mesos: %w", err)
	}
	defer cluster.Close()
	return runFramework(ctx, frameworkOptions{
		dataDir:     *dataDir,
		callWait:    *callWait,
		warmPool:    *warmPool,
		advertise:   "http://" + ln.Addr().String(),
		masterURL:   cluster.URL(),
		codec:       "protobuf",
		role:        "*",
		principal:   principal,
		secret:      secret,
		apiToken:    token,
		execCommand: execCommand,
		execURIs:    execURIs,
		execEnv:     execEnv,
		failover:    7 * 24 * time.Hour,
		name:        "fob",
	}, ln, log)
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
