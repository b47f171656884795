/** A JSON value as found in a synthesized `cdk.tf.json`. */
export type Json = null | boolean | number | string | Json[] | JsonObject;
/** A JSON object. */
export interface JsonObject {
  [key: string]: Json;
}

/** One step of an attribute path: an object key or an array index. */
export type PathSegment = string | number;

/** True for plain JSON objects (not arrays, not null). */
export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Structural equality of two JSON values. */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => jsonEqual(item, b[index]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => key in b && jsonEqual(a[key], b[key]));
  }
  return false;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Renders a path the way reviewers read it: `spec.selector["app.kubernetes.io/name"]`, `env[2].value`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** The path without array indices, as the replacement rules name attributes: `spec.volume_claim_template.spec`. */
export function keyPath(segments: readonly PathSegment[]): string[] {
  return segments.filter((segment): segment is string => typeof segment === "string");
}

/** The value at `segments` inside `root`, or undefined. */
export function valueAt(root: Json | undefined, segments: readonly PathSegment[]): Json | undefined {
  let current: Json | undefined = root;
  for (const segment of segments) {
    if (typeof segment === "number") current = Array.isArray(current) ? current[segment] : undefined;
    else current = isObject(current) ? current[segment] : undefined;
    if (current === undefined) return undefined;
  }
  return current;
}

/** Every leaf of a value with its path; empty objects and arrays count as leaves. */
export function leaves(
  value: Json | undefined,
  prefix: readonly PathSegment[] = [],
): Array<[PathSegment[], Json]> {
  if (value === undefined) return [];
  if (Array.isArray(value) && value.length > 0) {
    return value.flatMap((item, index) => leaves(item, [...prefix, index]));
  }
  if (isObject(value) && Object.keys(value).length > 0) {
    return Object.keys(value)
      .sort()
      .flatMap((key) => leaves(value[key], [...prefix, key]));
  }
  return [[[...prefix], value]];
}
