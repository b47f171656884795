import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";

/** What preflight learned from a secret: the names of its non-empty keys, never their values. */
export type SecretKeys =
  | { readonly ok: true; readonly keys: ReadonlySet<string> }
  | { readonly ok: false; readonly problem: string };

function errorName(error: unknown): string {
  return typeof error === "object" && error !== null && "name" in error ? String(error.name) : "Error";
}

function explain(error: unknown, secretId: string, action: string, region: string): string {
  const name = errorName(error);
  switch (name) {
    case "ResourceNotFoundException":
      return `secret "${secretId}" does not exist in ${region}; create it (aws secretsmanager create-secret --name ${secretId} --secret-string file://keys.json) or fix the secret id`;
    case "AccessDeniedException":
      return `access denied to secret "${secretId}" (${action}); grant secretsmanager:DescribeSecret and secretsmanager:GetSecretValue on it to the identity that deploys`;
    case "DecryptionFailure":
      return `secret "${secretId}" cannot be decrypted; grant kms:Decrypt on its KMS key to the identity that deploys`;
    case "InvalidRequestException":
      return `secret "${secretId}" cannot be read (${action}: the secret is marked for deletion or not ready); restore it with aws secretsmanager restore-secret --secret-id ${secretId}`;
    case "CredentialsProviderError":
      return "no AWS credentials found; configure them (AWS_PROFILE, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or an OIDC role in CI) and run preflight again";
    default:
      // The SDK's own message may quote the request; name the error class only.
      return `secret "${secretId}" could not be checked (${action} failed with ${name}); check AWS_REGION, the endpoint and your credentials`;
  }
}

/**
 * Reads which variables a Secrets Manager secret holds: DescribeSecret (it
 * exists, is not scheduled for deletion), then GetSecretValue (a JSON object
 * of variables). Returns key names only; values stay in this function.
 */
export async function readSecretKeys(
  client: SecretsManagerClient,
  secretId: string,
  region: string,
): Promise<SecretKeys> {
  try {
    const description = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
    if (description.DeletedDate) {
      return {
        ok: false,
        problem: `secret "${secretId}" is scheduled for deletion; restore it with aws secretsmanager restore-secret --secret-id ${secretId}`,
      };
    }
  } catch (error) {
    return { ok: false, problem: explain(error, secretId, "DescribeSecret", region) };
  }
  let text: string | undefined;
  try {
    const value = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    text = value.SecretString;
  } catch (error) {
    return { ok: false, problem: explain(error, secretId, "GetSecretValue", region) };
  }
  if (text === undefined) {
    return {
      ok: false,
      problem: `secret "${secretId}" holds binary data; store a JSON object of variables such as {"OPENAI_API_KEY": "…"}`,
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text: never pass it on.
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return {
      ok: false,
      problem: `secret "${secretId}" is not a JSON object; store the variables as {"OPENAI_API_KEY": "…", "GATEWAY_API_KEYS": "…"}`,
    };
  }
  const keys = new Set(
    Object.entries(parsed as Record<string, unknown>)
      .filter(([, value]) => typeof value === "string" && value.trim() !== "")
      .map(([key]) => key),
  );
  return { ok: true, keys };
}
