import {
  type Action,
  type AttributeChange,
  type BlockChange,
  countActions,
  isInfrastructure,
  objectIdentity,
  type StackPlan,
} from "./diff";
import type { Json } from "./json";
import { MASK, maskAssignment } from "./sensitive";

/** GitHub refuses issue and pull-request comments longer than this. */
export const GITHUB_COMMENT_LIMIT = 65_536;

/** What the report says it compared. */
export interface ReportHeader {
  /** The base as the user named it (`origin/main`) and the commit it resolved to. */
  readonly base: string;
  readonly baseCommit: string;
  /** What the base was compared with, e.g. `working tree`. */
  readonly head: string;
}

const LONG_VALUE = 160;

/** A Markdown code span that survives backticks inside the text. */
export function code(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = "`".repeat(longest + 1);
  const pad = text.startsWith("`") || text.endsWith("`") || text === "" ? " " : "";
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A value as a reviewer reads it: JSON, cut around the first difference when long. */
function shown(value: Json | undefined, other: Json | undefined): string {
  if (value === undefined) return "(none)";
  const text = JSON.stringify(maskAssignment(value));
  if (text.length <= LONG_VALUE) return code(text);
  const otherText = other === undefined ? "" : JSON.stringify(maskAssignment(other));
  let first = 0;
  while (first < text.length && text[first] === otherText[first]) first++;
  const start = Math.max(0, first - 40);
  const window = text.slice(start, start + LONG_VALUE);
  return `${code(`${start > 0 ? "…" : ""}${window}${start + LONG_VALUE < text.length ? "…" : ""}`)} (${text.length} chars)`;
}

/**
 * `attribute: old → new`, masked when sensitive, with the replacement reason
 * when it forces one; `attribute: value` for a created resource.
 */
export function attributeLine(change: AttributeChange, created = false): string {
  if (created) {
    return `${code(change.path)}: ${change.sensitive ? MASK : shown(change.after, undefined)}`;
  }
  const before = change.sensitive
    ? change.before === undefined
      ? "(none)"
      : MASK
    : shown(change.before, change.after);
  const after = change.sensitive
    ? change.after === undefined
      ? "(none)"
      : MASK
    : shown(change.after, change.before);
  const replacement = change.forcesReplacement
    ? ` **forces replacement**: ${change.forcesReplacement.reason}`
    : "";
  return `${code(change.path)}: ${before} → ${after}${replacement}${ignoredNote(change)}`;
}

/** Why terraform leaves an ignored attribute alone, and for a volume size what to do instead. */
function ignoredNote(change: AttributeChange): string {
  if (!change.ignoredBy) return "";
  const note = ` **ignored by terraform** (\`lifecycle.ignore_changes\`: ${code(change.ignoredBy)}), nothing is replaced`;
  if (!/volume_claim_template\[\d+\]\.spec\.resources\.requests\.storage$/.test(change.path)) return note;
  return `${note}. The new size applies to volumes created from now on; grow the existing volume by PVC expansion (the storage class needs \`allowVolumeExpansion: true\`): \`kubectl -n <namespace> patch pvc data-<name>-0 --type merge -p '{"spec":{"resources":{"requests":{"storage":"<size>"}}}}'\` (docs/operations.md, "Growing a volume")`;
}

function identityNote(entry: BlockChange): string {
  const identity = objectIdentity(entry.block);
  if (!identity) return "";
  const namespace = identity.namespace === undefined ? "" : `, namespace ${code(identity.namespace)}`;
  return ` (name ${code(identity.name)}${namespace})`;
}

function heading(entry: BlockChange): string {
  const path = entry.block.constructPath ? ` from ${code(entry.block.constructPath)}` : "";
  return `${code(entry.block.address)}${path}${identityNote(entry)}`;
}

function renameNote(entry: BlockChange): string[] {
  if (!entry.rename) return [];
  const other = entry.rename.counterpartConstructPath
    ? `${code(entry.rename.counterpart)} (${code(entry.rename.counterpartConstructPath)})`
    : code(entry.rename.counterpart);
  const direction = entry.action === "remove" ? `re-created as ${other}` : `replaces ${other}`;
  return [
    `  - :warning: **likely a renamed construct id**: same type and ${entry.rename.identity}, ${direction}. Terraform destroys the old object and creates a new one; if the id change is not intended, restore the old id (construct ids are a public contract) or move the state (\`terraform state mv\`, or cdktf's \`moveTo\` / \`moveFromId\`).`,
  ];
}

const SECTION_TITLES: Readonly<Record<Action, string>> = {
  replace: "Replaced (destroyed, then created)",
  remove: "Removed (destroyed)",
  update: "Changed in place",
  add: "Added",
};

const OTHER_VERBS: Readonly<Record<Action, string>> = {
  replace: "changed",
  remove: "removed",
  update: "changed",
  add: "added",
};

/** Why a blue-green promotion touches more than the Services' selectors, next to what it touches. */
function blueGreenNote(entry: BlockChange): string[] {
  const path = entry.block.constructPath ?? "";
  if (entry.action !== "update") return [];
  if (entry.block.type === "kubernetes_resource" && path.endsWith("/ActiveRollout")) {
    return [
      "  - the promotion gate: Terraform reads the Deployment the main Service switches to, and the Service's precondition refuses to plan or apply the switch unless it is fully rolled out and available",
    ];
  }
  const bounds = ["spec.min_replicas", "spec.max_replicas"];
  if (
    entry.block.type === "kubernetes_horizontal_pod_autoscaler_v2" &&
    /\/(Blue|Green)\/Autoscaler$/.test(path) &&
    entry.attributes.every((attribute) => bounds.includes(attribute.path))
  ) {
    return [
      "  - autoscaling follows the live slot: the slot's HPA takes the bounds of its new role (live or idle)",
    ];
  }
  return [];
}

/** Markdown of one block change, with every changed attribute. */
function entryLines(entry: BlockChange): string[] {
  const lines = [`- ${heading(entry)}`];
  if (entry.moved)
    lines.push(`  - moved from ${code(entry.moved.from)} (state follows; nothing is destroyed)`);
  lines.push(...renameNote(entry));
  lines.push(...blueGreenNote(entry));
  if (entry.action === "add" && entry.attributes.length > 0) {
    // Folded: a new resource's attributes are many and rarely all of interest.
    const count = entry.attributes.length;
    lines.push(`  <details><summary>${count} attribute${count === 1 ? "" : "s"}</summary>`, "");
    for (const attribute of entry.attributes) lines.push(`  - ${attributeLine(attribute, true)}`);
    lines.push("", "  </details>");
    return lines;
  }
  for (const attribute of entry.attributes) lines.push(`  - ${attributeLine(attribute)}`);
  return lines;
}

function countsRow(plan: StackPlan): string {
  const counts = countActions(plan);
  const status =
    plan.status === "added" ? " (new stack)" : plan.status === "removed" ? " (stack removed)" : "";
  return `| ${code(plan.stack)}${status} | ${counts.add} | ${counts.update} | ${counts.replace} | ${counts.remove} | ${counts.other} |`;
}

/**
 * The warning at the very top when a change destroys a stateful resource
 * (risk 5: a replaced or removed namespace, StatefulSet, volume or Secret).
 */
function statefulDestroyLines(plans: readonly StackPlan[], limit = Number.POSITIVE_INFINITY): string[] {
  const destroys = plans.flatMap((plan) =>
    plan.changes
      .filter((entry) => entry.risk >= 5 && (entry.action === "replace" || entry.action === "remove"))
      .map((entry) => riskLine(plan, entry)),
  );
  if (destroys.length === 0) return [];
  if (limit === 0) {
    return [
      "> [!CAUTION]",
      `> **Destroys ${destroys.length} stateful resource${destroys.length === 1 ? "" : "s"}** (listed first below): data is lost unless restored from a backup.`,
      "",
    ];
  }
  const shown = destroys.slice(0, limit);
  return [
    `> [!CAUTION]`,
    `> **Destroys ${destroys.length} stateful resource${destroys.length === 1 ? "" : "s"}: the data in ${destroys.length === 1 ? "it" : "them"} is lost unless restored from a backup.**`,
    ...shown.map((line) => `> ${line}`),
    ...(destroys.length > shown.length ? [`> - … and ${destroys.length - shown.length} more`] : []),
    ">",
    '> Where destroy protection is on (staging, production), terraform refuses this apply. Take a backup and lift the protection deliberately (docs/operations.md, "Destroy protection and how to lift it") only if the loss is intended; a storage size change is made by PVC expansion instead (docs/operations.md, "Growing a volume").',
    "",
  ];
}

function headerLines(
  header: ReportHeader,
  plans: readonly StackPlan[],
  destroysShown = Number.POSITIVE_INFINITY,
): string[] {
  const total = plans.reduce((sum, plan) => sum + plan.changes.length, 0);
  const lines = [
    `## Plan review: ${code(header.base)} (${code(header.baseCommit.slice(0, 12))}) → ${header.head}`,
    "",
  ];
  if (total === 0) {
    lines.push(
      `No changes in ${plans.length} stack${plans.length === 1 ? "" : "s"} (${plans.map((plan) => code(plan.stack)).join(", ")}).`,
    );
    return lines;
  }
  lines.push(...statefulDestroyLines(plans, destroysShown));
  lines.push(
    "| stack | added | changed | replaced | removed | variables, outputs, providers, backend |",
    "|---|---:|---:|---:|---:|---:|",
  );
  lines.push(...plans.map(countsRow), "");
  return lines;
}

/** The full report: every stack, every change, every attribute. */
export function renderReport(header: ReportHeader, plans: readonly StackPlan[]): string {
  const lines = headerLines(header, plans);
  for (const plan of plans) {
    if (plan.changes.length === 0) continue;
    lines.push(`### ${code(plan.stack)}`, "");
    if (plan.status === "removed")
      lines.push(":warning: **This stack no longer exists: everything in it is destroyed.**", "");
    for (const action of ["replace", "remove", "update", "add"] as const) {
      const entries = plan.changes.filter(
        (entry) => entry.action === action && isInfrastructure(entry.block),
      );
      if (entries.length === 0) continue;
      lines.push(`#### ${SECTION_TITLES[action]}`, "");
      for (const entry of entries) lines.push(...entryLines(entry));
      lines.push("");
    }
    const others = plan.changes.filter((entry) => !isInfrastructure(entry.block));
    if (others.length > 0) {
      lines.push("#### Variables, outputs, providers and backend", "");
      for (const entry of others) {
        const [first = "", ...rest] = entryLines(entry);
        lines.push(first.replace(/^- /, `- ${OTHER_VERBS[entry.action]} `), ...rest);
      }
      lines.push("");
    }
  }
  lines.push(
    "<sub>Compared synthesized `cdk.tf.json` (no terraform, no cluster). Replacements follow the documented table in `scripts/plan/replacement-rules.ts`; `cdktf diff` is authoritative.</sub>",
  );
  return `${lines.join("\n")}\n`;
}

/** One line of the risk list in the summary. */
function riskLine(plan: StackPlan, entry: BlockChange): string {
  const what = SECTION_TITLES[entry.action].split(" ")[0]!.toLowerCase();
  const reasons = [
    ...new Set(
      entry.attributes.flatMap((attribute) => (attribute.forcesReplacement ? [attribute.path] : [])),
    ),
  ];
  const because = reasons.length > 0 ? ` because of ${reasons.slice(0, 3).map(code).join(", ")}` : "";
  const rename = entry.rename ? " (likely a renamed construct id)" : "";
  return `- ${code(plan.stack)}: ${what} ${heading(entry)}${because}${rename}`;
}

/**
 * A summary that fits within `maxChars`: counts per stack and the riskiest
 * changes first (replacements and removals of stateful resources), pointing
 * at the full report.
 */
export function renderSummary(
  header: ReportHeader,
  plans: readonly StackPlan[],
  fullReportPath: string,
  fullReportChars: number,
  maxChars: number,
): string {
  // The warning names the first few stateful destroys, fewer when room is short; the riskiest list goes on.
  for (const destroysShown of [3, 1]) {
    const text = summaryWith(header, plans, fullReportPath, fullReportChars, maxChars, destroysShown);
    if (text.length <= maxChars) return text;
  }
  return summaryWith(header, plans, fullReportPath, fullReportChars, maxChars, 0);
}

function summaryWith(
  header: ReportHeader,
  plans: readonly StackPlan[],
  fullReportPath: string,
  fullReportChars: number,
  maxChars: number,
  destroysShown: number,
): string {
  const head = [
    ...headerLines(header, plans, destroysShown),
    `The full report (${fullReportChars.toLocaleString("en-US")} characters) is longer than a pull-request comment allows; it was written to ${code(fullReportPath)} (and CI attaches it as the \`plan-review\` artifact).`,
    "",
    "### Riskiest changes first",
    "",
  ];
  const ranked = plans
    .flatMap((plan) => plan.changes.map((entry) => ({ plan, entry })))
    .filter(({ entry }) => entry.risk > 0)
    .sort((a, b) => b.entry.risk - a.entry.risk);
  const body: string[] = [];
  let size = head.join("\n").length + 200;
  for (const [index, { plan, entry }] of ranked.entries()) {
    const line = riskLine(plan, entry);
    if (size + line.length + 1 > maxChars) {
      body.push(`- … and ${ranked.length - index} more (see the full report)`);
      break;
    }
    body.push(line);
    size += line.length + 1;
  }
  if (ranked.length === 0) body.push("- only additions");
  // Additions, counted by type: what a stack gains, at a glance.
  const added = plans.flatMap((plan) => {
    const byType = new Map<string, number>();
    for (const entry of plan.changes) {
      if (entry.action === "add" && isInfrastructure(entry.block)) {
        byType.set(entry.block.type, (byType.get(entry.block.type) ?? 0) + 1);
      }
    }
    if (byType.size === 0) return [];
    const types = [...byType.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([type, count]) => `${count} × ${code(type)}`);
    return [`- ${code(plan.stack)}: ${types.join(", ")}`];
  });
  const addedSection = added.length > 0 ? ["", "### Added, by type", "", ...added] : [];
  if (size + addedSection.join("\n").length <= maxChars) body.push(...addedSection);
  return `${[...head, ...body].join("\n")}\n`;
}
