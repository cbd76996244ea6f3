#!/usr/bin/env bash
# Runs the upstream Kubernetes conformance suite against the compose stack
# (make up). `make conformance` calls it; docs/conformance.md says how to
# use it.
#
#   scripts/conformance.sh [build|images|run|all]    (all: the three in turn)
#
# build   e2e.test, agnhost and the ginkgo CLI of k8s.io/kubernetes
#         KUBE_VERSION, compiled in a scratch module under bin/conformance/src
#         (the staging modules replaced by their releases, as kubernetes'
#         own go.mod replaces them by ./staging); skipped when they are
#         current.
# images  the images the specs run (images/imagebuild Conformance), pushed
#         into the stack's registry where deploy/conformance/repo-list.yaml
#         sends the suite; nodes holding an older build of one forget it.
# run     e2e.test against the stack, then a summary per area.
#
# Environment:
#   FOCUS         regular expression of the specs to run (\[Conformance\])
#   SKIP          regular expression of specs to leave out (none)
#   PROCS         parallel Ginkgo processes (1)
#   TIMEOUT       the whole run's limit (6h)
#   E2E_ARGS      further e2e.test flags, e.g. --ginkgo.v
#   KUBE_VERSION  the kubernetes release the suite is built from (v1.34.4)
#   SKIFF_KUBECONFIG, COMPOSE, COMPOSE_PROJECT_NAME: the stack, as for make up
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

