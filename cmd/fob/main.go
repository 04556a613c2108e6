// Command fob is the whole of fob in one binary: the framework on a Mesos
// cluster (serve), the same with an embedded Mesos stand-in (local), the
// executor the agents start (executor), the stand-in alone (mesoslocal) and
// client verbs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/fob-project/fob/sandbox/drivers"
)

type command struct {
	name  string
	short string
	run   func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"local", "run fob with an embedded Mesos master and agent (no cluster needed)", runLocal},
		{"serve", "run fob as a framework on a Mesos/DC/OS cluster", runServe},
		{"executor", "run as fob's Mesos executor (started by the Mesos agent)", runExecutor},
		{"mesoslocal", "run only the embedded Mesos stand-in (master plus agents)", runMesosLocal},
		{"gen", "register a function from a file", runGen},
		{"call", "call a function", runCall},
		{"ls", "list functions", runList},
		{"rm", "remove functions", runRemove},
		{"logs", "print the tail of a function's log", runLogs},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: fob <command> [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-11s %s\n", c.name, c.short)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'fob <command> -h' for a command's flags. Every flag can also be set\nthrough the environment as FOB_<FLAG> (e.g. FOB_LISTEN, FOB_DATA_DIR).\n")
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	// The first signal cancels the root context; a second one exits at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	name := os.Args[1]
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, os.Args[2:])
		if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(os.Stderr, "fob %s: %v\n", name, err)
			os.Exit(1)
		}
		return
	}
	if name == "-h" || name == "--help" || name == "help" {
		usage()
		return
	}
	fmt.Fprintf(os.Stderr, "fob: unknown command %q\n\n", name)
	usage()
	os.Exit(2)
}
