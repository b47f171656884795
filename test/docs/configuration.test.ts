import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { fileConfigSchema } from "../../app/config/file-config";
import { envSchema } from "../../app/config/load-config";
import { LIMIT_DEFAULTS } from "../../app/security/limits";
import {
  CONFIGURATION_DOC,
  environmentRows,
  fileRows,
  renderConfigurationDoc,
} from "../../scripts/docs-config";
import { ROOT } from "../../scripts/docs-format";

describe("docs/configuration.md, generated from the configuration schemas", () => {
  it("is up to date (run `npm run docs:config` when this fails)", () => {
    const committed = readFileSync(join(ROOT, CONFIGURATION_DOC), "utf8");
    expect(committed, "docs/configuration.md is stale: run `npm run docs:config` and commit it").toBe(
      renderConfigurationDoc(),
    );
  });

  it("describes every environment variable the schema parses", () => {
    const undescribed = environmentRows()
      .filter((row) => row.description === "")
      .map((row) => row.name);
    expect(undescribed, "add .describe() or .meta({ description }) to these in load-config.ts").toEqual([]);
    expect(environmentRows().map((row) => row.name)).toEqual(Object.keys(envSchema.shape));
  });

  it("picks up a variable added to the schema without any change to the generator", () => {
    const extended = envSchema.extend({
      AI_SOMETHING_NEW_SECONDS: z.string().optional().meta({ description: "A new knob.", default: "7" }),
    });
    const text = renderConfigurationDoc(extended);
    expect(text).toMatch(/\| `AI_SOMETHING_NEW_SECONDS` +\| string +\| `7` +\| A new knob\. +\|/);
    expect(renderConfigurationDoc()).not.toContain("AI_SOMETHING_NEW_SECONDS");
  });

  it("shows per-environment defaults from ENVIRONMENT_DEFAULTS and the request limits' real defaults", () => {
    const timeout = environmentRows().find((row) => row.name === "AI_TIMEOUT_SECONDS");
    expect(timeout?.default).toBe("development: `30`; staging: `15`; production: `10`");
    const limits = fileRows(fileConfigSchema);
    for (const [key, value] of Object.entries(LIMIT_DEFAULTS)) {
      expect(limits.find((row) => row.name === `limits.${key}`)?.default, key).toBe(`\`${value}\``);
    }
  });
});
