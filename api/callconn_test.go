package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is an executor stand-in that counts the connections it
// accepted.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func postAndRead(t *testing.T, p *callConns, addr, body string) (int, string, error) {
	t.Helper()
	var status int
	var got string
	err := p.post(context.Background(), addr, []byte(body), func(resp *http.Response) error {
		status = resp.StatusCode
		b, err := io.ReadAll(resp.Body)
		got = string(b)
		return err
	})
	return status, got, err
}

func TestCallConnsReuseConnections(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/call" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request line or headers", 400)
			return
		}
		w.Write([]byte(`{"result":` + string(b) + `}`))
	})
	p := newCallConns()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for i := range 20 {
		status, body, err := postAndRead(t, p, addr, `{"i":1}`)
		if err != nil || status != 200 || body != `{"result":{"i":1}}` {
			t.Fatalf("call %d: %d %q %v", i, status, body, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("20 sequential calls used %d connections, want 1", n)
	}
}

// An executor that closed an idle connection must not fail the next call.
func TestCallConnsRetryStaleConnection(t *testing.T) {
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"result":1}`))
	})
	p := newCallConns()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if _, _, err := postAndRead(t, p, addr, `{}`); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections() // the server side of the idle conn goes away
	time.Sleep(20 * time.Millisecond)
	status, _, err := postAndRead(t, p, addr, `{}`)
	if err != nil || status != 200 {
		t.Fatalf("call after the executor closed the idle connection: %d %v", status, err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("connections = %d, want 2", n)
	}
}

func TestCallConnsDeadline(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(500 * time.Millisecond)
	})
	p := newCallConns()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := p.post(ctx, strings.TrimPrefix(srv.URL, "http://"), []byte(`{}`), func(*http.Response) error { return nil })
	if err != context.DeadlineExceeded {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestCallConnsRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	err := newCallConns().post(context.Background(), addr, []byte(`{}`), func(*http.Response) error { return nil })
	if !refused(err) {
		t.Fatalf("err = %v, want a refused connection", err)
	}
}
