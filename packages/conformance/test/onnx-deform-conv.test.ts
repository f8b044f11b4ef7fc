import { readFileSync } from 'node:fs';

import type { ConvGeometry } from '@dcnv2/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { ProtoWriter } from '../src/onnx/protobuf-writer.js';
import { buildDeformConvModel } from '../src/onnx/deform-conv-model.js';
import { createOrtDeformConv, ortAvailable, type OrtDeformConvTensors } from '../src/onnx/ort-deform-conv.js';

// ---------------------------------------------------------------------------------------------------------------
// Golden vectors, loaded by path (never copied).

interface GoldenTensor {
  shape: number[];
  data: number[];
}
interface GoldenCase {
  name: string;
  params: {
    kernel: [number, number];
    stride: [number, number];
    pads: [number, number, number, number];
    dilation: [number, number];
    groups: number;
    offset_groups: number;
  };
  input: GoldenTensor;
  weight: GoldenTensor;
  offset: GoldenTensor;
  mask: GoldenTensor | null;
  bias: GoldenTensor | null;
  output: GoldenTensor | null;
}

const GOLDEN_URL = new URL('../../../../shared/golden/deform_conv2d.json', import.meta.url);
const golden = JSON.parse(readFileSync(GOLDEN_URL, 'utf8')) as { cases: GoldenCase[] };

/** Output tolerance: |got - want| <= ATOL + RTOL * |want|. */
const ATOL = 1e-4;
const RTOL = 1e-4;

const NAMED = ['dcnv1_no_mask_no_bias', 'asymmetric_pads', 'offset_groups4_groups2', 'mixed_rect_params'];
const selected: GoldenCase[] = [...golden.cases.slice(0, 3)];
for (const name of NAMED) {
  const c = golden.cases.find((k) => k.name === name);
  if (c === undefined) throw new Error(`golden case ${name} missing from ${GOLDEN_URL.pathname}`);
  if (!selected.includes(c)) selected.push(c);
}

function outSize(size: number, before: number, after: number, k: number, s: number, d: number): number {
  return Math.floor((size + before + after - (d * (k - 1) + 1)) / s) + 1;
}

function geometryOf(c: GoldenCase): ConvGeometry {
  const [batch, inChannels, inHeight, inWidth] = c.input.shape as [number, number, number, number];
  const { kernel, stride, pads, dilation, groups, offset_groups } = c.params;
  return {
    batch,
    inChannels,
    inHeight,
    inWidth,
    outChannels: c.weight.shape[0]!,
    kernelH: kernel[0],
    kernelW: kernel[1],
    strideH: stride[0],
    strideW: stride[1],
    padTop: pads[0],
    padLeft: pads[1],
    padBottom: pads[2],
    padRight: pads[3],
    dilationH: dilation[0],
    dilationW: dilation[1],
    groups,
    offsetGroups: offset_groups,
    outHeight: outSize(inHeight, pads[0], pads[2], kernel[0], stride[0], dilation[0]),
    outWidth: outSize(inWidth, pads[1], pads[3], kernel[1], stride[1], dilation[1]),
    hasMask: c.mask !== null,
    hasBias: c.bias !== null,
  };
}

function tensorsOf(c: GoldenCase): OrtDeformConvTensors {
  return {
    input: Float32Array.from(c.input.data),
    weight: Float32Array.from(c.weight.data),
    offset: Float32Array.from(c.offset.data),
    mask: c.mask === null ? null : Float32Array.from(c.mask.data),
    bias: c.bias === null ? null : Float32Array.from(c.bias.data),
  };
}

/** Indices failing the tolerance, with the worst absolute error, for a readable failure message. */
function compare(got: Float32Array, want: ArrayLike<number>) {
  let maxAbs = 0;
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= ATOL + RTOL * Math.abs(want[i]))) bad.push(`[${i}] got ${got[i]} want ${want[i]}`);
    if (!(err <= maxAbs)) maxAbs = err;
  }
  return { maxAbs, bad };
}

// ---------------------------------------------------------------------------------------------------------------

describe('ProtoWriter', () => {
  const hex = (w: ProtoWriter) => Buffer.from(w.finish()).toString('hex');

  it('encodes varints as in the protobuf encoding guide', () => {
    expect(hex(new ProtoWriter().varint(1, 150))).toBe('089601');
    expect(hex(new ProtoWriter().rawVarint(0))).toBe('00');
    expect(hex(new ProtoWriter().rawVarint(1))).toBe('01');
    expect(hex(new ProtoWriter().rawVarint(300))).toBe('ac02');
    expect(hex(new ProtoWriter().rawVarint(2 ** 53 - 1))).toBe('ffffffffffffff0f');
    expect(hex(new ProtoWriter().rawVarint(-1))).toBe('ffffffffffffffffff01');
    expect(hex(new ProtoWriter().rawVarint(-2n))).toBe('feffffffffffffffff01');
    expect(() => new ProtoWriter().rawVarint(1.5)).toThrow(RangeError);
    expect(() => new ProtoWriter().rawVarint(1n << 64n)).toThrow(RangeError);
  });

  it('encodes strings, nested messages, floats and packed fields', () => {
    expect(hex(new ProtoWriter().string(2, 'testing'))).toBe('120774657374696e67');
    expect(hex(new ProtoWriter().message(3, (m) => m.varint(1, 150)))).toBe('1a03089601');
    expect(hex(new ProtoWriter().float(2, 1))).toBe('150000803f');
    expect(hex(new ProtoWriter().fixed32(4, 0x01020304))).toBe('2504030201');
    expect(hex(new ProtoWriter().packedVarint(4, [3, 270, 86942]))).toBe('2206038e029ea705');
    expect(hex(new ProtoWriter().packedFloat(4, [1, -2]))).toBe('22080000803f000000c0');
    expect(hex(new ProtoWriter().repeatedVarint(8, [1, 2]))).toBe('40014002');
    // growth past the initial buffer
    const big = new ProtoWriter().bytes(1, new Uint8Array(1000).fill(7));
    expect(big.length).toBe(1 + 2 + 1000);
  });

  it('rejects invalid field numbers', () => {
    expect(() => new ProtoWriter().varint(0, 1)).toThrow(RangeError);
    expect(() => new ProtoWriter().varint(19000, 1)).toThrow(RangeError);
  });
});

