/**
 * The program interfaces (src/program-interface.ts) and dispatch grids (src/dispatch-grid.ts), without a GPU:
 * the WGSL declarations and uniform bytes come from one declaration per program, and every grid that does
 * not fit maxComputeWorkgroupsPerDimension is a LimitError.
 */
import { LimitError } from '@dcnv2/core';
import { describe, expect, it } from 'vitest';
import { BACKWARD_PROGRAM, backwardShader } from '../src/backward-shader.js';
import { axisPieces, checkedGrid, linearGrid } from '../src/dispatch-grid.js';
import { FORWARD_PROGRAM, forwardShader } from '../src/forward-shader.js';
import { packUniforms, programInterface, wgslInterface, type ProgramInterface } from '../src/program-interface.js';
import { ROI_POOL_PROGRAM, roiPoolShader } from '../src/roi-pool-shader.js';

describe('program interface', () => {
  const demo = programInterface({
    label: 'demo',
    uniforms: [['n', 'i32'], ['scale', 'f32']],
    storage: [
      { name: 'src', access: 'read', element: 'ST' },
      { name: 'dst', access: 'read_write', element: 'atomic<u32>', note: 'float32 bits' },
    ],
  });

  it('generates the WGSL declarations: uniforms at binding 0, storage buffers at 1, 2, ... in order', () => {
    expect(wgslInterface(demo)).toBe(`struct Params {
  n: i32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<ST>;
// float32 bits
@group(0) @binding(2) var<storage, read_write> dst: array<atomic<u32>>;
`);
  });

  it('packs uniforms 4 bytes a field in declaration order, little-endian', () => {
    const bytes = packUniforms(demo, { scale: 0.5, n: -3 });
    expect(bytes.byteLength).toBe(8);
    const view = new DataView(bytes);
    expect(view.getInt32(0, true)).toBe(-3);
    expect(view.getFloat32(4, true)).toBe(0.5);
  });

  const programs: Array<[string, ProgramInterface, (s: 'f32' | 'f16') => string]> = [
    ['forward', FORWARD_PROGRAM, forwardShader],
    ['backward', BACKWARD_PROGRAM, backwardShader],
    ['roi pool', ROI_POOL_PROGRAM, roiPoolShader],
  ];
  it.each(programs)('%s: the shader declares exactly its interface, once', (_name, iface, shader) => {
    for (const storage of ['f32', 'f16'] as const) {
      const code = shader(storage);
      expect(code).toContain(wgslInterface(iface));
      expect(code.match(/@binding\(/g)).toHaveLength(iface.storage.length + 1);
      // Uniform blocks are 16-byte multiples here (every field 4 bytes).
      expect((iface.uniforms.length * 4) % 16).toBe(0);
    }
  });
});

describe('dispatch grid', () => {
  const limit = { maxDim: 100, argument: 'gradOutput', kernel: 'gradInput' };

  it('lays a linear dispatch out in rows of at most maxDim workgroups', () => {
    expect(linearGrid(64, 64, limit)).toEqual({ x: 1, y: 1, z: 1 });
    expect(linearGrid(100 * 64 + 1, 64, limit)).toEqual({ x: 100, y: 2, z: 1 });
    expect(linearGrid(100 * 100 * 64, 64, limit)).toEqual({ x: 100, y: 100, z: 1 });
  });

  it('throws LimitError naming the limit, the argument and the kernel beyond maxDim^2 workgroups or 2^31 - 1 items', () => {
    expect(() => linearGrid(100 * 100 * 64 + 1, 64, limit)).toThrow(LimitError);
    expect(() => linearGrid(100 * 100 * 64 + 1, 64, limit)).toThrow(/^gradOutput: expected at most maxComputeWorkgroupsPerDimension\^2 = 10000 workgroups.*gradInput/);
    expect(() => linearGrid(2 ** 31, 64, { ...limit, maxDim: 65535 })).toThrow(LimitError);
  });

  it('checks each axis of a 3-D grid, and splits an axis into pieces of at most maxDim', () => {
    expect(checkedGrid(100, 1, 100, limit)).toEqual({ x: 100, y: 1, z: 100 });
    expect(() => checkedGrid(1, 101, 1, { ...limit, argument: 'output' })).toThrow(/^output: expected at most maxComputeWorkgroupsPerDimension = 100 workgroups along an axis, got "101 workgroups of gradInput"/);
    expect(axisPieces(250, 100)).toEqual([{ base: 0, count: 100 }, { base: 100, count: 100 }, { base: 200, count: 50 }]);
    expect(axisPieces(0, 100)).toEqual([]);
  });
});
