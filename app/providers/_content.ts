import type { ChatMessage, ChatRequest } from "../chat/schema";
import type { ProviderName } from "../config/defaults";
import { BadRequestError } from "../errors";

/** One content part of a user message (text, image, audio or file). */
export type UserPart = Exclude<Extract<ChatMessage, { role: "user" }>["content"], string>[number];

/** A part an adapter translated, or why it cannot: content is never dropped silently. */
export type Translated<T> = { readonly ok: T } | { readonly unsupported: string };

/** The media type and base64 payload of a `data:<type>;base64,<data>` URL. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return match ? { mediaType: match[1]!.toLowerCase(), data: match[2]! } : undefined;
}

/**
 * The first user content part `translate` cannot carry, as the message the
 * client gets (`messages[2].content[1]: ...`); undefined when every part can go.
 */
export function firstUnsupportedPart<T>(
  request: ChatRequest,
  translate: (part: UserPart) => Translated<T>,
): string | undefined {
  const messages = request.messages;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.role !== "user" || typeof message.content === "string") continue;
    for (let j = 0; j < message.content.length; j++) {
      const result = translate(message.content[j]!);
      if ("unsupported" in result) return `messages[${i}].content[${j}]: ${result.unsupported}`;
    }
  }
  return undefined;
}

/** Translates a user message's parts, throwing a 400 for one the vendor cannot take. */
export function translateParts<T>(
  provider: ProviderName,
  parts: readonly UserPart[],
  translate: (part: UserPart) => Translated<T>,
): T[] {
  const out: T[] = [];
  for (const part of parts) {
    const result = translate(part);
    if ("unsupported" in result) throw new BadRequestError(result.unsupported, provider, 400);
    out.push(result.ok);
  }
  return out;
}
