// `npm run ledger:export -- --day YYYY-MM-DD --out FILE [--format jsonl|csv] [--schema NAME]`:
// writes every raw row of a day, gzip'd, to a file (docs/design.md section 2).
// The retention task uses the same code before it drops a partition.
import { parseArgs } from "node:util";
import { openLedgerDb } from "../app/ledger/db";
import { exportDay } from "../app/ledger/export";
import { isCalendarDay } from "../app/routes/usage";

const USAGE =
  "usage: npm run ledger:export -- --day YYYY-MM-DD --out FILE [--format jsonl|csv] [--schema NAME]";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      day: { type: "string" },
      out: { type: "string" },
      format: { type: "string", default: "jsonl" },
      schema: { type: "string" },
    },
  });
  const format = values.format;
  if (!values.day || !isCalendarDay(values.day) || !values.out || (format !== "jsonl" && format !== "csv")) {
    console.error(USAGE);
    return 2;
  }
  if (values.out.startsWith("s3://")) {
    console.error(
      "ledger:export writes to a file; S3 upload is not built yet (copy the file with your S3 tool)",
    );
    return 2;
  }
  const db = await openLedgerDb({
    databaseUrl: process.env["DATABASE_URL"],
    dataDir: process.env["DATA_DIR"] ?? ".data",
    schema: values.schema,
  });
  try {
    const result = await exportDay(db, { day: values.day, out: values.out, format });
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`ledger:export failed: ${(error as Error).message}`);
    process.exit(2);
  },
);
