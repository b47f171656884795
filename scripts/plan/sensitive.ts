import { isObject, type Json, type PathSegment, valueAt } from "./json";
import { baseType } from "./replacement-rules";

/** What a masked value is shown as. */
export const MASK = "(sensitive)";

/** Attribute keys whose values are secret: `password`, `token`, `client_secret`, `api_key`, `key`, … */
const SECRET_KEY =
  /pass(word|wd|phrase)?$|token|secret|credential|api[-_]?keys?$|private[-_]?key|access[-_]?key|^key$/i;
/** Keys that only name or point at a secret (`secret_name`, `secret_key_ref`, `token_path`), not hold one. */
const REFERENCE_KEY = /(name|names|ref|refs|selector|_id|_arn|path|file|mount|_type)$/i;
/** Environment variable names whose values are secret or may embed one. */
const SECRET_VARIABLE =
  /API_?KEYS?$|_KEY$|_KEYS$|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY|ACCESS_KEY|DATABASE_URL|REDIS_URL|WEBHOOK/i;
/** Values that look like credentials whatever key holds them. */
const SECRET_VALUE =
  /^(sk-|sk_live_|rk_live_|ghp_|gho_|github_pat_|xox[abprs]-|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{20})/;
/** Resource types whose data blocks hold secret material. */
const SECRET_DATA: Readonly<Record<string, readonly string[]>> = {
  kubernetes_secret: ["data", "string_data", "binary_data"],
  kubernetes_secret_v1_data: ["data"],
  docker_secret: ["data"],
};

/** True when a variable name (`OPENAI_API_KEY`, `GATEWAY_API_KEYS`) holds a secret. */
export function isSecretVariable(name: string): boolean {
  return SECRET_VARIABLE.test(name);
}

function isSecretKey(key: string, parent: PathSegment | undefined): boolean {
  if (!SECRET_KEY.test(key)) return false;
  if (REFERENCE_KEY.test(key)) return false;
  // `secret_key_ref.key` and a Secret volume's `items[].key` name an entry of a Secret.
  if (key === "key" && (typeof parent === "number" || (parent !== undefined && REFERENCE_KEY.test(parent)))) {
    return false;
  }
  return true;
}

/** The block an attribute belongs to, as far as sensitivity is concerned. */
export interface SensitivityScope {
  readonly kind: string;
  /** Resource or data source type; undefined for variables, outputs, providers. */
  readonly type?: string;
  /** The block's body before and after the change (either may be absent). */
  readonly before: Json | undefined;
  readonly after: Json | undefined;
}

/**
 * Whether the attribute at `segments` is secret: a `sensitive` variable's
 * default or output's value, a Secret's data, a key that names a secret, an
 * `env` entry whose `name` is a secret variable, or a value that looks like a
 * credential.
 */
export function isSensitive(
  scope: SensitivityScope,
  segments: readonly PathSegment[],
  leafValues: readonly (Json | undefined)[] = [],
): boolean {
  const bodies = [scope.before, scope.after];
  const values = [...bodies.map((body) => valueAt(body, segments)), ...leafValues];
  // A switch or an absent value reveals nothing.
  if (values.every((value) => value === undefined || value === null || typeof value === "boolean")) {
    return false;
  }
  const flagged = bodies.some((body) => isObject(body) && body["sensitive"] === true);
  if (scope.kind === "variable" && segments[0] === "default" && flagged) return true;
  if (scope.kind === "output" && segments[0] === "value" && flagged) return true;
  const dataFields = scope.type ? (SECRET_DATA[baseType(scope.type)] ?? SECRET_DATA[scope.type]) : undefined;
  if (dataFields && typeof segments[0] === "string" && dataFields.includes(segments[0])) return true;
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index]!;
    if (typeof segment === "string" && isSecretKey(segment, segments[index - 1])) return true;
  }
  // `env { name = "OPENAI_API_KEY" value = "…" }` and its kin.
  const last = segments[segments.length - 1];
  if (last === "value" || last === "value_from") {
    const parentPath = segments.slice(0, -1);
    for (const body of bodies) {
      const parent = valueAt(body, parentPath);
      if (isObject(parent) && typeof parent["name"] === "string" && isSecretVariable(parent["name"]))
        return true;
    }
  }
  return values.some((value) => typeof value === "string" && SECRET_VALUE.test(value));
}

/** Masks the value part of `NAME=value` strings (Docker `env`) when NAME is a secret variable. */
export function maskAssignment(value: Json | undefined): Json | undefined {
  if (typeof value !== "string") return value;
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(value);
  if (match && isSecretVariable(match[1]!) && match[2] !== "") return `${match[1]}=${MASK}`;
  if (SECRET_VALUE.test(value)) return MASK;
  return value;
}
