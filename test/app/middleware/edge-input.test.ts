import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exceedsJsonDepth, MAX_JSON_DEPTH } from "../../../app/middleware/json-depth";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

// Deep nesting (issue 14 finding 1) and malformed percent-encoding (finding 2):
// both answered 500 before; both are the client's mistake, so a 400.

/** `depth` levels of `{"a": ...}` around a string. */
function nested(depth: number): unknown {
  let value: unknown = "x";
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

const messages = [{ role: "user", content: "hi" }];
const DEEP = 10_000;
// JSON.stringify itself cannot write DEEP levels: the body carries a marker replaced by this text.
const DEEP_MARKER = "@deep@";
const DEEP_JSON = `${'{"a":'.repeat(DEEP)}"x"${"}".repeat(DEEP)}`;

async function send(h: GatewayHarness, method: string, path: string, body?: unknown) {
  const response = await fetch(`${h.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body).replace(`"${DEEP_MARKER}"`, DEEP_JSON) }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { error?: { message: string; code: string } },
  };
}

describe("hostile input at the edge", () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const deepBodies: [string, string, unknown][] = [
    [
      "chat metadata-free extra field",
      "/v1/chat/completions",
      { model: "gpt-4o", messages, extra: DEEP_MARKER },
    ],
    [
      "a streaming chat",
      "/v1/chat/completions",
      { model: "gpt-4o", messages, stream: true, extra: DEEP_MARKER },
    ],
    [
      "tool parameters",
      "/v1/chat/completions",
      {
        model: "gpt-4o",
        messages,
        tools: [{ type: "function", function: { name: "f", parameters: DEEP_MARKER } }],
      },
    ],
    [
      "a response_format schema",
      "/v1/chat/completions",
      {
        model: "gpt-4o",
        messages,
        response_format: { type: "json_schema", json_schema: { name: "s", schema: DEEP_MARKER } },
      },
    ],
    ["a batch item", "/v1/batch", { requests: [{ model: "gpt-4o", messages, extra: DEEP_MARKER }] }],
    ["a job", "/v1/jobs", { model: "gpt-4o", messages, extra: DEEP_MARKER }],
  ];

  for (const [what, path, body] of deepBodies) {
    it(`fails when ${what} nests ${DEEP} levels deep, naming the limit`, async () => {
      const answer = await send(h, "POST", path, body);
      expect(answer).toEqual({
        status: 400,
        body: {
          error: {
            message: `Request body is nested too deeply: arrays and objects may nest at most ${MAX_JSON_DEPTH} levels`,
            type: "invalid_request_error",
            code: "json_too_deep",
          },
        },
      });
    });
  }

  it("still serves a request nested right up to the limit", async () => {
    // The body itself is level 1; `extra` adds the rest.
    const answer = await send(h, "POST", "/v1/chat/completions", {
      model: "gpt-4o",
      messages,
      extra: nested(MAX_JSON_DEPTH - 1),
    });
    expect(answer.status).toBe(200);
    expect(exceedsJsonDepth({ extra: nested(MAX_JSON_DEPTH - 1) }, MAX_JSON_DEPTH)).toBe(false);
    expect(exceedsJsonDepth({ extra: nested(MAX_JSON_DEPTH) }, MAX_JSON_DEPTH)).toBe(true);
    expect(exceedsJsonDepth([[[]]], 2)).toBe(true);
    expect(exceedsJsonDepth([[[]]], 3)).toBe(false);
  });

  for (const path of ["/v1/jobs/%ff", "/v1/jobs/%E0%A4%A", "/v1/%zz/x", "/health/%c3%28"]) {
    it(`fails ${path} with a 400 about the path's percent-encoding`, async () => {
      const answer = await send(h, "GET", path);
      expect(answer).toEqual({
        status: 400,
        body: {
          error: {
            message:
              "Request path has malformed percent-encoding (each % must start a valid UTF-8 escape such as %20)",
            type: "invalid_request_error",
            code: "invalid_path_encoding",
          },
        },
      });
    });
  }

  it("keeps serving well-formed escapes", async () => {
    const answer = await send(h, "GET", "/v1/jobs/job%2D1");
    expect(answer.status).toBe(404);
    expect(answer.body.error?.code).toBe("job_not_found");
  });
});
