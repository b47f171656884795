import {
  formatPath,
  isObject,
  type Json,
  type JsonObject,
  jsonEqual,
  keyPath,
  leaves,
  type PathSegment,
  valueAt,
} from "./json";
import { baseType, type ReplacementRule, replacementRule, STATEFUL_TYPES } from "./replacement-rules";
import { isSensitive } from "./sensitive";

/** The kinds of top-level block in a synthesized stack. */
export type BlockKind =
  | "resource"
  | "data"
  | "variable"
  | "output"
  | "provider"
  | "local"
  | "module"
  | "terraform";

/** One addressable block of a synthesized stack: a resource, a data source, a variable, … */
export interface Block {
  readonly kind: BlockKind;
  /** Terraform address: `kubernetes_service_v1.Active`, `data.x.y`, `var.kubeconfig_path`. */
  readonly address: string;
  /** Resource or data source type (`kubernetes_service_v1`); the block kind otherwise. */
  readonly type: string;
  /** The construct path (`staging/Gateway/Active`) cdktf records, when it does. */
  readonly constructPath: string | undefined;
  /** The body without cdktf's `//` metadata. */
  readonly body: JsonObject;
}

/** One attribute whose value differs. */
export interface AttributeChange {
  /** Reviewer-facing path: `spec.template.spec.container[0].image`. */
  readonly path: string;
  readonly segments: readonly PathSegment[];
  readonly before: Json | undefined;
  readonly after: Json | undefined;
  /** The value must never be shown. */
  readonly sensitive: boolean;
  /** The rule that makes this change destroy and recreate the resource. */
  readonly forcesReplacement: ReplacementRule | undefined;
  /** The `lifecycle.ignore_changes` entry that makes terraform leave this attribute alone, if any. */
  readonly ignoredBy?: string;
}

/** What happens to a block. */
export type Action = "add" | "update" | "replace" | "remove";

/** A removed block and an added one that are probably the same object under a new construct id. */
export interface RenameHint {
  /** The other side's address (the added one for a removal, the removed one for an addition). */
  readonly counterpart: string;
  readonly counterpartConstructPath: string | undefined;
  /** What matched: `metadata.name "gateway" in namespace "ai-staging"`. */
  readonly identity: string;
}

/** A moved block (terraform `moved { from, to }`): state follows, nothing is destroyed. */
export interface MoveHint {
  readonly from: string;
}

/** The change to one block. */
export interface BlockChange {
  readonly action: Action;
  readonly block: Block;
  /** Updates and replacements: the changed attributes; additions: every attribute; removals: none. */
  readonly attributes: readonly AttributeChange[];
  /** Set on a removal and its matching addition when they look like a renamed construct id. */
  readonly rename: RenameHint | undefined;
  readonly moved: MoveHint | undefined;
  /** Higher is riskier; see {@link riskOf}. */
  readonly risk: number;
}

/** One stack's planned changes. */
export interface StackPlan {
  readonly stack: string;
  /** `added`: the stack is new; `removed`: the stack is gone (every resource destroyed). */
  readonly status: "compared" | "added" | "removed";
  readonly changes: readonly BlockChange[];
}

const withoutMetadata = (body: JsonObject): JsonObject => {
  const { "//": _metadata, ...rest } = body;
  return rest;
};

const constructPathOf = (body: JsonObject): string | undefined => {
  const meta = valueAt(body, ["//", "metadata", "path"]);
  return typeof meta === "string" ? meta : undefined;
};

