import { z } from "zod";
import { parseBody, requireObjectBody } from "../chat/parse-body";
import { MAX_STORED_TEXT, storableText } from "../ledger/storable";

// The OpenAI embeddings request (POST /v1/embeddings), validated before any
// upstream sees it. The limits follow OpenAI's own (2048 inputs per request,
// 8192 tokens per input, 300k tokens per request), counted in characters or
// token ids so they are checked without a tokenizer (about 4 characters per
// token: 32k characters per input, 1.2M per request).

/** Most inputs one request may carry (OpenAI's limit). */
export const MAX_EMBEDDING_INPUTS = 2048;
/** Most characters (or token ids) in one request, over all inputs. */
export const MAX_EMBEDDING_TOTAL_LENGTH = 1_200_000;
/** Most characters (or token ids) in one input. */
export const MAX_EMBEDDING_INPUT_LENGTH = 32_768;
/** Widest vector a client may ask for (`dimensions`); the vendor enforces its own model's width. */
export const MAX_EMBEDDING_DIMENSIONS = 8192;

const text = z.string({ error: "must be a string" });

const INPUT_SHAPE =
  "must be a string, an array of strings, an array of token ids, or an array of token-id arrays";

type Input = string | string[] | number[] | number[][];
type Context = z.RefinementCtx<unknown>;

function isTokenId(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

function checkText(value: string, path: (string | number)[], context: Context): void {
  if (value.length === 0) context.addIssue({ code: "custom", path, message: "must not be empty" });
  else if (value.length > MAX_EMBEDDING_INPUT_LENGTH)
    context.addIssue({
      code: "custom",
      path,
      message: `must be at most ${MAX_EMBEDDING_INPUT_LENGTH} characters`,
    });
}

function checkTokens(value: unknown[], path: (string | number)[], context: Context): void {
  if (value.length === 0)
    context.addIssue({ code: "custom", path, message: "must not be an empty token array" });
  else if (!value.every(isTokenId))
    context.addIssue({ code: "custom", path, message: "must contain only non-negative integer token ids" });
  else if (value.length > MAX_EMBEDDING_INPUT_LENGTH)
    context.addIssue({
      code: "custom",
      path,
      message: `must have at most ${MAX_EMBEDDING_INPUT_LENGTH} tokens`,
    });
}

// Checked by hand rather than as a zod union: a union reports only "no branch
// matched", and the client needs to know which input is wrong and why.
const input = z.unknown().transform((value, context): Input => {
  if (value === undefined) {
    context.addIssue({ code: "custom", message: `is required: ${INPUT_SHAPE}` });
    return z.NEVER;
  }
  if (typeof value === "string") {
    checkText(value, [], context);
    return value;
  }
  if (!Array.isArray(value)) {
    context.addIssue({ code: "custom", message: INPUT_SHAPE });
    return z.NEVER;
  }
  if (value.length === 0) {
    context.addIssue({ code: "custom", message: "must not be an empty array" });
    return z.NEVER;
  }
  if (typeof value[0] === "number") {
    checkTokens(value, [], context);
    return value as number[];
  }
  if (value.length > MAX_EMBEDDING_INPUTS) {
    context.addIssue({ code: "custom", message: `must have at most ${MAX_EMBEDDING_INPUTS} inputs` });
    return z.NEVER;
  }
  const strings = typeof value[0] === "string";
  value.forEach((item: unknown, index) => {
    if (strings && typeof item === "string") checkText(item, [index], context);
    else if (!strings && Array.isArray(item)) checkTokens(item, [index], context);
    else
      context.addIssue({
        code: "custom",
        path: [index],
        message: strings
          ? "must be a string, like the other inputs"
          : "must be a token-id array, like the other inputs",
      });
  });
  return value as string[] | number[][];
});

/**
 * The OpenAI embeddings request body as the gateway accepts it. Unknown fields
 * are dropped (not refused), so a newer SDK's extra field never breaks a call.
 */
export const embeddingsRequestSchema = z
  .object({
    model: text
      .min(1, { error: "must not be empty" })
      .max(MAX_STORED_TEXT, { error: `must be at most ${MAX_STORED_TEXT} characters` })
      .transform((value) => storableText(value)),
    input,
    encoding_format: z.enum(["float", "base64"], { error: 'must be "float" or "base64"' }).optional(),
    dimensions: z
      .number({ error: `must be an integer from 1 to ${MAX_EMBEDDING_DIMENSIONS}` })
      .int({ error: `must be an integer from 1 to ${MAX_EMBEDDING_DIMENSIONS}` })
      .min(1, { error: `must be an integer from 1 to ${MAX_EMBEDDING_DIMENSIONS}` })
      .max(MAX_EMBEDDING_DIMENSIONS, { error: `must be an integer from 1 to ${MAX_EMBEDDING_DIMENSIONS}` })
      .optional(),
    user: text.max(256, { error: "must be at most 256 characters" }).optional(),
  })
  .superRefine((request, context) => {
    const total = totalLength(request.input);
    if (total > MAX_EMBEDDING_TOTAL_LENGTH) {
      context.addIssue({
        code: "custom",
        path: ["input"],
        message: `is ${total} characters or tokens in total; the limit is ${MAX_EMBEDDING_TOTAL_LENGTH}`,
      });
    }
  });

/** A validated embeddings request (the input as the client sent it). */
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;

function totalLength(value: EmbeddingsRequest["input"]): number {
  if (typeof value === "string") return value.length;
  let total = 0;
  for (const item of value) total += typeof item === "number" ? 1 : item.length;
  return total;
}

/** The inputs as a list: texts, or token-id arrays (one per input). */
export function embeddingInputs(request: Pick<EmbeddingsRequest, "input">): string[] | number[][] {
  const { input: value } = request;
  if (typeof value === "string") return [value];
  if (value.length > 0 && typeof value[0] === "number") return [value as number[]];
  return typeof value[0] === "string" ? [...(value as string[])] : [...(value as number[][])];
}

/**
 * Validates a parsed JSON body. Throws a 400 `invalid_request_error` naming
 * the field and what is wrong, so nothing invalid reaches a provider.
 */
export function parseEmbeddingsRequest(body: unknown): EmbeddingsRequest {
  requireObjectBody(body, "model and input");
  return parseBody(embeddingsRequestSchema, body);
}
