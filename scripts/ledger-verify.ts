// `npm run ledger:verify -- --day YYYY-MM-DD [--schema NAME]`: recomputes a
// day's rollups from its raw rows and prints every difference (docs/design.md
// section 2). Exit 0 when they agree, 1 when they differ, 2 on bad usage.
import { parseArgs } from "node:util";
import { openLedgerDb } from "../app/ledger/db";
import { verifyDay } from "../app/ledger/verify";
import { isCalendarDay } from "../app/routes/usage";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { day: { type: "string" }, schema: { type: "string" } } });
  if (!values.day || !isCalendarDay(values.day)) {
    console.error("usage: npm run ledger:verify -- --day YYYY-MM-DD [--schema NAME]");
    return 2;
  }
  const db = await openLedgerDb({
    databaseUrl: process.env["DATABASE_URL"],
    dataDir: process.env["DATA_DIR"] ?? ".data",
    schema: values.schema,
  });
  try {
    const report = await verifyDay(db, values.day);
    console.log(JSON.stringify(report, null, 2));
    if (!report.ok) {
      console.error(
        `ledger ${values.day}: ${report.differences.length} rollup key(s) differ from the raw rows; raw rows ${report.rows}, unpartitioned rows ${report.legacyRows}`,
      );
      return 1;
    }
    console.error(`ledger ${values.day}: rollups agree with ${report.rows} raw rows`);
    return 0;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`ledger:verify failed: ${(error as Error).message}`);
    process.exit(2);
  },
);
