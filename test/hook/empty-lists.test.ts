import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dropEmptyLists } from '../../src/hook/stored-forms/empty-lists.js';

describe('dropEmptyLists', () => {
  it('drops empty lists at any depth, keeps empty maps, non-empty lists and `containers`', () => {
    const pod = {
      containers: [],
      initContainers: [],
      volumes: [{ name: 'a', emptyDir: {}, configMap: { items: [] } }],
      securityContext: {},
      nodeSelector: { a: 'b' },
    };
    dropEmptyLists(pod);
    assert.deepEqual(pod, { containers: [], volumes: [{ name: 'a', emptyDir: {}, configMap: {} }], securityContext: {}, nodeSelector: { a: 'b' } });
  });

  it('survives very deep or odd values', () => {
    let deep: Record<string, unknown> = { x: [] };
    for (let i = 0; i < 1000; i++) deep = { d: deep };
    assert.doesNotThrow(() => dropEmptyLists(deep));
    for (const v of [null, 1, 'x', [], [[]]]) assert.doesNotThrow(() => dropEmptyLists(v));
  });
});
