// The simulator must catch a broken rule, not just pass with correct ones. Each rule is switched off
// on every honest node (runSimulation's breakRule) under the fault scenario built to expose it
// (BREAK_SCENARIOS: one Byzantine validator of four plus an adversarial network), and some of a few
// seeds must then report a safety violation; the very same seeds and faults with the rule intact must
// keep every invariant. If a change to the simulator or the core stops a rule from being caught,
// this fails. Runs the bare core (fast mode): the rules live there. Replay a catching seed:
// npx numchain sim --mode core --break RULE --seed N
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BREAK_SCENARIOS, BREAKABLE_RULES, runSimulation } from '../../src/sim/simulator.ts';

const SEEDS = [1, 2, 3, 4, 5, 6];
const NODES = 4;

for (const rule of BREAKABLE_RULES) {
  test(`breaking ${rule} is caught by a seed; the same seeds pass with it intact`, async () => {
    const faults = BREAK_SCENARIOS[rule];
    const broken = await Promise.all(SEEDS.map((seed) => runSimulation({ seed, nodes: NODES, faults, breakRule: rule, mode: 'core' })));
    const caught = broken.filter((r) => r.violations.some((v) => v.startsWith('SAFETY: conflicting commits')));
    const first = caught[0];
    console.log(`  ${rule}: caught by seeds [${caught.map((r) => r.seed).join(' ')}] of [${SEEDS.join(' ')}]${first === undefined ? '' : ` — first: seed ${first.seed}, ${first.violations[0]}; replay: npx numchain sim --mode core --break ${rule} --seed ${first.seed}`}`);
    assert.ok(first !== undefined, `no seed of ${SEEDS.join(', ')} caught ${rule} (${faults.byzantine ?? 'none'} scenario)`);
    assert.equal(await runSimulation({ seed: first.seed, nodes: NODES, faults, breakRule: rule, mode: 'core' }), first, 'the catching seed replays exactly');

    for (const seed of SEEDS) {
      const r = await runSimulation({ seed, nodes: NODES, faults, mode: 'core' });
      assert.ok(r.ok, `seed ${seed} with ${rule} intact: ${r.violations.join(' | ')}`);
      assert.ok(r.stats.minHonestHeight > 20, `seed ${seed} with ${rule} intact made progress`);
      // Otherwise "clean with the rule intact" would say nothing about the attack.
      if (faults.byzantine === 'split-vote' || faults.byzantine === 'stale-fork') assert.ok(r.stats.attack !== '', `seed ${seed}: the ${faults.byzantine} attack was launched`);
    }
  });
}

test.run();
