import { describe, expect, it } from 'vitest';
import {
  NONE,
  formatAgo,
  formatBytes,
  formatCount,
  formatDuration,
  formatMillis,
  formatNumber,
  formatPercent,
  formatRate,
  formatTemp,
  formatUnit,
} from '../../src/lib/format';

describe('formatBytes', () => {
  it('uses IEC units with at most three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(10.5 * 1024 * 1024)).toBe('10.5 MiB');
    expect(formatBytes(512 * 1024 ** 3)).toBe('512 GiB');
    expect(formatBytes(3 * 1024 ** 4)).toBe('3 TiB');
  });
  it('never shows four digits of a larger unit', () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe('1 MiB');
  });
  it('shows missing values as a dash', () => {
    expect(formatBytes(null)).toBe(NONE);
    expect(formatBytes(undefined)).toBe(NONE);
    expect(formatBytes(Number.NaN)).toBe(NONE);
  });
});

describe('formatRate', () => {
  it('appends per second to a byte amount', () => {
    expect(formatRate(2048)).toBe('2 KiB/s');
    expect(formatRate(0)).toBe('0 B/s');
    expect(formatRate(null)).toBe(NONE);
  });
});

describe('formatPercent', () => {
  it('keeps one decimal and rounds at 100', () => {
    expect(formatPercent(12.345)).toBe('12.3%');
    expect(formatPercent(0)).toBe('0.0%');
    expect(formatPercent(100)).toBe('100%');
    expect(formatPercent(0.04)).toBe('<0.1%');
    expect(formatPercent(undefined)).toBe(NONE);
  });
});

describe('formatDuration', () => {
  it('shows the two largest units', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(0.4)).toBe('0s');
    expect(formatDuration(59)).toBe('59s');
    expect(formatDuration(75)).toBe('1m 15s');
    expect(formatDuration(3600)).toBe('1h');
    expect(formatDuration(3660)).toBe('1h 1m');
    expect(formatDuration(93784)).toBe('1d 2h');
    expect(formatDuration(86400 + 30)).toBe('1d');
  });
  it('formats milliseconds', () => {
    expect(formatMillis(250)).toBe('250 ms');
    expect(formatMillis(1500)).toBe('1.5s');
    expect(formatMillis(90_000)).toBe('1m 30s');
  });
});

describe('formatAgo', () => {
  const now = 1_700_000_000_000;
  it('reads relative to now', () => {
    expect(formatAgo(now, now)).toBe('just now');
    expect(formatAgo(now - 12_000, now)).toBe('12s ago');
    expect(formatAgo(now - 5 * 60_000, now)).toBe('5m ago');
    expect(formatAgo(now - 3 * 3600_000, now)).toBe('3h ago');
    expect(formatAgo(now - 2 * 86400_000, now)).toBe('2d ago');
    expect(formatAgo(null, now)).toBe('never');
  });
});

describe('numbers', () => {
  it('formats plain quantities, counts and temperatures', () => {
    expect(formatNumber(0.5)).toBe('0.50');
    expect(formatNumber(12.34)).toBe('12.3');
    expect(formatNumber(12345)).toBe('12,345');
    expect(formatCount(12345.4)).toBe('12,345');
    expect(formatTemp(54.26)).toBe('54.3 °C');
  });
  it('dispatches by unit', () => {
    expect(formatUnit('percent', 50)).toBe('50.0%');
    expect(formatUnit('bytes', 1024)).toBe('1 KiB');
    expect(formatUnit('rate', 1024)).toBe('1 KiB/s');
    expect(formatUnit('number', 1)).toBe('1.00');
  });
});
