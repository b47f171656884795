import { randomUUID } from "node:crypto";
import type {
  FunctionTool,
  Response,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseStreamEvent,
  ResponseUsage,
} from "openai/resources/responses/responses";
import type { ChatCompletion, ChatCompletionChunk, FinishReason, Usage } from "../chat/types";
import type { ResponsesRequest } from "./schema";

// Chat completions (from any provider) as Responses API objects. The types are
// the openai SDK's own, so the compiler checks every object against what the
// SDK expects to receive.

/** What a response needs besides the completion: its id, time and the request it answers. */
export interface ResponseContext {
  /** `resp_…`, from {@link newResponseId}. */
  readonly id: string;
  /** Unix seconds. */
  readonly createdAt: number;
  readonly request: ResponsesRequest;
}

const hex = () => randomUUID().replace(/-/g, "");

/** A new response id. */
export function newResponseId(): string {
  return `resp_${hex()}`;
}

/** Usage in the Responses API's shape. */
export function toResponseUsage(usage: Usage): ResponseUsage {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

function tools(request: ResponsesRequest): FunctionTool[] {
  return (request.tools ?? []).map((tool) => ({
    type: "function",
    name: tool.name,
    description: tool.description ?? null,
    parameters: tool.parameters ?? null,
    strict: tool.strict ?? null,
  }));
}

/** The response object before any output: what `response.created` carries. */
export function responseShell(context: ResponseContext, model: string = context.request.model): Response {
  const { request } = context;
  return {
    id: context.id,
    object: "response",
    created_at: context.createdAt,
    status: "in_progress",
    background: false,
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    metadata: request.metadata ?? {},
    model,
    output: [],
    output_text: "",
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: null,
    temperature: request.temperature ?? null,
    text: { format: request.text?.format ?? { type: "text" } },
    tool_choice:
      request.tool_choice === undefined
        ? "auto"
        : typeof request.tool_choice === "string"
          ? request.tool_choice
          : { type: "function", name: request.tool_choice.name },
    tools: tools(request),
    top_p: request.top_p ?? null,
    truncation: "disabled",
    ...(request.user !== undefined ? { user: request.user } : {}),
  };
}

function finished(
  shell: Response,
  output: ResponseOutputItem[],
  finish: FinishReason | null,
  usage: Usage | undefined,
): Response {
  const incomplete = finish === "length" || finish === "content_filter";
  return {
    ...shell,
    status: incomplete ? "incomplete" : "completed",
    incomplete_details: incomplete
      ? { reason: finish === "length" ? "max_output_tokens" : "content_filter" }
      : null,
    output,
    output_text: outputText(output),
    ...(usage ? { usage: toResponseUsage(usage) } : {}),
  };
}

function outputText(output: readonly ResponseOutputItem[]): string {
  let text = "";
  for (const item of output) {
    if (item.type !== "message") continue;
    for (const part of item.content) if (part.type === "output_text") text += part.text;
  }
  return text;
}

/** A non-streaming chat completion as a Response: a message item for the text, one function_call item per tool call. */
export function toResponse(completion: ChatCompletion, context: ResponseContext, usage?: Usage): Response {
  const choice = completion.choices[0];
  const output: ResponseOutputItem[] = [];
  const message = choice?.message;
  const text = message?.content ?? "";
  if (text !== "" || message?.refusal) {
    output.push({
      type: "message",
      id: `msg_${hex()}`,
      status: "completed",
      role: "assistant",
      content: message?.refusal
        ? [{ type: "refusal", refusal: message.refusal }]
        : [{ type: "output_text", text, annotations: [], logprobs: [] }],
    });
  }
  for (const call of message?.tool_calls ?? []) {
    output.push({
      type: "function_call",
      id: `fc_${hex()}`,
      call_id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
      status: "completed",
    });
  }
  const reported = usage ?? {
    inputTokens: completion.usage?.prompt_tokens ?? 0,
    outputTokens: completion.usage?.completion_tokens ?? 0,
  };
  return finished(responseShell(context, completion.model), output, choice?.finish_reason ?? null, reported);
}

/** Any stream event before it is numbered (the union's members, each without `sequence_number`). */
type EventWithoutSequence = ResponseStreamEvent extends infer E
  ? E extends ResponseStreamEvent
    ? Omit<E, "sequence_number">
    : never
  : never;

interface OpenCall {
  readonly outputIndex: number;
  readonly item: ResponseFunctionToolCall & { id: string };
}

/**
 * Turns chat stream chunks into the Responses API's event sequence:
 * `response.created`, `response.in_progress`, then per output item
 * `output_item.added`, its content or argument deltas and `.done` events,
 * `output_item.done`, and finally `response.completed` (or
 * `response.incomplete`) with usage. Every event carries the next
 * `sequence_number`. Call {@link start} once, {@link push} per chunk, then
 * {@link finish} (or {@link fail}).
 */
export class ResponsesStreamTranslator {
  private sequence = 0;
  private readonly output: ResponseOutputItem[] = [];
  private message: { outputIndex: number; item: ResponseOutputMessage; text: string } | undefined;
  private readonly calls = new Map<number, OpenCall>();
  private finishReason: FinishReason | null = null;
  private model: string;

  constructor(private readonly context: ResponseContext) {
    this.model = context.request.model;
  }

  private event(event: EventWithoutSequence): ResponseStreamEvent {
    return { ...event, sequence_number: this.sequence++ } as ResponseStreamEvent;
  }

  /** The opening events. */
  start(): ResponseStreamEvent[] {
    const shell = responseShell(this.context);
    return [
      this.event({ type: "response.created", response: shell }),
      this.event({ type: "response.in_progress", response: shell }),
    ];
  }

  /** The events of one chat chunk (choice 0). */
  push(chunk: ChatCompletionChunk): ResponseStreamEvent[] {
    const events: ResponseStreamEvent[] = [];
    if (chunk.model) this.model = chunk.model;
    const choice = chunk.choices.find((c) => c.index === 0);
    if (!choice) return events;
    const { delta } = choice;
    if (delta.content) {
      if (!this.message) events.push(...this.openMessage());
      const message = this.message!;
      message.text += delta.content;
      events.push(
        this.event({
          type: "response.output_text.delta",
          item_id: message.item.id,
          output_index: message.outputIndex,
          content_index: 0,
          delta: delta.content,
          logprobs: [],
        }),
      );
    }
    for (const call of delta.tool_calls ?? []) {
      let open = this.calls.get(call.index);
      if (!open) {
        // A tool call after text: the message is complete.
        events.push(...this.closeMessage());
        open = {
          outputIndex: this.output.length,
          item: {
            type: "function_call",
            id: `fc_${hex()}`,
            call_id: call.id ?? `call_${hex()}`,
            name: call.function?.name ?? "",
            arguments: "",
            status: "in_progress",
          },
        };
        this.output.push(open.item);
        this.calls.set(call.index, open);
        events.push(
          this.event({
            type: "response.output_item.added",
            output_index: open.outputIndex,
            item: { ...open.item },
          }),
        );
      } else if (call.function?.name) {
        open.item.name += call.function.name;
      }
      const args = call.function?.arguments;
      if (args) {
        open.item.arguments += args;
        events.push(
          this.event({
            type: "response.function_call_arguments.delta",
            item_id: open.item.id,
            output_index: open.outputIndex,
            delta: args,
          }),
        );
      }
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    return events;
  }

  private openMessage(): ResponseStreamEvent[] {
    const item: ResponseOutputMessage = {
      type: "message",
      id: `msg_${hex()}`,
      status: "in_progress",
      role: "assistant",
      content: [],
    };
    this.message = { outputIndex: this.output.length, item, text: "" };
    this.output.push(item);
    return [
      this.event({
        type: "response.output_item.added",
        output_index: this.message.outputIndex,
        item: { ...item },
      }),
      this.event({
        type: "response.content_part.added",
        item_id: item.id,
        output_index: this.message.outputIndex,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
      }),
    ];
  }

  private closeMessage(): ResponseStreamEvent[] {
    const message = this.message;
    if (message?.item.status !== "in_progress") return [];
    const part = { type: "output_text" as const, text: message.text, annotations: [], logprobs: [] };
    message.item.content = [part];
    message.item.status = "completed";
    const base = { item_id: message.item.id, output_index: message.outputIndex, content_index: 0 };
    return [
      this.event({ type: "response.output_text.done", ...base, text: message.text, logprobs: [] }),
      this.event({ type: "response.content_part.done", ...base, part }),
      this.event({
        type: "response.output_item.done",
        output_index: message.outputIndex,
        item: message.item,
      }),
    ];
  }

  /** The closing events once the chat stream ended: open items done, then `response.completed` with usage. */
  finish(usage: Usage | undefined): ResponseStreamEvent[] {
    const events = this.closeMessage();
    for (const open of [...this.calls.values()].sort((a, b) => a.outputIndex - b.outputIndex)) {
      open.item.status = "completed";
      events.push(
        this.event({
          type: "response.function_call_arguments.done",
          item_id: open.item.id,
          output_index: open.outputIndex,
          name: open.item.name,
          arguments: open.item.arguments,
        }),
        this.event({
          type: "response.output_item.done",
          output_index: open.outputIndex,
          item: { ...open.item },
        }),
      );
    }
    const response = finished(responseShell(this.context, this.model), this.output, this.finishReason, usage);
    events.push(
      response.status === "incomplete"
        ? this.event({ type: "response.incomplete", response })
        : this.event({ type: "response.completed", response }),
    );
    return events;
  }

  /** The closing event when the upstream failed mid-stream: `response.failed` with the error. */
  fail(
    message: string,
    code: "server_error" | "rate_limit_exceeded" = "server_error",
  ): ResponseStreamEvent[] {
    const response: Response = {
      ...responseShell(this.context, this.model),
      status: "failed",
      error: { code, message },
      output: this.output,
      output_text: outputText(this.output),
    };
    return [this.event({ type: "response.failed", response })];
  }
}

/** One event as a Server-Sent Events frame (`event:` names the type, as OpenAI sends them). */
export function formatResponseEvent(event: ResponseStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
