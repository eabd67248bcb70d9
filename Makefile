# berth - build, test and benchmark. Run `make help` for the targets.
# Most targets need root (containers); `make demo` and `make test` are the
# two commands to try on a fresh Debian 12.

GO      ?= $(shell command -v go || echo /usr/local/go/bin/go)
GOFMT   ?= $(shell command -v gofmt || echo $(dir $(GO))gofmt)
BATS    ?= bats
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --verify --short HEAD 2>/dev/null || echo unknown)

# BIN is where `build` writes; BERTH is the runtime demo/integration/bench use
# (e.g. `make integration BERTH=/usr/sbin/runc` checks the tests against runc).
BIN     := $(CURDIR)/berth
BERTH   ?= $(BIN)
RECVTTY := $(CURDIR)/tests/cmd/recvtty/recvtty
RECVTTY_SRC := $(wildcard tests/cmd/recvtty/*.go)
# only hand the tests a recvtty that `build` makes
TEST_ENV = BERTH=$(BERTH) $(if $(RECVTTY_SRC),RECVTTY=$(RECVTTY))

GO_BUILD = CGO_ENABLED=1 $(GO) build -trimpath
# berth itself is linked statically (glibc and libseccomp archives from
# libc6-dev and libseccomp-dev): each berth process then skips the dynamic
# loader, ~0.4 ms of CPU, twice per container (the runtime and its init).
# osusergo/netgo keep os/user and net in Go, so nothing needs NSS.
TAGS     = urfave_cli_no_docs osusergo netgo
LDFLAGS  = -s -w -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT) \
	   -linkmode external -extldflags -static

# Everything here is sequential (deps before build before tests); Go
# parallelises inside each step.
.NOTPARALLEL:
.DEFAULT_GOAL := build
.PHONY: all build deps demo check-root unit integration integration-goinit conformance vmtest test bench lint clean help

all: build

help:
	@echo 'make build        build ./berth (and tests/cmd/recvtty/recvtty)'
	@echo 'make deps         install missing Debian packages (scripts/install-deps.sh)'
	@echo 'make demo         deps + build, then run a busybox container (scripts/demo.sh)'
	@echo 'make unit         go test ./... (root)'
	@echo 'make integration  bats -r tests/integration (root)'
	@echo 'make integration-goinit  the init-related bats files again with the Go init forced'
	@echo 'make conformance  OCI runtime-tools validation suite, checked against tests/conformance/floor'
	@echo 'make vmtest       the cgroup v2 / systemd tests, in one boot of the VM of ../shared/vm'
	@echo 'make test         deps build unit integration integration-goinit conformance vmtest'
	@echo 'make bench        deps + build, then berth vs runc vs crun (scripts/bench.sh)'
	@echo 'make lint         gofmt -l (must be empty), go vet, shellcheck if installed'
	@echo 'make clean        remove built binaries'

build:
	$(GO_BUILD) -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) .
ifneq ($(RECVTTY_SRC),)
	$(GO_BUILD) -tags urfave_cli_no_docs -o $(RECVTTY) ./tests/cmd/recvtty
endif

deps:
	@GO='$(GO)' bash scripts/install-deps.sh

demo: deps build
	BERTH=$(BERTH) bash scripts/demo.sh

check-root:
	@test "$$(id -u)" = 0 || { echo 'make: this target must run as root (it creates containers)' >&2; exit 1; }

unit: check-root
	CGO_ENABLED=1 $(GO) test -count=1 ./...

integration: check-root
	@timing=; $(BATS) --help 2>/dev/null | grep -q -- --timing && timing=--timing; \
	echo "$(TEST_ENV) $(BATS) $$timing -r tests/integration"; \
	$(TEST_ENV) $(BATS) $$timing -r tests/integration

conformance: check-root
	BERTH=$(BERTH) bash scripts/conformance.sh

vmtest: check-root
	bash scripts/vm-test.sh

# unit, integration and conformance all run even if one fails, so one CI
# run shows every failure; the target still fails if any did.
# The files about what the container's init or an exec'd process's setup
# does, again with the Go side forced (BERTH_GO_INIT=1): most containers
# and execs take the C stub, so the Go side is otherwise only run by the
# configs that need it.
GOINIT_BATS = devices escape exec mounts namespaces process seccomp security tty userns zz_leakcheck

integration-goinit: check-root
	BERTH_GO_INIT=1 $(TEST_ENV) $(BATS) $(patsubst %,tests/integration/%.bats,$(GOINIT_BATS))

test: deps build
	@rc=0; \
	$(MAKE) --no-print-directory unit || rc=1; \
	$(MAKE) --no-print-directory integration || rc=1; \
	$(MAKE) --no-print-directory integration-goinit || rc=1; \
	$(MAKE) --no-print-directory conformance || rc=1; \
	$(MAKE) --no-print-directory vmtest || rc=1; \
	if [ $$rc = 0 ]; then echo 'make test: all passed'; else echo 'make test: FAILED (see above)' >&2; fi; \
	exit $$rc

bench: deps build
	BERTH=$(BERTH) bash scripts/bench.sh

lint:
	@out=$$($(GOFMT) -l .) || exit 1; \
	if [ -n "$$out" ]; then echo "gofmt -l: these files need gofmt -w:" >&2; echo "$$out" >&2; exit 1; fi
	$(GO) vet ./...
	@if command -v shellcheck >/dev/null; then \
		echo 'shellcheck scripts/*.sh .ci/run'; shellcheck scripts/*.sh .ci/run; \
	else echo 'lint: shellcheck not installed, shell scripts not checked'; fi

clean:
	rm -f $(BIN) $(RECVTTY)
	find . -name '*.test' -type f -not -path './.git/*' -delete
