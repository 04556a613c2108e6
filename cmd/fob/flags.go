package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// parseFlags parses args, then fills every flag not given on the command
// line from FOB_<NAME> in the environment (dashes become underscores).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		key := "FOB_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(key); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", key, v, e)
			}
		}
	})
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return err
}

// defaultWarmPool is how many stems fob keeps per language by default:
// enough that registrations in a row each find one while the pool refills,
// little enough that idle stems hold few resources.
const defaultWarmPool = 2

// addWarmPoolFlag adds --warm-pool, shared by fob local and fob serve.
func addWarmPoolFlag(fs *flag.FlagSet) *int {
	return fs.Int("warm-pool", defaultWarmPool,
		"stems per language: executors kept running with warm workers and no function, which a registration "+
			"loads its function into without waiting for an offer; each holds an instance's default resources (0: none)")
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
