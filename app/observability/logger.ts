import pino, { type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "../config/defaults";

/**
 * Paths pino censors in every log line: credentials in headers, keys in
 * objects. Fixed paths only: a wildcard makes pino walk every key of every
 * logged object, which cost ~35 µs a line (a tenth of a request's CPU). Code
 * logs chosen fields, never raw headers or config objects, so these are the
 * belt to that pair of braces; test/app/observability/logger.test.ts drives
 * every failure path with canary keys to prove none reaches a line.
 */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers["x-goog-api-key"]',
  "headers.authorization",
  'headers["x-api-key"]',
  'headers["x-goog-api-key"]',
  "authorization",
  "apiKey",
  "apiKeys",
  "api_key",
  "password",
  "config.gatewayApiKeys",
  "config.gatewayAdminKeys",
  // Connection URLs may embed a password; the webhook URL may embed a token.
  "config.databaseUrl",
  "config.redisUrl",
  "config.cacheRedisUrl",
  "config.chromaUrl",
  "config.alertWebhookUrl",
  "config.providers.openai.apiKeys",
  "config.providers.claude.apiKeys",
  "config.providers.gemini.apiKeys",
  "config.providers.groq.apiKeys",
  "config.providers.ollama.apiKeys",
];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Where lines go; stdout by default, a memory stream in tests. */
  readonly destination?: DestinationStream;
}

/** A structured JSON logger with keys and authorization headers redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: "ai-gateway" },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
