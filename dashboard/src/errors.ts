/**
 * Custom errors in words. A reverted call carries the error's ABI encoding (selector + arguments); ethers
 * puts it somewhere in the error object (`data`, `error.data`, `info.error.data`, depending on the path), so
 * we look for it, decode it with every ABI of the deployment, and attach the sentence docs/reference.md
 * gives for that error. The user never sees the hex.
 */
import type { Interface } from "ethers";

import reference from "../../docs/reference.md?raw";

export interface DecodedError {
  /** "InsufficientBorrowCapacity" */
  name: string;
  /** "debt = 25000000000, capacity = 24000000000" */
  args: string;
  /** The reference's sentence for the error, when it has one. */
  sentence?: string;
  /** The whole thing, for display. */
  text: string;
}

/** "Thrown when ..." sentences of docs/reference.md, by error name. */
const sentences: Map<string, string> = parseReference(reference);

function parseReference(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  // Each custom error is "### Name(args)" followed by a blank line and its description paragraph.
  const heading = /^### (\w+)\(.*\)\n\n([^\n]+(?:\n[^\n#-][^\n]*)*)/gm;
  for (const m of markdown.matchAll(heading)) out.set(m[1], m[2].replace(/\n/g, " ").trim());
  return out;
}

/** The revert data hidden in an ethers (or JSON-RPC) error, if any. */
export function revertData(e: unknown, depth = 0): string | undefined {
  if (depth > 6 || e === null || typeof e !== "object") return undefined;
  const o = e as Record<string, unknown>;
  if (typeof o.data === "string" && /^0x[0-9a-fA-F]{8,}$/.test(o.data)) return o.data;
  for (const key of ["data", "error", "info", "cause", "payload"]) {
    const found = revertData(o[key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Decodes a failed call's custom error; null when there is no revert data or no ABI knows it. */
export function decodeError(e: unknown, iface: Interface): DecodedError | null {
  const data = revertData(e);
  if (!data) return null;
  let parsed;
  try {
    parsed = iface.parseError(data);
  } catch {
    return null;
  }
  if (!parsed) return null;
  const args = parsed.fragment.inputs.map(
    (input, i) => `${input.name || `arg${i}`} = ${String(parsed.args[i])}`,
  );
  const sentence = sentences.get(parsed.name);
  const argText = args.join(", ");
  return {
    name: parsed.name,
    args: argText,
    sentence,
    text: `${parsed.name}(${argText})${sentence ? `: ${sentence}` : ""}`,
  };
}

/** Any error as one readable line: the decoded custom error, else the first line of the message. */
export function describeError(e: unknown, iface: Interface): string {
  const decoded = decodeError(e, iface);
  if (decoded) return decoded.text;
  const o = e as { shortMessage?: string; reason?: string; message?: string };
  const message = o?.reason ?? o?.shortMessage ?? o?.message ?? String(e);
  // Never show raw revert data: an undecodable revert says so instead.
  return message.split("\n")[0].replace(/0x[0-9a-fA-F]{16,}/g, "(undecoded data)");
}

/** The reference's sentence for an error name (exported for the docs panel and tests). */
export const errorSentence = (name: string): string | undefined => sentences.get(name);
