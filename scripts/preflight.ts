// npm run preflight -- --env <environment> [--image-tag <tag to check too>] [--secrets-manager <secret-id> [--region <r>]] [--existing-secret <name>]
// The guide's configuration validation before a deploy: prints a PASS / FAIL
// checklist and exits 1 when any line fails (or the input is wrong).
import { parseArgs } from "node:util";
import { PreflightError, renderChecklist, runPreflight, type SecretSourceSpec } from "./preflight/checks";

const USAGE =
  "usage: npm run preflight -- --env <development|staging|production> [--image-tag <tag to check too>] [--secrets-manager <secret-id> [--region <region>] | --existing-secret <name>]";

async function main(): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        env: { type: "string" },
        "image-tag": { type: "string" },
        "secrets-manager": { type: "string" },
        region: { type: "string" },
        "existing-secret": { type: "string" },
        // The name this flag had before AppSecrets called the source "existing-secret".
        "kubernetes-secret": { type: "string" },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 1;
  }
  if (!values["env"]) {
    console.error(`--env is required\n${USAGE}`);
    return 1;
  }
  const existingSecret = values["existing-secret"] ?? values["kubernetes-secret"];
  if (values["secrets-manager"] && existingSecret) {
    console.error(`pass --secrets-manager or --existing-secret, not both\n${USAGE}`);
    return 1;
  }
  let secretSource: SecretSourceSpec | undefined;
  if (values["secrets-manager"]) {
    secretSource = {
      kind: "aws-secrets-manager",
      secretId: values["secrets-manager"],
      ...(values["region"] ? { region: values["region"] } : {}),
    };
  } else if (existingSecret) {
    secretSource = { kind: "existing-secret", name: existingSecret };
  }
  try {
    const report = await runPreflight({
      environment: values["env"],
      ...(secretSource ? { secretSource } : {}),
      ...(values["image-tag"] !== undefined ? { imageTag: values["image-tag"] } : {}),
    });
    process.stdout.write(renderChecklist(report));
    return report.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof PreflightError) {
      console.error(`preflight: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

main().then((code) => {
  process.exitCode = code;
});
