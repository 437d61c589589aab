import { describe, expect, it } from 'vitest';
import { ProgressBar } from './progress.js';

describe('ProgressBar', () => {
  it('shows done, total, rate and time left', () => {
    let clock = 0;
    const bar = new ProgressBar('calibrate', 'samples', { write: () => {}, interactive: true }, () => clock);
    clock = 2000;
    expect(bar.line(50, 200)).toBe('calibrate ██████░░░░░░░░░░░░░░░░░░ 50/200 samples (25.0/s, 6.00 s left)');
    expect(bar.line(7, undefined)).toBe('calibrate 7 samples (3.5/s)');
  });

  it('redraws in place on a terminal and throttles plain output', () => {
    let clock = 0;
    const written: string[] = [];
    const terminal = new ProgressBar(
      'work',
      'items',
      { write: (text) => written.push(text), interactive: true },
      () => clock,
    );
    for (clock = 0; clock <= 1000; clock += 10) terminal.update(clock / 10, 100);
    expect(written.length).toBeLessThanOrEqual(11);
    expect(written.every((text) => text.startsWith('\r'))).toBe(true);
    const plain: string[] = [];
    clock = 0;
    const log = new ProgressBar(
      'work',
      'items',
      { write: (text) => plain.push(text), interactive: false },
      () => clock,
    );
    for (clock = 0; clock <= 1000; clock += 10) log.update(clock / 10, 100);
    expect(plain.length).toBe(1);
    log.finish('done');
    expect(plain.at(-1)).toBe('done\n');
  });
});
