#!/usr/bin/env bash
# Smoke test of a gateway Service through kubectl port-forward:
#   scripts/smoke-test.sh <namespace> [service=ai-gateway-preview] [local-port=18080]
# Checks /health/live, /health/ready and /health, then (when SMOKE_API_KEY holds
# one of the GATEWAY_API_KEYS) one small chat completion. Never prints the key.
set -euo pipefail
namespace="${1:?usage: scripts/smoke-test.sh <namespace> [service] [local-port]}"
service="${2:-ai-gateway-preview}"
local_port="${3:-18080}"

endpoints="$(kubectl -n "$namespace" get endpoints "$service" -o jsonpath='{.subsets[*].addresses[*].ip}' 2>/dev/null || true)"
if [ -z "$endpoints" ]; then
  # A parked idle slot (<slot>Replicas: 0) has nothing to test; CI says so instead of failing.
  if [ "${SMOKE_ALLOW_PARKED:-0}" = 1 ]; then
    echo "smoke-test: $service in $namespace has no ready pods (parked slot); nothing to test"
    exit 0
  fi
  echo "smoke-test: service $service in $namespace has no ready pods; for the preview slot set its <slot>Replicas in stacks/environments.ts to at least minReplicas and deploy again" >&2
  exit 1
fi
port="$(kubectl -n "$namespace" get service "$service" -o jsonpath='{.spec.ports[0].port}')"

body="$(mktemp)"
kubectl -n "$namespace" port-forward "service/$service" "$local_port:$port" >/dev/null 2>&1 &
forward=$!
trap 'kill "$forward" 2>/dev/null || true; rm -f "$body"' EXIT
for _ in $(seq 1 30); do
  curl -fsS "http://127.0.0.1:$local_port/health/live" >/dev/null 2>&1 && break
  sleep 1
done

base="http://127.0.0.1:$local_port"
for path in /health/live /health/ready /health; do
  status="$(curl -s -o "$body" -w '%{http_code}' "$base$path")"
  echo "GET $path -> $status"
  if [ "$status" != 200 ]; then
    cat "$body" >&2 || true
    echo "smoke-test: $path answered $status on $service" >&2
    exit 1
  fi
done

if [ -n "${SMOKE_API_KEY:-}" ]; then
  status="$(curl -s -o "$body" -w '%{http_code}' "$base/v1/chat/completions" \
    -H "Authorization: Bearer $SMOKE_API_KEY" -H 'Content-Type: application/json' \
    -d '{"model":"'"${SMOKE_MODEL:-gpt-4o-mini}"'","max_tokens":5,"messages":[{"role":"user","content":"Reply with OK"}]}')"
  echo "POST /v1/chat/completions -> $status"
  if [ "$status" != 200 ]; then
    cat "$body" >&2 || true
    echo "smoke-test: the chat call answered $status on $service" >&2
    exit 1
  fi
else
  echo "SMOKE_API_KEY unset: skipped the chat call"
fi
echo "smoke-test: $service in $namespace is healthy"
