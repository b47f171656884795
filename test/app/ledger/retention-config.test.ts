import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../app/config/load-config";

describe("LEDGER_RETENTION_DAYS, LEDGER_ROLLUP_RETENTION_DAYS and LEDGER_ARCHIVE_DIR", () => {
  it("default to 90 days of rows, 730 days of rollups and no archive (nothing dropped)", () => {
    expect(loadConfig({})).toMatchObject({
      ledgerRetentionDays: 90,
      ledgerRollupRetentionDays: 730,
      ledgerArchiveDir: undefined,
    });
  });

  it("reads them", () => {
    expect(
      loadConfig({
        LEDGER_RETENTION_DAYS: "30",
        LEDGER_ROLLUP_RETENTION_DAYS: "365",
        LEDGER_ARCHIVE_DIR: "/archive/ledger",
      }),
    ).toMatchObject({
      ledgerRetentionDays: 30,
      ledgerRollupRetentionDays: 365,
      ledgerArchiveDir: "/archive/ledger",
    });
  });

  it("fails when a retention is not a whole number of days", () => {
    expect(() => loadConfig({ LEDGER_RETENTION_DAYS: "0", LEDGER_ROLLUP_RETENTION_DAYS: "1.5" })).toThrow(
      new ConfigError([
        'LEDGER_RETENTION_DAYS: "0" is not allowed; expected a whole number of days, 1 or more',
        'LEDGER_ROLLUP_RETENTION_DAYS: "1.5" is not allowed; expected a whole number of days, 1 or more',
      ]),
    );
  });
});
