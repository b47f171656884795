// npm run promote -- --env <environment> --slot <blue|green> [--gate auto|cluster|offline] [--check] [--file stacks/environments.ts]
// Switches which blue-green slot an environment's production Service selects,
// as a one-line change to review and merge like any other, and only when the
// target slot passes the gate (scripts/promote/cli.ts). Image tags are not its
// business: `npm run release` sets the idle slot's tag before a promotion.
import { runCli } from "./promote/cli";

runCli("promote");
