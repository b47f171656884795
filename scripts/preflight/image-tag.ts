/** Tags that name a moving target rather than one build. */
const MUTABLE_TAGS = new Set([
  "latest",
  "stable",
  "edge",
  "main",
  "master",
  "develop",
  "nightly",
  "head",
  "current",
]);

/** Checks whether the image tag names one build for good. */
export function imageTagProblem(tag: string): string | undefined {
  if (tag.trim() === "")
    return 'the image tag is empty; use the tag CI pushed for the commit (sha-<12 hex>, for example "sha-3f2c1a9e0b7d")';
  if (MUTABLE_TAGS.has(tag.toLowerCase())) {
    return `the image tag "${tag}" moves between builds; release an immutable tag such as the one CI pushed for the commit (npm run release -- --env <environment> --tag sha-$(git rev-parse --short=12 HEAD))`;
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag) && !/^sha256:[a-f0-9]{64}$/.test(tag)) {
    return `the image tag "${tag}" is not a valid tag (letters, digits, "_", ".", "-"; at most 128)`;
  }
  return undefined;
}
