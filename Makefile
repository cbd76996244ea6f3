# Skiff developer entry points. `make help` lists them.

SHELL        := /bin/bash
GO           ?= go
BIN          := $(CURDIR)/bin
TOOLS        := $(BIN)/tools
export PATH  := $(TOOLS):$(PATH)

# Modules of the workspace, as go.work lists them.
MODULES      := api pkg cmd services/apiserver services/scheduler services/controller-manager services/kubelet services/proxy services/cloud-controller plugins/maintenance plugins/csi images e2e
# Packages every module builds and tests (go.work root cannot use ./...).
PKGS         := $(foreach m,$(MODULES),./$(m)/...)
SERVICES     := apiserver scheduler controller-manager kubelet proxy cloud-controller
# Example out-of-process plugins, built as bin/scheduler-plugin-<name>.
PLUGINS      := maintenance
# -timeout is per package: e2e/compose brings up three stacks one after
# another (about 12 min on a 2-core machine), so 30m leaves room.
TEST_FLAGS   ?= -race -count=1 -timeout 30m

.PHONY: help build kubectl-skiff run images node-packages stack-images up down down-volumes conformance test test-short fuzz bench verify proto tools lint fmt work-sync tidy clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: kubectl-skiff etcd-snapshot ## static binaries of every service, example plugin, the local CSI driver and etcd-snapshot into bin/
	@mkdir -p $(BIN)
	@for s in $(SERVICES); do \
		echo "build $$s"; \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/$$s ./services/$$s/cmd/$$s || exit 1; \
	done
	@for p in $(PLUGINS); do \
		echo "build scheduler-plugin-$$p"; \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/scheduler-plugin-$$p ./plugins/$$p || exit 1; \
	done
	@echo "build cloud-provider-local"
	@CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/cloud-provider-local ./services/cloud-controller/cmd/cloud-provider-local
	@for c in skiff-csi-local skiff-csi-provisioner; do \
		echo "build $$c"; \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/$$c ./plugins/csi/cmd/$$c || exit 1; \
	done

kubectl-skiff: ## bin/kubectl-skiff only, the kubectl plugin (kubectl skiff trace)
	@mkdir -p $(BIN)
	@echo "build kubectl-skiff"
	@CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/kubectl-skiff ./cmd/kubectl-skiff

RUN_DIR      ?= /tmp/skiff
COMPOSE      ?= docker-compose
export COMPOSE

images: ## the pause and test images as docker-archive tarballs in bin/images (no Docker, no registry)
	$(GO) run ./images/cmd/build-images -out $(BIN)/images -module images -programs $(BIN)/programs

# The node image carries this machine's containerd, runc, CNI plugins and
# nft; the HA profile's load balancer image its haproxy.
NODE_PACKAGES := containerd runc containernetworking-plugins nftables haproxy

node-packages: ## install the Debian packages the stack's images copy (containerd, runc, CNI plugins, nft, haproxy) where missing
	@scripts/host-packages.sh $(NODE_PACKAGES)

