// The invariant "no honest key ever signs two conflicting messages", across restarts: every vote,
// timeout and proposal an honest validator sends is recorded by (validator, round) for the whole run,
// whatever incarnation of the validator sent it. Conflicts: two votes or two proposals for different
// blocks in one round, and a vote in a round after a timeout in it (a TC is only safe to build on
// because its signers never vote in its round). Two timeouts of one round are not a conflict: the
// timeout rule lets a node re-sign with a higher QC (as Aptos does).
import { toHex } from '../crypto/sha256.ts';
import type { ConsensusMessage } from '../consensus/messages.ts';

export class SignatureLedger {
  private readonly votes = new Map<string, string>();
  private readonly proposals = new Map<string, string>();
  private readonly timedOut = new Set<string>();
  readonly conflicts: string[] = [];
  recorded = 0;

  record(validator: number, msg: ConsensusMessage): void {
    switch (msg.type) {
      case 'vote': {
        const key = `${validator}/${msg.round}`;
        this.recorded++;
        if (this.timedOut.has(key)) this.conflict(`validator ${validator} voted in round ${msg.round} after timing out in it`);
        this.same(this.votes, key, toHex(msg.blockHash), `validator ${validator} voted for two blocks in round ${msg.round}`);
        return;
      }
      case 'proposal': {
        this.recorded++;
        this.same(this.proposals, `${validator}/${msg.block.header.round}`, toHex(msg.block.hash), `validator ${validator} proposed two blocks in round ${msg.block.header.round}`);
        return;
      }
      case 'timeout':
        this.recorded++;
        this.timedOut.add(`${validator}/${msg.round}`);
        return;
      default:
    }
  }

  private same(map: Map<string, string>, key: string, value: string, what: string): void {
    const prev = map.get(key);
    if (prev === undefined) map.set(key, value);
    else if (prev !== value) this.conflict(what);
  }

  private conflict(what: string): void {
    if (this.conflicts.length < 10) this.conflicts.push(what);
  }
}
