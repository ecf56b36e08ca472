// A node that lies: an HTTP relay in front of a real node's API that forges one kind of answer on
// its way to the dashboard, the way a compromised node would. Everything else passes through.
//   block     a transaction byte in every block of GET /blocks (the header and its QC stay genuine)
//   qc        a vote signature in every QC of GET /blocks
//   snapshot  a tensor value of GET /snapshot/latest (its claimed root stays)
//   proof     a value of GET /state and the root recomputed to match it: a self-consistent proof of
//             a root no QC certifies
//   root      the stateRoot of GET /health
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeSnapshot, encodeSnapshot } from '../../src/chain/snapshot.ts';
import { decodeCanonical, encodeCanonical, type Canon } from '../../src/codec/canonical.ts';
import { qcFromCanon, qcToCanon } from '../../src/consensus/block.ts';
import { merkleNodeHash } from '../../src/crypto/merkle.ts';
import { fromHex, toHex } from '../../src/crypto/sha256.ts';
import { rowLeafHash } from '../../src/engine/proof.ts';
import type { HealthJson, RawBlocksJson, SnapshotJson, StateJson } from '../../src/rpc/api.ts';
import { fromBase64, toBase64 } from '../../src/util/base64.ts';

export type TamperMode = 'block' | 'qc' | 'snapshot' | 'proof' | 'root';

export interface TamperRelay {
  readonly url: string;
  readonly mode: TamperMode;
  /** answers forged so far */
  readonly forged: number;
  close(): Promise<void>;
}

function forgeBlocks(j: RawBlocksJson, mode: 'block' | 'qc'): RawBlocksJson {
  return {
    ...j,
    blocks: j.blocks.map((b) => {
      if (mode === 'qc') {
        const qc = qcFromCanon(decodeCanonical(fromBase64(b.qc)), 'qc');
        const sigs = qc.sigs.map((s, i) => (i === 0 ? s.map((x, k) => (k === 10 ? x ^ 0x01 : x)) : s));
        return { ...b, qc: toBase64(encodeCanonical(qcToCanon({ ...qc, sigs }))) };
      }
      const canon = decodeCanonical(fromBase64(b.block), 64 << 20) as [Canon, Uint8Array[]];
      const txs = canon[1];
      if (txs.length === 0) return b;
      const tx = txs[0]!.slice();
      tx[tx.length - 1] ^= 0x01; // inside the signature: still well-formed, but another transaction
      return { ...b, block: toBase64(encodeCanonical([canon[0], [tx, ...txs.slice(1)]])) };
    }),
  };
}

function forgeSnapshot(j: SnapshotJson): SnapshotJson {
  const s = decodeSnapshot(fromBase64(j.chain), 1 << 30);
  const tensor = s.tensor.slice();
  tensor[0] ^= 0x01;
  return { ...j, chain: toBase64(encodeSnapshot({ ...s, tensor })) };
}

/** Change one value and recompute the root along the genuine audit path. */
function forgeProof(j: StateJson): StateJson {
  const values = Int32Array.from(j.values, (v, i) => (i === 0 ? (v === 0 ? 1 : 0) : v));
  let h = rowLeafHash(values);
  let idx = j.index;
  let len = j.rows;
  let used = 0;
  while (len > 1) {
    if ((idx ^ 1) < len) {
      const sib = fromHex(j.path[used++]!);
      h = idx & 1 ? merkleNodeHash(sib, h) : merkleNodeHash(h, sib);
    }
    idx >>= 1;
    len = (len + 1) >> 1;
  }
  return { ...j, values: Array.from(values), stateRoot: toHex(h) };
}

function forgeHealth(j: HealthJson): HealthJson {
  const root = fromHex(j.stateRoot);
  root[31] ^= 0x01;
  return { ...j, stateRoot: toHex(root) };
}

export async function startTamperRelay(target: string, mode: TamperMode): Promise<TamperRelay> {
  let forged = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = req.url ?? '/';
      let upstream: Response;
      try {
        upstream = await fetch(target + path, { method: req.method, headers: { accept: req.headers.accept ?? '*/*' } });
      } catch (e) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`relay: ${(e as Error).message}`);
        return;
      }
      const type = upstream.headers.get('content-type') ?? 'application/octet-stream';
      let body: Uint8Array = new Uint8Array(await upstream.arrayBuffer());
      const route = path.split('?')[0]!;
      const forge = <T>(fn: (j: T) => T): void => {
        body = new TextEncoder().encode(JSON.stringify(fn(JSON.parse(new TextDecoder().decode(body)) as T)));
        forged++;
      };
      if (upstream.status === 200) {
        if ((mode === 'block' || mode === 'qc') && route === '/blocks') forge<RawBlocksJson>((j) => forgeBlocks(j, mode));
        else if (mode === 'snapshot' && route === '/snapshot/latest') forge(forgeSnapshot);
        else if (mode === 'proof' && route.startsWith('/state/')) forge(forgeProof);
        else if (mode === 'root' && route === '/health') forge(forgeHealth);
      }
      res.writeHead(upstream.status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    })().catch((e: unknown) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    mode,
    get forged() {
      return forged;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
