import { z } from "zod";
import { PROVIDER_NAMES } from "./defaults";

const provider = z.enum(PROVIDER_NAMES);
const nonNegativePrice = z
  .number({ error: "must be a number of USD per million tokens" })
  .finite()
  .nonnegative({ error: "must not be negative" });

/** One target of a route: a provider, its model, and its share when balanced by weight. */
export const routeTargetSchema = z.strictObject({
  provider: provider.describe("The provider that serves this target."),
  model: z.string().min(1).describe("The model sent to that provider."),
  weight: z.number().positive().optional().describe("Its share with strategy `weighted`."),
});

/** A routing alias: the ordered (or balanced) targets a model name resolves to. */
export const routeSchema = z.strictObject({
  targets: z
    .array(routeTargetSchema)
    .min(1, { error: "a route needs at least one target" })
    .describe("Ordered targets; those after the chosen one are failovers."),
  /** `ordered`: failover in order; `round-robin` / `weighted`: spread across equivalent targets. */
  strategy: z
    .enum(["ordered", "round-robin", "weighted"])
    .default("ordered")
    .describe("`ordered`: the first target first; `round-robin` / `weighted`: the chosen target goes first."),
});

/** USD per million input and output tokens for one model. */
export const priceSchema = z.strictObject({
  input: nonNegativePrice.describe("USD per million input tokens."),
  output: nonNegativePrice.describe("USD per million output tokens."),
});

/** What `AI_CONFIG_FILE` may hold: routing, prices and limits (docs/design.md section 4). */
export const fileConfigSchema = z.strictObject({
  routes: z
    .record(z.string().min(1), routeSchema)
    .default({})
    .describe("Routing aliases: a request's `model` that names one resolves to its targets."),
  prices: z
    .partialRecord(provider, z.record(z.string().min(1), priceSchema))
    .default({})
    .describe("Prices per provider and model, over and beside app/ledger/prices.json."),
  limits: z
    .strictObject({
      maxPromptCharacters: z
        .number()
        .int()
        .positive()
        .optional()
        .meta({ description: "Text characters across all messages; over it: 413.", default: "50000" }),
      maxMessages: z
        .number()
        .int()
        .positive()
        .optional()
        .meta({ description: "Messages in one request; over it: 400.", default: "500" }),
      maxBodyBytes: z
        .number()
        .int()
        .positive()
        .optional()
        .meta({ description: "Request body bytes; over it: 413.", default: "1048576" }),
      requestsPerMinute: z.number().int().positive().optional().meta({
        description:
          "Requests per client key per minute (shared through Redis); over it: 429 with Retry-After.",
        default: "unlimited",
      }),
      tokensPerMinute: z.number().int().positive().optional().meta({
        description:
          "Tokens per client key per minute (shared through Redis); over it: 429 with Retry-After.",
        default: "unlimited",
      }),
      maxBatchSize: z
        .number()
        .int()
        .positive()
        .optional()
        .meta({ description: "Requests in one `POST /v1/batch`; over it: 400.", default: "50" }),
      batchConcurrency: z
        .number()
        .int()
        .positive()
        .optional()
        .meta({ description: "Batch items run at a time.", default: "5" }),
    })
    .default({})
    .describe("Request limits, changed on reload."),
  injection: z
    .strictObject({
      action: z.enum(["off", "log", "block"]).optional().meta({
        description: "What a prompt matching an injection phrase gets: nothing, a warning, or 400.",
        default: "log",
      }),
      phrases: z
        .array(z.string().min(1))
        .optional()
        .describe("Phrases matched besides the built-in ones, ignoring case and whitespace."),
    })
    .default({})
    .describe("Prompt-injection checks."),
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
    .optional()
    .meta({
      description:
        "Maintenance mode: `{ enabled, message, retryAfterSeconds }`; while enabled, chat, job submissions and batch answer 503 with the message and `Retry-After`.",
      default: "off",
    }),
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
