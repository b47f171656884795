// cdktf's Terraform matchers (toHaveResource, toBeValidTerraform, ...), for
// the test files that use them: `import "../helpers/cdktf-matchers";`.
// Kept out of test/setup.ts so the other test files do not load cdktf's
// testing module (setup runs once per file).
import {
  getToHaveDataSourceWithProperties,
  getToHaveProviderWithProperties,
  getToHaveResourceWithProperties,
  returnMatcherToJest,
  type TerraformConstructor,
  toBeValidTerraform,
} from "cdktf/lib/testing/matchers";
import { expect } from "vitest";

// cdktf ships its matchers for Jest; the evaluation below is the Jest
// adapter's, expressed with vitest's asymmetric matchers.
function passEvaluation(items: unknown[], asserted: Record<string, unknown>): boolean {
  if (Object.keys(asserted).length === 0) return items.length > 0;
  return expect.arrayContaining([expect.objectContaining(asserted)]).asymmetricMatch(items);
}

const resourceWith = getToHaveResourceWithProperties(passEvaluation);
const providerWith = getToHaveProviderWithProperties(passEvaluation);
const dataSourceWith = getToHaveDataSourceWithProperties(passEvaluation);

expect.extend({
  toHaveResource(received: string, type: TerraformConstructor) {
    return returnMatcherToJest(resourceWith(received, type, {}));
  },
  toHaveResourceWithProperties(
    received: string,
    type: TerraformConstructor,
    properties: Record<string, unknown>,
  ) {
    return returnMatcherToJest(resourceWith(received, type, properties));
  },
  toHaveProvider(received: string, type: TerraformConstructor) {
    return returnMatcherToJest(providerWith(received, type, {}));
  },
  toHaveProviderWithProperties(
    received: string,
    type: TerraformConstructor,
    properties: Record<string, unknown>,
  ) {
    return returnMatcherToJest(providerWith(received, type, properties));
  },
  toHaveDataSource(received: string, type: TerraformConstructor) {
    return returnMatcherToJest(dataSourceWith(received, type, {}));
  },
  toHaveDataSourceWithProperties(
    received: string,
    type: TerraformConstructor,
    properties: Record<string, unknown>,
  ) {
    return returnMatcherToJest(dataSourceWith(received, type, properties));
  },
  toBeValidTerraform(received: string) {
    return returnMatcherToJest(toBeValidTerraform(received));
  },
});
