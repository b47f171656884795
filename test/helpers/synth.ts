import { Testing } from "cdktf";
import type { Construct } from "constructs";

/** A resource body as synthesized (snake_case attributes). */
export type Body = Record<string, unknown>;

/** Synthesized stack JSON. */
export interface Synthesized {
  readonly resource?: Record<string, Record<string, Body>>;
  readonly data?: Record<string, Record<string, Body>>;
  readonly variable?: Record<string, Body>;
  readonly terraform?: Body;
}

/** Synthesizes `build` in a fresh stack; returns the text (for the cdktf matchers) and the parsed JSON. */
export function synth(build: (scope: Construct) => void): { text: string; json: Synthesized } {
  const text = Testing.synthScope(build);
  return { text, json: JSON.parse(text) as Synthesized };
}

/** Every resource of a Terraform type. */
export function all(json: Synthesized, type: string): Body[] {
  return Object.values(json.resource?.[type] ?? {});
}

/** The resource of `type` whose metadata.name is `name`; throws listing the names present. */
export function named(json: Synthesized, type: string, name: string): Body {
  const found = all(json, type).find((body) => (body["metadata"] as Body | undefined)?.["name"] === name);
  if (!found) {
    const names = all(json, type).map((body) => (body["metadata"] as Body | undefined)?.["name"]);
    throw new Error(`no ${type} named ${name}; have ${names.join(", ")}`);
  }
  return found;
}

/** The pod spec of a Deployment or StatefulSet body. */
export function podSpec(body: Body): Body {
  return ((body["spec"] as Body)["template"] as Body)["spec"] as Body;
}

/** The first container of a Deployment or StatefulSet body. */
export function container(body: Body): Body {
  return (podSpec(body)["container"] as Body[])[0] as Body;
}

/** The synthesized reference to a Terraform variable, `${var.<name>}`. */
export function tfVar(name: string): string {
  return `$\{var.${name}}`;
}
