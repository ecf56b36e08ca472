// PeerMute: a peer whose consensus messages the core keeps refusing is muted for a while, and only
// after more than LIMIT refusals within one window; a slow trickle never mutes it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PeerMute } from '../../src/driver/replica.ts';

test('more than LIMIT refusals in a window mute the peer for MUTE_MS; others are unaffected', () => {
  const m = new PeerMute();
  for (let k = 0; k < PeerMute.LIMIT; k++) assert.is(m.invalid(3, 1000 + k), false);
  assert.is(m.muted(3, 1100), false);
  assert.is(m.invalid(3, 1100), true);
  assert.is(m.muted(3, 1101), true);
  assert.is(m.muted(1, 1101), false);
  assert.is(m.muted(3, 1100 + PeerMute.MUTE_MS), false);
});

test('a trickle below the limit per window never mutes', () => {
  const m = new PeerMute();
  let now = 0;
  for (let k = 0; k < 20 * PeerMute.LIMIT; k++) {
    now += Math.ceil((PeerMute.WINDOW_MS * 1.5) / PeerMute.LIMIT);
    assert.is(m.invalid(0, now), false);
  }
  assert.is(m.muted(0, now), false);
});

test.run();
