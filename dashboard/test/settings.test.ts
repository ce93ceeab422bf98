import { describe, expect, it } from 'vitest';
import {
  cspSnippet,
  esmSnippet,
  flagsEsmSnippet,
  flagsScriptSnippet,
  originProblem,
  parseOrigins,
  parseRetention,
  scriptSnippet,
  wsOrigin,
} from '../src/lib/components/settings/settings';
import { Samples } from '../src/lib/components/live/samples';

describe('parseOrigins', () => {
  it('splits lines and commas, trims, drops empties and duplicates', () => {
    expect(parseOrigins(' https://a.example \n\nhttps://b.example, https://a.example\n')).toEqual(['https://a.example', 'https://b.example']);
    expect(parseOrigins('')).toEqual([]);
  });
});

describe('originProblem', () => {
  it.each(['*', 'https://shop.example.com', 'http://localhost:5173', 'https://shop.example.com/', 'http://[::1]:4000'])('accepts %s', (o) => {
    expect(originProblem(o)).toBe('');
  });
  it.each(['shop.example.com', 'ftp://shop.example.com', 'https://shop.example.com/path', 'https://u@shop.example.com', 'https://'])('refuses %s', (o) => {
    expect(originProblem(o)).toMatch(/is not an origin/);
  });
});

describe('parseRetention', () => {
  it('reads days, empty as the default, refuses the rest', () => {
    expect(parseRetention(' 90 ')).toBe(90);
    expect(parseRetention('')).toBeNull();
    expect(parseRetention('1')).toBe('bad');
    expect(parseRetention('7.5')).toBe('bad');
    expect(parseRetention('36501')).toBe('bad');
  });
});

describe('esmSnippet', () => {
  it('fills in the host and the project id', () => {
    const s = esmSnippet('https://beacon.example.com', 'p-1');
    expect(s).toContain("import { createBeacon } from '@beacon/sdk';");
    expect(s).toContain("createBeacon({ host: 'https://beacon.example.com', project: 'p-1' })");
  });
});

describe('scriptSnippet', () => {
  it('is the deferred script tag of the relay with the project id (sdk/README.md)', () => {
    expect(scriptSnippet('https://beacon.example.com', 'p-1')).toBe(
      '<script defer src="https://beacon.example.com/beacon.js" data-project="p-1"></script>',
    );
    expect(scriptSnippet('http://127.0.0.1:8080', 'p-2')).toBe('<script defer src="http://127.0.0.1:8080/beacon.js" data-project="p-2"></script>');
  });
});

describe('cspSnippet', () => {
  it('lists the relay in script-src, the relay and its WebSocket in connect-src, and blob: workers', () => {
    expect(wsOrigin('https://beacon.example.com')).toBe('wss://beacon.example.com');
    expect(wsOrigin('http://localhost:8080')).toBe('ws://localhost:8080');
    expect(cspSnippet('https://beacon.example.com')).toBe(
      'script-src https://beacon.example.com;\nconnect-src https://beacon.example.com wss://beacon.example.com;\nworker-src blob:',
    );
  });
});

describe('flag snippets', () => {
  it('read a flag with getFlag after flagsReady, the script form through the global without an import', () => {
    expect(flagsScriptSnippet).toContain("beacon.getFlag('new-checkout')");
    expect(flagsScriptSnippet).toContain('beacon.flagsReady(2000).then(');
    expect(flagsScriptSnippet).not.toContain('import');
    expect(flagsScriptSnippet).not.toMatch(/^[^/]*\bawait\b/m); // a classic script has no top-level await
    expect(flagsEsmSnippet).toContain("from '@beacon/sdk'");
    expect(flagsEsmSnippet).toContain("beacon.getFlag('new-checkout')");
  });
});

describe('Samples', () => {
  it('keeps the newest n values in order', () => {
    const s = new Samples(3);
    for (const [t, v] of [[1, 10], [2, 20], [3, 30], [4, 40]]) s.push(t, v);
    expect(s.times).toEqual([2, 3, 4]);
    expect(s.values).toEqual([20, 30, 40]);
  });
});
