import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthAll } from "../../stacks/synth";

/** A Terraform variable of a synthesized stack, without its default's value. */
export interface StackVariable {
  readonly name: string;
  readonly hasDefault: boolean;
  readonly sensitive: boolean;
}

/** The stack's variables, or why it did not synthesize. */
export type StackVariables =
  | { readonly ok: true; readonly variables: readonly StackVariable[] }
  | { readonly ok: false; readonly problem: string };

const cache = new Map<string, Map<string, StackVariable[]>>();

/**
 * Synthesizes every stack (as `npm run synth` does, into a temporary
 * directory) and returns one stack's Terraform variables. Memoized per
 * GATEWAY_IMAGE_TAG, the only input the stacks read besides the code.
 */
export function stackVariables(stack: string): StackVariables {
  const key = process.env["GATEWAY_IMAGE_TAG"] ?? "";
  let byStack = cache.get(key);
  if (!byStack) {
    const outdir = mkdtempSync(join(tmpdir(), "preflight-synth-"));
    try {
      byStack = new Map();
      for (const summary of synthAll(outdir)) {
        const json = JSON.parse(
          readFileSync(join(outdir, "stacks", summary.stack, "cdk.tf.json"), "utf8"),
        ) as {
          variable?: Record<string, { default?: unknown; sensitive?: boolean }>;
        };
        byStack.set(
          summary.stack,
          Object.entries(json.variable ?? {}).map(([name, variable]) => ({
            name,
            hasDefault: "default" in variable,
            sensitive: variable.sensitive === true,
          })),
        );
      }
      cache.set(key, byStack);
    } catch (error) {
      return { ok: false, problem: (error as Error).message.split("\n").slice(0, 6).join(" ") };
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }
  const variables = byStack.get(stack);
  if (!variables) return { ok: false, problem: `the app has no stack named "${stack}"` };
  return { ok: true, variables };
}
