/**
 * The WGSL of entry points laid out one invocation per element of a linear range [0, params.total): the
 * dispatch grid is 2-D (a 1-D grid is capped at 65535 workgroups), so an invocation's linear index is
 * gid.y * params.rowStride + gid.x, and the invocations past the range return at once. The backward
 * kernels (backward-shader.ts) and the RoI pooling kernels (roi-pool-shader.ts) both use it; their
 * programs declare the `total` and `rowStride` uniforms.
 */

/** `linearId(gid)`: the linear index of the invocation `gid` of a 2-D dispatch grid. */
export const LINEAR_ID_WGSL = /* wgsl */ `fn linearId(gid: vec3<u32>) -> u32 {
  return gid.y * u32(params.rowStride) + gid.x;
}
`;

/**
 * The head of entry point `name` (workgroups of `workgroupSize`): its linear index bound to `index`, and
 * the return of an invocation past params.total. The caller writes the rest of the body and the closing brace.
 */
export function linearEntryWgsl(name: string, workgroupSize: number, index: string): string {
  return /* wgsl */ `@compute @workgroup_size(${workgroupSize})
fn ${name}(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ${index} = linearId(gid);
  if (${index} >= u32(params.total)) { return; }`;
}
