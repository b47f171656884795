import { fakeEmbedding, normalize } from "./_embedding-vectors";
import { type FakeOptions, FakeUpstream, type VendorFormat } from "./_fake-server";

const STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
};

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\r\n\r\n`;

/** Gemini's generateContent / streamGenerateContent?alt=sse wire format. */
export const geminiFormat: VendorFormat = {
  name: "gemini",
  operation(method, path) {
    const [pathname = "", query = ""] = path.split("?");
    if (method === "GET" && pathname === "/v1beta/models") return { op: "models", stream: false, model: "" };
    const embed = /^\/v1beta\/models\/([^:]+):batchEmbedContents$/.exec(pathname);
    if (method === "POST" && embed)
      return { op: "embeddings", stream: false, model: decodeURIComponent(embed[1]!) };
    const match = /^\/v1beta\/models\/([^:]+):(generateContent|streamGenerateContent)$/.exec(pathname);
    if (method !== "POST" || !match) return undefined;
    const stream = match[2] === "streamGenerateContent";
    if (stream && !new URLSearchParams(query).has("alt")) return undefined;
    return { op: "chat", stream, model: decodeURIComponent(match[1]!) };
  },
  apiKey(headers) {
    const key = headers["x-goog-api-key"];
    return typeof key === "string" ? key : undefined;
  },
  completion({ model, text, usage, id }) {
    return {
      candidates: [{ content: { parts: [{ text }], role: "model" }, finishReason: "STOP", index: 0 }],
      usageMetadata: {
        promptTokenCount: usage.input,
        candidatesTokenCount: usage.output,
        totalTokenCount: usage.input + usage.output,
      },
      modelVersion: model,
      responseId: id,
    };
  },
  streamFrames({ model, chunks, usage, id, complete }) {
    return chunks.map((text, index) => {
      const last = complete && index === chunks.length - 1;
      return sse({
        candidates: [
          {
            content: { parts: [{ text }], role: "model" },
            index: 0,
            ...(last ? { finishReason: "STOP" } : {}),
          },
        ],
        usageMetadata: last
          ? {
              promptTokenCount: usage.input,
              candidatesTokenCount: usage.output,
              totalTokenCount: usage.input + usage.output,
            }
          : { promptTokenCount: usage.input, totalTokenCount: usage.input },
        modelVersion: model,
        responseId: id,
      });
    });
  },
  errorBody(status, message) {
    const body: { error: { code: number; message: string; status: string; details?: unknown[] } } = {
      error: {
        code: status,
        message,
        status: STATUS[status] ?? (status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION"),
      },
    };
    if (status === 429) {
      body.error.details = [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "2s" }];
    }
    return body;
  },
  streamErrorFrame(message) {
    return sse({ error: { code: 500, message, status: "INTERNAL" } });
  },
  embeddings({ model, body }) {
    return geminiEmbeddings(model, body);
  },
  models() {
    return {
      models: [
        {
          name: "models/gemini-1.5-flash",
          displayName: "Gemini 1.5 Flash",
          supportedGenerationMethods: ["generateContent"],
        },
      ],
    };
  },
};

const GEMINI_EMBEDDING_WIDTHS: Record<string, number> = {
  "gemini-embedding-001": 3072,
  "text-embedding-004": 768,
};

/**
 * Gemini's `models/<m>:batchEmbedContents`: one `{values}` per request, each
 * request naming the same `models/<m>` as the path, `outputDimensionality`
 * truncating (and re-normalizing), INVALID_ARGUMENT for what Gemini refuses.
 * No token counts: Gemini's embeddings responses carry none.
 */
function geminiEmbeddings(model: string, body: unknown): { status: number; body: unknown } {
  const invalid = (message: string) => ({ status: 400, body: geminiFormat.errorBody(400, message) });
  const requests = (body as { requests?: unknown } | undefined)?.requests;
  if (!Array.isArray(requests) || requests.length === 0)
    return invalid("* BatchEmbedContentsRequest.requests: contents is not specified");
  if (requests.length > 100)
    return invalid("* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch");
  const width = GEMINI_EMBEDDING_WIDTHS[model] ?? 768;
  const embeddings: { values: number[] }[] = [];
  for (const [index, item] of requests.entries()) {
    const request = item as {
      model?: unknown;
      content?: { parts?: { text?: unknown }[] };
      outputDimensionality?: unknown;
    };
    if (request.model !== `models/${model}`) {
      return invalid(
        `* BatchEmbedContentsRequest.model: batchEmbedContents only supports requests for model models/${model}; requests[${index}] is for ${String(request.model)}`,
      );
    }
    const text = (request.content?.parts ?? [])
      .map((part) => (typeof part.text === "string" ? part.text : ""))
      .join("");
    if (text === "")
      return invalid(`* BatchEmbedContentsRequest.requests[${index}].content: contents is not specified`);
    let dims = width;
    if (request.outputDimensionality !== undefined) {
      const asked = request.outputDimensionality;
      if (typeof asked !== "number" || !Number.isInteger(asked) || asked < 1 || asked > width) {
        return invalid(
          `Request contains an invalid argument. outputDimensionality must be between 1 and ${width}`,
        );
      }
      dims = asked;
    }
    embeddings.push({ values: normalize(fakeEmbedding(text, width).slice(0, dims)) });
  }
  return { status: 200, body: { embeddings } };
}

/** Starts a fake Gemini upstream; point `GEMINI_BASE_URL` at `fake.origin`. */
export function startGeminiFake(options: FakeOptions = {}): Promise<FakeUpstream> {
  return new FakeUpstream(geminiFormat, options).start();
}
