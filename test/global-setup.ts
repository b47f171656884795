import { ensureBuilt, GATEWAY_BUNDLE } from "./helpers/built";

/**
 * Runs once before the "process" project: bundles the gateway when
 * dist/app/server.js is missing or older than app/ or scripts/, so every
 * process test runs the same fresh bundle and none rebuilds it while another
 * is starting it.
 */
export default function setup(): void {
  ensureBuilt(GATEWAY_BUNDLE.output, GATEWAY_BUNDLE.script, GATEWAY_BUNDLE.sources);
}
