package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The chain floor is the least that three processes in a row, arranged as
// fob's call path is, can do per call on this machine: an HTTP server in Go
// (the API's place) forwards each request body over one kept TCP
// connection to a Go relay (the executor's place), which passes it through
// a pipe to a python3 process (the worker's place) that answers a constant.
// No routing, no parsing, no function: a lower bound for fob's full path.
// At one caller every hop is a wake-up of a sleeping process, and the
// floor server has two of them where this chain, like fob, has six.

// chainWorker is the python end: reads a 4-byte big-endian length and that
// many bytes from stdin, writes a framed constant answer to stdout.
const chainWorker = `import os, struct
answer = b'{"result":42}'
out = struct.pack('>I', len(answer)) + answer
def read(n):
    b = b''
    while len(b) < n:
        c = os.read(0, n - len(b))
        if not c:
            raise SystemExit(0)
        b += c
    return b
while True:
    n = struct.unpack('>I', read(4))[0]
    read(n)
    os.write(1, out)
`

// serveChainFront is the chain's first process: it starts the relay,
// connects to it and serves HTTP, printing its own address on stdout.
func serveChainFront(ctx context.Context, addr string) error {
	relay, err := startHelper(ctx, "-serve-chain-relay", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer relay.stop()
	conn, err := net.Dial("tcp", relay.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	var mu sync.Mutex // one call on the connection at a time: the chain is measured with one caller
	in := bufio.NewReader(conn)
	return serveHelperHTTP(ctx, addr, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		answer, err := roundTrip(conn, in, body)
		mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Write(answer)
	})
}

// serveChainRelay is the chain's second process: it listens on addr,
// prints the address on stdout and relays.
func serveChainRelay(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	return relayChain(ctx, ln)
}

// relayChain accepts one connection on ln and, for each frame on it, asks
// a python worker of its own and sends the answer back.
func relayChain(ctx context.Context, ln net.Listener) error {
	defer ln.Close()
	py := exec.CommandContext(ctx, "python3", "-c", chainWorker)
	py.Stderr = os.Stderr
	toWorker, err := py.StdinPipe()
	if err != nil {
		return err
	}
	fromWorker, err := py.StdoutPipe()
	if err != nil {
		return err
	}
	if err := py.Start(); err != nil {
		return fmt.Errorf("start python3: %w", err)
	}
	defer func() { toWorker.Close(); py.Wait() }()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	in, worker := bufio.NewReader(conn), bufio.NewReader(fromWorker)
	for {
		body, err := readChainFrame(in)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		answer, err := roundTrip(toWorker, worker, body)
		if err != nil {
			return err
		}
		if _, err := conn.Write(chainFrame(answer)); err != nil {
			return err
		}
	}
}

// roundTrip sends one frame on w and reads the answering frame from r.
func roundTrip(w io.Writer, r *bufio.Reader, payload []byte) ([]byte, error) {
	if _, err := w.Write(chainFrame(payload)); err != nil {
		return nil, err
	}
	return readChainFrame(r)
}

func chainFrame(payload []byte) []byte {
	f := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint32(f, uint32(len(payload)))
	copy(f[4:], payload)
	return f
}

func readChainFrame(r *bufio.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	p := make([]byte, binary.BigEndian.Uint32(h[:]))
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, err
	}
	return p, nil
}

// helperProcess is one of the bench's own servers (the floor, the chain)
// in a process of its own, as the fob API and the executor are: sharing
// the bench's process would let it use the bench's warm runtime and make
// the comparison unfair.
type helperProcess struct {
	cmd  *exec.Cmd
	addr string
}

// startHelper runs this binary with flag set to listen, and waits for the
// address it prints.
func startHelper(ctx context.Context, flag, listen string) (*helperProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, flag, listen)
	cmd.Stderr = os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", flag, err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s did not say its address: %w", flag, err)
	}
	return &helperProcess{cmd: cmd, addr: strings.TrimSpace(line)}, nil
}

func (h *helperProcess) url() string { return "http://" + h.addr + "/" }

func (h *helperProcess) stop() {
	h.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { h.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		h.cmd.Process.Kill()
		<-done
	}
}