/** Splits a synthesized stack (`cdk.tf.json`) into addressable blocks. */
export function blocksOf(stack: JsonObject): Map<string, Block> {
  const blocks = new Map<string, Block>();
  const add = (kind: BlockKind, address: string, type: string, body: Json) => {
    if (!isObject(body)) {
      blocks.set(address, { kind, address, type, constructPath: undefined, body: { value: body } });
      return;
    }
    blocks.set(address, {
      kind,
      address,
      type,
      constructPath: constructPathOf(body),
      body: withoutMetadata(body),
    });
  };
  for (const [kind, prefix] of [
    ["resource", ""],
    ["data", "data."],
  ] as const) {
    const byType = stack[kind];
    if (!isObject(byType)) continue;
    for (const [type, byName] of Object.entries(byType)) {
      if (!isObject(byName)) continue;
      for (const [name, body] of Object.entries(byName)) add(kind, `${prefix}${type}.${name}`, type, body);
    }
  }
  for (const [kind, key, prefix] of [
    ["variable", "variable", "var."],
    ["output", "output", "output."],
    ["local", "locals", "local."],
    ["module", "module", "module."],
  ] as const) {
    const byName = stack[key];
    if (!isObject(byName)) continue;
    for (const [name, body] of Object.entries(byName)) add(kind, `${prefix}${name}`, kind, body);
  }
  const providers = stack["provider"];
  if (isObject(providers)) {
    for (const [type, list] of Object.entries(providers)) {
      const entries = Array.isArray(list) ? list : [list];
      entries.forEach((body, index) => {
        const alias = isObject(body) && typeof body["alias"] === "string" ? body["alias"] : undefined;
        const suffix = alias ? `.${alias}` : index > 0 ? `[${index}]` : "";
        add("provider", `provider.${type}${suffix}`, "provider", body);
      });
    }
  }
  const terraform = stack["terraform"];
  if (isObject(terraform)) add("terraform", "terraform", "terraform", terraform);
  return blocks;
}

/** `moved` blocks of a stack: new address → old address. */
function movesOf(stack: JsonObject): Map<string, string> {
  const moves = new Map<string, string>();
  const moved = stack["moved"];
  for (const entry of Array.isArray(moved) ? moved : []) {
    if (isObject(entry) && typeof entry["from"] === "string" && typeof entry["to"] === "string") {
      moves.set(entry["to"], entry["from"]);
    }
  }
  return moves;
}

/**
 * For a list of blocks that each carry a distinct string `name`, a two-way
 * map between index and name (index → name and name → index); otherwise
 * undefined and the list is compared by index.
 */
function namesOf(list: readonly Json[]): (Map<number, string> & Map<string, number>) | undefined {
  if (list.length === 0) return undefined;
  const map = new Map<number | string, number | string>();
  for (const [index, item] of list.entries()) {
    const name = isObject(item) ? item["name"] : undefined;
    if (typeof name !== "string" || map.has(name)) return undefined;
    map.set(index, name);
    map.set(name, index);
  }
  return map as Map<number, string> & Map<string, number>;
}

/** Every attribute that differs between two bodies, leaf by leaf, in path order. */
export function attributeChanges(
  kind: BlockKind,
  type: string,
  before: JsonObject,
  after: JsonObject,
): AttributeChange[] {
  const changes: AttributeChange[] = [];
  const immutable = before["immutable"] === true || after["immutable"] === true;
  const scope = { kind, type: kind === "resource" || kind === "data" ? type : undefined, before, after };
  const visit = (left: Json | undefined, right: Json | undefined, segments: PathSegment[]) => {
    if (jsonEqual(left, right)) return;
    if (isObject(left) && isObject(right)) {
      const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
      for (const key of keys) visit(left[key], right[key], [...segments, key]);
      return;
    }
    if (Array.isArray(left) && Array.isArray(right)) {
      const leftNames = namesOf(left);
      const rightNames = namesOf(right);
      if (leftNames && rightNames) {
        // Blocks with unique names (env, container, port, volume) pair by name, so one
        // inserted entry shows as one addition instead of shifting every later index.
        // Paths use the working tree's index, or the base's for a removed entry.
        right.forEach((item, index) => {
          const before = leftNames.get(rightNames.get(index)!);
          visit(before === undefined ? undefined : left[before], item, [...segments, index]);
        });
        const kept = new Set(rightNames.values());
        left.forEach((item, index) => {
          if (!kept.has(leftNames.get(index)!)) visit(item, undefined, [...segments, index]);
        });
        return;
      }
      for (let index = 0; index < Math.max(left.length, right.length); index++) {
        visit(left[index], right[index], [...segments, index]);
      }
      return;
    }
    const structured = (value: Json | undefined) =>
      (isObject(value) && Object.keys(value).length > 0) || (Array.isArray(value) && value.length > 0);
    if (structured(left) || structured(right)) {
      // A block appears, disappears or changes shape: compare leaf by leaf.
      const oldLeaves = new Map(
        leaves(left, segments).map(([path, value]) => [formatPath(path), { path, value }]),
      );
      const newLeaves = new Map(
        leaves(right, segments).map(([path, value]) => [formatPath(path), { path, value }]),
      );
      for (const key of [...new Set([...oldLeaves.keys(), ...newLeaves.keys()])]) {
        const oldLeaf = oldLeaves.get(key);
        const newLeaf = newLeaves.get(key);
        if (jsonEqual(oldLeaf?.value, newLeaf?.value)) continue;
        push((oldLeaf ?? newLeaf)!.path, oldLeaf?.value, newLeaf?.value);
      }
      return;
    }
    push(segments, left, right);
  };
  const push = (segments: PathSegment[], left: Json | undefined, right: Json | undefined) => {
    const forcesReplacement =
      kind === "resource"
        ? replacementRule({ type, keys: keyPath(segments), before: left, after: right, immutable })
        : undefined;
    changes.push({
      path: formatPath(segments),
      segments,
      before: left,
      after: right,
      sensitive: isSensitive(scope, segments, [left, right]),
      forcesReplacement,
    });
  };
  visit(before, after, []);
  return changes;
}

