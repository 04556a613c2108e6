package main

import (
	"bufio"
	"context"
	"net"
	"testing"
)

// The chain's relay and python worker answer every frame, whatever its
// size, with the constant the floor answers.
func TestChainRelayAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relayChain(ctx, ln) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	in := bufio.NewReader(conn)
	for _, body := range []string{"", "{}", `{"a":1,"b":2}`, string(make([]byte, 100000))} {
		answer, err := roundTrip(conn, in, []byte(body))
		if err != nil {
			t.Fatalf("body of %d bytes: %v", len(body), err)
		}
		if string(answer) != string(floorBody) {
			t.Errorf("body of %d bytes: answer %q, want %q", len(body), answer, floorBody)
		}
	}
	conn.Close()
	if err := <-done; err != nil {
		t.Errorf("relay ended with %v after its connection closed", err)
	}
	cancel()
}
