import { resolve } from "node:path";
import madge from "madge";
import { describe, expect, it } from "vitest";

// docs/design.md section 5: the request path reads top to bottom, so no module in app/ may
// (even by a type import) depend on one that depends back on it.
describe("app/ imports", () => {
  it("contain no import cycle", async () => {
    const root = resolve(__dirname, "../../app");
    const graph = await madge(root, {
      fileExtensions: ["ts"],
      tsConfig: resolve(__dirname, "../../tsconfig.json"),
      detectiveOptions: { ts: { skipTypeImports: false } },
    });
    expect(Object.keys(graph.obj()).length).toBeGreaterThan(50);
    expect(graph.circular()).toEqual([]);
  }, 60_000);
});
