import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { release } from "../../scripts/release";

const ROOT = join(__dirname, "../..");
const ENVIRONMENTS_FILE = join(ROOT, "stacks/environments.ts");
const SOURCE = readFileSync(ENVIRONMENTS_FILE, "utf8");

/** Lines of `after` that differ from `before` (same line count). */
function changedLines(before: string, after: string): string[] {
  const old = before.split("\n");
  return after.split("\n").filter((line, index) => line !== old[index]);
}

/** The environment block's lines, `  <name>: {` to `  },`. */
function block(source: string, name: string): string {
  const lines = source.split("\n");
  const start = lines.indexOf(`  ${name}: {`);
  return lines.slice(start, lines.indexOf("  },", start) + 1).join("\n");
}

describe("npm run release", () => {
  const dir = mkdtempSync(join(tmpdir(), "ai-deploy-kit-release-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) => {
    const file = join(dir, "environments.ts");
    copyFileSync(ENVIRONMENTS_FILE, file);
    const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/release.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, RELEASE_ENVIRONMENTS_FILE: file },
      encoding: "utf8",
    });
    return { ...result, source: readFileSync(file, "utf8") };
  };

  it("rewrites only the idle slot's tag line of that environment", () => {
    const result = run("--env", "staging", "--tag", "sha-1a2b3c4");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const active = /activeSlot: "(blue|green)"/.exec(block(SOURCE, "staging"))?.[1];
    const idle = active === "blue" ? "green" : "blue";
    expect(changedLines(SOURCE, result.source)).toEqual([`    ${idle}ImageTag: "sha-1a2b3c4",`]);
    expect(block(result.source, "production")).toBe(block(SOURCE, "production"));
    expect(result.stdout).toContain(`staging: idle slot ${idle} now runs "sha-1a2b3c4"`);
  });

  it("follows activeSlot: with green live it releases to blue", () => {
    const flipped = SOURCE.replace(
      block(SOURCE, "production"),
      block(SOURCE, "production").replace(/activeSlot: "(blue|green)"/, 'activeSlot: "green"'),
    );
    const result = release(flipped, "production", "1.2.3");
    expect(result.slot).toBe("blue");
    expect(changedLines(flipped, result.source)).toEqual(['    blueImageTag: "1.2.3",']);
  });

  it("fails when the tag is latest", () => {
    const result = run("--env", "production", "--tag", "latest");
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'release: --tag "latest" is mutable; pass the immutable tag CI pushed, for example "sha-1a2b3c4"\n',
    );
    expect(result.source).toBe(SOURCE);
  });

  it("fails when the environment is unknown", () => {
    const result = run("--env", "qa", "--tag", "sha-1a2b3c4");
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'release: unknown environment "qa"; use one of staging, production (development builds its image locally)\n',
    );
    expect(result.source).toBe(SOURCE);
  });

  it("fails when the tag is empty or invalid", () => {
    expect(() => release(SOURCE, "staging", "")).toThrow(
      '--tag is empty; pass the tag CI pushed, for example "sha-1a2b3c4"',
    );
    expect(() => release(SOURCE, "staging", "v1 beta")).toThrow(
      '--tag ("v1 beta") is not a valid image tag; use letters, digits, "_", "." and "-" (at most 128, not starting with "." or "-"), for example "sha-1a2b3c4"',
    );
    expect(() => release(SOURCE, "staging", "-rc1")).toThrow('--tag ("-rc1") is not a valid image tag');
  });

  it("fails when the environment block does not have exactly one tag line per slot", () => {
    const staging = block(SOURCE, "staging");
    const doubled = SOURCE.replace(
      staging,
      staging.replace('    greenImageTag: "', '    greenImageTag: "x",\n    greenImageTag: "'),
    );
    expect(() => release(doubled, "staging", "sha-1a2b3c4")).toThrow(
      'stacks/environments.ts: expected exactly one greenImageTag: "…", line in staging, found 2',
    );
  });
});
