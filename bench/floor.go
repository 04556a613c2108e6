package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// floorBody is what the floor server answers: the same bytes a function
// returning 42 answers through fob.
var floorBody = []byte(`{"result":42}`)

// serveFloor runs the floor: the least an HTTP server written in Go can do
// per request on this machine (read the body, answer a constant JSON
// object). It prints its address on the first line of stdout.
func serveFloor(ctx context.Context, addr string) error {
	return serveHelperHTTP(ctx, addr, func(w http.ResponseWriter, r *http.Request) {
		// Read the body like an executor does, so the floor pays for it too.
		io.Copy(io.Discard, r.Body)
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Write(floorBody)
	})
}

// serveHelperHTTP serves handler on addr until ctx ends, printing the
// address it listens on as the first line of stdout (startHelper reads it).
func serveHelperHTTP(ctx context.Context, addr string, handler http.HandlerFunc) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
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
