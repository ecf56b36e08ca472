// SHA-256 (FIPS 180-4) over linear memory. Integer-only; no allocation; no imports.
// Callers lay out already-padded messages (see merkle.ts), so this file only needs the compression
// function and a digest writer.

// Round constants: first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// Message schedule, 64 words.
const W: usize = memory.data(256);

// Working hash state h0..h7 as plain globals: cheaper than memory and never visible to the host.
let h0: u32 = 0;
let h1: u32 = 0;
let h2: u32 = 0;
let h3: u32 = 0;
let h4: u32 = 0;
let h5: u32 = 0;
let h6: u32 = 0;
let h7: u32 = 0;

// @ts-ignore: decorator
@inline
function reset(): void {
  h0 = 0x6a09e667;
  h1 = 0xbb67ae85;
  h2 = 0x3c6ef372;
  h3 = 0xa54ff53a;
  h4 = 0x510e527f;
  h5 = 0x9b05688c;
  h6 = 0x1f83d9ab;
  h7 = 0x5be0cd19;
}

function compress(block: usize): void {
  for (let i: usize = 0; i < 16; i++) {
    store<u32>(W + (i << 2), bswap<u32>(load<u32>(block + (i << 2))));
  }
  for (let i: usize = 16; i < 64; i++) {
    const w15 = load<u32>(W + ((i - 15) << 2));
    const w2 = load<u32>(W + ((i - 2) << 2));
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    store<u32>(W + (i << 2), load<u32>(W + ((i - 16) << 2)) + s0 + load<u32>(W + ((i - 7) << 2)) + s1);
  }
  let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
  for (let i: usize = 0; i < 256; i += 4) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + S1 + ch + load<u32>(K + i) + load<u32>(W + i);
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + S0 + maj;
  }
  h0 += a;
  h1 += b;
  h2 += c;
  h3 += d;
  h4 += e;
  h5 += f;
  h6 += g;
  h7 += h;
}

/** Hash `blocks` 64-byte blocks of an already padded message at `msg`; write the digest to `out`. */
export function sha256Padded(msg: usize, blocks: usize, out: usize): void {
  reset();
  for (let i: usize = 0; i < blocks; i++) compress(msg + (i << 6));
  store<u32>(out, bswap<u32>(h0));
  store<u32>(out, bswap<u32>(h1), 4);
  store<u32>(out, bswap<u32>(h2), 8);
  store<u32>(out, bswap<u32>(h3), 12);
  store<u32>(out, bswap<u32>(h4), 16);
  store<u32>(out, bswap<u32>(h5), 20);
  store<u32>(out, bswap<u32>(h6), 24);
  store<u32>(out, bswap<u32>(h7), 28);
}

/** Number of 64-byte blocks of a message of `len` bytes once padded (0x80, zeros, 64-bit length). */
export function paddedBlocks(len: usize): usize {
  return (len + 9 + 63) >> 6;
}

/** Write SHA-256 padding for a message of `len` bytes starting at `msg` (buffer must hold the padded size). */
export function writePadding(msg: usize, len: usize): void {
  const total = paddedBlocks(len) << 6;
  store<u8>(msg + len, 0x80);
  for (let i = len + 1; i < total - 8; i++) store<u8>(msg + i, 0);
  const bits: u64 = (<u64>len) << 3;
  store<u64>(msg + total - 8, bswap<u64>(bits));
}
