import { createHash } from "node:crypto";
import { type ChatMessage, type ChatRequest, contentText } from "../../chat/schema";
import { canonicalJson } from "../cache-key";

/** What a semantic entry is scoped to: everything but the conversation text. */
export interface SemanticScopeInput {
  /** The client's gateway key id; two tenants never share an entry. */
  readonly tenant: string;
  /** The resolved provider and model that answer. */
  readonly provider: string;
  readonly model: string;
  /** `<provider>/<model>` of the embedding model (vectors of two models are never compared). */
  readonly embeddingModel: string;
  /** The validated chat request; every field except messages and transport ones is in the scope. */
  readonly request: Readonly<Record<string, unknown>>;
}

// Messages are what is compared (as a vector); stream and stream_options only
// change how the answer travels; model is replaced by the resolved one.
const NOT_SCOPED: ReadonlySet<string> = new Set(["messages", "stream", "stream_options", "model"]);

/** Bumped when the scope or entry format changes, so old entries are never misread. */
const SCOPE_VERSION = 1;

/**
 * SHA-256 (hex) of the tenant, resolved provider/model, embedding model and
 * every non-message parameter in canonical JSON: an entry matches only a
 * request identical in all of them, including parameters this version does
 * not know.
 */
export function semanticScopeKey(input: SemanticScopeInput): string {
  const parameters: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input.request)) {
    if (!NOT_SCOPED.has(name)) parameters[name] = value;
  }
  const material = canonicalJson({
    v: SCOPE_VERSION,
    tenant: input.tenant,
    provider: input.provider,
    model: input.model,
    embeddingModel: input.embeddingModel,
    parameters,
  });
  return createHash("sha256").update(material).digest("hex");
}

/** The conversation as the text that is embedded: one `role: text` line per message. */
export function conversationText(messages: readonly ChatMessage[]): string {
  return messages.map((message) => `${message.role}: ${contentText(message.content)}`).join("\n");
}

/**
 * Why a request is not served semantically (undefined when it may be): tools,
 * several choices, non-text content or a sampling temperature above 0 (unless
 * allowed) make "a similar question" a poor stand-in for the same answer.
 */
export function semanticIneligibility(
  request: ChatRequest,
  options: { allowTemperature?: boolean } = {},
): string | undefined {
  if ((request.tools?.length ?? 0) > 0) return "tools";
  if ((request.n ?? 1) > 1) return "n > 1";
  if (!options.allowTemperature && (request.temperature ?? 1) > 0) return "temperature > 0";
  const nonText = request.messages.some(
    (message) => Array.isArray(message.content) && message.content.some((part) => part.type !== "text"),
  );
  if (nonText) return "non-text content";
  return undefined;
}
