// npm run rollback -- --env <environment> [--gate auto|cluster|offline] [--file stacks/environments.ts]
// Flips an environment back to its other slot (which still runs the previous
// release) with the same gate as promote. The emergency path (no image build,
// no staging) is in docs/runbooks.md, "Release, promote, roll back".
import { runCli } from "./promote/cli";

runCli("rollback");
