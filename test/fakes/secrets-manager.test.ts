import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeSecretsManager } from "./secrets-manager";

// The one Secrets Manager fake serves the gateway's secrets refresh and the deploy preflight:
// these pin the union of what both need, through the official SDK.
describe("FakeSecretsManager through the official SDK", () => {
  let fake: FakeSecretsManager;
  let client: SecretsManagerClient;
  beforeAll(async () => {
    fake = await FakeSecretsManager.start();
    client = new SecretsManagerClient(fake.clientConfig());
  });
  afterAll(async () => {
    client.destroy();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it("creates, puts, gets and lists secrets, counting signed calls without their values", async () => {
    const created = await client.send(
      new CreateSecretCommand({ Name: "app/one", SecretString: '{"A":"1"}' }),
    );
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:app\/one-/);
    await client.send(new PutSecretValueCommand({ SecretId: "app/one", SecretString: '{"A":"2"}' }));
    const value = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(value.SecretString).toBe('{"A":"2"}');
    fake.createSecret("app/two", undefined);
    expect((await client.send(new GetSecretValueCommand({ SecretId: "app/two" }))).SecretBinary).toEqual(
      new Uint8Array([0, 1, 2]),
    );
    const list = await client.send(new ListSecretsCommand({}));
    expect(list.SecretList?.map((secret) => secret.Name)).toEqual(["app/one", "app/two"]);
    expect(fake.calls()).toBe(5);
    expect(fake.calls("GetSecretValue")).toBe(2);
    expect(fake.requests.every((call) => call.signed)).toBe(true);
    expect(JSON.stringify(fake.requests)).not.toContain('{"A"');
  });

  it("fails with AWS's errors: per-action denial, not found, scheduled deletion, injected failures", async () => {
    fake.createSecret("app/s", { A: "1" });
    fake.deny("GetSecretValue");
    await expect(client.send(new GetSecretValueCommand({ SecretId: "app/s" }))).rejects.toMatchObject({
      name: "AccessDeniedException",
      message:
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: secretsmanager:GetSecretValue on resource: app/s because no identity-based policy allows the secretsmanager:GetSecretValue action",
    });
    expect((await client.send(new DescribeSecretCommand({ SecretId: "app/s" }))).Name).toBe("app/s");
    await expect(client.send(new DescribeSecretCommand({ SecretId: "app/none" }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
      message: "Secrets Manager can't find the specified secret.",
    });

    fake.reset();
    fake.createSecret("app/s", { A: "1" });
    fake.scheduleDeletion("app/s");
    expect((await client.send(new DescribeSecretCommand({ SecretId: "app/s" }))).DeletedDate).toBeInstanceOf(
      Date,
    );
    await expect(client.send(new GetSecretValueCommand({ SecretId: "app/s" }))).rejects.toMatchObject({
      name: "InvalidRequestException",
      message: "You can't perform this operation on the secret because it was marked for deletion.",
    });

    fake.failWith("ThrottlingException", { times: 1 });
    await expect(client.send(new ListSecretsCommand({}))).rejects.toMatchObject({
      name: "ThrottlingException",
    });
    expect((await client.send(new ListSecretsCommand({}))).SecretList).toEqual([]);
  });

  it("fails when a request is not SigV4-signed", async () => {
    const response = await fetch(fake.endpoint, {
      method: "POST",
      headers: {
        "x-amz-target": "secretsmanager.GetSecretValue",
        "content-type": "application/x-amz-json-1.1",
      },
      body: JSON.stringify({ SecretId: "app/s" }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      __type: "MissingAuthenticationTokenException",
      message: "Missing Authentication Token",
    });
    expect(fake.requests).toEqual([{ operation: "GetSecretValue", secretId: "app/s", signed: false }]);
  });
});
