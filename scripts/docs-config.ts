// npm run docs:config [-- --check]
// Writes docs/configuration.md from the gateway's zod schemas: every environment variable of
// envSchema (app/config/load-config.ts), the provider key variables (app/config/defaults.ts) and
// every key of AI_CONFIG_FILE (app/config/file-config.ts), with type, default and description.
// A variable added to the schema appears on the next run; test/docs/configuration.test.ts fails
// while the committed file is stale. --check exits 1 instead of writing.
import { z } from "zod";
import {
  ENVIRONMENT_DEFAULTS,
  ENVIRONMENT_NAMES,
  type GatewayDefaults,
  PROVIDER_KEY_VARIABLES,
  PROVIDER_NAMES,
  type TargetSpec,
} from "../app/config/defaults";
import { fileConfigSchema } from "../app/config/file-config";
import { envSchema } from "../app/config/load-config";
import { formatMarkdown, writeOrCheck } from "./docs-format";

/** Where the generated reference lives, relative to the repository root. */
export const CONFIGURATION_DOC = "docs/configuration.md";

/** What the schemas' `.meta()` / `.describe()` may say about a setting. */
interface SettingMeta {
  readonly description?: string;
  /** The default as shown to a reader. */
  readonly default?: string;
  /** The field of ENVIRONMENT_DEFAULTS the default comes from, when it differs per environment. */
  readonly defaultPerEnvironment?: keyof GatewayDefaults;
  /** The value's type, when the schema (a string parsed by a transform) cannot say it. */
  readonly type?: string;
}

/** One row of a generated table. */
export interface SettingRow {
  readonly name: string;
  readonly type: string;
  readonly default: string;
  readonly description: string;
}

/** The schema and the schemas it wraps (optional, default, pipe), outermost first. */
function layers(schema: z.ZodType): z.ZodType[] {
  const out: z.ZodType[] = [schema];
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault)
    out.push(...layers(schema.unwrap() as unknown as z.ZodType));
  else if (schema instanceof z.ZodPipe)
    out.push(...layers(schema.in as unknown as z.ZodType), ...layers(schema.out as unknown as z.ZodType));
  return out;
}

/** The metadata of a schema, the outer layers' winning over what they wrap. */
function metaOf(schema: z.ZodType): SettingMeta {
  const merged: Record<string, unknown> = {};
  for (const layer of layers(schema).reverse()) Object.assign(merged, z.globalRegistry.get(layer) ?? {});
  return merged as SettingMeta;
}

const code = (value: string) => `\`${value}\``;

/** The type a reader sees: the schema's own word, its enum values, or its JSON Schema type. */
function typeOf(schema: z.ZodType): string {
  const meta = metaOf(schema);
  if (meta.type) return meta.type;
  for (const layer of layers(schema)) {
    if (layer instanceof z.ZodEnum) return `one of ${layer.options.map((v) => code(String(v))).join(", ")}`;
  }
  const inner = layers(schema).at(-1)!;
  if (inner instanceof z.ZodString) return "string";
  const json = z.toJSONSchema(inner, { unrepresentable: "any", io: "input" }) as Record<string, unknown>;
  const bounds = [
    json["exclusiveMinimum"] !== undefined ? `> ${json["exclusiveMinimum"]}` : "",
    json["minimum"] !== undefined ? `≥ ${json["minimum"]}` : "",
  ].filter(Boolean);
  return [String(json["type"] ?? "any"), ...bounds].join(" ");
}

function formatDefaultValue(value: GatewayDefaults[keyof GatewayDefaults]): string {
  if (Array.isArray(value)) {
    const targets = value as readonly TargetSpec[];
    return targets.length === 0 ? "none" : targets.map((t) => code(`${t.provider}/${t.model}`)).join(", ");
  }
  return code(String(value));
}

/** Defaults shown as words, not as literal values. */
const PLAIN_DEFAULTS = new Set(["none", "unset", "unlimited"]);

