#!/usr/bin/env bash
# Starts the docker-compose stack, waits until every node is Ready, applies
# the cluster's add-ons (deploy/addons: CoreDNS, the local CSI driver's
# provisioner and default StorageClass) and waits until they run,
# writes a kubeconfig for the host and prints how to use the stack, saying
# what it does step by step. An add-on that does not start fails it, with
# the add-on's pods, events and logs.
#
#   deploy/compose/up.sh [--build] [--ha]
#
# With --build (what `make up` runs) it first builds what the stack needs:
# the Debian packages the node image copies, the trace collector
# (bin/jaeger, once), CoreDNS (bin/coredns, once), the images (loaded into
# Docker), kubectl-skiff and the test image. The compilers' output goes to
# bin/up.log (Jaeger's to bin/jaeger.log, CoreDNS's to bin/coredns.log)
# and is shown only when a step fails. Without it the
# images must be loaded already (make stack-images).
#
# With --ha (make up HA=1) it starts the HA profile instead: 3 etcd
# members, 3 apiservers and an HAProxy load balancer in front of them
# (docker-compose.ha.yaml over docker-compose.yaml), under the project
# skiff-ha unless COMPOSE_PROJECT_NAME names one; the host reaches the API
# through the load balancer, on SKIFF_APISERVER_PORT.
#
# Environment: COMPOSE (docker-compose), MAKE (make), SKIFF_KUBECONFIG
# (where the kubeconfig goes; .skiff/kubeconfig), SKIFF_ADDONS (the add-ons'
# manifests; deploy/addons), SKIFF_UP_TIMEOUT
# (seconds to wait for the stack; 300), and docker-compose.yaml's own
# SKIFF_* and COMPOSE_PROJECT_NAME.
set -euo pipefail
cd "$(dirname "$0")/../.."

# How long make up takes on the project's machines (2 cores), measured:
# docs/compose.md has the details. Say so when they change.
first_run="15 to 30 minutes"
later_run="about half a minute"

compose=${COMPOSE:-docker-compose}
make=${MAKE:-make}
kubeconfig=${SKIFF_KUBECONFIG:-.skiff/kubeconfig}
log=bin/up.log
build=false
ha=false
for arg in "$@"; do
	case $arg in
	--build) build=true ;;
	--ha) ha=true ;;
	*)
		echo "usage: $0 [--build] [--ha]" >&2
		exit 2
		;;
	esac
done
# A shell that exported the HA profile's COMPOSE_FILE (as up.sh --ha
# prints) gets the HA profile.
[[ ${COMPOSE_FILE-} == *docker-compose.ha.yaml* ]] && ha=true
# The service whose published port is the API's on the host.
api_service=apiserver
if $ha; then
	export COMPOSE_FILE=docker-compose.yaml:docker-compose.ha.yaml
	export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-skiff-ha}
	# The API's host port goes to the load balancer; apiserver-1 (the base
	# file's apiserver, whose port it publishes) gets a free one.
	export SKIFF_LB_PORT=${SKIFF_APISERVER_PORT-6443} SKIFF_APISERVER_PORT=
	api_service=lb
fi

fail() {
	echo "make up: $*" >&2
	$compose ps >&2 || true
	exit 1
}

# step TEXT starts the next step and remembers when; done_step TEXT says
# how it ended and how long it took.
steps=3
$build && steps=7
step_no=0
step() {
	step_no=$((step_no + 1))
	step_start=$SECONDS
	printf '[%d/%d] %s\n' "$step_no" "$steps" "$*"
}
took() {
	local s=$((SECONDS - step_start))
	if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}
done_step() { printf '      %s (%s)\n' "$*" "$(took)"; }

# logged runs a command with its output appended to the log; when it fails
# it shows the end of the log and stops.
logged() {
	if ! "$@" >>"$log" 2>&1; then
		echo "----- last lines of $log -----" >&2
		tail -n 40 "$log" >&2
		echo "make up: '$*' failed; its whole output is in $log" >&2
		exit 1
	fi
}

command -v kubectl >/dev/null || fail "kubectl is not on PATH (it waits for the nodes and drives the stack)"

if $build; then
	mkdir -p bin
	: >"$log"
	if [[ -x bin/jaeger && -x bin/coredns ]]; then
		echo "make up: builds the stack's images from this checkout, starts it and waits for its nodes; $later_run here."
	else
		echo "make up: builds the stack's images from this checkout, starts it and waits for its nodes."
		echo "This first run takes $first_run here (the more, the busier the machine), most of it"
		echo "building the trace collector and CoreDNS, which happens once; later runs take $later_run."
	fi
	echo

	step "Debian packages the node image copies (containerd, runc, CNI plugins, nft)"
	logged "$make" --no-print-directory node-packages
	done_step "in place"

	step "Trace collector bin/jaeger"
	if "$make" -q "$PWD/bin/jaeger" 2>/dev/null; then
		done_step "built already"
	else
		"$make" --no-print-directory "$PWD/bin/jaeger" 2>&1 | sed -u 's/^/      /'
		done_step "built"
	fi

	step "Cluster DNS bin/coredns (CoreDNS from its Go module; output in bin/coredns.log)"
	if "$make" -q "$PWD/bin/coredns" 2>/dev/null; then
		done_step "built already"
	else
		"$make" --no-print-directory "$PWD/bin/coredns" 2>&1 | sed -u 's/^/      /'
		done_step "built"
	fi

	step "Images: the stack's images into Docker, kubectl-skiff and the test image into bin/ (output in $log)"
	logged "$make" --no-print-directory kubectl-skiff images stack-images
	done_step "$(tail -n 1 "$log")"
