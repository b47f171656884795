export { type LedgerDb, migrate, openLedgerDb } from "./db";
export {
  CostLedger,
  type CostLedgerOptions,
  type DayUsage,
  type HistoryRow,
  openCostLedger,
  utcDay,
} from "./ledger";
export { LedgerMaintenance, type LedgerMaintenanceOptions } from "./maintenance";
export { MIGRATIONS } from "./migrations";
export { PICO_PER_USD, picoToUsdNumber, picoToUsdString, usdStringToPico } from "./money";
export { PriceTable, SHIPPED_PRICES } from "./prices";
export type { LedgerRow } from "./row";
