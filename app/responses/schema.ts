import { z } from "zod";
import { parseBody, requireObjectBody } from "../chat/parse-body";
import { HttpError } from "../errors";
import { MAX_STORED_TEXT, storableText } from "../ledger/storable";

// The OpenAI Responses request (POST /v1/responses) as a stateless gateway
// takes it: what it cannot keep (stored responses, conversations) and tools it
// cannot run (web search, file search, ...) are refused with a 400 that says
// so, rather than silently ignored.

const text = z.string({ error: "must be a string" });

const inputText = z.object({ type: z.literal("input_text"), text });
const outputText = z.object({
  type: z.literal("output_text"),
  text,
  annotations: z.array(z.unknown()).optional(),
});
const refusal = z.object({ type: z.literal("refusal"), refusal: text });
const inputImage = z.object({
  type: z.literal("input_image"),
  image_url: text.nullable().optional(),
  file_id: text.nullable().optional(),
  detail: z.enum(["auto", "low", "high"]).optional(),
});
const inputFile = z.object({
  type: z.literal("input_file"),
  file_data: text.optional(),
  file_id: text.nullable().optional(),
  file_url: text.optional(),
  filename: text.optional(),
});
const inputAudio = z.object({
  type: z.literal("input_audio"),
  input_audio: z.object({ data: text, format: z.enum(["wav", "mp3"]) }),
});

const contentPart = z.discriminatedUnion(
  "type",
  [inputText, outputText, refusal, inputImage, inputFile, inputAudio],
  { error: "must be a content part of type input_text, input_image, input_file, input_audio or output_text" },
);

const message = z.object({
  type: z.literal("message").optional(),
  role: z.enum(["user", "assistant", "system", "developer"], {
    error: "must be one of user, assistant, system, developer",
  }),
  content: z.union([text, z.array(contentPart)], { error: "must be a string or an array of content parts" }),
  id: text.optional(),
  status: text.optional(),
});

const functionCall = z.object({
  type: z.literal("function_call"),
  call_id: text.min(1, { error: "must not be empty" }),
  name: text.min(1, { error: "must not be empty" }),
  arguments: text,
  id: text.optional(),
  status: text.optional(),
});

const functionCallOutput = z.object({
  type: z.literal("function_call_output"),
  call_id: text.min(1, { error: "must not be empty" }),
  output: z.union([text, z.array(contentPart)], { error: "must be a string or an array of content parts" }),
  id: text.nullable().optional(),
  status: text.nullable().optional(),
});

// Reasoning items a client echoes back: their summaries cannot be replayed to
// another model, so they are accepted and dropped.
const reasoning = z.looseObject({ type: z.literal("reasoning") });

const item = z.unknown().transform((value, context) => {
  const type = (value as { type?: unknown } | null)?.type;
  const schema =
    type === undefined || type === "message"
      ? message
      : type === "function_call"
        ? functionCall
        : type === "function_call_output"
          ? functionCallOutput
          : type === "reasoning"
            ? reasoning
            : undefined;
  if (!schema) {
    context.addIssue({
      code: "custom",
      message:
        typeof type === "string"
          ? `item type "${type}" is not supported (the gateway takes message, function_call, function_call_output and reasoning items)`
          : "must be an input item",
    });
    return z.NEVER;
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    for (const issue of result.error.issues)
      context.addIssue({ code: "custom", path: issue.path, message: issue.message });
    return z.NEVER;
  }
  return result.data;
});

const items = z.array(item).min(1, { error: "must not be an empty array" });

// By hand rather than a union, so an item's own error (its index and field) reaches the client.
const input = z.unknown().transform((value, context): string | z.infer<typeof items> => {
  if (typeof value === "string") return value;
  if (!Array.isArray(value)) {
    context.addIssue({ code: "custom", message: "must be a string or an array of input items" });
    return z.NEVER;
  }
  const result = items.safeParse(value);
  if (!result.success) {
    for (const issue of result.error.issues) {
      context.addIssue({ code: "custom", path: issue.path, message: issue.message });
    }
    return z.NEVER;
  }
  return result.data;
});

const functionTool = z.object({
  type: z.literal("function"),
  name: text.regex(/^[A-Za-z0-9_-]{1,64}$/, { error: "must be 1-64 letters, digits, _ or -" }),
  description: text.nullable().optional(),
  parameters: z.record(z.string(), z.unknown()).nullable().optional(),
  strict: z.boolean().nullable().optional(),
});

