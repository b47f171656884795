import { z } from "zod";
import { MAX_STORED_TEXT, storableText } from "../ledger/storable";
import { parseBody, requireObjectBody } from "./parse-body";

// The OpenAI chat request, validated before anything else sees it. Known
// fields are checked strictly; unknown top-level fields are kept (newer OpenAI
// parameters keep working) and forwarded only to OpenAI-compatible upstreams.

// The type's error covers only a non-string: every length rule below names its
// own limit, or zod would report a too-long string as "must be a string".
const text = z.string({ error: "must be a string" });
const notEmpty = { error: "must not be empty" };
const atMost = (max: number) => ({ error: `must be at most ${max} characters` });

const textPart = z.strictObject({ type: z.literal("text"), text });
const imagePart = z.strictObject({
  type: z.literal("image_url"),
  image_url: z.strictObject({
    url: text.min(1, { error: "must not be empty" }),
    detail: z.enum(["auto", "low", "high"]).optional(),
  }),
});
const audioPart = z.strictObject({
  type: z.literal("input_audio"),
  input_audio: z.strictObject({ data: text, format: z.enum(["wav", "mp3"]) }),
});
const filePart = z.strictObject({
  type: z.literal("file"),
  file: z.strictObject({ file_data: text.optional(), file_id: text.optional(), filename: text.optional() }),
});
const refusalPart = z.strictObject({ type: z.literal("refusal"), refusal: text });

const partError = { error: "must be a content part of type text, image_url, input_audio or file" };
const userPart = z.discriminatedUnion("type", [textPart, imagePart, audioPart, filePart], partError);
const textContent = z.union(
  [text, z.array(textPart, { error: "must be a string or an array of text parts" })],
  {
    error: "must be a string or an array of text parts",
  },
);

const toolCall = z.strictObject({
  id: text.min(1, notEmpty),
  type: z.literal("function"),
  function: z.strictObject({ name: text.min(1, notEmpty), arguments: text }),
});

const name = text.min(1, notEmpty).max(256, atMost(256)).optional();

const systemMessage = z.strictObject({ role: z.enum(["system", "developer"]), content: textContent, name });
const userMessage = z.strictObject({
  role: z.literal("user"),
  content: z.union([text, z.array(userPart).min(1, { error: "must not be an empty array" })], {
    error: "must be a string or an array of content parts",
  }),
  name,
});
const assistantMessage = z
  .strictObject({
    role: z.literal("assistant"),
    content: z
      .union([text, z.array(z.discriminatedUnion("type", [textPart, refusalPart]))], {
        error: "must be a string, an array of text parts, or null",
      })
      .nullable()
      .optional(),
    tool_calls: z.array(toolCall).optional(),
    refusal: text.nullable().optional(),
    name,
  })
  .refine((m) => (m.content !== undefined && m.content !== null) || (m.tool_calls?.length ?? 0) > 0, {
    error: "an assistant message needs content or tool_calls",
  });
const toolMessage = z.strictObject({
  role: z.literal("tool"),
  content: textContent,
  tool_call_id: text.min(1, { error: "must not be empty" }),
});

const message = z.discriminatedUnion("role", [systemMessage, userMessage, assistantMessage, toolMessage], {
  error: (issue) =>
    issue.code === "invalid_union" && issue.note === "No matching discriminator"
      ? "must be one of system, developer, user, assistant, tool"
      : "must be a message object with a role",
});

