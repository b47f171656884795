import { createHash } from "node:crypto";

// Deterministic "embeddings" for fakes: a bag of content words, each word a
// fixed pseudo-random direction, summed and normalized. Texts with the same
// content words (a paraphrase that only changes filler words, case or
// punctuation) get the same vector; texts sharing no content word are near
// orthogonal. Good enough to test similarity thresholds without a model.

const FILLER = new Set([
  "a",
  "an",
  "the",
  "of",
  "is",
  "are",
  "what",
  "whats",
  "what's",
  "please",
  "tell",
  "me",
  "can",
  "you",
  "could",
  "i",
  "to",
  "do",
  "does",
]);

const directions = new Map<string, Float64Array>();

function direction(word: string, dimensions: number): Float64Array {
  const key = `${dimensions}:${word}`;
  let out = directions.get(key);
  if (out) return out;
  out = new Float64Array(dimensions);
  let block = Buffer.alloc(0);
  for (let i = 0; i < dimensions; i++) {
    if (i % 16 === 0)
      block = createHash("sha256")
        .update(`${word}#${i / 16}`)
        .digest();
    // Two bytes per component, centred on zero.
    out[i] = (block.readUInt16LE((i % 16) * 2) - 32767.5) / 32767.5;
  }
  directions.set(key, out);
  return out;
}

/** The content words of a text (lower case, punctuation and filler words removed). */
export function contentWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}']+/u)
    .map((word) => word.replace(/'/g, ""))
    .filter((word) => word !== "" && !FILLER.has(word));
}

/** A unit vector for a text (or a token-id array), the same on every call. */
export function fakeEmbedding(input: string | readonly number[], dimensions: number): number[] {
  const words = typeof input === "string" ? contentWords(input) : input.map((id) => `t${id}`);
  const sum = new Float64Array(dimensions);
  for (const word of words.length > 0 ? words : ["<empty>"]) {
    const d = direction(word, dimensions);
    for (let i = 0; i < dimensions; i++) sum[i]! += d[i]!;
  }
  return normalize(Array.from(sum));
}

/** Scales a vector to unit length (as OpenAI does after shortening to `dimensions`). */
export function normalize(vector: readonly number[]): number[] {
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  // Rounded through float32, as vendors' vectors are.
  return vector.map((x) => Math.fround(x / norm));
}

/** Cosine similarity of two vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / (Math.sqrt(na) * Math.sqrt(nb));
}
