/**
 * WGSL blocked summation for the long reductions of the gather kernels (the backward's grad_bias and
 * grad_weight over N*Ho*Wo, grad_offset / grad_mask over channels and the column gradient over output
 * channels; RoI pooling's per-bin sums over up to 2^20 samples).
 *
 * Why: a float32 sum of R terms in one accumulator is off by up to ~R/2 ulps of the sum, since each term
 * added to a large total loses its low bits, and with terms of one sign the losses add up (grad_weight over
 * 4M pixels came out 0.2% low, 20x the conformance tolerance). Terms are summed in blocks of about sqrt(R)
 * and the block sums added into a total, which bounds the error by ~sqrt(R) ulps, at the cost of one add
 * and one compare per term. The order stays fixed (deterministic), and a sum that completes no block is
 * exactly the plain sequential sum.
 */

/** One accumulator type: its WGSL type, the prefix of its struct and functions, and its zero. */
const SUM_TYPES = [
  ['SumF32', 'f32', '0.0'],
  ['SumV3', 'vec3<f32>', 'vec3<f32>(0.0)'],
  ['SumV4', 'vec4<f32>', 'vec4<f32>(0.0)'],
] as const;

/**
 * For each of f32, vec3<f32> and vec4<f32> (`SumF32`, `SumV3`, `SumV4`): a struct, `<S>New(terms)` for a
 * sum of about `terms` terms, `<S>Add(&s, v)` and `<S>Value(s)`.
 */
export const BLOCKED_SUM_WGSL = /* wgsl */ `
// Block length for a sum of about \`terms\` terms (an f32: products of counts may pass 2^32): sqrt(terms), at least 1.
fn sumBlock(terms: f32) -> u32 {
  return max(1u, u32(sqrt(max(terms, 1.0))));
}
${SUM_TYPES.map(([S, T, zero]) => /* wgsl */ `
struct ${S} {
  tot: ${T},   // sum of the completed blocks (valid once full)
  part: ${T},  // sum of the current block
  n: u32,      // terms in the current block
  blk: u32,    // block length
  full: bool,  // a block has completed
}

fn ${S}New(terms: f32) -> ${S} {
  return ${S}(${zero}, ${zero}, 0u, sumBlock(terms), false);
}

fn ${S}Add(s: ptr<function, ${S}>, v: ${T}) {
  (*s).part += v;
  (*s).n += 1u;
  if ((*s).n == (*s).blk) {
    if ((*s).full) { (*s).tot += (*s).part; } else { (*s).tot = (*s).part; }
    (*s).full = true;
    (*s).part = ${zero};
    (*s).n = 0u;
  }
}

// The sum; without a completed block exactly the sequential sum (no 0 + x, which would turn -0 into +0).
fn ${S}Value(s: ${S}) -> ${T} {
  if (!s.full) { return s.part; }
  if (s.n == 0u) { return s.tot; }
  return s.tot + s.part;
}
`).join('')}`;
