import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Logger } from "pino";
import type { AlertSink } from "../observability/alerts";
import type { ProviderName } from "./defaults";
import type { GatewayConfig } from "./load-config";

/** The variables a secret may carry: provider keys (with pool suffixes) and the client keys. */
export const SECRET_VARIABLE =
  /^(?:(?:OPENAI|CLAUDE|ANTHROPIC|GEMINI|GROQ)_API_KEY(?:_\d+)?|GATEWAY_API_KEYS|GATEWAY_ADMIN_KEYS)$/;

/** Providers called without a key. */
const KEYLESS: ReadonlySet<ProviderName> = new Set(["ollama"]);

/**
 * What must hold once the secret is applied, outside development: client keys
 * (from the environment or the secret) and a key for every provider the
 * routing uses. `loadConfig` defers these checks to here when `AI_SECRETS_ID`
 * is set. Returns the problems, naming variables, never values.
 */
export function secretsProblems(config: GatewayConfig): string[] {
  if (config.environment === "development" || !config.secretsId) return [];
  const problems: string[] = [];
  if (config.gatewayApiKeys.length === 0) {
    problems.push(
      `GATEWAY_API_KEYS: missing; required in ${config.environment}: set it or add it to the secret ${config.secretsId}`,
    );
  }
  const routed = new Set<ProviderName>([
    config.provider,
    ...config.fallbacks.map((target) => target.provider),
  ]);
  for (const route of Object.values(config.file.routes))
    for (const target of route.targets) routed.add(target.provider);
  for (const name of routed) {
    if (KEYLESS.has(name) || config.providers[name].apiKeys.length > 0) continue;
    problems.push(
      `${name} API key: missing; routing uses ${name}, and neither the environment nor the secret ${config.secretsId} has one`,
    );
  }
  return problems;
}

/** Thrown when the secret cannot be read or is not what we expect; the message never holds a value. */
export class SecretsError extends Error {
  override readonly name = "SecretsError";
  constructor(
    message: string,
    /** The AWS error name (`AccessDeniedException`, …) or our own code. */
    readonly code: string,
  ) {
    super(message);
  }
}

/** Options of {@link SecretsRefresher}. */
export interface SecretsRefresherOptions {
  readonly client: SecretsManagerClient;
  /** `AI_SECRETS_ID`: name or ARN. */
  readonly secretId: string;
  readonly logger: Logger;
  readonly alert: AlertSink;
  /** Receives the key variables after each successful read that changed them. */
  readonly apply: (variables: Readonly<Record<string, string>>) => void;
  /** @default 300_000 */
  readonly intervalMs?: number;
}

/**
 * Provider keys from AWS Secrets Manager: read at start (failing start-up when
 * unreadable), then refreshed on an interval so a rotated key is used without
 * a restart. A failed refresh keeps the last good keys and raises an alert
 * once per outage; the recovery is logged.
 */
export class SecretsRefresher {
  private timer: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private failing = false;

  constructor(private readonly options: SecretsRefresherOptions) {}

  /** Reads and parses the secret. */
  async read(): Promise<Record<string, string>> {
    const { client, secretId } = this.options;
    let text: string | undefined;
    try {
      const output = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      text = output.SecretString;
    } catch (error) {
      const name = (error as { name?: string }).name ?? "Error";
      // AWS service errors are named; anything else (no region, no network) says what in its message.
      const why = name === "Error" ? `${name}: ${String((error as Error).message).slice(0, 120)}` : name;
      throw new SecretsError(`cannot read secret ${secretId} (${why})`, name);
    }
    if (text === undefined)
      throw new SecretsError(`secret ${secretId} has no SecretString`, "NoSecretString");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SecretsError(`secret ${secretId} is not a JSON object`, "NotJson");
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new SecretsError(`secret ${secretId} is not a JSON object`, "NotJson");
    }
    const variables: Record<string, string> = {};
    const ignored: string[] = [];
    const invalid: string[] = [];
    for (const [name, value] of Object.entries(json)) {
      if (!SECRET_VARIABLE.test(name)) ignored.push(name.slice(0, 64));
      else if (typeof value !== "string" || value.trim() === "") invalid.push(name);
      else variables[name] = value.trim();
    }
    if (invalid.length > 0) {
      throw new SecretsError(
        `secret ${secretId}: ${invalid.join(", ")} must be non-empty strings`,
        "InvalidValue",
      );
    }
    if (ignored.length > 0)
      this.options.logger.warn({ secretId, ignored }, "secret holds variables the gateway does not read");
    return variables;
  }

  /** The initial read; throws a {@link SecretsError} so start-up fails naming the secret. */
  async start(): Promise<void> {
    const variables = await this.read();
    this.accept(variables);
    this.timer = setInterval(() => void this.refresh(), this.options.intervalMs ?? 300_000);
    this.timer.unref();
  }

  /** One refresh; resolves true when the secret was read. Never rejects. */
  async refresh(): Promise<boolean> {
    const { logger, secretId } = this.options;
    try {
      const variables = await this.read();
      if (this.failing) logger.info({ secretId }, "secrets refresh recovered");
      this.failing = false;
      this.accept(variables);
      return true;
    } catch (error) {
      const code = error instanceof SecretsError ? error.code : "Error";
      const message = error instanceof SecretsError ? error.message : `cannot read secret ${secretId}`;
      logger.error({ secretId, code }, `secrets refresh failed; keeping the last good keys: ${message}`);
      if (!this.failing) {
        this.options.alert({
          source: "secrets",
          severity: "critical",
          message: `Secrets refresh failed (${code}); the gateway keeps its last good provider keys. Check the secret ${secretId} and the role's access to it.`,
          details: { secretId, code },
        });
      }
      this.failing = true;
      return false;
    }
  }

  /** Stops refreshing. */
  close(): void {
    clearInterval(this.timer);
  }

  private accept(variables: Record<string, string>): void {
    const fingerprint = JSON.stringify(Object.entries(variables).sort(([a], [b]) => a.localeCompare(b)));
    if (fingerprint === this.last) return;
    const first = this.last === undefined;
    this.last = fingerprint;
    this.options.apply(variables);
    this.options.logger.info(
      { secretId: this.options.secretId, variables: Object.keys(variables).sort() },
      first ? "provider keys loaded from secrets manager" : "provider keys rotated from secrets manager",
    );
  }
}
