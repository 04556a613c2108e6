package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// floorBody is what the floor server answers: the same bytes a function
// returning 42 answers through fob.
var floorBody = []byte(`{"result":42}`)

// serveFloor runs the floor: the least an HTTP server written in Go can do
// per request on this machine (read the body, answer a constant JSON
// object). It prints its address on the first line of stdout.
func serveFloor(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Read the body like an executor does, so the floor pays for it too.
			io.Copy(io.Discard, r.Body)
			w.Header()["Content-Type"] = []string{"application/json"}
			w.Write(floorBody)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Println(ln.Addr().String())
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// floorProcess is the floor server in a process of its own, as the fob
// API and the executor are: sharing the bench's process would let it use
// the bench's warm runtime and make the comparison unfair.
type floorProcess struct {
	cmd  *exec.Cmd
	addr string
}

func startFloor(ctx context.Context) (*floorProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-serve-floor", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start floor server: %w", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("floor server did not say its address: %w", err)
	}
	return &floorProcess{cmd: cmd, addr: strings.TrimSpace(line)}, nil
}

func (f *floorProcess) url() string { return "http://" + f.addr + "/" }

func (f *floorProcess) stop() {
	f.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { f.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		f.cmd.Process.Kill()
		<-done
	}
}
