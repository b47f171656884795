import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { PromoteError, setActiveSlot } from "../../scripts/promote/active-slot";

const projectRoot = resolve(__dirname, "../..");
const FILE = "stacks/environments.ts";
const real = readFileSync(join(projectRoot, FILE), "utf8");

function changedLines(before: string, after: string): Array<[string, string]> {
  const left = before.split("\n");
  const right = after.split("\n");
  expect(right).toHaveLength(left.length);
  return left.flatMap((line, index) =>
    line === right[index] ? [] : [[line, right[index]!] as [string, string]],
  );
}

/** The real file with every environment's green slot autoscaled, so any of them can be promoted. */
const scaled = real.replace(/greenReplicas: \d+,/g, 'greenReplicas: "autoscale",');

/** The real file with one environment's green slot at a fixed count. */
function withGreen(environment: string, count: number): string {
  const pattern = new RegExp(`( {2}${environment}: \\{[\\s\\S]*?greenReplicas: )(?:\\d+|"autoscale"),`);
  expect(pattern.test(real)).toBe(true);
  return real.replace(pattern, `$1${count},`);
}

describe("setActiveSlot", () => {
  it.each(["development", "staging", "production"])("changes only %s's activeSlot line", (environment) => {
    const edit = setActiveSlot(scaled, environment, "green", FILE);
    expect(edit.previous).toBe("blue");
    expect(edit.changed).toBe(true);
    expect(edit.notes).toEqual([]);
    expect(changedLines(scaled, edit.source)).toEqual([
      ['    activeSlot: "blue",', '    activeSlot: "green",'],
    ]);
    const lines = edit.source.split("\n");
    const changedAt = lines.findIndex((line, index) => line !== scaled.split("\n")[index]);
    const owner = lines
      .slice(0, changedAt)
      .reverse()
      .find((line) => /^ {2}[a-z]+: \{$/.test(line));
    expect(owner).toBe(`  ${environment}: {`);
    expect(setActiveSlot(edit.source, environment, "blue", FILE).source).toBe(scaled);
  });

  it("fails when the target slot is parked", () => {
    expect(() => setActiveSlot(withGreen("staging", 0), "staging", "green", FILE)).toThrow(
      new PromoteError(
        'stacks/environments.ts: the green slot of "staging" is parked (greenReplicas: 0); scale it first to a fixed count of at least minReplicas (greenReplicas: 2; not straight to "autoscale": an HPA never scales up from 0), deploy and smoke-test it on the preview Service, then promote',
      ),
    );
  });

  it("promotes the committed preview slot, at minReplicas, with no note", () => {
    for (const environment of ["staging", "production"]) {
      const edit = setActiveSlot(real, environment, "green", FILE);
      expect(edit.notes).toEqual([]);
      expect(changedLines(real, edit.source)).toEqual([
        ['    activeSlot: "blue",', '    activeSlot: "green",'],
      ]);
    }
  });

  it("promotes to a slot pinned below minReplicas with a note to scale it first", () => {
    const few = withGreen("production", 1);
    const edit = setActiveSlot(few, "production", "green", FILE);
    expect(changedLines(few, edit.source)).toEqual([['    activeSlot: "blue",', '    activeSlot: "green",']]);
    expect(edit.notes).toEqual([
      "the green slot runs a fixed 1 replica (greenReplicas: 1); unless this is a rollback to a warm slot, scale it first to at least minReplicas (greenReplicas: 3) so it can carry the traffic",
    ]);
  });

  it("leaves the file as it is when the slot already is active", () => {
    expect(setActiveSlot(real, "staging", "blue", FILE)).toEqual({
      source: real,
      previous: "blue",
      changed: false,
      notes: [],
    });
  });

  it("fails when the environment or the slot is unknown", () => {
    expect(() => setActiveSlot(real, "qa", "green", FILE)).toThrow(
      new PromoteError('unknown environment "qa"; use one of development, staging, production'),
    );
    expect(() => setActiveSlot(real, "staging", "red", FILE)).toThrow(
      new PromoteError('unknown slot "red"; use blue or green'),
    );
  });

  it("fails when an environment has no activeSlot or more than one", () => {
    const none = real.replace(/( {2}staging: \{[\s\S]*?)\n {4}activeSlot: "blue",/, "$1");
    expect(() => setActiveSlot(none, "staging", "green", FILE)).toThrow(
      new PromoteError(
        'stacks/environments.ts: the "staging" entry has 0 activeSlot properties; it needs exactly one `activeSlot: "blue",` (or "green") line',
      ),
    );
    const two = real.replace(/( {2}staging: \{\n)/, '$1    activeSlot: "green",\n');
    expect(() => setActiveSlot(two, "staging", "green", FILE)).toThrow(
      'stacks/environments.ts: the "staging" entry has 2 activeSlot properties',
    );
  });

  it("fails when the activeSlot is not a literal", () => {
    const computed = real.replace(/( {2}production: \{[\s\S]*?)activeSlot: "blue",/, "$1activeSlot: SLOT,");
    expect(() => setActiveSlot(computed, "production", "green", FILE)).toThrow(
      new PromoteError(
        'stacks/environments.ts: the "production" activeSlot is `activeSlot: SLOT`, not a "blue" or "green" literal; write `activeSlot: "blue",` there and run promote again',
      ),
    );
  });

  it("fails when the file has no ENVIRONMENTS object", () => {
    expect(() => setActiveSlot("export const X = {};\n", "staging", "green", FILE)).toThrow(
      new PromoteError(
        "stacks/environments.ts has no `ENVIRONMENTS` object literal; promote edits the activeSlot of each environment there (pass --file to point at another file)",
      ),
    );
  });
});

describe("promote command", () => {
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(
        join(projectRoot, "node_modules/.bin/tsx"),
        [join(projectRoot, "scripts/promote.ts"), ...args],
        { cwd: projectRoot },
        (error, stdout, stderr) => done({ code: error ? (error.code as number) : 0, stdout, stderr }),
      );
    });

  it("rewrites the file and prints the next steps; exits 1 on an unknown slot", async () => {
    const dir = mkdtempSync(join(tmpdir(), "promote-"));
    const file = join(dir, "environments.ts");
    const few = withGreen("production", 1);
    writeFileSync(file, few);
    try {
      const promoted = await cli(["--env", "production", "--slot", "green", "--file", file]);
      expect(promoted.code).toBe(0);
      expect(promoted.stdout).toContain(
        `production: active slot blue → green (${file})\nNote: the green slot runs a fixed 1 replica (greenReplicas: 1); unless this is a rollback to a warm slot, scale it first to at least minReplicas (greenReplicas: 3) so it can carry the traffic\nNext steps:\n`,
      );
      expect(promoted.stdout).toContain("  npm run promote -- --env production --slot blue\n");
      expect(changedLines(few, readFileSync(file, "utf8"))).toEqual([
        ['    activeSlot: "blue",', '    activeSlot: "green",'],
      ]);
      const tagged = await cli([
        "--env",
        "production",
        "--slot",
        "blue",
        "--image-tag",
        "sha-1a2b3c4",
        "--file",
        file,
      ]);
      expect(tagged.code).toBe(1);
      expect(tagged.stderr).toContain("Unknown option '--image-tag'");
      const bad = await cli(["--env", "production", "--slot", "purple", "--file", file]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toBe('promote: unknown slot "purple"; use blue or green\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
