#!/bin/sh
# Run by docker-compose.yml's temporal-namespace job (temporalio/admin-tools)
# once the Temporal server is healthy: registers the namespace the infuse
# processes use, unless it exists. A namespace can only be registered through
# the running server, so this cannot be part of the schema job that runs before
# it. The infuse worker registers its own search attributes.
set -eu

: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${RETENTION:?}"
# The frontend can answer its health check a moment before it accepts
# namespace calls: try for about two minutes.
tries=0
until temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1 ||
	temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$RETENTION"; do
	tries=$((tries + 1))
	if [ "$tries" -ge 60 ]; then
		echo "temporal-namespace: could not register $TEMPORAL_NAMESPACE at $TEMPORAL_ADDRESS; see the temporal service's log" >&2
		exit 1
	fi
	sleep 2
done
echo "temporal-namespace: $TEMPORAL_NAMESPACE is registered (closed workflows kept $RETENTION)"