fi

# Absolute, so the printed export works from anywhere.
case $kubeconfig in
/*) ;;
*) kubeconfig=$PWD/$kubeconfig ;;
esac
deadline=$((SECONDS + ${SKIFF_UP_TIMEOUT:-300}))
waiting() { ((SECONDS < deadline)) || fail "gave up waiting for $1 (see: $compose logs)"; sleep 1; }

umask 077 # the kubeconfig holds the admin token
project=${COMPOSE_PROJECT_NAME:-$(sed -n 's/^COMPOSE_PROJECT_NAME=//p' .env 2>/dev/null || true)}
step "Starting the stack: $compose up -d (project $project)"
logged $compose up -d
done_step "started"

want=$($compose config --services | grep -c '^node-')
if $ha; then
	step "Waiting for the apiservers behind the load balancer and $want Ready nodes"
else
	step "Waiting for the apiserver and $want Ready nodes"
fi
# The apiserver writes its admin kubeconfig into its volume once it serves;
# the host reaches it through the published port (the load balancer's in
# the HA profile), which the serving certificates cover (127.0.0.1).
mkdir -p "$(dirname "$kubeconfig")"
apiserver=$($compose ps -q apiserver)
until docker cp "$apiserver:/var/lib/skiff/apiserver/admin.kubeconfig" "$kubeconfig.tmp" 2>/dev/null; do waiting "the apiserver's kubeconfig"; done
api=$($compose port $api_service 6443)
api=${api/#0.0.0.0:/127.0.0.1:} # published on every address: the certificate names 127.0.0.1
# The admin's credentials: readable by the owner only, as in the volume.
(umask 077 && sed "s#^\( *server:\).*#\1 https://$api#" "$kubeconfig.tmp" >"$kubeconfig.new") && chmod 600 "$kubeconfig.new" && mv "$kubeconfig.new" "$kubeconfig"
rm -f "$kubeconfig.tmp"
ready() { kubectl --kubeconfig "$kubeconfig" get nodes --no-headers 2>/dev/null | awk '$2 == "Ready"' | wc -l; }
until (($(ready) >= want)); do waiting "$want Ready nodes"; done
done_step "ready"

# The add-ons: applied server-side (again on every run, so an edit of
# deploy/addons takes effect and, with --force-conflicts, a kubectl edit of
# the objects is undone), then waited for until every replica of their
# Deployments is ready.
k() { kubectl --kubeconfig "$kubeconfig" "$@"; }
addons_failed() {
	echo "make up: $1" >&2
	for what in "get deployments,daemonsets,pods -o wide" "get events"; do
		echo "----- kubectl -n kube-system $what -----" >&2
		k -n kube-system $what >&2 2>&1 || true
	done
	echo "----- logs of the add-on pods -----" >&2
	k -n kube-system logs -l k8s-app=kube-dns --all-containers --prefix --tail 40 >&2 2>&1 || true
	k -n kube-system logs -l app.kubernetes.io/name=csi-local --all-containers --prefix --tail 40 >&2 2>&1 || true
	echo "----- the local CSI driver's last lines on each node -----" >&2
	for node in $($compose config --services | grep '^node-'); do
		$compose logs --no-color --tail 2000 "$node" 2>&1 | grep 'skiff-csi-local|' | tail -n 20 >&2 || true
	done
	exit 1
}
addons=${SKIFF_ADDONS:-deploy/addons}
step "Add-ons: kubectl apply --server-side -f $addons, waiting for CoreDNS and the local CSI driver"
out=$(k apply --server-side --force-conflicts --field-manager skiff-up -f "$addons" 2>&1) || addons_failed "applying $addons failed: $out"
# Rolled out as kubectl rollout status sees it: the controller has seen
# the applied generation, and every replica is updated and available, with
# no old one left.
rollout() {
	k -n kube-system get deployment coredns -o jsonpath='{.metadata.generation} {.status.observedGeneration} {.spec.replicas} {.status.updatedReplicas} {.status.replicas} {.status.availableReplicas}' 2>/dev/null
}
rolled_out() {
	local gen seen want updated total available
	read -r gen seen want updated total available <<<"$(rollout)"
	[[ -n $want && ${seen:-0} -ge $gen && ${updated:-0} -eq $want && ${total:-0} -eq $want && ${available:-0} -eq $want ]] && want_dns=$want
}
# The Deployment's status alone can be stale: after make down and make up
# it still shows the replicas the stopped stack had. So as many pods must
# be Ready with a container that started after the node container they run
# on did (API timestamps are UTC to the second; Docker's are cut to match).
declare -A node_started
for node in $($compose config --services | grep '^node-'); do
	t=$(docker inspect -f '{{.State.StartedAt}}' "$($compose ps -q "$node")") || fail "inspecting $node's container failed"
	node_started[$node]=${t:0:19}Z
done
dns_pods='{range .items[*]}{.spec.nodeName}|{.metadata.deletionTimestamp}|{.status.conditions[?(@.type=="Ready")].status}|{.status.containerStatuses[*].state.running.startedAt}{"\n"}{end}'
# fresh_ready SELECTOR WANT: at least WANT pods of SELECTOR are Ready, each
# with every container started since its node's container.
fresh_ready() {
	local node deleting ready started n=0
	while IFS='|' read -r node deleting ready started; do
		local since=${node_started[${node:-none}]-} s ok=true
		for s in $started; do [[ $s < $since ]] && ok=false; done
		[[ -z $deleting && $ready == True && -n $since && -n $started ]] && $ok && n=$((n + 1))
	done <<<"$(k -n kube-system get pods -l "$1" -o jsonpath="$dns_pods" 2>/dev/null)"
	((n >= $2))
}
until rolled_out && fresh_ready k8s-app=kube-dns "$want_dns"; do
	((SECONDS < deadline)) || addons_failed "gave up waiting for the CoreDNS Deployment's replicas to be ready, each in a pod started since its node's container"
	sleep 1
done
# The local CSI driver's provisioner DaemonSet: rolled out (the applied
# generation seen, a pod updated and available on every node), with a
# fresh Ready pod on each of the $want nodes; and the driver, which
# skiff-node runs beside each kubelet, registered on as many nodes (their
# CSINode objects list it).
ds_rolled_out() {
	local gen seen desired updated available
	read -r gen seen desired updated available <<<"$(k -n kube-system get daemonset csi-local -o jsonpath='{.metadata.generation} {.status.observedGeneration} {.status.desiredNumberScheduled} {.status.updatedNumberScheduled} {.status.numberAvailable}' 2>/dev/null)"
	[[ -n $desired && ${seen:-0} -ge $gen && $desired -ge $want && ${updated:-0} -eq $desired && ${available:-0} -eq $desired ]]
}
csi_registered() {
	local n
	n=$(k get csinodes -o jsonpath='{range .items[*]}{.spec.drivers[*].name}{"\n"}{end}' 2>/dev/null | grep -cw local.csi.skiff.dev)
	((n >= want))
}
# (Only when the applied add-ons have it: SKIFF_ADDONS may name others.)
csi=""
if k -n kube-system get daemonset csi-local >/dev/null 2>&1; then
	until ds_rolled_out && fresh_ready app.kubernetes.io/name=csi-local "$want" && csi_registered; do
		((SECONDS < deadline)) || addons_failed "gave up waiting for the csi-local DaemonSet's pods to be ready on every node, each started since its node's container, and for the driver local.csi.skiff.dev in every node's CSINode"
		sleep 1
	done
	csi=", local CSI driver on $want nodes"
fi
done_step "CoreDNS ready ($want_dns replicas)$csi"

$ha && ha_note=" (HA profile: 3 etcd members, 3 apiservers behind the load balancer)"
registry=$($compose port registry 5000)
registry=${registry/#0.0.0.0:/127.0.0.1:}
traces=$($compose port collector 16686)
traces=${traces/#0.0.0.0:/127.0.0.1:}
cat <<MSG

Skiff is up${ha_note-}: $want nodes Ready, cluster DNS at 10.96.0.10. Point your shell at it (the README's walkthrough starts here):

  export KUBECONFIG=$kubeconfig
  export PATH=$PWD/bin:\$PATH
  export SKIFF_REGISTRY=$registry
  export SKIFF_TRACES_URL=http://$traces
  kubectl get nodes -o wide

Images: push to \$SKIFF_REGISTRY and name them localhost:5000/NAME in pods (the nodes
pull that from the stack's registry):
  docker tag IMAGE \$SKIFF_REGISTRY/hello:1 && docker push \$SKIFF_REGISTRY/hello:1

Traces: the Jaeger query API at \$SKIFF_TRACES_URL (no web UI); with bin/ on PATH:
  kubectl skiff trace deployment/NAME

Stop: make down (keeps the cluster) · forget everything: make down-volumes
MSG
if $ha; then
	cat <<MSG
The HA profile runs as project $COMPOSE_PROJECT_NAME; for docker-compose itself:
  export COMPOSE_FILE=$COMPOSE_FILE COMPOSE_PROJECT_NAME=$COMPOSE_PROJECT_NAME
  export SKIFF_LB_PORT=$SKIFF_LB_PORT SKIFF_APISERVER_PORT=
(without the last two, docker-compose up would publish apiserver-1 on the load balancer's port)
MSG
fi
