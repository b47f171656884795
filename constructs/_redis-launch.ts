// How every Redis container of the kit starts, Kubernetes and Docker alike.

/**
 * How the container starts redis-server: `requirepass` from `$REDIS_PASSWORD`
 * as configuration on stdin (a here-document), the other options (`"$@"`) as
 * arguments; `exec` keeps redis-server the container's main process, so it gets SIGTERM.
 */
export const REDIS_SERVER_LAUNCH = `exec redis-server "$@" - <<END_OF_CONFIG
requirepass $REDIS_PASSWORD
END_OF_CONFIG
`;