/** The real object a resource manages, independent of its construct id. */
export interface ObjectIdentity {
  /** The attribute that names it: `metadata.name`, `manifest.metadata.name` or `name`. */
  readonly field: string;
  readonly name: string;
  readonly namespace: string | undefined;
}

/** What names the object a block manages, when it says. */
export function objectIdentity(block: Block): ObjectIdentity | undefined {
  for (const prefix of [["metadata"], ["manifest", "metadata"], []]) {
    const name = valueAt(block.body, [...prefix, "name"]);
    if (typeof name !== "string" || name === "") continue;
    const namespace = valueAt(block.body, [...prefix, "namespace"]);
    return {
      field: [...prefix, "name"].join("."),
      name,
      namespace: typeof namespace === "string" ? namespace : undefined,
    };
  }
  return undefined;
}

function identityOf(block: Block): string | undefined {
  const identity = objectIdentity(block);
  if (!identity) return undefined;
  return identity.namespace === undefined
    ? `${identity.field} "${identity.name}"`
    : `${identity.field} "${identity.name}" in namespace "${identity.namespace}"`;
}

/**
 * Risk of a change, highest first: 5 replacing or removing a stateful
 * resource (data, a namespace and all it holds), 4 other replacements,
 * 3 other removals, 2 in-place changes of a stateful resource, 1 other
 * in-place changes, 0 additions.
 */
export function riskOf(action: Action, block: Block): number {
  const stateful = block.kind === "resource" && STATEFUL_TYPES.has(baseType(block.type));
  switch (action) {
    case "replace":
      return stateful ? 5 : 4;
    case "remove":
      return stateful ? 5 : block.kind === "resource" ? 3 : 1;
    case "update":
      return stateful ? 2 : 1;
    case "add":
      return 0;
  }
}

/**
 * Marks the changes the working tree's `lifecycle.ignore_changes` covers: terraform
 * neither updates nor replaces for them (a StatefulSet's volume claim template,
 * grown through PVC expansion instead), so they force nothing.
 */
function ignoring(body: JsonObject, attributes: AttributeChange[]): AttributeChange[] {
  const ignored = valueAt(body, ["lifecycle", "ignore_changes"]);
  if (!Array.isArray(ignored)) return attributes;
  const prefixes = ignored
    .filter((entry): entry is string => typeof entry === "string")
    .map((entry) => ({ entry, keys: entry.replace(/\[\d+\]/g, "").split(".") }));
  return attributes.map((attribute) => {
    const keys = attribute.segments.filter((segment): segment is string => typeof segment === "string");
    const match = prefixes.find((prefix) => prefix.keys.every((key, index) => keys[index] === key));
    return match ? { ...attribute, forcesReplacement: undefined, ignoredBy: match.entry } : attribute;
  });
}

const ACTION_ORDER: Readonly<Record<Action, number>> = { replace: 0, remove: 1, update: 2, add: 3 };