const tool = z.strictObject({
  type: z.literal("function"),
  function: z.strictObject({
    name: text.regex(/^[A-Za-z0-9_-]{1,64}$/, { error: "must be 1-64 letters, digits, _ or -" }),
    description: text.optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const toolChoice = z.union(
  [
    z.enum(["none", "auto", "required"]),
    z.strictObject({
      type: z.literal("function"),
      function: z.strictObject({ name: text.min(1, notEmpty) }),
    }),
  ],
  { error: 'must be "none", "auto", "required" or {"type":"function","function":{"name":…}}' },
);

const responseFormat = z.discriminatedUnion(
  "type",
  [
    z.strictObject({ type: z.literal("text") }),
    z.strictObject({ type: z.literal("json_object") }),
    z.strictObject({
      type: z.literal("json_schema"),
      json_schema: z.strictObject({
        name: text.min(1, notEmpty),
        description: text.optional(),
        schema: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullable().optional(),
      }),
    }),
  ],
  { error: "must be one of text, json_object, json_schema" },
);

const bounded = (min: number, max: number) =>
  z
    .number({ error: `must be a number from ${min} to ${max}` })
    .min(min, { error: `must be a number from ${min} to ${max}` })
    .max(max, { error: `must be a number from ${min} to ${max}` });
const positiveInt = z
  .number({ error: "must be a positive integer" })
  .int({ error: "must be a positive integer" })
  .positive({ error: "must be a positive integer" });

/** The OpenAI chat request body as the gateway accepts it. */
export const chatRequestSchema = z.looseObject({
  // The model name is stored in the ledger: bounded here, and made storable (NUL and
  // unpaired surrogates replaced) so one request can never poison a ledger batch.
  model: text
    .min(1, { error: "must not be empty" })
    .max(MAX_STORED_TEXT, { error: `must be at most ${MAX_STORED_TEXT} characters` })
    .transform((value) => storableText(value)),
  messages: z
    .array(message, { error: "must be an array of messages" })
    .min(1, { error: "must contain at least one message" }),
  stream: z.boolean({ error: "must be true or false" }).nullable().optional(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: positiveInt.nullable().optional(),
  max_completion_tokens: positiveInt.nullable().optional(),
  temperature: bounded(0, 2).nullable().optional(),
  top_p: bounded(0, 1).nullable().optional(),
  stop: z
    .union([text, z.array(text).max(4, { error: "must have at most 4 sequences" })], {
      error: "must be a string or an array of up to 4 strings",
    })
    .nullable()
    .optional(),
  // More than one choice: passed through or fanned out by app/chat/fan-out.ts (OpenAI's limit is 128).
  n: positiveInt.max(128, { error: "must be at most 128" }).nullable().optional(),
  presence_penalty: bounded(-2, 2).nullable().optional(),
  frequency_penalty: bounded(-2, 2).nullable().optional(),
  seed: z.number({ error: "must be an integer" }).int({ error: "must be an integer" }).nullable().optional(),
  tools: z.array(tool).optional(),
  tool_choice: toolChoice.optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: responseFormat.optional(),
  user: text.max(256, atMost(256)).optional(),
  metadata: z
    .record(text.max(64, atMost(64)), text.max(512, atMost(512)), {
      error: "must be an object of string values",
    })
    .refine((value) => Object.keys(value).length <= 16, { error: "must have at most 16 keys" })
    .nullable()
    .optional(),
});

/** A validated chat request. */
export type ChatRequest = z.infer<typeof chatRequestSchema>;
/** One validated message. */
export type ChatMessage = ChatRequest["messages"][number];

/**
 * Validates a parsed JSON body. Throws a 400 `invalid_request_error` whose
 * message names the field and what is wrong; nothing invalid reaches a
 * provider. Prompt limits are checked once, from the config, by
 * `checkPromptLimits` (app/security/limits.ts).
 */
export function parseChatRequest(body: unknown): ChatRequest {
  requireObjectBody(body, "model and messages");
  return parseBody(chatRequestSchema, body);
}

/** The text of a message's content, parts joined; images and files are skipped. */
export function contentText(content: ChatMessage["content"]): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  let out = "";
  for (const part of content) {
    if (part.type === "text") out += part.text;
    else if (part.type === "refusal") out += part.refusal;
  }
  return out;
}

/** The output-token cap the client asked for, whichever field it used. */
export function maxOutputTokens(request: ChatRequest): number | undefined {
  return request.max_completion_tokens ?? request.max_tokens ?? undefined;
}

/** Stop sequences as an array. */
export function stopSequences(request: ChatRequest): string[] | undefined {
  if (request.stop === undefined || request.stop === null) return undefined;
  return typeof request.stop === "string" ? [request.stop] : [...request.stop];
}
