#!/usr/bin/env bash
# Starts the docker-compose stack (its images already loaded: make
# stack-images), waits until every node is Ready, writes a kubeconfig for
# the host and prints how to use the stack. `make up` runs it.
#
# Environment: COMPOSE (docker-compose), SKIFF_KUBECONFIG (where the
# kubeconfig goes; .skiff/kubeconfig), SKIFF_UP_TIMEOUT (seconds; 300),
# and docker-compose.yaml's own SKIFF_* and COMPOSE_PROJECT_NAME.
set -euo pipefail
cd "$(dirname "$0")/../.."
umask 077 # the kubeconfig holds the admin token

compose=${COMPOSE:-docker-compose}
kubeconfig=${SKIFF_KUBECONFIG:-.skiff/kubeconfig}
deadline=$((SECONDS + ${SKIFF_UP_TIMEOUT:-300}))

fail() {
	echo "make up: $*" >&2
	$compose ps >&2 || true
	exit 1
}
waiting() { ((SECONDS < deadline)) || fail "gave up waiting for $1 (see: $compose logs)"; sleep 1; }

command -v kubectl >/dev/null || fail "kubectl is not on PATH (it waits for the nodes and drives the stack)"
$compose up -d

# The apiserver writes its admin kubeconfig into its volume once it serves;
# the host reaches it through the published port, which the serving
# certificate covers (127.0.0.1).
mkdir -p "$(dirname "$kubeconfig")"
apiserver=$($compose ps -q apiserver)
until docker cp "$apiserver:/var/lib/skiff/apiserver/admin.kubeconfig" "$kubeconfig.tmp" 2>/dev/null; do waiting "the apiserver's kubeconfig"; done
api=$($compose port apiserver 6443)
api=${api/#0.0.0.0:/127.0.0.1:} # published on every address: the certificate names 127.0.0.1
sed "s#^\( *server:\).*#\1 https://$api#" "$kubeconfig.tmp" >"$kubeconfig"
rm -f "$kubeconfig.tmp"

want=$($compose config --services | grep -c '^node-')
ready() { kubectl --kubeconfig "$kubeconfig" get nodes --no-headers 2>/dev/null | awk '$2 == "Ready"' | wc -l; }
until (($(ready) >= want)); do waiting "$want Ready nodes"; done

registry=$($compose port registry 5000)
registry=${registry/#0.0.0.0:/127.0.0.1:}
traces=$($compose port collector 16686)
traces=${traces/#0.0.0.0:/127.0.0.1:}
case $kubeconfig in
/*) ;;
*) kubeconfig=$PWD/$kubeconfig ;;
esac
cat <<MSG

Skiff is up: $want nodes Ready.

  export KUBECONFIG=$kubeconfig
  kubectl get nodes -o wide

Images: push to the stack's registry at $registry and name them
localhost:5000/NAME in pods (the nodes pull that from the registry):
  docker tag IMAGE ${registry/127.0.0.1/localhost}/hello:1 && docker push ${registry/127.0.0.1/localhost}/hello:1

Traces: the Jaeger query API at http://$traces (no web UI);
  PATH=\$PWD/bin:\$PATH kubectl skiff trace deployment/NAME --traces-url http://$traces

Stop: make down (keeps the cluster) · forget everything: make down-volumes
MSG
