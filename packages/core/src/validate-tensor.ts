/** Checks shared by every op: is it a tensor, of which rank, does its data fit its shape. */
import { ShapeError } from './errors.js';
import { takeTensor } from './intake.js';

/**
 * Asserts `t` is a host or resident tensor of rank `rank` whose data matches its shape, every dimension and
 * the element count within int32. Returns a frozen copy of its shape.
 */
export function checkTensor(t: unknown, argument: string, rank: number, dims: string): readonly number[] {
  return takeTensor(t, argument, rank, dims).shape;
}

/** Asserts one dimension equals what the other arguments imply. */
export function checkDim(shape: readonly number[], i: number, want: number, argument: string, why: string): void {
  if (shape[i] !== want) {
    throw new ShapeError({ argument: `${argument}.shape[${i}]`, expected: `${want} (${why})`, actual: shape[i] });
  }
}
