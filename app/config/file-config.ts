import { z } from "zod";
import { PROVIDER_NAMES } from "./defaults";

const provider = z.enum(PROVIDER_NAMES);
const nonNegativePrice = z
  .number({ error: "must be a number of USD per million tokens" })
  .finite()
  .nonnegative({ error: "must not be negative" });

/** One target of a route: a provider, its model, and its share when balanced by weight. */
export const routeTargetSchema = z.strictObject({
  provider,
  model: z.string().min(1),
  weight: z.number().positive().optional(),
});

/** A routing alias: the ordered (or balanced) targets a model name resolves to. */
export const routeSchema = z.strictObject({
  targets: z.array(routeTargetSchema).min(1, { error: "a route needs at least one target" }),
  /** `ordered`: failover in order; `round-robin` / `weighted`: spread across equivalent targets. */
  strategy: z.enum(["ordered", "round-robin", "weighted"]).default("ordered"),
});

/** USD per million input and output tokens for one model. */
export const priceSchema = z.strictObject({ input: nonNegativePrice, output: nonNegativePrice });

/** What `AI_CONFIG_FILE` may hold: routing, prices and limits (docs/design.md section 4). */
export const fileConfigSchema = z.strictObject({
  routes: z.record(z.string().min(1), routeSchema).default({}),
  prices: z.partialRecord(provider, z.record(z.string().min(1), priceSchema)).default({}),
  limits: z
    .strictObject({
      maxPromptCharacters: z.number().int().positive().optional(),
      maxMessages: z.number().int().positive().optional(),
      maxBodyBytes: z.number().int().positive().optional(),
      requestsPerMinute: z.number().int().positive().optional(),
      tokensPerMinute: z.number().int().positive().optional(),
      maxBatchSize: z.number().int().positive().optional(),
      batchConcurrency: z.number().int().positive().optional(),
    })
    .default({}),
  injection: z
    .strictObject({
      action: z.enum(["off", "log", "block"]).optional(),
      phrases: z.array(z.string().min(1)).optional(),
    })
    .default({}),
  /**
   * Maintenance mode (docs/design.md section 4): while enabled, chat, job submissions and batch
   * answer 503 with `message` and `Retry-After`; health, metrics, usage, models and job polls keep working.
   */
  maintenance: z
    .strictObject({
      enabled: z.boolean({ error: "must be true or false" }),
      message: z
        .string({ error: "must be a string" })
        .min(1, { error: "must not be empty" })
        .max(1000, { error: "must be at most 1000 characters" })
        .optional(),
      retryAfterSeconds: z
        .number({ error: "must be a whole number of seconds" })
        .int({ error: "must be a whole number of seconds" })
        .min(1, { error: "must be at least 1" })
        .max(86_400, { error: "must be at most 86400 (one day)" })
        .optional(),
    })
    .optional(),
});

/** The validated content of `AI_CONFIG_FILE`. */
export type FileConfig = z.infer<typeof fileConfigSchema>;
/** A routing alias. */
export type RouteConfig = z.infer<typeof routeSchema>;

/** The file config used when `AI_CONFIG_FILE` is unset. */
export const EMPTY_FILE_CONFIG: FileConfig = fileConfigSchema.parse({});

/**
 * Parses the text of a config file. Returns the config or the list of problems,
 * each naming the JSON path, so one message can report all of them.
 */
export function parseFileConfig(
  text: string,
): { ok: true; value: FileConfig } | { ok: false; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`not valid JSON (${(error as Error).message})`] };
  }
  const result = fileConfigSchema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`),
  };
}
