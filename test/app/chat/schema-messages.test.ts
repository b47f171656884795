import { describe, expect, it } from "vitest";
import { parseChatRequest } from "../../../app/chat/schema";
import { HttpError } from "../../../app/errors";

// Issue 14 finding 11: a rule broken says that rule, never "must be a string" for a string.
function message(body: Record<string, unknown>): string {
  try {
    parseChatRequest({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], ...body });
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    return (error as HttpError).message;
  }
  throw new Error("the request was accepted");
}

const long = (length: number) => "n".repeat(length);

describe("chat request validation messages", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "a 257-character message name",
      { messages: [{ role: "user", content: "hi", name: long(257) }] },
      "Invalid request: messages[0].name: must be at most 256 characters",
    ],
    [
      "an empty message name",
      { messages: [{ role: "system", content: "hi", name: "" }] },
      "Invalid request: messages[0].name: must not be empty",
    ],
    ["a 257-character user", { user: long(257) }, "Invalid request: user: must be at most 256 characters"],
    [
      "a 513-character metadata value",
      { metadata: { team: long(513) } },
      "Invalid request: metadata.team: must be at most 512 characters",
    ],
    [
      "an empty tool call id",
      {
        messages: [
          { role: "user", content: "hi" },
          {
            role: "assistant",
            tool_calls: [{ id: "", type: "function", function: { name: "f", arguments: "{}" } }],
          },
        ],
      },
      "Invalid request: messages[1].tool_calls[0].id: must not be empty",
    ],
    [
      "an empty json_schema name",
      { response_format: { type: "json_schema", json_schema: { name: "" } } },
      "Invalid request: response_format.json_schema.name: must not be empty",
    ],
    [
      "an empty tool_choice function name",
      { tool_choice: { type: "function", function: { name: "" } } },
      "Invalid request: tool_choice.function.name: must not be empty",
    ],
    [
      "a name that is not a string",
      { messages: [{ role: "user", content: "hi", name: 7 }] },
      "Invalid request: messages[0].name: must be a string",
    ],
  ];
  for (const [what, body, expected] of cases) {
    it(`fails for ${what} with the rule it broke`, () => {
      expect(message(body)).toBe(expected);
    });
  }

  it("accepts a 256-character name", () => {
    const request = parseChatRequest({
      model: "gpt-4o",
      messages: [{ role: "user", content: "hi", name: long(256) }],
    });
    expect(request.messages[0]).toMatchObject({ name: long(256) });
  });
});
