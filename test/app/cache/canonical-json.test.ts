import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../../app/cache/cache-key";

// The recursive form canonicalJson replaced: its output is the contract (cache keys must not change).
function sortedRecursively(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : sortedRecursively(item)));
  if (value !== null && typeof value === "object") {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) sorted[key] = sortedRecursively(member);
    }
    return sorted;
  }
  return value;
}

describe("canonicalJson", () => {
  it("gives what JSON.stringify gives for the key-sorted value, for any JSON-like value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.anything(), (json, anything) => {
        expect(canonicalJson(json)).toBe(JSON.stringify(sortedRecursively(json)));
        expect(canonicalJson({ a: anything, b: [anything] })).toBe(
          JSON.stringify(sortedRecursively({ a: anything, b: [anything] })),
        );
      }),
      { seed: 14, numRuns: 500 },
    );
    expect(canonicalJson({ b: 1, a: [undefined, 2, Number.NaN], c: undefined, d: { z: null, y: "é" } })).toBe(
      '{"a":[null,2,null],"b":1,"d":{"y":"é","z":null}}',
    );
  });

  it("handles nesting far deeper than the call stack allows", () => {
    const depth = 200_000;
    let value: unknown = "leaf";
    for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value };
    expect(() => JSON.stringify(value)).toThrow(RangeError);
    expect(canonicalJson(value)).toBe(`${'{"k":['.repeat(depth / 2)}"leaf"${"]}".repeat(depth / 2)}`);
  });
});
