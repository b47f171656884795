import { type ChatRequest, parseChatRequest } from "../chat/schema";
import { HttpError } from "../errors";
import type { ResponsesInputItem, ResponsesRequest } from "./schema";

type Part = Exclude<Extract<ResponsesInputItem, { type: "function_call_output" }>["output"], string>[number];

function unsupported(where: string, what: string): HttpError {
  return new HttpError(400, {
    message: `Invalid request: ${where}: ${what}`,
    type: "invalid_request_error",
    code: "unsupported_value",
  });
}

/** A user content part in chat's shape. */
function userPart(part: Part, where: string): Record<string, unknown> {
  switch (part.type) {
    case "input_text":
    case "output_text":
      return { type: "text", text: part.text };
    case "refusal":
      return { type: "text", text: part.refusal };
    case "input_image":
      if (!part.image_url)
        throw unsupported(where, "input_image needs an image_url (file_id images are not supported)");
      return {
        type: "image_url",
        image_url: { url: part.image_url, ...(part.detail ? { detail: part.detail } : {}) },
      };
    case "input_file":
      if (part.file_url) throw unsupported(where, "input_file by file_url is not supported (send file_data)");
      return {
        type: "file",
        file: {
          ...(part.file_data !== undefined ? { file_data: part.file_data } : {}),
          ...(part.file_id ? { file_id: part.file_id } : {}),
          ...(part.filename !== undefined ? { filename: part.filename } : {}),
        },
      };
    case "input_audio":
      return { type: "input_audio", input_audio: part.input_audio };
  }
}

function textOf(content: string | readonly Part[], where: string): string {
  if (typeof content === "string") return content;
  return content
    .map((part) => {
      if (part.type === "input_text" || part.type === "output_text") return part.text;
      if (part.type === "refusal") return part.refusal;
      throw unsupported(where, `${part.type} parts are only supported in user messages`);
    })
    .join("");
}

/** The conversation (instructions, messages, function calls and their outputs) as chat messages. */
function toMessages(request: ResponsesRequest): Record<string, unknown>[] {
  const messages: Record<string, unknown>[] = [];
  if (request.instructions) messages.push({ role: "system", content: request.instructions });
  if (typeof request.input === "string") {
    messages.push({ role: "user", content: request.input });
    return messages;
  }
  for (const [index, item] of request.input.entries()) {
    const where = `input[${index}]`;
    if (item.type === "reasoning") continue;
    if (item.type === "function_call") {
      // Consecutive calls (parallel tool calls) belong to one assistant turn,
      // together with the text the assistant said just before them.
      const call = {
        id: item.call_id,
        type: "function",
        function: { name: item.name, arguments: item.arguments },
      };
      const last = messages.at(-1);
      if (last && last["role"] === "assistant") {
        last["tool_calls"] = [...((last["tool_calls"] as unknown[] | undefined) ?? []), call];
      } else {
        messages.push({ role: "assistant", content: null, tool_calls: [call] });
      }
      continue;
    }
    if (item.type === "function_call_output") {
      messages.push({ role: "tool", tool_call_id: item.call_id, content: textOf(item.output, where) });
      continue;
    }
    if (item.role === "user") {
      messages.push({
        role: "user",
        content:
          typeof item.content === "string" ? item.content : item.content.map((part) => userPart(part, where)),
      });
    } else {
      messages.push({ role: item.role, content: textOf(item.content, where) });
    }
  }
  return messages;
}

/**
 * Translates a Responses request to the gateway's chat request, so routing,
 * failover, caching and billing treat both APIs alike. The result is validated
 * by the chat schema like any chat request.
 */
export function toChatRequest(request: ResponsesRequest): ChatRequest {
  const chat: Record<string, unknown> = { model: request.model, messages: toMessages(request) };
  if (request.tools && request.tools.length > 0) {
    chat["tools"] = request.tools.map((tool) => ({
      type: "function",
      function: {
        name: tool.name,
        ...(tool.description ? { description: tool.description } : {}),
        ...(tool.parameters ? { parameters: tool.parameters } : {}),
        ...(tool.strict !== undefined && tool.strict !== null ? { strict: tool.strict } : {}),
      },
    }));
  }
  if (request.tool_choice !== undefined) {
    chat["tool_choice"] =
      typeof request.tool_choice === "string"
        ? request.tool_choice
        : { type: "function", function: { name: request.tool_choice.name } };
  }
  if (
    request.parallel_tool_calls !== undefined &&
    request.parallel_tool_calls !== null &&
    request.tools?.length
  ) {
    chat["parallel_tool_calls"] = request.parallel_tool_calls;
  }
  const format = request.text?.format;
  if (format?.type === "json_object") chat["response_format"] = { type: "json_object" };
  if (format?.type === "json_schema") {
    chat["response_format"] = {
      type: "json_schema",
      json_schema: {
        name: format.name,
        schema: format.schema,
        ...(format.description !== undefined ? { description: format.description } : {}),
        ...(format.strict !== undefined ? { strict: format.strict } : {}),
      },
    };
  }
  if (request.max_output_tokens) chat["max_completion_tokens"] = request.max_output_tokens;
  if (request.temperature !== undefined && request.temperature !== null)
    chat["temperature"] = request.temperature;
  if (request.top_p !== undefined && request.top_p !== null) chat["top_p"] = request.top_p;
  if (request.stream) {
    chat["stream"] = true;
    chat["stream_options"] = { include_usage: true };
  }
  const user = request.user ?? request.safety_identifier;
  if (user !== undefined) chat["user"] = user;
  if (request.metadata) chat["metadata"] = request.metadata;
  return parseChatRequest(chat);
}
