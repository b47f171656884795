import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Errors the fake can answer with, as AWS names them (`__type`), and their HTTP status. */
export const SECRETS_MANAGER_ERRORS = {
  AccessDeniedException: 400,
  ResourceNotFoundException: 400,
  InvalidRequestException: 400,
  DecryptionFailure: 400,
  ThrottlingException: 400,
  InternalServiceError: 500,
} as const;

/** An AWS error name the fake can answer with. */
export type SecretsManagerErrorName = keyof typeof SECRETS_MANAGER_ERRORS;

interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  value: string;
  versionId: string;
  readonly createdDate: number;
}

/** One request the fake received. */
export interface SecretsManagerCall {
  /** The operation, from `X-Amz-Target` (`GetSecretValue`, `DescribeSecret`, …). */
  readonly operation: string;
  readonly body: Record<string, unknown>;
}

/**
 * A small fake of the AWS Secrets Manager JSON API (awsJson1_1) on 127.0.0.1:
 * GetSecretValue, DescribeSecret, CreateSecret, PutSecretValue and ListSecrets,
 * with AWS's error bodies. Point the SDK at `endpoint` (any static
 * credentials; signatures are not checked).
 *
 * ```ts
 * const fake = await FakeSecretsManager.start();
 * fake.createSecret("prod/ai", { OPENAI_API_KEY: "sk-1" });
 * const client = new SecretsManagerClient(fake.clientConfig());
 * ```
 */
export class FakeSecretsManager {
  private readonly secrets = new Map<string, StoredSecret>();
  private failure: { name: SecretsManagerErrorName; message: string; remaining: number } | undefined;
  /** Every request received, oldest first. */
  readonly requests: SecretsManagerCall[] = [];

  private constructor(
    private readonly server: Server,
    /** The endpoint URL for the SDK. */
    readonly endpoint: string,
  ) {}

  /** Starts the fake on an ephemeral loopback port. */
  static async start(): Promise<FakeSecretsManager> {
    let fake: FakeSecretsManager | undefined;
    const server = createServer((req, res) => {
      fake!.handle(req, res).catch(() => {
        res.statusCode = 500;
        res.end();
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    fake = new FakeSecretsManager(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return fake;
  }

  /** SecretsManagerClient options that reach this fake: endpoint, region, static credentials, one attempt. */
  clientConfig(): {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  } {
    return {
      endpoint: this.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIAFAKE", secretAccessKey: "fake-secret-access-key" },
      maxAttempts: 1,
    };
  }

  /** Creates a secret; an object value is stored as its JSON. Returns its ARN. */
  createSecret(name: string, value: string | Record<string, unknown>): string {
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-${randomUUID().slice(0, 6)}`;
    this.secrets.set(name, {
      name,
      arn,
      value: typeof value === "string" ? value : JSON.stringify(value),
      versionId: randomUUID(),
      createdDate: Date.now() / 1000,
    });
    return arn;
  }

  /** Replaces a secret's value (a rotation); the secret must exist. */
  setSecretValue(name: string, value: string | Record<string, unknown>): void {
    const secret = this.secrets.get(name);
    if (!secret) throw new Error(`no secret ${name}; call createSecret first`);
    secret.value = typeof value === "string" ? value : JSON.stringify(value);
    secret.versionId = randomUUID();
  }

  /** Deletes a secret (later reads answer ResourceNotFoundException). */
  deleteSecret(name: string): void {
    this.secrets.delete(name);
  }

  /**
   * Makes the next `times` requests (every request when omitted) fail with an
   * AWS error; `failWith(undefined)` ends the outage.
   */
  failWith(
    name: SecretsManagerErrorName | undefined,
    options: { message?: string; times?: number } = {},
  ): void {
    this.failure =
      name === undefined
        ? undefined
        : {
            name,
            message: options.message ?? defaultMessage(name),
            remaining: options.times ?? Number.POSITIVE_INFINITY,
          };
  }

  /** How many requests arrived, of one operation or all. */
  calls(operation?: string): number {
    return operation === undefined
      ? this.requests.length
      : this.requests.filter((call) => call.operation === operation).length;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = "";
    for await (const chunk of req) text += (chunk as Buffer).toString("utf8");
    const target = String(req.headers["x-amz-target"] ?? "");
    const operation = target.startsWith("secretsmanager.") ? target.slice("secretsmanager.".length) : target;
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      return this.error(res, "InvalidRequestException", "request body is not JSON");
    }
    this.requests.push({ operation, body });

    if (this.failure && this.failure.remaining > 0) {
      this.failure.remaining--;
      const { name, message } = this.failure;
      if (this.failure.remaining === 0) this.failure = undefined;
      return this.error(res, name, message);
    }

    const secretId = String(body["SecretId"] ?? body["Name"] ?? "");
    const secret = this.find(secretId);
    switch (operation) {
      case "GetSecretValue":
        if (!secret) return this.notFound(res);
        return this.json(res, {
          ARN: secret.arn,
          Name: secret.name,
          SecretString: secret.value,
          VersionId: secret.versionId,
          VersionStages: ["AWSCURRENT"],
          CreatedDate: secret.createdDate,
        });
      case "DescribeSecret":
        if (!secret) return this.notFound(res);
        return this.json(res, {
          ARN: secret.arn,
          Name: secret.name,
          VersionIdsToStages: { [secret.versionId]: ["AWSCURRENT"] },
          CreatedDate: secret.createdDate,
        });
      case "CreateSecret": {
        if (secret)
          return this.error(res, "InvalidRequestException", `The secret ${secretId} already exists.`);
        const arn = this.createSecret(secretId, String(body["SecretString"] ?? ""));
        const created = this.secrets.get(secretId)!;
        return this.json(res, { ARN: arn, Name: secretId, VersionId: created.versionId });
      }
      case "PutSecretValue":
        if (!secret) return this.notFound(res);
        this.setSecretValue(secret.name, String(body["SecretString"] ?? ""));
        return this.json(res, { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId });
      case "ListSecrets":
        return this.json(res, {
          SecretList: [...this.secrets.values()].map((s) => ({ ARN: s.arn, Name: s.name })),
        });
      default:
        return this.error(res, "InvalidRequestException", `unsupported operation ${operation || "(none)"}`);
    }
  }

  private find(id: string): StoredSecret | undefined {
    return this.secrets.get(id) ?? [...this.secrets.values()].find((secret) => secret.arn === id);
  }

  private json(res: ServerResponse, body: unknown): void {
    res.writeHead(200, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": randomUUID() });
    res.end(JSON.stringify(body));
  }

  private notFound(res: ServerResponse): void {
    this.error(res, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
  }

  private error(res: ServerResponse, name: SecretsManagerErrorName, message: string): void {
    res.writeHead(SECRETS_MANAGER_ERRORS[name], {
      "content-type": "application/x-amz-json-1.1",
      "x-amzn-requestid": randomUUID(),
      "x-amzn-errortype": name,
    });
    res.end(JSON.stringify({ __type: name, message }));
  }
}

function defaultMessage(name: SecretsManagerErrorName): string {
  switch (name) {
    case "AccessDeniedException":
      return "User: arn:aws:iam::123456789012:role/gateway is not authorized to perform: secretsmanager:GetSecretValue";
    case "ResourceNotFoundException":
      return "Secrets Manager can't find the specified secret.";
    default:
      return `${name} (injected by the fake)`;
  }
}
