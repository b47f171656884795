import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, ROOT } from "../helpers/built";

const NAMES = [
  "AiGatewayService",
  "BlueGreenGateway",
  "PgvectorDatabase",
  "RedisCache",
  "ChromaStore",
  "AppSecrets",
  "SecretSource",
  "GatewayMonitoring",
  "KitPolicy",
  "LocalAiEnvironment",
  "ExternalPostgres",
  "ExternalRedis",
  "ExternalChroma",
];

// A user's program: it requires the package by name, as `npm install ai-deploy-kit` users do.
const CONSUMER = `
const { App, TerraformStack, Aspects } = require("cdktf");
const { KubernetesProvider } = require("@cdktf/provider-kubernetes/lib/provider");
const kit = require("ai-deploy-kit/constructs");
const app = new App({ outdir: process.argv[1] });
const stack = new TerraformStack(app, "mine");
new KubernetesProvider(stack, "kubernetes", {});
const database = new kit.PgvectorDatabase(stack, "Database", { namespace: "ai" });
const gateway = new kit.BlueGreenGateway(stack, "Gateway", {
  namespace: "ai", imageRepository: "ghcr.io/acme/ai-gateway", blueImageTag: "1.0.0", greenImageTag: "1.1.0",
  database, secrets: new kit.AppSecrets(stack, "Secrets", { namespace: "ai", source: kit.SecretSource.fromExistingSecret("keys") }),
});
new kit.GatewayMonitoring(stack, "Monitoring", { gateway });
Aspects.of(stack).add(new kit.KitPolicy());
app.synth();
process.stdout.write(JSON.stringify(Object.keys(kit)));
`;

describe("ai-deploy-kit/constructs", () => {
  beforeAll(() => {
    ensureBuilt("dist/constructs/index.js", "scripts/build-constructs.mjs", [
      "constructs",
      "app/config",
      "app/observability",
    ]);
  });

  it("is importable by package name and synthesizes a user's stack", () => {
    const outdir = join(ROOT, "dist", "library-test.out");
    const exported = JSON.parse(
      execFileSync(process.execPath, ["-e", CONSUMER, outdir], { cwd: ROOT, encoding: "utf8" }),
    ) as string[];
    expect(exported).toEqual(expect.arrayContaining(NAMES));
    const synthesized = readFileSync(join(outdir, "stacks/mine/cdk.tf.json"), "utf8");
    expect(synthesized).toContain('"ghcr.io/acme/ai-gateway:1.1.0"');
    expect(synthesized).toContain('"kind": "PrometheusRule"');
    rmSync(outdir, { recursive: true, force: true });
  });

  it("declares its types where package.json exports them", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      exports: Record<string, { types: string; default: string }>;
      peerDependencies: Record<string, string>;
    };
    const entry = pkg.exports["./constructs"];
    expect(entry).toEqual({
      types: "./dist/types/constructs/index.d.ts",
      default: "./dist/constructs/index.js",
    });
    // One copy of cdktf and the providers in the consumer's tree: KitPolicy and the
    // consumer's own resources then share the classes and the Terraform types.
    expect(Object.keys(pkg.peerDependencies)).toEqual(
      expect.arrayContaining(["cdktf", "constructs", "@cdktf/provider-docker", "@cdktf/provider-kubernetes"]),
    );
    const declarations = readFileSync(join(ROOT, entry?.types ?? ""), "utf8");
    for (const file of declarations.match(/from "\.\/[^"]+"/g) ?? []) {
      const path = join(ROOT, "dist/types/constructs", `${file.slice(6, -1)}.d.ts`);
      expect(readFileSync(path, "utf8")).toMatch(/export (declare )?(class|function|const|type|interface)/);
    }
    expect(declarations.match(/export \* from/g)).toHaveLength(18);
  });
});
