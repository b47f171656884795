import "vitest";
import type { TerraformConstructor } from "cdktf/lib/testing/matchers";

interface CdktfMatchers<R = unknown> {
  toHaveResource(type: TerraformConstructor): R;
  toHaveResourceWithProperties(type: TerraformConstructor, properties: Record<string, unknown>): R;
  toHaveProvider(type: TerraformConstructor): R;
  toHaveProviderWithProperties(type: TerraformConstructor, properties: Record<string, unknown>): R;
  toHaveDataSource(type: TerraformConstructor): R;
  toHaveDataSourceWithProperties(type: TerraformConstructor, properties: Record<string, unknown>): R;
  toBeValidTerraform(): R;
}

declare module "vitest" {
  // biome-ignore lint/suspicious/noExplicitAny: mirrors vitest's own Assertion<T = any>
  interface Assertion<T = any> extends CdktfMatchers<T> {}
  interface AsymmetricMatchersContaining extends CdktfMatchers {}
}