stack-images: node-packages $(BIN)/jaeger $(BIN)/coredns ## the docker-compose stack's images, built from this repository and loaded into Docker
	$(GO) run ./images/cmd/build-images -stack -out $(BIN)/stack -module images -programs $(BIN)/programs
	@for f in $(BIN)/stack/*.tar; do docker load -q -i $$f >/dev/null || exit 1; done
	@docker image prune -f --filter label=dev.skiff.image >/dev/null # what the reload left untagged
	@echo "loaded $$(ls $(BIN)/stack/*.tar | wc -l) images into Docker"

# make up says what it does, step by step, and sends the compilers' output
# to bin/up.log (and Jaeger's to bin/jaeger.log), printing it on failure.
# HA=1 starts the HA profile (docker-compose.ha.yaml, project skiff-ha):
# 3 etcd members, 3 apiservers behind an HAProxy load balancer.
up: ## build the stack's images, kubectl-skiff and the test image, start the dev stack (HA=1: the HA profile), wait until its nodes are Ready, print how to use it
	@deploy/compose/up.sh --build $(if $(filter-out 0,$(HA)),--ha)

# down and down-volumes stop the single stack and the HA profile, whichever
# runs (the HA profile's project unless COMPOSE_PROJECT_NAME names one;
# orphans are the HA services when both are one project).
COMPOSE_HA   = COMPOSE_FILE=docker-compose.yaml:docker-compose.ha.yaml COMPOSE_PROJECT_NAME=$${COMPOSE_PROJECT_NAME:-skiff-ha} $(COMPOSE)

down: ## stop the dev stack or its HA profile (the cluster's state stays in its volumes)
	$(COMPOSE) down --remove-orphans
	$(COMPOSE_HA) down --remove-orphans

down-volumes: ## stop the dev stack or its HA profile and forget it (volumes removed)
	$(COMPOSE) down --volumes --remove-orphans
	$(COMPOSE_HA) down --volumes --remove-orphans

# FOCUS, SKIP, PROCS, TIMEOUT and E2E_ARGS reach the script from the
# command line or the environment (make conformance FOCUS='\[sig-node\] Pods ').
conformance: ## upstream Kubernetes conformance specs against the running stack: builds e2e.test and the test images, runs FOCUS (docs/conformance.md)
	@scripts/conformance.sh all


run: build ## start the system in the foreground: apiserver (data in RUN_DIR), controller-manager and scheduler
	@mkdir -p $(RUN_DIR)
	@$(BIN)/apiserver --data-dir $(RUN_DIR) --secure-port 6443 & api=$$!; \
	trap 'kill $$api 2>/dev/null; wait $$api' EXIT INT TERM; \
	until [ -f $(RUN_DIR)/admin.kubeconfig ] && curl -sfk https://127.0.0.1:6443/readyz >/dev/null; do \
		kill -0 $$api 2>/dev/null || exit 1; sleep 0.2; done; \
	echo "apiserver ready: export KUBECONFIG=$(RUN_DIR)/admin.kubeconfig"; \
	$(BIN)/controller-manager --kubeconfig $(RUN_DIR)/kubeconfigs/controller-manager.kubeconfig --use-service-account-credentials \
		--root-ca-file $(RUN_DIR)/pki/ca.crt --bind-address 127.0.0.1 & cm=$$!; \
	trap 'kill $$cm $$api 2>/dev/null; wait $$cm $$api' EXIT INT TERM; \
	$(BIN)/scheduler --kubeconfig $(RUN_DIR)/kubeconfigs/scheduler.kubeconfig --bind-address 127.0.0.1

# What the tests need of the machine: containerd, runc and the CNI plugins
# (the CRI e2e tests run a private containerd of their own); ip, iptables
# and nft (network namespaces, bridges and rules of the harness and the
# proxy's tests); sysctl and nsenter (the proxy tests' node namespace);
# busybox-static (the conformance busybox image's build test).
TEST_PACKAGES := containerd runc containernetworking-plugins iproute2 iptables nftables procps util-linux busybox-static

test: ## every test tier: unit, integration (embedded etcd) and e2e (real kubectl); installs the Debian packages they need
	@scripts/host-packages.sh --or-warn $(TEST_PACKAGES)
	$(GO) test $(TEST_FLAGS) $(PKGS)
	$(GO) test -count=1 -run '^TestGenerateName100kCreates$$' ./services/apiserver/internal/api/

test-short: ## unit tests only
	$(GO) test -short -count=1 $(PKGS)

# Every fuzz target, as package:Target; `make fuzz` runs each for FUZZTIME
# in turn. Their seed corpora (testdata/fuzz/) run in every `make test`.
FUZZ_TARGETS := \
	./pkg/kprotobuf:FuzzDecode \
	./pkg/kjson:FuzzUnmarshal \
	./pkg/kjson:FuzzUnmarshalYAML \
	./pkg/kjson:FuzzCRDEncodingSettles \
	./pkg/labels:FuzzMatches \
	./pkg/quota:FuzzParseQuantity \
	./services/apiserver/internal/rest:FuzzDecodeBody \
	./services/apiserver/internal/registry:FuzzApplyPatch \
	./services/apiserver/internal/registry:FuzzSelectors
FUZZTIME     ?= 30s

fuzz: ## run every fuzz target for FUZZTIME (default 30s) each; a crasher lands in its package's testdata/fuzz
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

bench: ## apiserver, scheduler, controller-manager, kubelet, proxy, cluster DNS and storage benchmarks (see docs/performance.md)
	$(GO) test -run '^$$' -bench . -benchmem ./services/apiserver/...
	$(GO) test -run '^$$' -bench BenchmarkAPIServerKill -benchtime=10x -timeout 20m -v ./e2e/failover/
	$(GO) test -run '^$$' -bench BenchmarkScheduling -benchtime=1x -timeout 40m -v ./e2e/scheduler/
	$(GO) test -run '^$$' -bench BenchmarkDeployment1000 -benchtime=1x -v ./e2e/controllermanager/
	$(GO) test -run '^$$' -bench 'BenchmarkPodStartup|BenchmarkHollowNodes|BenchmarkHollowJob' -benchtime=1x -timeout 40m -v ./e2e/kubelet/
	$(GO) test -run '^$$' -bench BenchmarkSync -benchtime=1x -timeout 30m ./services/proxy/internal/nftables/ ./services/proxy/internal/iptables/
	$(GO) test -run '^$$' -bench BenchmarkNetworkProgramming -benchtime=20x -timeout 30m ./e2e/proxy/
	$(GO) test -run '^$$' -bench 'BenchmarkRender|BenchmarkSync' -benchtime=3x -timeout 30m ./services/proxy/internal/netpol/
	$(GO) test -run '^$$' -bench BenchmarkNetworkPolicyEnforcement -benchtime=40x -timeout 30m ./e2e/proxy/
	$(GO) test -run '^$$' -bench BenchmarkClusterDNS -benchtime=1x -timeout 40m ./e2e/compose/
	$(GO) test -run '^$$' -bench BenchmarkHAWriteThroughput -benchtime=1x -timeout 40m -v ./e2e/compose/
	$(GO) test -run '^$$' -bench 'BenchmarkClaimToRunning|BenchmarkProvision200' -benchtime=1x -timeout 30m ./e2e/storage/

tools: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc $(TOOLS)/protoc-gen-grpc-gateway ## build the pinned code generators

$(TOOLS)/buf: tools/buf/go.mod
	GOWORK=off $(GO) build -C tools/buf -o $(TOOLS)/buf github.com/bufbuild/buf/cmd/buf

$(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc $(TOOLS)/protoc-gen-grpc-gateway: tools/protoc/go.mod
	GOWORK=off $(GO) build -C tools/protoc -o $(TOOLS)/ \
		google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc \
		github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway

# How long Jaeger's first build takes on the project's machines (2 cores;
# the more, the busier the machine).
JAEGER_MINUTES := 6-14
.PHONY: jaeger
jaeger: $(BIN)/jaeger ## the Jaeger v2 all-in-one (OTLP ingest, JSON query API; config in deploy/jaeger)

# Its first build downloads some 300 modules and compiles for minutes; the
# go command's output goes to bin/jaeger.log, shown when the build fails.
$(BIN)/jaeger: tools/jaeger/go.mod
	@mkdir -p $(BIN)
	@echo "build bin/jaeger: Jaeger v2 from its Go module, once (about $(JAEGER_MINUTES) min and 2 GB of memory on 2 cores); output in bin/jaeger.log"
	@GOWORK=off CGO_ENABLED=0 $(GO) build -C tools/jaeger -trimpath -ldflags='-s -w' -o $(BIN)/jaeger github.com/jaegertracing/jaeger/cmd/jaeger >$(BIN)/jaeger.log 2>&1 || \
		{ tail -n 30 $(BIN)/jaeger.log; echo "building bin/jaeger failed; its whole output is in bin/jaeger.log" >&2; exit 1; }

# CoreDNS, the cluster DNS add-on (deploy/addons), unmodified from its Go
# module at the version tools/coredns/go.mod pins; the node image preloads
# its image. About 8 minutes on a busy 2-core machine the first time.
.PHONY: coredns
coredns: $(BIN)/coredns ## CoreDNS from its Go module (the cluster DNS add-on's program)

$(BIN)/coredns: tools/coredns/go.mod tools/coredns/go.sum
	@mkdir -p $(BIN)
	@echo "build bin/coredns: CoreDNS from its Go module; output in bin/coredns.log"
	@GOWORK=off CGO_ENABLED=0 $(GO) build -C tools/coredns -trimpath -ldflags='-s -w' -o $(BIN)/coredns github.com/coredns/coredns >$(BIN)/coredns.log 2>&1 || \
		{ tail -n 30 $(BIN)/coredns.log; echo "building bin/coredns failed; its whole output is in bin/coredns.log" >&2; exit 1; }

# etcd backup and restore (docs/backup.md). etcd-snapshot is Skiff's, for
# the apiserver's embedded etcd (and snapshots of external members);
# etcdctl and etcdutl are etcd's own, unmodified from their Go modules at
# the version tools/etcd/go.mod pins, for restoring external members.
.PHONY: etcd-snapshot etcd-tools
etcd-snapshot: ## bin/etcd-snapshot: snapshot and restore of the apiserver's etcd (docs/backup.md)
	@mkdir -p $(BIN)
	@echo "build etcd-snapshot"
	@CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/etcd-snapshot ./services/apiserver/cmd/etcd-snapshot

etcd-tools: $(BIN)/etcdctl $(BIN)/etcdutl ## etcd's etcdctl and etcdutl from their Go modules, for external etcd (docs/backup.md)

$(BIN)/etcdctl $(BIN)/etcdutl: tools/etcd/go.mod tools/etcd/go.sum
	@mkdir -p $(BIN)
	@echo "build bin/$(@F): from its Go module; output in bin/$(@F).log"
	@GOWORK=off CGO_ENABLED=0 $(GO) build -C tools/etcd -trimpath -ldflags='-s -w' -o $@ go.etcd.io/etcd/$(@F)/v3 >$(BIN)/$(@F).log 2>&1 || \
		{ tail -n 30 $(BIN)/$(@F).log; echo "building bin/$(@F) failed; its whole output is in bin/$(@F).log" >&2; exit 1; }

# helm, the Kubernetes package manager, built from its Go module at the
# version tools/helm/go.mod pins (v3.21.4): e2e/chart drives it against a
# real apiserver, and charts/skiff is installed with it (docs/helm.md).
.PHONY: helm
helm: $(BIN)/helm ## the helm CLI from its Go module (charts/skiff's tests and installs)

HELM_VERSION := $(shell awk '$$1 == "helm.sh/helm/v3" {print $$2}' tools/helm/go.mod)

$(BIN)/helm: tools/helm/go.mod tools/helm/go.sum
	@mkdir -p $(BIN)
	@echo "build bin/helm: helm from its Go module; output in bin/helm.log"
	@GOWORK=off CGO_ENABLED=0 $(GO) build -C tools/helm -trimpath -ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION)" -o $(BIN)/helm helm.sh/helm/v3/cmd/helm >$(BIN)/helm.log 2>&1 || \
		{ tail -n 30 $(BIN)/helm.log; echo "building bin/helm failed; its whole output is in bin/helm.log" >&2; exit 1; }

proto: tools ## regenerate api/ from proto/
	buf lint
	find api -name '*.pb.go' -delete
	buf generate

lint: tools ## buf lint and buf breaking against main
	buf lint
	@if git rev-parse --verify -q main >/dev/null && git cat-file -e main:buf.yaml 2>/dev/null; then \
		buf breaking --against '.git#branch=main'; \
	else echo "buf breaking: no main branch with contracts yet, skipped"; fi

fmt: ## gofmt every Go file
	gofmt -l -w $$(git ls-files '*.go')

work-sync: ## keep go.work in step with the modules
	$(GO) work use $(MODULES)
	$(GO) work sync

tidy: ## go mod tidy in every module
	@for m in $(MODULES); do (cd $$m && GOWORK=off GOFLAGS=-mod=mod $(GO) mod tidy) || exit 1; done

verify: lint ## formatting, vet, lint, generated code current, go.work in sync
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet $(PKGS)
	$(MAKE) --no-print-directory proto
	@git diff --exit-code -- api go.work || { echo "generated code or go.work is stale: run make proto / make work-sync"; exit 1; }
	@test -z "$$(git status --porcelain -- api)" || { git status --porcelain -- api; echo "untracked generated files"; exit 1; }
	$(GO) test -count=1 ./pkg/internal/doccheck/

clean: ## remove build outputs
	rm -rf $(BIN)
