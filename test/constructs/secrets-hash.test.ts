import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AiGatewayService } from "../../constructs/kubernetes/ai-gateway-service";
import { AppSecrets } from "../../constructs/kubernetes/app-secrets";
import { SecretSource } from "../../constructs/kubernetes/secret-source";
import { type Body, named, synth } from "../helpers/synth";
import { describeWithTerraform } from "../helpers/terraform";

const IMAGE = "ghcr.io/acme/ai-gateway:1.0.0";

function annotations(source?: SecretSource): Record<string, string> {
  const { json } = synth((scope) => {
    new AiGatewayService(scope, "Gateway", {
      image: IMAGE,
      secrets: new AppSecrets(scope, "Secrets", source ? { source } : {}),
    });
  });
  const template = (named(json, "kubernetes_deployment_v1", "ai-gateway")["spec"] as Body)[
    "template"
  ] as Body;
  return (template["metadata"] as Body)["annotations"] as Record<string, string>;
}

describe("key rotation reaches the pods (Terraform-variable secrets)", () => {
  const expression = annotations()["ai-deploy-kit.io/secrets-hash"]!;

  it("puts a digest of the Secret's contents on the pod template, computed by Terraform from the variables", () => {
    expect(expression).toMatch(/^\$\{nonsensitive\(sha256\(jsonencode\(\{.*\}\)\)\)\}$/);
    for (const variable of ["openai_api_key", "claude_api_key", "gateway_api_keys", "alert_webhook_url"]) {
      expect(expression).toContain(`var.${variable}`);
    }
  });

  it("has none for sources Terraform does not hold: AWS Secrets Manager refreshes in the app, an existing Secret needs a restart", () => {
    expect(
      annotations(
        SecretSource.fromAwsSecretsManager("arn:aws:secretsmanager:eu-west-1:123456789012:secret:ai"),
      ),
    ).not.toHaveProperty("ai-deploy-kit.io/secrets-hash");
    expect(annotations(SecretSource.fromExistingSecret("ai-keys"))).not.toHaveProperty(
      "ai-deploy-kit.io/secrets-hash",
    );
  });

  // Terraform itself evaluates the synthesized expression (no provider needed): a rotated key
  // changes the digest, and the digest never carries a value.
  describeWithTerraform("evaluated by terraform", () => {
    const dir = mkdtempSync(join(tmpdir(), "secrets-hash-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const names = [...expression.matchAll(/var\.([a-z_]+)/g)].map((match) => match[1]!);
    writeFileSync(
      join(dir, "main.tf.json"),
      JSON.stringify({
        variable: Object.fromEntries(
          names.map((name) => [name, { type: "string", sensitive: true, default: "" }]),
        ),
        output: { hash: { value: expression } },
      }),
    );
    const digest = (openaiKey: string) => {
      execFileSync("terraform", ["init", "-input=false", "-no-color"], { cwd: dir, stdio: "pipe" });
      execFileSync(
        "terraform",
        [
          "apply",
          "-auto-approve",
          "-input=false",
          "-no-color",
          `-var=openai_api_key=${openaiKey}`,
          "-var=gateway_api_keys=gw-1",
        ],
        { cwd: dir, stdio: "pipe", env: { ...process.env, CHECKPOINT_DISABLE: "1" } },
      );
      return execFileSync("terraform", ["output", "-raw", "hash"], { cwd: dir, encoding: "utf8" });
    };

    it("changes when a key rotates and shows no value", () => {
      const before = digest("sk-old-0123456789");
      const after = digest("sk-new-9876543210");
      expect(before).toMatch(/^[0-9a-f]{64}$/);
      expect(after).toMatch(/^[0-9a-f]{64}$/);
      expect(after).not.toBe(before);
      expect(digest("sk-old-0123456789")).toBe(before);
    });
  });
});
