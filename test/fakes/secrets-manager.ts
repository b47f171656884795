import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Errors the fake answers with, as AWS names them (`__type`), and their HTTP status. */
export const SECRETS_MANAGER_ERRORS = {
  AccessDeniedException: 400,
  ResourceNotFoundException: 400,
  InvalidRequestException: 400,
  DecryptionFailure: 400,
  ThrottlingException: 400,
  ValidationException: 400,
  SerializationException: 400,
  UnknownOperationException: 400,
  MissingAuthenticationTokenException: 400,
  InternalServiceError: 500,
} as const;

/** An AWS error name the fake can answer with. */
export type SecretsManagerErrorName = keyof typeof SECRETS_MANAGER_ERRORS;

/** The Secrets Manager actions the fake answers. */
export const SECRETS_MANAGER_ACTIONS = [
  "GetSecretValue",
  "DescribeSecret",
  "CreateSecret",
  "PutSecretValue",
  "ListSecrets",
] as const;

/** One action the fake answers. */
export type SecretsManagerAction = (typeof SECRETS_MANAGER_ACTIONS)[number];

interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  /** Undefined for a binary secret (answered as `SecretBinary`). */
  value: string | undefined;
  versionId: string;
  readonly createdDate: number;
  lastChangedDate: number;
  deletedDate: number | undefined;
}

/** One request the fake received (never a secret's value). */
export interface SecretsManagerCall {
  /** The operation, from `X-Amz-Target` (`GetSecretValue`, `DescribeSecret`, …). */
  readonly operation: string;
  /** `SecretId` (or `Name` for CreateSecret), when the request had one. */
  readonly secretId: string | undefined;
  /** Whether the request carried a SigV4 Authorization header. */
  readonly signed: boolean;
}

/** A secret's value: a JSON object of variables (stored as its JSON), raw text, or undefined for a binary secret. */
export type SecretValue = string | Record<string, unknown> | undefined;

const ACCOUNT = "123456789012";
const JSON_TYPE = "application/x-amz-json-1.1";

/**
 * The one fake of the AWS Secrets Manager JSON 1.1 API, on 127.0.0.1, for the
 * gateway's secrets refresh and the deploy preflight alike: `POST /` with
 * `X-Amz-Target: secretsmanager.<Action>` for GetSecretValue, DescribeSecret,
 * CreateSecret, PutSecretValue and ListSecrets, answering AWS's response and
 * error shapes (`__type`, `message`, `x-amzn-RequestId`, `x-amzn-ErrorType`),
 * so the official SDK runs unchanged against it through an endpoint override.
 * Requests must be SigV4-signed (any static credentials; the signature itself
 * is not verified). Test controls: per-action denial (AccessDeniedException),
 * scheduled deletion, general failure injection, and call counting.
 *
 * ```ts
 * const fake = await FakeSecretsManager.start();
 * fake.createSecret("prod/ai", { OPENAI_API_KEY: "sk-1" });
 * const client = new SecretsManagerClient(fake.clientConfig());
 * ```
 */
export class FakeSecretsManager {
  readonly region = "us-east-1";
  /** Every request received, oldest first. */
  readonly requests: SecretsManagerCall[] = [];
  private readonly secrets = new Map<string, StoredSecret>();
  private readonly denied = new Set<SecretsManagerAction>();
  private failure: { name: SecretsManagerErrorName; message: string; remaining: number } | undefined;

  private constructor(
    private readonly server: Server,
    /** The endpoint URL for the SDK. */
    readonly endpoint: string,
  ) {}

