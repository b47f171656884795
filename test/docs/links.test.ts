import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/docs-format";

/** README.md and every Markdown file under docs/. */
const FILES = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** The text outside fenced code blocks, with inline code spans kept as their bare text. */
function prose(markdown: string): string {
  return markdown
    .replace(/^```[\s\S]*?^```/gm, "")
    .replace(/`+([^`]*)`+/g, (_, inner: string) => inner.replaceAll("[", "(").replaceAll("]", ")"));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[`*_]/g, (c) => (c === "_" ? "_" : ""))
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replaceAll(" ", "-");
}

/** Every anchor a file offers: its headings (numbered when repeated) and `<a id>` / `id=` targets. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of markdown.replace(/^```[\s\S]*?^```/gm, "").split("\n")) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      const base = slug(heading[1]!);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      found.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const id of line.matchAll(/\bid="([^"]+)"/g)) found.add(id[1]!);
  }
  return found;
}

/** Relative links of a file: [text](target) outside code; web and mail links are left out. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(path: string): Set<string> {
  const cached = anchorCache.get(path);
  if (cached) return cached;
  const found = anchors(readFileSync(path, "utf8"));
  anchorCache.set(path, found);
  return found;
}

/** Each broken link as "file: target (why)". */
function brokenLinks(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const problems: string[] = [];
  for (const target of relativeLinks(text)) {
    const [path = "", anchor] = target.split("#");
    const resolved = path === "" ? join(ROOT, file) : join(ROOT, dirname(file), decodeURIComponent(path));
    if (!existsSync(resolved)) {
      problems.push(`${file}: ${target} (no file ${relative(ROOT, resolved)})`);
      continue;
    }
    if (anchor && resolved.endsWith(".md") && !anchorsOf(resolved).has(anchor)) {
      problems.push(`${file}: ${target} (no heading or id "${anchor}" in ${relative(ROOT, resolved)})`);
    }
  }
  return problems;
}

describe("relative links in README.md and docs/*.md", () => {
  it.each(FILES)("%s: every relative link names an existing file and anchor", (file) => {
    expect(brokenLinks(file)).toEqual([]);
  });

  it("slugs headings, extracts links and collects anchors as GitHub does", () => {
    // The checker itself, on links it must refuse and accept.
    expect(slug("Review a change: `npm run plan:review`")).toBe("review-a-change-npm-run-planreview");
    expect(slug("1. Layout")).toBe("1-layout");
    expect(relativeLinks("[a](docs/none.md) [b](https://x.y/z) `[c](d.md)` [e](#f)")).toEqual([
      "docs/none.md",
      "#f",
    ]);
    expect(anchors('# A\n## A\n<a id="x"></a>')).toEqual(new Set(["a", "a-1", "x"]));
  });

  it("every alert's runbook anchor exists in docs/runbooks.md", () => {
    const monitoring = readFileSync(join(ROOT, "constructs/kubernetes/gateway-monitoring.ts"), "utf8");
    const used = [...monitoring.matchAll(/runbook: "([^"]+)"/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(5);
    const offered = anchors(readFileSync(join(ROOT, "docs/runbooks.md"), "utf8"));
    expect(used.filter((anchor) => !offered.has(anchor))).toEqual([]);
  });
});
