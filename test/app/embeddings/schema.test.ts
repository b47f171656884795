import { describe, expect, it } from "vitest";
import {
  embeddingInputs,
  MAX_EMBEDDING_INPUTS,
  MAX_EMBEDDING_TOTAL_LENGTH,
  parseEmbeddingsRequest,
} from "../../../app/embeddings/schema";
import { HttpError } from "../../../app/errors";

function failure(body: unknown): { status: number; message: string; type: string } {
  try {
    parseEmbeddingsRequest(body);
  } catch (error) {
    if (error instanceof HttpError) return { status: error.status, message: error.message, type: error.type };
    throw error;
  }
  throw new Error("expected a 400");
}

describe("parseEmbeddingsRequest", () => {
  it("accepts every input form OpenAI accepts and lists the inputs", () => {
    const forms: [unknown, unknown][] = [
      ["hello", ["hello"]],
      [
        ["a", "b"],
        ["a", "b"],
      ],
      [[1, 2, 3], [[1, 2, 3]]],
      [
        [[1], [2, 3]],
        [[1], [2, 3]],
      ],
    ];
    for (const [input, listed] of forms) {
      const request = parseEmbeddingsRequest({ model: "openai/text-embedding-3-small", input });
      expect(embeddingInputs(request)).toEqual(listed);
    }
    const full = parseEmbeddingsRequest({
      model: "m",
      input: "x",
      encoding_format: "base64",
      dimensions: 256,
      user: "u",
      extra_field_from_a_newer_sdk: true,
    });
    expect(full).toEqual({ model: "m", input: "x", encoding_format: "base64", dimensions: 256, user: "u" });
  });

  it("fails with a 400 naming the field for each kind of bad request", () => {
    const cases: [unknown, string][] = [
      [[], "Request body must be a JSON object with model and input"],
      [{ input: "x" }, "Invalid request: model: must be a string"],
      [
        { model: "m" },
        "Invalid request: input: is required: must be a string, an array of strings, an array of token ids, or an array of token-id arrays",
      ],
      [
        { model: "m", input: 5 },
        "Invalid request: input: must be a string, an array of strings, an array of token ids, or an array of token-id arrays",
      ],
      [{ model: "m", input: "" }, "Invalid request: input: must not be empty"],
      [{ model: "m", input: [] }, "Invalid request: input: must not be an empty array"],
      [{ model: "m", input: ["a", ""] }, "Invalid request: input[1]: must not be empty"],
      [{ model: "m", input: ["a", 3] }, "Invalid request: input[1]: must be a string, like the other inputs"],
      [
        { model: "m", input: [1, -2] },
        "Invalid request: input: must contain only non-negative integer token ids",
      ],
      [{ model: "m", input: [[1], []] }, "Invalid request: input[1]: must not be an empty token array"],
      [
        { model: "m", input: "x", encoding_format: "int8" },
        'Invalid request: encoding_format: must be "float" or "base64"',
      ],
      [
        { model: "m", input: "x", dimensions: 0 },
        "Invalid request: dimensions: must be an integer from 1 to 8192",
      ],
      [
        { model: "m", input: "x", dimensions: 1.5 },
        "Invalid request: dimensions: must be an integer from 1 to 8192",
      ],
      [
        { model: "m", input: "x", dimensions: "256" },
        "Invalid request: dimensions: must be an integer from 1 to 8192",
      ],
      [{ model: "m", input: "x".repeat(40_000) }, "Invalid request: input: must be at most 32768 characters"],
    ];
    for (const [body, message] of cases) {
      expect(failure(body)).toEqual({ status: 400, message, type: "invalid_request_error" });
    }
  });

  it("fails when a request has too many inputs or too much text in total", () => {
    expect(
      failure({ model: "m", input: Array.from({ length: MAX_EMBEDDING_INPUTS + 1 }, () => "x") }).message,
    ).toBe("Invalid request: input: must have at most 2048 inputs");
    const big = Array.from({ length: 40 }, () => "y".repeat(32_000));
    expect(failure({ model: "m", input: big }).message).toBe(
      `Invalid request: input: is 1280000 characters or tokens in total; the limit is ${MAX_EMBEDDING_TOTAL_LENGTH}`,
    );
  });
});
