# Pantau — build, run and test. `make run` and `make test` are the two entry points.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/pantau-dev/pantau/internal/cmdline.Version=$(VERSION)

# make run: a local fleet of one — a throwaway InfluxDB, a collector, and the probe
# measuring the bundled Telegram list and submitting to the collector. CONTROL=URL adds a
# control helper (without one, verdicts are inconclusive unless a block page or a valid
# HTTPS certificate makes the case certain).
TARGETS ?= schedules/lists/id-telegram-web-2017.txt
CONTROL ?=
RUN_FLAGS ?= --timeout 30s

.PHONY: all build build-probe build-collector run demo test unit testbed bench bench-ingest bench-fleet bench-report bench-ooni smoke fuzz vet fmt clean dist dist-check packages package-check

all: build

build: build-probe build-collector

build-probe build-collector: build-%:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/$* ./$*

run: build
	TARGETS=$(TARGETS) CONTROL=$(CONTROL) RUN_FLAGS="$(RUN_FLAGS)" scripts/with-influxdb scripts/run-local

# make demo: the simulated 2017 Telegram data set (docs/demo.md) on a throwaway InfluxDB,
# served by a collector whose dashboard marks it as simulated, until Ctrl-C. It prints the
# pages to open first and opens a browser when there is one (OPEN=0: not). LISTEN=HOST:PORT
# sets the address; CHECK=1 loads, checks the dashboard against the data set and exits.
# It needs only the collector, built while InfluxDB is installed when it must be.
demo:
	@scripts/with-influxdb --install & installing=$$!; \
	$(MAKE) --no-print-directory build-collector; built=$$?; \
	wait $$installing && exit $$built
	CHECK=$(CHECK) OPEN=$(OPEN) LISTEN=$(LISTEN) scripts/with-influxdb scripts/demo

# make test: everything, on a fresh machine (installs what it needs).
test: vet unit testbed smoke dist-check package-check

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	scripts/check-self-contained

# Unit and integration tests; the integration tests talk to a real, throwaway InfluxDB,
# and the dashboard's tests drive a real headless Chromium (installed when missing).
unit:
	scripts/apt-need chromium=chromium
	scripts/with-influxdb $(GO) test -count=1 ./...

# make run's script end to end in its one-shot mode on a loopback target: collector,
# probe, storage, read-back and the dashboard it prints.
smoke: build
	scripts/with-influxdb scripts/smoke-run

# The censorship testbed: real resolvers (unbound), web servers (nginx) and middleboxes
# (iptables) in network namespaces. Needs root; installs its Debian packages.
testbed: build
	./testbed/run-tests

# make bench: engine benchmarks, then `probe measure` over 1,000 local targets at
# --concurrency 100 against a real `probe helper` with its default capacity (targets/s,
# peak RSS, every verdict accessible).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./internal/fingerprint/ ./internal/dnsquery/ ./internal/verdict/
	$(GO) run ./testbed/bench/probe --probe $(BIN)/probe --targets 1000 --concurrency 100 --min-rate 250 --max-rss-mb 40

# make bench-ingest: the collector's ingest rate against raw InfluxDB writes (docs/scaling.md).
bench-ingest:
	scripts/with-influxdb $(GO) run ./testbed/bench/ingest --check

# make bench-fleet: 10,000 simulated probes (15-minute cadence, compressed; heartbeats) against
# 2 collector replicas on one InfluxDB: acknowledged = stored, p99 ack <= 200 ms (docs/scaling.md).
bench-fleet:
	scripts/with-influxdb $(GO) run ./testbed/bench/fleet --check

# make bench-report: timelines and compliance on a generated 30-day data set (50 probes,
# 11 domains, 15-minute cadence): timeline p95 <= 300 ms, compliance <= 2 s (docs/scaling.md).
bench-report:
	scripts/with-influxdb $(GO) run ./testbed/bench/report --check

# make bench-ooni: `collector import ooni` streaming 1 GiB of OONI measurements (the
# fixtures, each copy its own report) into InfluxDB: rate and peak RSS <= 100 MiB (docs/scaling.md).
bench-ooni: build
	scripts/with-influxdb $(GO) run ./testbed/bench/ooni --collector $(BIN)/collector --mb 1024 --max-rss-mb 100

# make dist: the release binaries in dist/ (static, stripped, versioned; README.md
# "Releases"), with SHA256SUMS. make dist-check builds them and checks each: format,
# static, stripped, size, and every Linux one run (qemu-user for foreign architectures)
# measuring a loopback lab. A broken cross-build fails it.
dist:
	VERSION=$(VERSION) LDFLAGS="$(LDFLAGS)" scripts/dist

dist-check: dist
	scripts/apt-need qemu-mipsel-static=qemu-user-static
	$(GO) test -tags dist -count=1 ./testbed/dist/

# make packages: .deb (probe amd64/arm64/armhf, collector amd64/arm64; nfpm), OpenWrt .ipk
# (probe mipsle/mips/arm/arm64) in dist/packages/, and the FROM-scratch images when podman is
# there (docs/install.md). Uses dist/'s binaries of the same VERSION, else builds them.
packages:
	VERSION=$(VERSION) scripts/package

# make package-check: builds the packages and images in throwaway directories, installs,
# upgrades and removes the .deb in a throwaway root, verifies the units (systemd-analyze).
package-check:
	scripts/apt-need dpkg-deb=dpkg systemd-analyze=systemd podman=podman readelf=binutils
	scripts/package-check

# Short fuzz runs; the seed corpora under testdata/fuzz also run in every `make test`.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzOf$$' -fuzztime $(FUZZTIME) ./internal/verdict/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeItem$$' -fuzztime $(FUZZTIME) ./collector/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeBatch$$' -fuzztime $(FUZZTIME) ./collector/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./collector/auth/
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./schedules/

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
