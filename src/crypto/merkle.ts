// RFC 6962 (Certificate Transparency) Merkle tree hash, used for block tx roots. The engine's state
// root uses the same construction, so one verifier understands both.
import { sha256, sha256Into } from './sha256.ts';

const LEAF = 0x00;
const NODE = 0x01;

// A block's root hashes every transaction and every inner node; the prefixed input is assembled in
// one reused buffer (sha256() reads its input before returning and keeps no reference to it).
let scratch = new Uint8Array(4096);

function growScratch(n: number): void {
  if (n <= scratch.length) return;
  scratch = new Uint8Array(Math.max(n, 2 * scratch.length));
  views.clear();
}

function prefixed(prefix: number, a: Uint8Array, b?: Uint8Array): Uint8Array {
  const n = 1 + a.length + (b?.length ?? 0);
  growScratch(n);
  scratch[0] = prefix;
  scratch.set(a, 1);
  if (b) scratch.set(b, 1 + a.length);
  return scratch.subarray(0, n);
}

/** The 0x00/0x01 prefixes keep a leaf from ever being confused with an inner node (second-preimage). */
export function merkleLeafHash(data: Uint8Array): Uint8Array {
  return sha256(leafInput(data));
}

export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(prefixed(NODE, left, right));
}

/**
 * MTH(D[n]): empty list → SHA-256(""); otherwise split at the largest power of two < n. Computed
 * bottom up, pairing neighbours level by level and carrying an odd last node up unchanged, which
 * gives exactly that split; every node hash is written in place into one reused buffer, so a
 * block's root allocates no array per transaction.
 */
export function merkleRoot(items: readonly Uint8Array[]): Uint8Array {
  const n = items.length;
  if (n === 0) return sha256(new Uint8Array(0));
  if (levels.length < 32 * n) levels = new Uint8Array(32 * Math.max(n, levels.length / 16));
  for (let i = 0; i < n; i++) sha256Into(leafInput(items[i]!), levels, 32 * i);
  for (let m = n; m > 1; m = (m >> 1) + (m & 1)) {
    const pairs = m >> 1;
    for (let i = 0; i < pairs; i++) {
      // NODE || left || right, both children read before their parent overwrites slot i ≤ 2i.
      for (let j = 0; j < 64; j++) nodeInput[1 + j] = levels[64 * i + j]!;
      sha256Into(nodeInput, levels, 32 * i);
    }
    if (m & 1) levels.copyWithin(32 * pairs, 32 * (m - 1), 32 * m);
  }
  return levels.slice(0, 32);
}

let levels = new Uint8Array(32 * 2048);
const nodeInput = new Uint8Array(65);
nodeInput[0] = NODE;

/** LEAF || data in the scratch buffer, through a view per input length (a block has few lengths). */
function leafInput(data: Uint8Array): Uint8Array {
  const n = 1 + data.length;
  growScratch(n);
  let v = views.get(n);
  if (v === undefined) {
    if (views.size >= 64) views.clear();
    views.set(n, (v = scratch.subarray(0, n)));
  }
  v[0] = LEAF;
  v.set(data, 1);
  return v;
}
const views = new Map<number, Uint8Array>();

/**
 * Root implied by a leaf's hash, its index among `leaves` leaves and its audit path (deepest sibling
 * first; a node without a right neighbour is carried up unchanged); null if malformed. The one climb
 * behind every inclusion proof: transactions under a tx root, chunks under a PoC root, and the
 * engine's row proofs under a state root.
 */
export function rootFromPath(leafHash: Uint8Array, index: number, leaves: number, path: readonly Uint8Array[]): Uint8Array | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(leaves) || index < 0 || index >= leaves || leaves > 2 ** 32) return null;
  let h = leafHash;
  let i = index;
  let m = leaves;
  let used = 0;
  while (m > 1) {
    const sib = i ^ 1;
    if (sib < m) {
      const s = path[used++];
      if (!(s instanceof Uint8Array) || s.length !== 32) return null;
      h = i & 1 ? merkleNodeHash(s, h) : merkleNodeHash(h, s);
    }
    i >>= 1;
    m = (m >> 1) + (m & 1);
  }
  return used === path.length ? h : null;
}