kube_version=${KUBE_VERSION:-v1.34.4}
staging_version=v0.${kube_version#v1.} # k8s.io/api etc. are released as v0.X.Y with v1.X.Y
dir=$root/bin/conformance
compose=${COMPOSE:-docker-compose}
kubeconfig=${SKIFF_KUBECONFIG:-.skiff/kubeconfig}
[[ $kubeconfig == /* ]] || kubeconfig=$root/$kubeconfig

fail() {
	echo "conformance: $*" >&2
	exit 1
}

# build compiles the suite's binaries into $dir unless the stamp says the
# ones there were built from the same release with the same Go.
build() {
	local stamp want
	stamp=$dir/stamp
	want="k8s.io/kubernetes $kube_version, staging $staging_version, $(go env GOVERSION)"
	if [[ -x $dir/e2e.test && -x $dir/agnhost && -x $dir/ginkgo && -f $dir/porter/localhost.key &&
		"$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
		echo "conformance: $dir is current ($want)"
		return
	fi
	echo "conformance: building the suite from $want (cold: 15 minutes and more)"
	rm -f "$stamp"
	mkdir -p "$dir/src" "$dir/porter"
	(
		cd "$dir/src"
		export GOWORK=off GOFLAGS=-mod=mod
		rm -f go.mod go.sum
		go mod init skiff.dev/conformance-build 2>/dev/null
		go mod edit -require="k8s.io/kubernetes@$kube_version"
		# kubernetes' go.mod replaces each staging module by ./staging/src/...;
		# outside its tree the same modules are its releases.
		local gomod
		gomod=$(go mod download -json "k8s.io/kubernetes@$kube_version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
		[[ -f $gomod ]] || fail "no go.mod for k8s.io/kubernetes@$kube_version in the module cache"
		local staging
		staging=$(sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/.*#\1#p' "$gomod")
		[[ -n $staging ]] || fail "no ./staging replacements in $gomod"
		for m in $staging; do go mod edit -replace="$m=$m@$staging_version"; done
		cat >tools.go <<-'EOF'
			//go:build tools

			// Package tools names what scripts/conformance.sh builds, so that
			// go mod tidy keeps their requirements.
			package tools

			import (
				_ "github.com/onsi/ginkgo/v2/ginkgo"
				_ "k8s.io/kubernetes/test/e2e"
				_ "k8s.io/kubernetes/test/images/agnhost"
			)
		EOF
		go mod tidy
		go test -c -o "$dir/e2e.test" k8s.io/kubernetes/test/e2e
		CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$dir/agnhost" k8s.io/kubernetes/test/images/agnhost
		go build -o "$dir/ginkgo" github.com/onsi/ginkgo/v2/ginkgo
		# agnhost porter's TLS pair, which its image carries in /.
		local kube
		kube=$(go list -m -f '{{.Dir}}' k8s.io/kubernetes)
		install -m 0644 "$kube"/test/images/agnhost/porter/localhost.{crt,key} "$dir/porter/"
	)
	echo "$want" >"$stamp"
}

# registry is the host address of the stack's registry.
registry() {
	local addr
	addr=$($compose port registry 5000 2>/dev/null) || true
	[[ -n $addr ]] || fail "the stack's registry is not running (make up; the same COMPOSE_PROJECT_NAME)"
	echo "${addr/#0.0.0.0:/127.0.0.1:}"
}

# images builds the conformance images, pushes them into the stack and
# has the nodes forget older copies.
images() {
	[[ -x $dir/agnhost ]] || fail "no $dir/agnhost: run $0 build first"
	local builder=(go run ./images/cmd/build-images -conformance -module images -programs "$root/bin/programs")
	# shellcheck disable=SC2046 # one package a word
	scripts/host-packages.sh $("${builder[@]}" -packages)
	local pushed
	pushed=$("${builder[@]}" -push "$(registry)")
	echo "$pushed"
	forget_stale "$pushed"
}

# forget_stale removes from each node's containerd the images of pushed
# (lines "REF DIGEST → ...") that it holds at another digest: pods pull
# with IfNotPresent, so a node would go on running the image it pulled
# before a rebuild under the same tag.
forget_stale() {
	local node have stale ref digest held
	for node in $($compose config --services | grep '^node-'); do
		have=$($compose exec -T "$node" ctr -n k8s.io images ls 2>/dev/null | awk 'NR > 1 {print $1, $3}') || continue
		stale=()
		while read -r ref digest _; do
			held=$(awk -v ref="$ref" '$1 == ref {print $2}' <<<"$have")
			[[ -z $held || $held == "$digest" ]] || stale+=("$ref")
		done <<<"$1"
		((${#stale[@]})) || continue
		$compose exec -T "$node" ctr -n k8s.io images rm "${stale[@]}" >/dev/null
		echo "conformance: $node forgot its older ${stale[*]}"
	done
}

# run runs the focused specs against the stack and summarises them.
run() {
	[[ -x $dir/e2e.test ]] || fail "no $dir/e2e.test: run $0 build first"
	[[ -f $kubeconfig ]] || fail "no kubeconfig at $kubeconfig: start the stack (make up) or set SKIFF_KUBECONFIG"
	kubectl --kubeconfig "$kubeconfig" get nodes >/dev/null || fail "the stack does not answer (make up)"
	local focus=${FOCUS:-'\[Conformance\]'} procs=${PROCS:-1} timeout=${TIMEOUT:-6h}
	local results
	results=$dir/results/$(date -u +%Y%m%dT%H%M%SZ)
	mkdir -p "$results"
	export KUBE_TEST_REPO_LIST=$root/deploy/conformance/repo-list.yaml
	local suite=(--provider=skeleton "--kubeconfig=$kubeconfig" "--report-dir=$results")
	# shellcheck disable=SC2206 # E2E_ARGS are words
	suite+=(${E2E_ARGS:-})
	local ginkgo=("--focus=$focus" "--timeout=$timeout" "--json-report=$results/report.json" --no-color)
	[[ -z ${SKIP:-} ]] || ginkgo+=("--skip=$SKIP")
	echo "conformance: focus $focus${SKIP:+, skip $SKIP}; $procs process(es); results in $results"
	local status=0
	if ((procs > 1)); then
		(cd "$results" && "$dir/ginkgo" --procs="$procs" "${ginkgo[@]}" "$dir/e2e.test" -- "${suite[@]}") 2>&1 | tee "$results/e2e.log" || status=$?
	else
		(cd "$results" && "$dir/e2e.test" "${ginkgo[@]/#--/--ginkgo.}" "${suite[@]}") 2>&1 | tee "$results/e2e.log" || status=$?
	fi
	echo
	if [[ -f $results/report.json ]]; then
		go run ./cmd/conformance-summary "$results/report.json" | tee "$results/summary.txt"
	else
		echo "conformance: no report ($results/e2e.log says why)" >&2
	fi
	return "$status"
}

case ${1:-all} in
build) build ;;
images) images ;;
run) run ;;
all) build && images && run ;;
*) fail "unknown step ${1}: want build, images, run or all" ;;
esac
