/** Checks shared by every op: is it a tensor, of which rank, does its data fit its shape. */
import { DataLengthError, DTypeError, RankError, ShapeError } from './errors.js';
import { isResident, sizeOf, type Tensor } from './tensor.js';

/** Asserts `t` is a host or resident tensor of rank `rank` whose data matches its shape. Returns its shape. */
export function checkTensor(t: unknown, argument: string, rank: number, dims: string): readonly number[] {
  if (typeof t !== 'object' || t === null) {
    throw new DTypeError({ argument, expected: `a tensor { shape, data: Float32Array } of shape ${dims}`, actual: t });
  }
  const shape = (t as { shape?: unknown }).shape;
  if (!Array.isArray(shape)) {
    throw new DTypeError({ argument: `${argument}.shape`, expected: `an array ${dims}`, actual: shape });
  }
  if (shape.length !== rank) {
    throw new RankError({ argument: `${argument}.shape`, expected: `rank ${rank} ${dims}`, actual: shape });
  }
  shape.forEach((d: unknown, i: number) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new ShapeError({ argument: `${argument}.shape[${i}]`, expected: 'a non-negative integer', actual: d });
    }
  });
  if (isResident(t)) return shape as number[];
  const data = (t as { data?: unknown }).data;
  if (!(data instanceof Float32Array)) {
    throw new DTypeError({ argument: `${argument}.data`, expected: 'a Float32Array', actual: data });
  }
  const n = sizeOf(shape as number[]);
  if (data.length !== n) {
    throw new DataLengthError({ argument: `${argument}.data.length`, expected: `${n} (the product of shape ${JSON.stringify(shape)})`, actual: data.length });
  }
  return shape as number[];
}

/** Asserts one dimension equals what the other arguments imply. */
export function checkDim(shape: readonly number[], i: number, want: number, argument: string, why: string): void {
  if (shape[i] !== want) {
    throw new ShapeError({ argument: `${argument}.shape[${i}]`, expected: `${want} (${why})`, actual: shape[i] });
  }
}