/** Compares one stack at the base with the same stack in the working tree. */
export function diffStack(
  name: string,
  base: JsonObject | undefined,
  head: JsonObject | undefined,
): StackPlan {
  const before = base ? blocksOf(base) : new Map<string, Block>();
  const after = head ? blocksOf(head) : new Map<string, Block>();
  const moves = head ? movesOf(head) : new Map<string, string>();
  const movedFrom = new Set(moves.values());
  const changes: BlockChange[] = [];
  const change = (action: Action, block: Block, attributes: AttributeChange[], moved?: MoveHint) => {
    changes.push({ action, block, attributes, rename: undefined, moved, risk: riskOf(action, block) });
  };

  for (const [address, block] of before) {
    if (!after.has(address) && !movedFrom.has(address)) change("remove", block, []);
  }
  for (const [address, block] of after) {
    const fromAddress = moves.get(address);
    const old = before.get(address) ?? (fromAddress ? before.get(fromAddress) : undefined);
    if (!old) {
      // Every attribute of a new block, so reviewers see what is created (a creation forces nothing).
      const created = attributeChanges(block.kind, block.type, {}, block.body).map((attribute) => ({
        ...attribute,
        forcesReplacement: undefined,
      }));
      change("add", block, created);
      continue;
    }
    const attributes = ignoring(block.body, attributeChanges(block.kind, block.type, old.body, block.body));
    const moved = !before.has(address) && fromAddress ? { from: fromAddress } : undefined;
    if (attributes.length === 0 && !moved) continue;
    const replaced = attributes.some((attribute) => attribute.forcesReplacement !== undefined);
    change(replaced ? "replace" : "update", block, attributes, moved);
  }

  // A removal and an addition of the same type naming the same object: most likely a renamed construct id.
  const removals = changes.filter((entry) => entry.action === "remove" && entry.block.kind === "resource");
  const additions = changes.filter((entry) => entry.action === "add" && entry.block.kind === "resource");
  const paired = new Set<BlockChange>();
  const hinted = new Map<BlockChange, RenameHint>();
  for (const removal of removals) {
    const identity = identityOf(removal.block);
    if (!identity) continue;
    const addition = additions.find(
      (candidate) =>
        !paired.has(candidate) &&
        candidate.block.type === removal.block.type &&
        identityOf(candidate.block) === identity,
    );
    if (!addition) continue;
    paired.add(addition);
    hinted.set(removal, {
      counterpart: addition.block.address,
      counterpartConstructPath: addition.block.constructPath,
      identity,
    });
    hinted.set(addition, {
      counterpart: removal.block.address,
      counterpartConstructPath: removal.block.constructPath,
      identity,
    });
  }
  const result = changes.map((entry) => {
    const rename = hinted.get(entry);
    // A destroy and create of the same object is as risky as a replacement.
    return rename ? { ...entry, rename, risk: Math.max(entry.risk, riskOf("replace", entry.block)) } : entry;
  });
  result.sort(
    (a, b) =>
      b.risk - a.risk ||
      ACTION_ORDER[a.action] - ACTION_ORDER[b.action] ||
      a.block.address.localeCompare(b.block.address),
  );
  return { stack: name, status: !base ? "added" : !head ? "removed" : "compared", changes: result };
}

/** Compares every stack; stacks are reported in name order. */
export function diffStacks(
  base: ReadonlyMap<string, JsonObject>,
  head: ReadonlyMap<string, JsonObject>,
): StackPlan[] {
  const names = [...new Set([...base.keys(), ...head.keys()])].sort();
  return names.map((name) => diffStack(name, base.get(name), head.get(name)));
}

/** Whether a block is infrastructure (a resource or data source) rather than a variable, output, provider or backend setting. */
export function isInfrastructure(block: Block): boolean {
  return block.kind === "resource" || block.kind === "data";
}

/** Counts of one plan's resource changes by action, and of its other changes (variables, outputs, providers, backend). */
export function countActions(plan: StackPlan): Record<Action | "other", number> {
  const counts: Record<Action | "other", number> = { add: 0, update: 0, replace: 0, remove: 0, other: 0 };
  for (const entry of plan.changes) {
    if (isInfrastructure(entry.block)) counts[entry.action]++;
    else counts.other++;
  }
  return counts;
}
