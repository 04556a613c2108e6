package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"time"
)

// runServe runs fob as a framework on a real Mesos or DC/OS cluster.
func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	master := fs.String("master", "", "Mesos master URL, e.g. http://leader.mesos:5050 (required)")
	listen := fs.String("listen", "0.0.0.0:9999", "address of the fob API")
	advertise := fs.String("advertise-url", "", "URL at which executors reach this API (default: http://<listen>)")
	dataDir := fs.String("data-dir", defaultDataDir(), "where fob keeps its state")
	role := fs.String("role", "*", "Mesos role to take offers for")
	principal := fs.String("principal", "", "principal to authenticate to the master with")
	secretFile := fs.String("secret-file", "", "file holding the principal's secret")
	secret := fs.String("secret", "", "the principal's secret (prefer --secret-file; FOB_SECRET suits injected secrets)")
	tokens := addTokenFlags(fs)
	insecureOpen := fs.Bool("insecure-open", false, "serve the API without a token: anyone who reaches it can register, call and read functions")
	logMB := fs.Int("function-log-mb", 5, "size in MiB of each of a function instance's two log files (function.log, function.log.1)")
	codec := fs.String("codec", "protobuf", "scheduler API encoding: protobuf or json")
	execCmd := fs.String("executor-command", "fob executor", "command the agents run to start fob's executor inside the runtime image")
	name := fs.String("framework-name", "fob", "framework name shown by Mesos")
	failover := fs.Duration("failover-timeout", 7*24*time.Hour, "how long Mesos keeps fob's tasks while fob is away")
	callWait := fs.Duration("call-wait", 30*time.Second, "how long a call to a starting function waits for an instance")
	warmPool := addWarmPoolFlag(fs)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *master == "" {
		return errors.New("--master is required (or FOB_MASTER)")
	}
	token, err := serveToken(tokens, *insecureOpen)
	if err != nil {
		return err
	}
	mesosSecret, err := frameworkSecret(*principal, *secret, *secretFile)
	if err != nil {
		return err
	}
	execEnv, err := logSizeEnv(nil, *logMB)
	if err != nil {
		return err
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	if token == "" {
		log.Warn("the API is open (--insecure-open): anyone who reaches it can register, call and read functions")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	adv := *advertise
	if adv == "" {
		adv = "http://" + ln.Addr().String()
	}
	return runFramework(ctx, frameworkOptions{
		dataDir: *dataDir, callWait: *callWait, warmPool: *warmPool, advertise: adv, masterURL: *master, codec: *codec,
		role: *role, principal: *principal, secret: mesosSecret, apiToken: token, execCommand: *execCmd,
		execEnv: execEnv, failover: *failover, name: *name,
	}, ln, log)
}
