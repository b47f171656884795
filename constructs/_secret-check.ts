/** Env variable and settings names whose values are secrets. */
export const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEYS?|PRIVATE_KEY|CREDENTIALS?)$/i;
/** Values that look like credentials whatever the variable is called. */
export const SECRET_VALUE =
  /^(sk-[A-Za-z0-9_-]{8,}|sk_live_|ghp_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|xox[abps]-|AIza[0-9A-Za-z_-]{20,})/;
/** A URL with an inline password. */
const URL_PASSWORD = /:\/\/[^/\s:@]*:([^@\s]+)@/;

/** A Terraform reference, a cdktf token or a kubelet `$(VAR)` expansion: not a literal. */
export const isReference = (value: string): boolean => value.includes("${") || value.includes("$(");

/** True when `value`, stored under `name`, is a literal that looks like a credential. */
export function looksLikeLiteralSecret(name: string, value: unknown): boolean {
  if (typeof value !== "string" || value === "" || isReference(value)) return false;
  const inlinePassword = URL_PASSWORD.exec(value)?.[1];
  return (
    SECRET_NAME.test(name) || SECRET_VALUE.test(value) || (!!inlinePassword && !isReference(inlinePassword))
  );
}

/**
 * Throws when a plain (clear-text) setting looks like a secret: such values end
 * up in Terraform state and synthesized output, so they must come from a Secret.
 */
export function checkPlainSettings(
  owner: string,
  prop: string,
  settings: Readonly<Record<string, string>>,
  fix: string,
): void {
  for (const [key, value] of Object.entries(settings)) {
    if (looksLikeLiteralSecret(key, value)) {
      throw new Error(
        `${owner}: ${prop}.${key} holds a literal secret-looking value; plain settings are written in clear text to the synthesized output and state, so ${fix}`,
      );
    }
  }
}
