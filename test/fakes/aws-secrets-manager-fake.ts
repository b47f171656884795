import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The Secrets Manager actions the fake answers. */
export type SecretsManagerAction = "DescribeSecret" | "GetSecretValue";

interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  readonly secretString: string | undefined;
  readonly versionId: string;
  readonly createdDate: number;
  deletedDate: number | undefined;
}

/** One request the fake received (never the secret's value). */
export interface FakeCall {
  readonly action: string;
  readonly secretId: string | undefined;
  /** Whether the request carried a SigV4 Authorization header. */
  readonly signed: boolean;
}

const ACCOUNT = "123456789012";
const JSON_TYPE = "application/x-amz-json-1.1";

/**
 * A fake of the AWS Secrets Manager JSON 1.1 API on 127.0.0.1: `POST /` with
 * `X-Amz-Target: secretsmanager.<Action>`, SigV4-signed, answering the real
 * response and error shapes (`__type`, `message`, `x-amzn-RequestId`), so the
 * official SDK runs unchanged against it through an endpoint override.
 */
export class AwsSecretsManagerFake {
  readonly region = "us-east-1";
  readonly calls: FakeCall[] = [];
  private readonly secrets = new Map<string, StoredSecret>();
  private readonly denied = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  /** Starts the fake on an ephemeral loopback port. */
  static async start(): Promise<AwsSecretsManagerFake> {
    let fake: AwsSecretsManagerFake | undefined;
    const server = createServer((request, response) => {
      fake!.handle(request, response).catch((error: unknown) => {
        response.statusCode = 500;
        response.end(JSON.stringify({ __type: "InternalServiceError", message: String(error) }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    fake = new AwsSecretsManagerFake(server, `http://127.0.0.1:${port}`);
    return fake;
  }

  /** Stores a secret: a JSON object of variables, or raw text (binary secrets have no string). */
  putSecret(name: string, value: Record<string, string> | string | undefined): string {
    const arn = `arn:aws:secretsmanager:${this.region}:${ACCOUNT}:secret:${name}-${randomUUID().slice(0, 6)}`;
    this.secrets.set(name, {
      name,
      arn,
      secretString: typeof value === "object" ? JSON.stringify(value) : value,
      versionId: randomUUID(),
      createdDate: Date.now() / 1000,
      deletedDate: undefined,
    });
    return arn;
  }

  /** Marks a secret as scheduled for deletion, as `DeleteSecret` with a recovery window does. */
  scheduleDeletion(name: string): void {
    const secret = this.secrets.get(name);
    if (secret) secret.deletedDate = Date.now() / 1000;
  }

  /** Makes an action answer AccessDeniedException, as a missing IAM permission does. */
  deny(action: SecretsManagerAction): void {
    this.denied.add(action);
  }

  /** Forgets stored secrets, denials and calls. */
  reset(): void {
    this.secrets.clear();
    this.denied.clear();
    this.calls.length = 0;
  }

  /** Stops the server. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private find(secretId: string): StoredSecret | undefined {
    return [...this.secrets.values()].find((secret) => secret.name === secretId || secret.arn === secretId);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = String(request.headers["x-amz-target"] ?? "");
    const action = target.startsWith("secretsmanager.") ? target.slice("secretsmanager.".length) : target;
    let body: { SecretId?: unknown } = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { SecretId?: unknown };
    } catch {
      return this.error(
        response,
        400,
        "SerializationException",
        "Start of structure or map found where not expected.",
      );
    }
    const secretId = typeof body.SecretId === "string" ? body.SecretId : undefined;
    const signed = String(request.headers["authorization"] ?? "").startsWith("AWS4-HMAC-SHA256 Credential=");
    this.calls.push({ action, secretId, signed });
    if (request.method !== "POST" || !signed) {
      return this.error(response, 400, "MissingAuthenticationTokenException", "Missing Authentication Token");
    }
    if (action !== "DescribeSecret" && action !== "GetSecretValue") {
      return this.error(response, 400, "UnknownOperationException", "");
    }
    if (!secretId) {
      return this.error(
        response,
        400,
        "ValidationException",
        "1 validation error detected: SecretId must not be null",
      );
    }
    if (this.denied.has(action)) {
      return this.error(
        response,
        400,
        "AccessDeniedException",
        `User: arn:aws:iam::${ACCOUNT}:user/ci is not authorized to perform: secretsmanager:${action} on resource: ${secretId} because no identity-based policy allows the secretsmanager:${action} action`,
      );
    }
    const secret = this.find(secretId);
    if (!secret) {
      return this.error(
        response,
        400,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
      );
    }
    if (action === "DescribeSecret") {
      return this.reply(response, {
        ARN: secret.arn,
        Name: secret.name,
        CreatedDate: secret.createdDate,
        LastChangedDate: secret.createdDate,
        ...(secret.deletedDate === undefined ? {} : { DeletedDate: secret.deletedDate }),
        VersionIdsToStages: { [secret.versionId]: ["AWSCURRENT"] },
      });
    }
    if (secret.deletedDate !== undefined) {
      return this.error(
        response,
        400,
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
    }
    return this.reply(response, {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: secret.versionId,
      ...(secret.secretString === undefined
        ? { SecretBinary: Buffer.from([0, 1, 2]).toString("base64") }
        : { SecretString: secret.secretString }),
      VersionStages: ["AWSCURRENT"],
      CreatedDate: secret.createdDate,
    });
  }

  private reply(response: ServerResponse, body: object): void {
    response.writeHead(200, { "content-type": JSON_TYPE, "x-amzn-requestid": randomUUID() });
    response.end(JSON.stringify(body));
  }

  private error(response: ServerResponse, status: number, type: string, message: string): void {
    response.writeHead(status, {
      "content-type": JSON_TYPE,
      "x-amzn-requestid": randomUUID(),
      "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazonaws.secrets/`,
    });
    // AWS spells the message key `message` for most errors and `Message` for AccessDenied.
    const key = type === "AccessDeniedException" ? "Message" : "message";
    response.end(JSON.stringify({ __type: type, [key]: message }));
  }
}