describe('buildDeformConvModel', () => {
  const g = geometryOf(golden.cases[0]!);
  const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

  it('writes IR 9 / opset 19 and the DeformConv node', () => {
    const bytes = buildDeformConvModel(g);
    expect(bytes[0]).toBe(0x08); // field 1 (ir_version), varint
    expect(bytes[1]).toBe(9);
    const s = text(bytes);
    expect(s).toContain('DeformConv');
    for (const attr of ['dilations', 'group', 'offset_group', 'kernel_shape', 'pads', 'strides']) expect(s).toContain(attr);
    // opset_import { domain: "" version: 19 } is the model's last field: 42 04 0a 00 10 13
    expect(Buffer.from(bytes.subarray(bytes.length - 6)).toString('hex')).toBe('42040a001013');
  });

  it('leaves an empty B name when the mask is present without a bias', () => {
    const s = text(buildDeformConvModel(g, { withMask: true, withBias: false }));
    // node inputs: field 1 strings "X", "W", "offset", "", "mask"
    expect(s).toContain('\x0a\x01X\x0a\x01W\x0a\x06offset\x0a\x00\x0a\x04mask\x12\x01Y');
    const noMask = text(buildDeformConvModel(g, { withMask: false, withBias: false }));
    expect(noMask).toContain('\x0a\x01X\x0a\x01W\x0a\x06offset\x12\x01Y');
  });
});

describe('onnxruntime-web DeformConv vs torchvision golden outputs', () => {
  const ort = createOrtDeformConv({ threads: 1 });

  beforeAll(() => {
    // Everything must come from node_modules: any network fetch is an error.
    vi.stubGlobal('fetch', () => {
      throw new Error('onnxruntime-web attempted a network fetch');
    });
  });
  afterAll(async () => {
    await ort.dispose();
    vi.unstubAllGlobals();
  });

  it('loads onnxruntime-web (wasm) and passes the probe', async () => {
    expect(await ortAvailable({ threads: 1 })).toEqual({ ok: true });
  });

  for (const c of selected) {
    it(`${c.name}: matches within atol ${ATOL} + rtol ${RTOL}`, async () => {
      const g = geometryOf(c);
      expect(c.output).not.toBeNull();
      const want = c.output!;
      expect(want.shape).toEqual([g.batch, g.outChannels, g.outHeight, g.outWidth]);
      const got = await ort.run(g, tensorsOf(c));
      expect(got.length).toBe(want.data.length);
      const { maxAbs, bad } = compare(got, want.data);
      expect(bad.slice(0, 10), `${c.name}: ${bad.length} elements out of tolerance, max |err| ${maxAbs}`).toEqual([]);
    });
  }

  it('mask without bias (empty B input name) equals the golden output minus the bias', async () => {
    const c = golden.cases[0]!;
    const g = { ...geometryOf(c), hasBias: false };
    const got = await ort.run(g, { ...tensorsOf(c), bias: null });
    const plane = g.outHeight * g.outWidth;
    const want = c.output!.data.map((v, i) => v - c.bias!.data[Math.floor(i / plane) % g.outChannels]!);
    const { maxAbs, bad } = compare(got, want);
    expect(bad.slice(0, 10), `max |err| ${maxAbs}`).toEqual([]);
  });

  it('bias without mask (DCNv1 + zero bias) equals the no-bias golden output', async () => {
    const c = golden.cases.find((k) => k.name === 'dcnv1_no_mask_no_bias')!;
    const g = { ...geometryOf(c), hasBias: true };
    const got = await ort.run(g, { ...tensorsOf(c), bias: new Float32Array(g.outChannels) });
    const { maxAbs, bad } = compare(got, c.output!.data);
    expect(bad.slice(0, 10), `max |err| ${maxAbs}`).toEqual([]);
  });

  it('caches one session per geometry and mask/bias combination, and rejects wrong sizes', async () => {
    const before = ort.sessionCount;
    const c = golden.cases[0]!;
    await ort.run(geometryOf(c), tensorsOf(c));
    expect(ort.sessionCount).toBe(before);
    await expect(ort.run(geometryOf(c), { ...tensorsOf(c), input: new Float32Array(3) })).rejects.toThrow(/input: expected/);
  });
});