function defaultOf(meta: SettingMeta, schema?: z.ZodType): string {
  if (meta.defaultPerEnvironment) {
    const field = meta.defaultPerEnvironment;
    const values = ENVIRONMENT_NAMES.map((env) => formatDefaultValue(ENVIRONMENT_DEFAULTS[env][field]));
    if (values.every((value) => value === values[0])) return values[0]!;
    return ENVIRONMENT_NAMES.map((env, index) => `${env}: ${values[index]}`).join("; ");
  }
  if (meta.default === undefined) {
    const withDefault = schema && layers(schema).find((layer) => layer instanceof z.ZodDefault);
    if (withDefault instanceof z.ZodDefault) {
      const value: unknown = withDefault.def.defaultValue;
      return code(typeof value === "string" ? value : JSON.stringify(value));
    }
    return "none";
  }
  // A bare value reads as a literal; a word such as "none" or a phrase ("unset: …") as written.
  return PLAIN_DEFAULTS.has(meta.default) || /[\s`]/.test(meta.default) ? meta.default : code(meta.default);
}

/** The environment variables an object schema parses, one row each, in schema order. */
export function environmentRows(schema: z.ZodObject = envSchema): SettingRow[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const meta = metaOf(field as z.ZodType);
    return {
      name,
      type: typeOf(field as z.ZodType),
      default: defaultOf(meta, field as z.ZodType),
      description: meta.description ?? "",
    };
  });
}

/** The provider key variables, which are read by name pattern rather than through the schema. */
export function providerKeyRows(): SettingRow[] {
  return PROVIDER_NAMES.flatMap((provider) =>
    PROVIDER_KEY_VARIABLES[provider].map((name, index) => ({
      name: `${name}, ${name}_1, ${name}_2, …`,
      type: "secret string",
      default: "none",
      description:
        `${provider} API keys; numbered ones join the pool, which rotates on 401 and 429.` +
        (index > 0 ? ` Read as well as ${PROVIDER_KEY_VARIABLES[provider][0]}.` : ""),
    })),
  );
}

/** Every key an `AI_CONFIG_FILE` may hold, with its JSON path (`<name>` for a map's keys). */
export function fileRows(schema: z.ZodType = fileConfigSchema, path = ""): SettingRow[] {
  const inner = layers(schema).at(-1)!;
  const meta = metaOf(schema);
  // Containers (objects, maps, arrays) get a row only when the schema describes them.
  const container =
    inner instanceof z.ZodObject ||
    inner instanceof z.ZodRecord ||
    (inner instanceof z.ZodArray && inner.element instanceof z.ZodObject);
  const own: SettingRow[] =
    path && (!container || meta.description)
      ? [{ name: path, type: "", default: defaultOf(meta, schema), description: meta.description ?? "" }]
      : [];
  const join = (key: string) => (path ? `${path}.${key}` : key);
  if (inner instanceof z.ZodObject) {
    const children = Object.entries(inner.shape).flatMap(([key, child]) =>
      fileRows(child as z.ZodType, join(key)),
    );
    return [...own.map((row) => ({ ...row, type: "object" })), ...children];
  }
  if (inner instanceof z.ZodRecord) {
    const keyType = inner.keyType as z.ZodType;
    const options = keyType instanceof z.ZodEnum ? keyType.options.map(String) : [];
    const key =
      options.join() === PROVIDER_NAMES.join()
        ? "<provider>"
        : options.length
          ? `<${options.join("/")}>`
          : "<name>";
    return [
      ...own.map((row) => ({ ...row, type: "map" })),
      ...fileRows(inner.valueType as z.ZodType, join(key)),
    ];
  }
  if (inner instanceof z.ZodArray && inner.element instanceof z.ZodObject) {
    return [
      ...own.map((row) => ({ ...row, type: "array" })),
      ...fileRows(inner.element as z.ZodType, `${path}[]`),
    ];
  }
  if (inner instanceof z.ZodArray)
    return own.map((row) => ({ ...row, type: `array of ${typeOf(inner.element as z.ZodType)}` }));
  return own.map((row) => ({ ...row, type: typeOf(schema) }));
}

const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

function table(rows: readonly SettingRow[], first: string): string {
  const lines = [`| ${first} | type | default | description |`, "| --- | --- | --- | --- |"];
  for (const row of rows) {
    const name = row.name
      .split(", ")
      .map((part) => (part === "…" ? part : code(part)))
      .join(", ");
    lines.push(`| ${name} | ${cell(row.type)} | ${cell(row.default)} | ${cell(row.description)} |`);
  }
  return lines.join("\n");
}

/** The whole of docs/configuration.md, formatted as Biome formats Markdown. */
export function renderConfigurationDoc(
  schema: z.ZodObject = envSchema,
  file: z.ZodType = fileConfigSchema,
): string {
  const text = `# Configuration reference

<!-- Generated by \`npm run docs:config\` from app/config/load-config.ts, app/config/defaults.ts and app/config/file-config.ts. Do not edit: change the schemas' .meta() / .describe() texts and run the command. test/docs/configuration.test.ts fails while this file is stale. -->

The gateway reads its configuration from environment variables when it starts. Unset and empty
are the same. Start-up fails fast with one message naming every missing or invalid setting,
and never prints a secret. A default that says "development: …; staging: …; production: …"
comes from \`ENVIRONMENT\`. The contract these variables are part of is
[docs/design.md](design.md) section 4; what they do is in [gateway.md](gateway.md).

## Environment variables

${table(environmentRows(schema), "variable")}

## Provider keys

Each provider's key variable, and numbered variables that form a key pool, rotated on 401 and
429. With \`AI_SECRETS_ID\` the same names are read from the AWS Secrets Manager secret's JSON
instead, together with \`GATEWAY_API_KEYS\` and \`GATEWAY_ADMIN_KEYS\`. Outside development, every
provider the routing uses (primary and fallbacks) needs a key. Ollama needs none.

${table(providerKeyRows(), "variable")}

## \`AI_CONFIG_FILE\`

A JSON file with routing, prices, limits and prompt checks. It is validated like the variables
and reloaded when it changes, on SIGHUP and every 5 minutes. An invalid file is logged with every
problem, and the last good one stays in force. For example:

\`\`\`json
{
  "routes": {
    "fast": { "strategy": "ordered", "targets": [{ "provider": "groq", "model": "llama-3.1-8b-instant" }, { "provider": "openai", "model": "gpt-4o-mini" }] }
  },
  "prices": { "openai": { "my-finetune": { "input": 3, "output": 12 } } },
  "limits": { "requestsPerMinute": 600, "maxBatchSize": 20 },
  "injection": { "action": "block", "phrases": ["reveal your system prompt"] }
}
\`\`\`

${table(fileRows(file), "key")}
`;
  return formatMarkdown(text, CONFIGURATION_DOC);
}

if (require.main === module) {
  process.exitCode = writeOrCheck(CONFIGURATION_DOC, renderConfigurationDoc(), "npm run docs:config");
}
