import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthenticationError,
  BadRequestError,
  RateLimitError,
  TimeoutError,
  UpstreamError,
} from "../../../app/errors";
import { classifyStatus, retryAfterSeconds, UpstreamHttp } from "../../../app/providers/_http";
import { type FakeUpstream, startOpenAIFake } from "../../fakes";

const base = { provider: "openai" as const, body: "", secrets: [], now: Date.parse("2026-01-01T00:00:00Z") };

describe("classifyStatus", () => {
  it("maps statuses to the domain errors retry and failover decide on", () => {
    expect(classifyStatus({ ...base, status: 429, headers: {} })).toBeInstanceOf(RateLimitError);
    expect(classifyStatus({ ...base, status: 401, headers: {} })).toBeInstanceOf(AuthenticationError);
    expect(classifyStatus({ ...base, status: 403, headers: {} })).toBeInstanceOf(AuthenticationError);
    expect(classifyStatus({ ...base, status: 408, headers: {} })).toBeInstanceOf(TimeoutError);
    expect(classifyStatus({ ...base, status: 400, headers: {} })).toBeInstanceOf(BadRequestError);
    expect(classifyStatus({ ...base, status: 500, headers: {} })).toBeInstanceOf(UpstreamError);
    expect(classifyStatus({ ...base, status: 503, headers: {} })).toBeInstanceOf(UpstreamError);
  });

  it("scrubs the key in use and key-shaped tokens from upstream messages", () => {
    const body = JSON.stringify({
      error: { message: "Incorrect API key provided: sk-live-abcdef123456. Also my-secret-key" },
    });
    const error = classifyStatus({ ...base, status: 401, headers: {}, body, secrets: ["my-secret-key"] });
    expect(error.message).toBe("openai: 401 Incorrect API key provided: [redacted]. Also [redacted]");
  });

  it("does not echo a non-JSON error body", () => {
    const error = classifyStatus({ ...base, status: 502, headers: {}, body: "<html>bad gateway</html>" });
    expect(error.message).toBe("openai: 502 (non-JSON error body)");
  });
});

describe("retryAfterSeconds", () => {
  it("reads retry-after-ms, retry-after seconds and dates, vendor reset headers and Gemini RetryInfo", () => {
    const at = (headers: Record<string, string>, body = "") =>
      retryAfterSeconds({ ...base, status: 429, headers, body });
    expect(at({ "retry-after-ms": "1500" })).toBe(1.5);
    expect(at({ "retry-after": "1" })).toBe(1);
    expect(at({ "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" })).toBe(30);
    expect(at({ "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:05Z" })).toBe(5);
    expect(at({ "x-ratelimit-reset-requests": "6m0s" })).toBe(360);
    expect(at({ "x-ratelimit-reset-tokens": "20ms" })).toBe(0.02);
    expect(at({}, '{"error":{"details":[{"retryDelay":"12s"}]}}')).toBe(12);
    expect(at({})).toBeUndefined();
  });
});

describe("OpenResponse.events (eventsource-parser)", () => {
  let fake: FakeUpstream;
  let http: UpstreamHttp;
  beforeAll(async () => {
    fake = await startOpenAIFake();
    http = new UpstreamHttp("openai", `${fake.origin}/v1`);
  });
  afterAll(async () => {
    await http.close();
    await fake.close();
  });

  const events = async () => {
    const response = await http.request({
      method: "POST",
      path: "/chat/completions",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", stream: true }),
      signal: new AbortController().signal,
    });
    const out = [];
    for await (const event of response.events()) out.push(event);
    return out;
  };

  it("parses CRLF framing, comments, multi-line data, frames split mid-event and a final unterminated event", async () => {
    fake.script({
      kind: "raw",
      frames: ['event: a\r\ndata: {"x":', "1}\r\n\r\n: keep-alive\n\ndata: one\ndata: two\n\n", "data: tail"],
    });
    expect(await events()).toEqual([
      { event: "a", data: '{"x":1}' },
      { event: undefined, data: "one\ntwo" },
      { event: undefined, data: "tail" },
    ]);
  });
});