const tool = z.unknown().transform((value, context) => {
  const type = (value as { type?: unknown } | null)?.type;
  if (type !== "function") {
    context.addIssue({
      code: "custom",
      message: `tool type ${typeof type === "string" ? `"${type}"` : "(missing)"} is not supported: the gateway runs function tools only`,
    });
    return z.NEVER;
  }
  const result = functionTool.safeParse(value);
  if (!result.success) {
    for (const issue of result.error.issues)
      context.addIssue({ code: "custom", path: issue.path, message: issue.message });
    return z.NEVER;
  }
  return result.data;
});

const toolChoice = z.union(
  [z.enum(["none", "auto", "required"]), z.object({ type: z.literal("function"), name: text.min(1) })],
  { error: 'must be "none", "auto", "required" or {"type":"function","name":…}' },
);

const format = z.discriminatedUnion(
  "type",
  [
    z.object({ type: z.literal("text") }),
    z.object({ type: z.literal("json_object") }),
    z.object({
      type: z.literal("json_schema"),
      name: text.min(1, { error: "must not be empty" }),
      schema: z.record(z.string(), z.unknown(), { error: "must be a JSON schema object" }),
      description: text.optional(),
      strict: z.boolean().nullable().optional(),
    }),
  ],
  { error: "must be one of text, json_object, json_schema" },
);

const positiveInt = z
  .number({ error: "must be a positive integer" })
  .int({ error: "must be a positive integer" })
  .positive({ error: "must be a positive integer" });
const bounded = (min: number, max: number) =>
  z
    .number({ error: `must be a number from ${min} to ${max}` })
    .min(min, { error: `must be a number from ${min} to ${max}` })
    .max(max, { error: `must be a number from ${min} to ${max}` });

/** The Responses request body as the gateway accepts it (unknown fields are dropped). */
export const responsesRequestSchema = z.object({
  model: text
    .min(1, { error: "must not be empty" })
    .max(MAX_STORED_TEXT, { error: `must be at most ${MAX_STORED_TEXT} characters` })
    .transform((value) => storableText(value)),
  input,
  instructions: text.nullable().optional(),
  tools: z.array(tool).optional(),
  tool_choice: toolChoice.optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  text: z
    .object({ format: format.optional(), verbosity: z.enum(["low", "medium", "high"]).nullable().optional() })
    .optional(),
  max_output_tokens: positiveInt.nullable().optional(),
  temperature: bounded(0, 2).nullable().optional(),
  top_p: bounded(0, 1).nullable().optional(),
  stream: z.boolean({ error: "must be true or false" }).nullable().optional(),
  store: z.boolean({ error: "must be true or false" }).nullable().optional(),
  previous_response_id: text.nullable().optional(),
  conversation: z.unknown().optional(),
  metadata: z
    .record(text.max(64), text.max(512), { error: "must be an object of string values" })
    .nullable()
    .optional(),
  user: text.max(256).optional(),
  safety_identifier: text.max(256).optional(),
});

/** A validated Responses request. */
export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;
/** One validated input item. */
export type ResponsesInputItem = Exclude<ResponsesRequest["input"], string>[number];

const STATELESS =
  "this gateway is stateless and keeps no responses: send the whole conversation in input (with store unset or false)";

/**
 * Validates a parsed JSON body. Throws a 400 `invalid_request_error` naming
 * the field: for bad values, and for what a stateless gateway cannot do
 * (`previous_response_id`, `store: true`, `conversation`).
 */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  requireObjectBody(body, "model and input");
  const fields = body;
  const stateful: [string, boolean][] = [
    [
      "previous_response_id",
      fields["previous_response_id"] !== undefined && fields["previous_response_id"] !== null,
    ],
    ["store", fields["store"] === true],
    ["conversation", fields["conversation"] !== undefined && fields["conversation"] !== null],
  ];
  for (const [field, used] of stateful) {
    if (used) {
      throw new HttpError(400, {
        message: `Invalid request: ${field} is not supported: ${STATELESS}`,
        type: "invalid_request_error",
        code: "unsupported_parameter",
      });
    }
  }
  return parseBody(responsesRequestSchema, body);
}
