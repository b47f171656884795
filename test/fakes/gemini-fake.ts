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

/** Starts a fake Gemini upstream; point `GEMINI_BASE_URL` at `fake.origin`. */
export function startGeminiFake(options: FakeOptions = {}): Promise<FakeUpstream> {
  return new FakeUpstream(geminiFormat, options).start();
}
