import { describe, expect, it } from 'vitest';
import { createFailureWindows } from '../../src/shared/http/failure-windows.js';

describe('failure windows', () => {
  it('asks nobody to wait until a key has used up its failures, then until its window ends', () => {
    let now = 1_000_000;
    const windows = createFailureWindows(3, 60_000, () => now);
    expect(windows.size).toBe(0);
    expect(windows.waitSeconds('a')).toBe(0);
    windows.count('a');
    windows.count('a');
    expect(windows.waitSeconds('a')).toBe(0);
    now += 10_500;
    windows.count('a');
    expect(windows.waitSeconds('a')).toBe(50); // the window opened at the first failure
    expect(windows.waitSeconds('b')).toBe(0);
    now += 49_000;
    expect(windows.waitSeconds('a')).toBe(1); // rounded up: never 0 while limited
    now += 500;
    expect(windows.waitSeconds('a')).toBe(0);
    windows.count('a'); // a new window
    expect(windows.waitSeconds('a')).toBe(0);
  });

  it('drops expired windows when failures come, so memory follows recent failures only', () => {
    let now = 0;
    const windows = createFailureWindows(1, 60_000, () => now);
    for (let i = 0; i < 100; i += 1) windows.count(`k${i}`);
    expect(windows.size).toBe(100);
    now += 60_000;
    windows.count('fresh');
    expect(windows.size).toBe(1);
    expect(windows.waitSeconds('k1')).toBe(0);
    expect(windows.waitSeconds('fresh')).toBe(60);
  });
});