  /** Starts the fake on an ephemeral loopback port. */
  static async start(): Promise<FakeSecretsManager> {
    let fake: FakeSecretsManager | undefined;
    const server = createServer((req, res) => {
      fake!.handle(req, res).catch((error: unknown) => {
        if (res.headersSent) return void res.end();
        fake!.error(res, "InternalServiceError", String(error));
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
      region: this.region,
      credentials: { accessKeyId: "AKIAFAKE", secretAccessKey: "fake-secret-access-key" },
      maxAttempts: 1,
    };
  }

  /** Creates (or replaces) a secret. Returns its ARN. */
  createSecret(name: string, value: SecretValue): string {
    const arn = `arn:aws:secretsmanager:${this.region}:${ACCOUNT}:secret:${name}-${randomUUID().slice(0, 6)}`;
    const now = Date.now() / 1000;
    this.secrets.set(name, {
      name,
      arn,
      value: encode(value),
      versionId: randomUUID(),
      createdDate: now,
      lastChangedDate: now,
      deletedDate: undefined,
    });
    return arn;
  }

  /** Replaces a secret's value with a new version (a rotation); the secret must exist. */
  setSecretValue(name: string, value: SecretValue): void {
    const secret = this.secrets.get(name);
    if (!secret) throw new Error(`no secret ${name}; call createSecret first`);
    secret.value = encode(value);
    secret.versionId = randomUUID();
    secret.lastChangedDate = Date.now() / 1000;
  }

  /** Marks a secret as scheduled for deletion, as `DeleteSecret` with a recovery window does. */
  scheduleDeletion(name: string): void {
    const secret = this.secrets.get(name);
    if (secret) secret.deletedDate = Date.now() / 1000;
  }

  /** Deletes a secret at once (later reads answer ResourceNotFoundException). */
  deleteSecret(name: string): void {
    this.secrets.delete(name);
  }

  /** Makes an action answer AccessDeniedException, as a missing IAM permission does. */
  deny(action: SecretsManagerAction): void {
    this.denied.add(action);
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

  /** Forgets secrets, denials, injected failures and requests. */
  reset(): void {
    this.secrets.clear();
    this.denied.clear();
    this.failure = undefined;
    this.requests.length = 0;
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
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text || "{}") as Record<string, unknown>;
    } catch {
      return this.error(res, "SerializationException", "Start of structure or map found where not expected.");
    }
    const id = operation === "CreateSecret" ? body["Name"] : body["SecretId"];
    const secretId = typeof id === "string" ? id : undefined;
    const signed = String(req.headers["authorization"] ?? "").startsWith("AWS4-HMAC-SHA256 Credential=");
    this.requests.push({ operation, secretId, signed });

    if (req.method !== "POST" || !signed) {
      return this.error(res, "MissingAuthenticationTokenException", "Missing Authentication Token");
    }
    if (!(SECRETS_MANAGER_ACTIONS as readonly string[]).includes(operation)) {
      return this.error(res, "UnknownOperationException", "");
    }
    const action = operation as SecretsManagerAction;
    if (action !== "ListSecrets" && !secretId) {
      const field = action === "CreateSecret" ? "Name" : "SecretId";
      return this.error(res, "ValidationException", `1 validation error detected: ${field} must not be null`);
    }
    if (this.failure && this.failure.remaining > 0) {
      this.failure.remaining--;
      const { name, message } = this.failure;
      if (this.failure.remaining === 0) this.failure = undefined;
      return this.error(res, name, message);
    }
    if (this.denied.has(action)) {
      return this.error(
        res,
        "AccessDeniedException",
        `User: arn:aws:iam::${ACCOUNT}:user/ci is not authorized to perform: secretsmanager:${action} on resource: ${secretId ?? "*"} because no identity-based policy allows the secretsmanager:${action} action`,
      );
    }

    if (action === "ListSecrets") {
      return this.reply(res, {
        SecretList: [...this.secrets.values()]
          .filter((secret) => secret.deletedDate === undefined)
          .map((secret) => ({ ARN: secret.arn, Name: secret.name })),
      });
    }
    const secret = this.find(secretId!);
    if (action === "CreateSecret") {
      if (secret) {
        return this.error(res, "InvalidRequestException", `The secret ${secretId} already exists.`);
      }
      const arn = this.createSecret(secretId!, stringField(body["SecretString"]));
      return this.reply(res, { ARN: arn, Name: secretId, VersionId: this.secrets.get(secretId!)!.versionId });
    }
    if (!secret) {
      return this.error(res, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    }
    if (action === "DescribeSecret") {
      return this.reply(res, {
        ARN: secret.arn,
        Name: secret.name,
        CreatedDate: secret.createdDate,
        LastChangedDate: secret.lastChangedDate,
        ...(secret.deletedDate === undefined ? {} : { DeletedDate: secret.deletedDate }),
        VersionIdsToStages: { [secret.versionId]: ["AWSCURRENT"] },
      });
    }
    if (secret.deletedDate !== undefined) {
      return this.error(
        res,
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
    }
    if (action === "PutSecretValue") {
      this.setSecretValue(secret.name, stringField(body["SecretString"]));
      return this.reply(res, { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId });
    }
    return this.reply(res, {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: secret.versionId,
      ...(secret.value === undefined
        ? { SecretBinary: Buffer.from([0, 1, 2]).toString("base64") }
        : { SecretString: secret.value }),
      VersionStages: ["AWSCURRENT"],
      CreatedDate: secret.createdDate,
    });
  }

  private find(id: string): StoredSecret | undefined {
    return this.secrets.get(id) ?? [...this.secrets.values()].find((secret) => secret.arn === id);
  }

  private reply(res: ServerResponse, body: object): void {
    res.writeHead(200, { "content-type": JSON_TYPE, "x-amzn-requestid": randomUUID() });
    res.end(JSON.stringify(body));
  }

  private error(res: ServerResponse, name: SecretsManagerErrorName, message: string): void {
    res.writeHead(SECRETS_MANAGER_ERRORS[name], {
      "content-type": JSON_TYPE,
      "x-amzn-requestid": randomUUID(),
      "x-amzn-errortype": `${name}:http://internal.amazon.com/coral/com.amazonaws.secrets/`,
    });
    // AWS spells the message key `message` for most errors and `Message` for AccessDenied.
    const key = name === "AccessDeniedException" ? "Message" : "message";
    res.end(JSON.stringify({ __type: name, [key]: message }));
  }
}

function encode(value: SecretValue): string | undefined {
  return value === undefined || typeof value === "string" ? value : JSON.stringify(value);
}

function stringField(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function defaultMessage(name: SecretsManagerErrorName): string {
  switch (name) {
    case "AccessDeniedException":
      return `User: arn:aws:iam::${ACCOUNT}:role/gateway is not authorized to perform: secretsmanager:GetSecretValue`;
    case "ResourceNotFoundException":
      return "Secrets Manager can't find the specified secret.";
    default:
      return `${name} (injected by the fake)`;
  }
}
