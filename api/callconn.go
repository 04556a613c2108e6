package api

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const (
	// maxIdlePerAddr bounds the idle connections kept per executor.
	maxIdlePerAddr = 128
	// idleConnTimeout drops idle connections well before an executor's
	// own idle timeout (minutes) closes them under a request.
	idleConnTimeout = 60 * time.Second
	dialTimeout     = 2 * time.Second
)

// callConns keeps keep-alive connections to executors and posts calls over
// them on the caller's goroutine. net/http's client reads and writes each
// connection on goroutines of its own, and handing every call across them
// cost more than the rest of the API's hop; a call needs one small request
// and one small answer, so a minimal HTTP/1.1 exchange is enough.
type callConns struct {
	mu     sync.Mutex
	idle   map[string][]*callConn // by host:port, most recent last
	dialer net.Dialer
}

type callConn struct {
	nc       net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
	reused   bool
}

func newCallConns() *callConns {
	return &callConns{
		idle:   map[string][]*callConn{},
		dialer: net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
	}
}

// post sends body to http://addr/call and hands the answer to read, whose
// error it returns. The connection goes back to the pool only when the
// answer was read whole and the executor keeps the connection open.
func (p *callConns) post(ctx context.Context, addr string, body []byte, read func(*http.Response) error) error {
	c, err := p.get(ctx, addr)
	if err != nil {
		return err
	}
	resp, err := c.exchange(ctx, addr, body)
	if err != nil && c.reused && staleConn(err) {
		// The executor closed this idle connection before it read the
		// request, so the call never ran: try once on a new connection.
		c.nc.Close()
		if c, err = p.dial(ctx, addr); err != nil {
			return err
		}
		resp, err = c.exchange(ctx, addr, body)
	}
	if err != nil {
		c.nc.Close()
		return err
	}
	err = read(resp)
	if _, drainErr := io.Copy(io.Discard, resp.Body); err != nil || drainErr != nil || resp.Close {
		c.nc.Close()
		return err
	}
	p.put(addr, c)
	return nil
}

// exchange writes the request and reads the answer's head, both bounded by
// ctx.
func (c *callConn) exchange(ctx context.Context, addr string, body []byte) (*http.Response, error) {
	if d, ok := ctx.Deadline(); ok {
		c.nc.SetDeadline(d)
	} else {
		c.nc.SetDeadline(time.Time{})
	}
	// A cancelled caller unblocks the exchange at once.
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	w := c.bw
	w.WriteString("POST /call HTTP/1.1\r\nHost: ")
	w.WriteString(addr)
	w.WriteString("\r\nContent-Type: application/json\r\nContent-Length: ")
	w.WriteString(strconv.Itoa(len(body)))
	w.WriteString("\r\n\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return nil, ctxErr(ctx, err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	return resp, nil
}

// ctxErr reports a deadline or cancellation as the context's error, so
// callers can tell a slow instance from a broken one.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// The connection's deadline is the context's, and may fire a moment
	// before the context's own timer does.
	var ne net.Error
	if d, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return err
}

// staleConn reports errors a reused connection gives when the executor had
// already closed it.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (p *callConns) get(ctx context.Context, addr string) (*callConn, error) {
	now := time.Now()
	p.mu.Lock()
	conns := p.idle[addr]
	for len(conns) > 0 {
		c := conns[len(conns)-1]
		conns = conns[:len(conns)-1]
		if now.Sub(c.lastUsed) < idleConnTimeout {
			p.idle[addr] = conns
			p.mu.Unlock()
			c.reused = true
			return c, nil
		}
		c.nc.Close()
	}
	delete(p.idle, addr)
	p.mu.Unlock()
	return p.dial(ctx, addr)
}

func (p *callConns) dial(ctx context.Context, addr string) (*callConn, error) {
	nc, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &callConn{nc: nc, br: bufio.NewReaderSize(nc, 4096), bw: bufio.NewWriterSize(nc, 4096)}, nil
}

func (p *callConns) put(addr string, c *callConn) {
	c.lastUsed = time.Now()
	c.reused = false
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle[addr]) >= maxIdlePerAddr {
		c.nc.Close()
		return
	}
	p.idle[addr] = append(p.idle[addr], c)
}

// forget closes the idle connections to addr, for an instance that is gone.
func (p *callConns) forget(addr string) {
	p.mu.Lock()
	conns := p.idle[addr]
	delete(p.idle, addr)
	p.mu.Unlock()
	for _, c := range conns {
		c.nc.Close()
	}
}
