# fob — serverless functions as a native Mesos framework.
GO      ?= go
BIN     := bin/fob
GOBIN   ?= $(shell $(GO) env GOPATH)/bin
GOGO    := github.com/gogo/protobuf/protoc-gen-gogofaster@v1.3.2

.PHONY: build run test test-short generate check-generate bench fuzz images clean

build:
	$(GO) build -o $(BIN) ./cmd/fob

# The walk-through of the README: fob with an embedded Mesos master and agent.
run: build
	./$(BIN) local

test: build
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short -count=1 ./...

# Regenerates proto/fob.pb.go with Debian's protoc and the gogo plugin.
generate:
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install protobuf-compiler"; exit 1; }
	GOBIN=$(GOBIN) $(GO) install $(GOGO)
	PATH="$(GOBIN):$$PATH" $(GO) generate ./proto/

# Fails when the committed generated code differs from what `make generate` makes.
check-generate: generate
	git diff --exit-code -- proto/

bench: build
	./scripts/bench.sh

# A short fuzzing pass over every parser and decoder.
fuzz:
	$(GO) test ./api/ -run XXX -fuzz FuzzParseQueryParams -fuzztime 30s
	$(GO) test ./api/ -run XXX -fuzz FuzzCallBody -fuzztime 30s
	$(GO) test ./callwire/ -run XXX -fuzz FuzzReadFrames -fuzztime 30s
	$(GO) test ./executor/worker/ -run XXX -fuzz FuzzReadFrame -fuzztime 30s
	$(GO) test ./executor/callserver/ -run XXX -fuzz FuzzCheckObject -fuzztime 30s

images: build
	for d in sandbox/*/; do \
	  [ -f $$d/Dockerfile ] && docker build -f $$d/Dockerfile -t fob/runtime-$$(basename $$d) . ; \
	done

clean:
	rm -rf bin
